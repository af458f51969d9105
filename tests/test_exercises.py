import json
from pathlib import Path

import pytest

from tl_kit import __main__ as cli
from tl_kit.errors import NotebookError
from tl_kit.exercises import PLACEHOLDER, blank_answers, make_student_copy

LESSON = Path(__file__).resolve().parent.parent / "notebooks" / "01_conv_pool_softmax.ipynb"


def test_blank_answers_keeps_the_indentation_and_the_rest_of_the_cell():
    source = "def f(n):\n    # >>> answer\n    return n + 1\n    # <<< answer\n\ncheck(f)\n"
    blanked, n = blank_answers(source)
    assert n == 1
    assert f"    {PLACEHOLDER}" in blanked and "return n + 1" not in blanked and blanked.endswith("check(f)\n")


def test_student_copy_of_lesson_01_blanks_every_answer_and_runs_as_exercises(tmp_path):
    out = make_student_copy(LESSON, tmp_path / "student.ipynb")
    nb = json.loads(out.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    answers = sum("".join(c["source"]).count("# >>> answer") for c in json.loads(LESSON.read_text())["cells"]
                  if c["cell_type"] == "code")
    assert answers > 0 and sum(PLACEHOLDER in c for c in code) == answers
    assert not any("# >>> answer" in c for c in code)
    # The blanked softmax cell, executed, gives the checker's "not written yet".
    namespace = {}
    softmax_cell = next(c for c in code if "def softmax(z)" in c)
    exec("import numpy as np\nfrom tl_kit import checks\n" + softmax_cell.replace("checks.check_softmax(softmax)", ""),
         namespace)
    from tl_kit import checks

    assert "not written yet" in checks.check_softmax(namespace["softmax"]).message
    assert json.loads(LESSON.read_text()) != nb  # the lesson itself is untouched


def test_cli_writes_the_copy_beside_the_lesson_name(tmp_path, capsys):
    target = tmp_path / "01.ipynb"
    target.write_text(LESSON.read_text())
    assert cli.main(["exercises", str(target)]) == 0
    assert (tmp_path / "01_exercises.ipynb").exists()
    assert "01_exercises.ipynb" in capsys.readouterr().out


def test_refuses_to_overwrite_the_lesson_or_a_notebook_without_answers(tmp_path):
    with pytest.raises(NotebookError, match="must not overwrite"):
        make_student_copy(LESSON, LESSON)
    plain = tmp_path / "plain.ipynb"
    plain.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["1+1"], "outputs": [],
                                            "execution_count": None, "metadata": {}}],
                                 "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(NotebookError, match="no answer blocks"):
        make_student_copy(plain)

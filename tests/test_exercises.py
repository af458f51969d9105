import json
from pathlib import Path

import pytest

from tl_kit import __main__ as cli
from tl_kit.errors import NotebookError
from tl_kit.exercises import PLACEHOLDER, UNANSWERED, blank_answers, make_student_copies, make_student_copy

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
    functions, top_level = sum(PLACEHOLDER in c for c in code), sum(UNANSWERED in c for c in code)
    assert answers > 0 and functions + top_level == answers and functions == 4 and top_level == 1
    assert not any("# >>> answer" in c for c in code)
    # The blanked softmax cell, executed, gives the checker's "not answered yet".
    namespace = {}
    softmax_cell = next(c for c in code if "def softmax(z)" in c)
    exec("import numpy as np\nfrom tl_kit import checks\n" + softmax_cell.replace("checks.check_softmax(softmax)", ""),
         namespace)
    from tl_kit import checks

    assert "not answered yet" in checks.check_softmax(namespace["softmax"]).message
    assert not any("NBVAL_" in c for c in code)  # the lesson's test markers are not the student's
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


def test_a_top_level_answer_becomes_an_unanswered_name_and_the_cell_still_runs():
    source = "# >>> answer\nblock = 3 * 4\nparams = block + 1\n# <<< answer\nresult = check_number('p', params, 13, 'how')\n"
    blanked, n = blank_answers(source)
    assert n == 1 and f"block = {UNANSWERED}" in blanked and f"params = {UNANSWERED}" in blanked
    assert "3 * 4" not in blanked
    from tl_kit.checks import check_number

    namespace = {"check_number": check_number}
    exec(blanked, namespace)
    assert "not answered yet" in namespace["result"].message


def test_a_name_a_later_cell_needs_falls_back_to_the_lessons_value_only_while_unanswered():
    source = "# >>> answer\nsize = 2 + 3\n# <<< answer\nprint('checked')\n"
    blanked, _ = blank_answers(source, {"size"})
    namespace: dict = {}
    exec(blanked, namespace)
    assert namespace["size"] == 5  # the lesson's value, for the cells after this one
    answered = blanked.replace(f"size = {UNANSWERED}", "size = 7")
    exec(answered, namespace)
    assert namespace["size"] == 7  # the student's own answer is kept


def notebook(tmp_path, *cells) -> Path:
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [c], "outputs": [], "execution_count": None,
                                           "metadata": {}} for c in cells], "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    return path


def test_a_copy_whose_later_cell_calls_an_exercise_function_is_refused(tmp_path):
    lesson = notebook(tmp_path, "def f(x):\n    # >>> answer\n    return x + 1\n    # <<< answer\n", "print(f(2))\n")
    with pytest.raises(NotebookError, match="a later cell calls f"):
        make_student_copy(lesson)
    # a method of the same name on another object is not a call of the exercise
    fine = notebook(tmp_path, "def f(x):\n    # >>> answer\n    return x + 1\n    # <<< answer\n", "ops.f(2)\n")
    assert make_student_copy(fine).exists()


def test_copies_of_several_lessons_skip_those_without_exercises(tmp_path, capsys):
    lessons = sorted(str(p) for p in LESSON.parent.glob("0*.ipynb"))
    written = make_student_copies(lessons, tmp_path / "student")
    with_exercises = [Path(p).stem + "_exercises.ipynb" for p in lessons if "# >>> answer" in Path(p).read_text()]
    assert [p.name for p in written] == with_exercises and "00_start_here_exercises.ipynb" not in with_exercises
    assert {"01_conv_pool_softmax_exercises.ipynb", "02_feature_extraction_exercises.ipynb"} <= set(with_exercises)
    assert cli.main(["exercises", *lessons, "--out-dir", str(tmp_path / "cli")]) == 0
    assert len(list((tmp_path / "cli").glob("*.ipynb"))) == len(with_exercises)
    assert cli.main(["exercises", *lessons]) == 2
    assert "--out-dir" in capsys.readouterr().err
    with pytest.raises(NotebookError, match="No notebook at .*missing.ipynb"):  # a typo is an error, not a skip
        make_student_copies([*lessons, str(tmp_path / "missing.ipynb")], tmp_path / "again")

"""Grading with nbgrader: a release made from the lessons' answer markers, and real returned
notebooks graded into a CSV gradebook, including ones that fail, hang, or try to cheat."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tl_kit import checks
from tl_kit.errors import CheckFailed, GradingError, NotebookError
from tl_kit.exercises import split_exercise
from tl_kit.grading import assignment_name, grade, nbgrader_source, release

# nbgrader 0.9.6 needs Python 3.11; on 3.10 the classroom extra installs without it (pyproject.toml).
pytestmark = pytest.mark.skipif(sys.version_info < (3, 11), reason="nbgrader 0.9.6 needs Python 3.11 or later")

ROOT = Path(__file__).resolve().parent.parent
LESSON01 = ROOT / "notebooks" / "01_conv_pool_softmax.ipynb"
EXERCISES01 = ["conv2d_single", "conv_params", "max_pool", "output_size", "softmax"]


def test_each_exercise_becomes_an_answer_cell_a_locked_checker_and_its_fallback():
    nb, ids = nbgrader_source(ROOT / "notebooks" / "03_fine_tuning.ipynb")
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"] if "nbgrader" in c["metadata"]}
    assert ids == ["ft_params"]
    answer, checker = (graded[k] for k in ("ft_params-answer", "ft_params"))
    assert "ft_params-fallback" not in graded  # no later cell reads the answer: nothing to fall back on
    assert answer["metadata"]["nbgrader"]["solution"] and not answer["metadata"]["nbgrader"]["locked"]
    assert checker["metadata"]["nbgrader"] == {"grade_id": "ft_params", "solution": False, "grade": True,
                                               "locked": True, "schema_version": 3, "points": 1}
    assert "".join(checker["source"]).startswith("checks.check_number(")
    text = "".join(answer["source"])  # the answer key: the lesson's answer, delimited for nbgrader
    assert "### BEGIN SOLUTION\nblock_params = sum(h * w * c_in * c_out + c_out" in text and "ft_params = ..." in text


def test_an_answer_a_later_cell_reads_gets_a_locked_fallback_cell(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# >>> answer\nparams = 3 * 3 * 64\n# <<< answer\n"
                                          "checks.check_number('params', params, 576, 'kernel × channels')\n"),
                nbformat.v4.new_code_cell("print(params * 2)\n")]
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    graded, ids = nbgrader_source(path)
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in graded["cells"] if "nbgrader" in c["metadata"]}
    assert ids == ["params"] and cells["params-fallback"]["metadata"]["nbgrader"]["locked"]
    assert "".join(cells["params-fallback"]["source"]).startswith("if params is ...:")


def test_split_exercise_needs_a_checker():
    with pytest.raises(NotebookError, match="no `checks.check_"):
        split_exercise("x = 1\nprint(x)\n")
    assert split_exercise("def f():\n    raise NotImplementedError\n\n\nchecks.check_softmax(f)\n") == \
        ("def f():\n    raise NotImplementedError\n", "checks.check_softmax(f)\n", "")


def test_under_the_grader_a_failed_check_raises_and_a_passed_one_does_not(monkeypatch):
    assert not checks.check_number("x", ..., 3, "how")  # a student's run: printed, never raised
    monkeypatch.setenv("TL_KIT_GRADING", "1")
    with pytest.raises(CheckFailed, match="not answered yet"):
        checks.check_number("x", ..., 3, "how")
    with pytest.raises(CheckFailed, match="is not right"):
        checks.check_number("x", 4, 3, "how")
    assert checks.check_number("x", 3, 3, "how")


def test_assignment_names_and_bad_folders(tmp_path):
    assert assignment_name("notebooks/05_look_inside.ipynb") == "lesson05"
    assert assignment_name("notebooks/03b_choosing_the_model.ipynb") == "lesson03b"
    with pytest.raises(GradingError, match="numbered lesson"):
        assignment_name("notes.ipynb")
    with pytest.raises(GradingError, match="not a course folder"):
        grade(tmp_path, tmp_path / "course")


# ---- real grading: a course released from lesson 01, five returned notebooks --------------------

def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def course(tmp_path_factory, others_can_run_python):
    course = tmp_path_factory.mktemp("teacher") / "course"
    released = release([LESSON01, ROOT / "notebooks" / "00_start_here.ipynb"], course)
    assert released == [course / "release" / "lesson01" / LESSON01.name]  # lesson 00 has no exercises
    return course


def _returned_copy(course: Path, answered: dict[str, str | None], extra_cells: list[str] = (),
                   checker_edits: dict[str, str] = {}) -> dict:
    """The release as a student returns it: `answered` maps an exercise to its answer (None: the
    lesson's own answer, from the course's answer key); the others are left blank."""
    key = json.loads((course / "source" / "lesson01" / LESSON01.name).read_text())
    nb = json.loads((course / "release" / "lesson01" / LESSON01.name).read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
               for c in key["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id.removesuffix("-answer") in answered and grade_id.endswith("-answer"):
            mine = answered[grade_id.removesuffix("-answer")]
            cell["source"] = mine if mine is not None else \
                re.sub(r"^\s*### (BEGIN|END) SOLUTION\n", "", answers[grade_id], flags=re.M)
        if grade_id in checker_edits:
            cell["source"] = checker_edits[grade_id]
    nb["cells"][3:3] = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
                        for s in extra_cells]
    return nb


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    returned = tmp_path_factory.mktemp("returned")
    everything = {name: None for name in EXERCISES01}
    cheat = f"""
from pathlib import Path
course = Path({str(course)!r})
for attempt in (lambda: (course / "source" / "lesson01" / {LESSON01.name!r}).read_text(),
                lambda: (course / "gradebook.db").write_bytes(b"all full marks"),
                lambda: (course / "grades.csv").write_text("ada,lesson01,softmax,1,1,forged"),
                lambda: Path("../../../source/lesson01/answers.txt").write_text("x")):  # its scratch copy
    try:
        attempt()
        print("allowed")
    except OSError as err:
        print("refused:", type(err).__name__)
"""
    notebooks = {
        "full": _returned_copy(course, everything),
        "half": _returned_copy(course, {"output_size": None, "conv2d_single": None}),
        "exception": _returned_copy(course, {
            **everything, "conv2d_single": "def conv2d_single(image, kernel, stride=1):\n"
                                           "    raise ValueError('my loop is not done')\n",
            "conv_params": "conv_params = 72\n"}, extra_cells=["1 / 0"]),
        "endless": _returned_copy(course, {**everything, "softmax": "def softmax(z):\n    while True:\n"
                                                                    "        pass\n"}),
        "cheater": _returned_copy(course, {"output_size": "def output_size(n, k, stride=1, padding='valid'):\n"
                                                          "    return 0\n"},
                                  extra_cells=[cheat], checker_edits={"output_size": "print('✓ all good')\n"}),
    }
    for student, nb in notebooks.items():
        (returned / student).mkdir()
        (returned / student / LESSON01.name).write_text(json.dumps(nb))
    before_course, before_returned = _digest(course), _digest(returned)
    start = time.monotonic()
    rows = grade(returned, course, cell_timeout=20, notebook_timeout=600)
    return {"rows": rows, "seconds": time.monotonic() - start, "returned": returned,
            "before_course": before_course, "before_returned": before_returned}


def _scores(rows, student):
    return {r.exercise: (r.points, r.message) for r in rows if r.student == student}


def test_the_gradebook_has_a_row_per_student_and_exercise(graded, course):
    with open(course / "grades.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["student", "lesson", "exercise", "points", "max_points", "message"]
    assert sorted((r["student"], r["exercise"]) for r in table) == \
        sorted((s, e) for s in ("cheater", "endless", "exception", "full", "half") for e in EXERCISES01)
    assert all(r["lesson"] == "lesson01" and float(r["max_points"]) == 1 and r["message"] for r in table)


def test_a_fully_answered_notebook_gets_every_point(graded):
    full = _scores(graded["rows"], "full")
    assert {e: p for e, (p, _) in full.items()} == dict.fromkeys(EXERCISES01, 1.0)
    assert all(m.startswith("✓") for _, m in full.values())


def test_a_half_answered_notebook_gets_the_points_it_earned_and_says_what_is_missing(graded):
    half = _scores(graded["rows"], "half")
    assert half["output_size"][0] == half["conv2d_single"][0] == 1.0
    for exercise in ("max_pool", "softmax", "conv_params"):
        points, message = half[exercise]
        assert points == 0 and "not answered yet" in message and message.startswith("CheckFailed")


def test_an_exception_costs_only_its_own_exercise(graded):
    mine = _scores(graded["rows"], "exception")
    assert mine["conv2d_single"][0] == 0 and "raised ValueError: my loop is not done" in mine["conv2d_single"][1]
    assert mine["conv_params"][0] == 0 and "72 is not right" in mine["conv_params"][1]
    assert mine["output_size"][0] == mine["max_pool"][0] == mine["softmax"][0] == 1.0  # after the 1 / 0 cell too


def test_an_endless_loop_is_stopped_by_the_cell_timeout_and_the_rest_is_graded(graded):
    mine = _scores(graded["rows"], "endless")
    assert mine["softmax"][0] == 0 and re.search(r"timeout|Timeout|KeyboardInterrupt", mine["softmax"][1])
    assert mine["output_size"][0] == mine["conv_params"][0] == 1.0
    assert graded["seconds"] < 500  # five notebooks, one of them stopped after 20 s: nothing hung


def test_a_notebook_cannot_read_or_change_the_teachers_files_nor_edit_its_checker(graded, course,
                                                                                   others_can_run_python):
    mine = _scores(graded["rows"], "cheater")
    assert mine["output_size"][0] == 0 and "returned 0" in mine["output_size"][1]  # the real checker ran
    after = _digest(course)
    changed = {k for k in after if after[k] != graded["before_course"].get(k)}
    assert all(k == "grades.csv" or k.startswith("autograded/") for k in changed)  # only what grading writes
    assert "forged" not in (course / "grades.csv").read_text()
    assert _digest(graded["returned"]) == graded["before_returned"]  # returned notebooks are left as they were
    if not others_can_run_python:
        pytest.skip("not root: grading ran as this user, so the teacher's files were not out of its reach")
    outputs = json.loads((course / "autograded" / "cheater" / "lesson01" / LESSON01.name).read_text())
    said = "".join("".join(o.get("text", "")) for c in outputs["cells"] for o in c.get("outputs", []))
    assert said.count("refused: PermissionError") == 3 and said.count("allowed") == 1  # its scratch copy: allowed
    assert (course / "source" / "lesson01" / LESSON01.name).stat().st_mode & 0o777 and \
        (course.stat().st_mode & 0o077) == 0


def test_the_command_line_releases_and_grades(tmp_path, others_can_run_python):
    done = subprocess.run([sys.executable, "-m", "tl_kit", "grade", str(tmp_path), "--course", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "not a course folder" in done.stderr
    done = subprocess.run([sys.executable, "-m", "tl_kit", "release", str(LESSON01), "--course",
                           str(tmp_path / "c")], capture_output=True, text=True)
    assert done.returncode == 0 and "released" in done.stdout
    (tmp_path / "returned" / "bad name!").mkdir(parents=True)
    done = subprocess.run([sys.executable, "-m", "tl_kit", "grade", str(tmp_path / "returned"), "--course",
                           str(tmp_path / "c")], capture_output=True, text=True)
    assert done.returncode == 2 and "No returned notebooks" in done.stderr and "skipped folder 'bad name!'" in done.stdout

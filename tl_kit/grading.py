"""Exercises a teacher can grade: a student release and a gradebook, with nbgrader doing the work.

Why nbgrader (and not otter-grader): it is the grading tool built for JupyterHub (its exchange
and formgrader plug into the hub a class already uses), it grades plain notebooks with cell
metadata (no extra question format), and it runs each returned notebook in a fresh kernel with
a per-cell timeout. Otter grades in Docker containers by default, which a classroom hub or a
teacher's laptop often does not have.

The lessons' own answer markers (see `tl_kit.exercises`) are the only source: each exercise
cell of a lesson becomes, in the nbgrader source notebook, three cells: the student's part
(an nbgrader "autograded answer" cell, already blanked by the kit), the checker (a locked
"autograder tests" cell worth one point, restored from the gradebook before grading, so a student
cannot edit it into passing), and, where later cells need the answer, the lesson's fallback
(locked). nbgrader's `generate_assignment` makes the release; it runs top to bottom like every
student copy.

    python -m tl_kit release notebooks/*.ipynb --course ~/grading      # one assignment per lesson
    python -m tl_kit grade ~/returned --course ~/grading               # → ~/grading/grades.csv

Grading runs students' code, so it runs apart from the teacher's files: in a scratch copy of
the course that holds no answers (the release, the blanked source, a copy of the gradebook), as
the unprivileged account `nobody` when the teacher is root (a hub's admin), with the course
folder itself closed to other accounts. A returned notebook cannot read or change the teacher's
course, however it tries. Run as an ordinary user, grading runs as that user, and says so: the
course is made read-only while it runs, which stops a plain write but not a notebook that
changes permissions back, so grade as root where that matters (the accounts and processes: `tl_kit.accounts`).
Under the grader, a failed checker raises (TL_KIT_GRADING=1, see `tl_kit.checks`), every
cell has a time limit, and each student's notebook has one too.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .accounts import give, read_only, run_as, sandbox_account
from .errors import GradingError, NotebookError
from .exercises import split_exercise, student_notebook, with_exercises

GRADE_CSV = "grades.csv"
_STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_CONFIG = """\
# Written by `python -m tl_kit release`: nbgrader's settings for this course folder.
c = get_config()  # noqa
c.CourseDirectory.root = {root!r}
# The kit writes each placeholder itself (see tl_kit.exercises.blank_answers): the answer region leaves a note.
c.ClearSolutions.code_stub = {{"python": "# (the answer was removed from this copy)"}}
"""


def assignment_name(notebook: str | Path) -> str:
    """nbgrader's assignment for a lesson: `01_conv_pool_softmax.ipynb` → `lesson01`, `03b_….ipynb` → `lesson03b`."""
    match = re.match(r"(\d+[a-z]?)_", Path(notebook).name)
    if not match:
        raise GradingError(f"{Path(notebook).name} is not a numbered lesson (NN_name.ipynb or NNb_name.ipynb).")
    return f"lesson{match.group(1)}"


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False) -> dict:
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked, "schema_version": 3}
    if grade:
        meta["points"] = 1
    return {"nbgrader": meta}


def _code_cell(source: str, metadata: dict) -> dict:
    return {"cell_type": "code", "metadata": metadata, "source": source.splitlines(keepends=True),
            "outputs": [], "execution_count": None}


def _exercise_id(answer: str) -> str:
    """An exercise's name: the function it defines, else the last name it assigns."""
    defined = re.findall(r"^def (\w+)\(", answer, re.M) or re.findall(r"^(\w+) = \.\.\.", answer, re.M)
    if not defined:
        raise NotebookError(f"Cannot name the exercise in {answer.strip()[:60]!r}: it defines no function and "
                            "assigns no name.")
    return defined[-1]


def nbgrader_source(notebook: str | Path) -> tuple[dict, list[str]]:
    """The lesson as an nbgrader source notebook (the answer key: each answer between nbgrader's
    delimiters, after the placeholder the release will show) and its exercises' ids."""
    nb, exercises = student_notebook(notebook, keep_answers=True)
    cells, ids = [], []
    for i, cell in enumerate(nb["cells"]):
        if i not in exercises:
            cells.append(cell)
            continue
        answer, checker, fallback = split_exercise("".join(cell["source"]))
        name = _exercise_id(answer)
        if name in ids:
            raise NotebookError(f"{Path(notebook).name}: two exercises are both named {name!r}.")
        ids.append(name)
        cells.append(_code_cell(answer, _meta(f"{name}-answer", solution=True)))
        cells.append(_code_cell(checker, _meta(name, grade=True, locked=True)))
        if fallback:
            cells.append(_code_cell(fallback, _meta(f"{name}-fallback", locked=True)))
    nb["cells"] = cells
    return nb, ids


def _nbgrader(args: list[str], cwd: Path, *, env: dict | None = None, user: str | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess:
    """Run one nbgrader command as `user` (see `tl_kit.accounts.run_as`).

    The environment's bin folder goes first on PATH: nbgrader calls `alembic` by name.
    """
    env = dict(env or os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return run_as([sys.executable, "-m", "nbgrader", *args], cwd, user=user, env=env, timeout=timeout)


def release(notebooks: list[str | Path], course: str | Path) -> list[Path]:
    """Write each lesson with exercises into `course` as an nbgrader assignment and generate its
    student release; return the released notebooks. Lessons without exercises are skipped.

    The course folder is made private to its owner (mode 700): it is the teacher's, and
    students' code run by the grader must not reach it.
    """
    course = Path(course).expanduser().resolve()
    course.mkdir(parents=True, exist_ok=True)
    course.chmod(0o700)
    (course / "nbgrader_config.py").write_text(_CONFIG.format(root=str(course)))
    released = []
    for notebook in with_exercises(notebooks):
        assignment = assignment_name(notebook)
        nb, _ = nbgrader_source(notebook)
        source = course / "source" / assignment / notebook.name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        done = _nbgrader(["generate_assignment", assignment, "--force"], course)
        if done.returncode != 0:
            raise GradingError(f"nbgrader could not generate {assignment}:\n{done.stdout[-2000:]}")
        released.append(course / "release" / assignment / notebook.name)
    if not released:
        raise NotebookError(f"None of {', '.join(map(str, notebooks))} has exercises to release.")
    return released


@dataclass(frozen=True)
class GradeRow:
    """One line of the gradebook: a student's score on one exercise, and what the checker said."""

    student: str
    lesson: str
    exercise: str
    points: float
    max_points: float
    message: str


def _cell_message(cell: dict) -> str:
    """What a graded checker cell said: its error, else its printed result."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            value = re.sub(r"\x1b\[[0-9;]*m", "", output.get("evalue", ""))
            return f"{output.get('ename')}: {value}".strip(": ") or output.get("ename", "error")
    texts = [output.get("text") or output.get("data", {}).get("text/plain", "") for output in cell.get("outputs", [])]
    return " ".join("".join(t) if isinstance(t, list) else t for t in texts).strip() or "(no output)"


def _returned(returned: Path, lessons: dict[str, str]) -> dict[str, list[Path]]:
    """student → their returned notebooks, from `returned/<student>/…/<lesson>.ipynb`."""
    found: dict[str, list[Path]] = {}
    for folder in sorted(p for p in returned.iterdir() if p.is_dir()):
        if not _STUDENT.match(folder.name):
            print(f"skipped folder {folder.name!r}: a student's folder name uses letters, digits, '.', '_', '-', '@'")
            continue
        notebooks = [p for p in sorted(folder.rglob("*.ipynb")) if p.name in lessons and not p.is_symlink()
                     and ".ipynb_checkpoints" not in p.parts]
        if not notebooks:
            print(f"skipped {folder.name}: no returned lesson notebook ({', '.join(sorted(lessons))}) in the folder")
            continue
        found[folder.name] = notebooks
    if not found:
        raise GradingError(f"No returned notebooks in {returned}: expected {returned}/<student>/<lesson>.ipynb, e.g. "
                           f"{returned}/ada/{next(iter(sorted(lessons)), 'lesson.ipynb')}.")
    return found


def _scratch_course(course: Path, user: str | None) -> Path:
    """A copy of the course without the answer key (source/), owned by the grading account."""
    scratch = Path(tempfile.mkdtemp(prefix="tl-kit-grading-"))
    shutil.copytree(course / "release", scratch / "release")
    for assignment in (course / "release").iterdir():  # nbgrader copies a source folder's extra files: none
        (scratch / "source" / assignment.name).mkdir(parents=True)
    shutil.copy(course / "gradebook.db", scratch / "gradebook.db")
    (scratch / "nbgrader_config.py").write_text(_CONFIG.format(root=str(scratch)))
    (scratch / "home").mkdir()
    if user:
        give(user, [scratch, *scratch.rglob("*")])
    return scratch


def grade(returned: str | Path, course: str | Path, *, profile: str = "fast", cell_timeout: int = 120,
          notebook_timeout: int = 1800, out: str | Path | None = None) -> list[GradeRow]:
    """Grade every returned notebook in `returned/<student>/` against the course's release, with
    nbgrader's autograder; write the gradebook CSV (default `<course>/grades.csv`) and the graded
    notebooks (`<course>/autograded/`); return the rows.

    A cell that runs past `cell_timeout` seconds is interrupted and scored as an error; a
    notebook past `notebook_timeout` is stopped and each of its exercises scored 0 with that
    reason. Nothing in `returned` is changed.
    """
    course, returned = Path(course).expanduser().resolve(), Path(returned).expanduser().resolve()
    if not (course / "gradebook.db").is_file():
        raise GradingError(f"{course} is not a course folder made by `python -m tl_kit release` (no gradebook.db).")
    if not returned.is_dir():
        raise GradingError(f"No folder of returned notebooks at {returned}.")
    lessons = {p.name: p.parent.name for p in (course / "release").glob("*/*.ipynb")}
    submissions = _returned(returned, lessons)
    user = sandbox_account("import nbgrader, tl_kit")
    scratch = _scratch_course(course, user)
    home = scratch / "home"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")},
           "HOME": str(home), "TL_KIT_GRADING": "1", "TL_KIT_PROFILE": profile, "TL_KIT_LIVE_PLOTS": "0",
           "TL_KIT_RUNS": str(home / "runs"), "TL_KIT_CACHE": str(home / "cache"), "KERAS_HOME": str(home / ".keras"),
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".mpl"), "TQDM_DISABLE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / ".ipython")}
    rows: list[GradeRow] = []
    try:  # grading as the teacher: at least plain writes to the course must fail
        with contextlib.nullcontext() if user else read_only(course):
            for student, notebooks in submissions.items():
                for notebook in notebooks:
                    rows += _grade_one(scratch, course, student, notebook, lessons[notebook.name], env, user,
                                       cell_timeout, notebook_timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out = Path(out) if out else course / GRADE_CSV
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lesson", "exercise", "points", "max_points", "message"])
        writer.writerows([r.student, r.lesson, r.exercise, r.points, r.max_points, r.message] for r in rows)
    return rows


def _grade_one(scratch: Path, course: Path, student: str, notebook: Path, assignment: str, env: dict,
               user: str | None, cell_timeout: int, notebook_timeout: int) -> list[GradeRow]:
    """Autograde one returned notebook in the scratch course; its rows."""
    from nbgrader.api import Gradebook

    target = scratch / "submitted" / student / assignment / notebook.name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        json.loads(notebook.read_text())
        shutil.copy(notebook, target)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        print(f"{student}/{notebook.name}: not a notebook file ({err}); scored 0")
        return _zero_rows(scratch, student, notebook, assignment, f"not a readable notebook: {err}")
    if user:  # the copy and the folders made for it, below the scratch course
        give(user, [target, *itertools.takewhile(lambda p: p != scratch, target.parents)])
    print(f"grading {student}/{notebook.name} …", flush=True)
    args = ["autograde", assignment, "--student", student, "--force", f"--Execute.timeout={cell_timeout}"]
    try:
        done = _nbgrader(args, scratch, env=env, user=user, timeout=notebook_timeout)
    except subprocess.TimeoutExpired:
        return _zero_rows(scratch, student, notebook, assignment,
                          f"grading stopped after {notebook_timeout} s (an endless loop?)")
    graded = scratch / "autograded" / student / assignment / notebook.name
    if done.returncode != 0 or not graded.is_file():
        return _zero_rows(scratch, student, notebook, assignment, "nbgrader could not grade it: "
                          + (done.stdout.strip().splitlines() or ["no output"])[-1])
    keep = course / "autograded" / student / assignment / notebook.name
    keep.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(graded, keep)
    messages = {c["metadata"]["nbgrader"]["grade_id"]: _cell_message(c)
                for c in json.loads(graded.read_text())["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade")}
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
        grades = gb.find_submission_notebook(notebook.stem, assignment, student).grades
        return [GradeRow(student, assignment, g.name, float(g.score), float(g.max_score),
                         messages.get(g.name, "(no checker output)")) for g in sorted(grades, key=lambda g: g.name)]


def _zero_rows(scratch: Path, student: str, notebook: Path, assignment: str, why: str) -> list[GradeRow]:
    """Every exercise of the lesson scored 0, with the reason (a notebook nbgrader could not finish)."""
    source = json.loads((scratch / "release" / assignment / notebook.name).read_text())
    cells = [c["metadata"]["nbgrader"] for c in source["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    return [GradeRow(student, assignment, c["grade_id"], 0.0, float(c["points"]), why)
            for c in sorted(cells, key=lambda c: c["grade_id"])]

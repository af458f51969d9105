"""Student copies of a lesson: every worked answer removed, and the lesson still runs top to bottom.

The committed notebooks carry working answers (the test suite runs them), between marker lines:

    # >>> answer
    return (n - k) // stride + 1
    # <<< answer

`make_student_copy` blanks each marked block so that "Run All" still reaches the end of the
lesson: a teacher hands out `01_conv_pool_softmax_exercises.ipynb`, a student runs it, and each
checker says "not answered yet" until its exercise is filled in, while every other cell runs.

- An answer inside a function body becomes `raise NotImplementedError(...)`: defining the
  function works, and its checker catches the error and reports it as unanswered.
- An answer at the top level of a cell (`conv_params = 3 * 3 * 1 * 8 + 8`) becomes
  `conv_params = ...` for each name it assigned: the cell runs, and `check_number` reads
  `...` as unanswered. Where a later cell reads that name, the cell ends by falling back to
  the lesson's value while the answer is missing, so the rest of the lesson has what it needs.
  (A later cell may not call a function whose body is an exercise: the copy is refused.)

Test markers (`# NBVAL_...`) are dropped from the copy: they belong to the committed lesson's
tests, not to a student's notebook. From a terminal:
`python -m tl_kit exercises notebooks/01_conv_pool_softmax.ipynb`.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from .errors import NotebookError

BEGIN, END = "# >>> answer", "# <<< answer"
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"  # nbgrader's delimiters
PLACEHOLDER = 'raise NotImplementedError("Exercise: write your code here")'
UNANSWERED = "...  # ← your answer here"
_BLOCK = re.compile(rf"^([ \t]*){re.escape(BEGIN)}\n(.*?)^[ \t]*{re.escape(END)}[ \t]*$", re.M | re.S)
_TEST_MARKER = re.compile(r"^[ \t]*# NBVAL_\w+[ \t]*\n?", re.M)


def _assigned_names(block: str) -> list[str]:
    """The names a top-level answer block assigns, in order (`a = …`, `a, b = …`, `a += …`)."""
    try:
        tree = ast.parse(block)
    except SyntaxError as err:
        raise NotebookError(f"An answer block is not valid Python ({err.msg}, line {err.lineno}): fix the lesson.") \
            from None
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and name.id not in names:
                    names.append(name.id)
    if not names:
        raise NotebookError("A top-level answer block assigns no name, so a checker has nothing to read: wrap the "
                            f"answer in a function or assign it (block: {block.strip()[:60]!r}).")
    return names


def blank_answers(source: str, needed_later: set[str] = frozenset(), keep_answers: bool = False) -> tuple[str, int]:
    """Blank every marked answer block of one cell; return (new source, blocks blanked).

    A top-level answer whose names a later cell reads (`needed_later`) gets a fallback at the
    end of the cell: while the name is still `...`, it takes the lesson's own value, so the
    rest of the lesson runs (after the checker has said "not answered yet").

    With `keep_answers`, each answer stays, between nbgrader's solution delimiters, after the
    placeholder it will leave (see `tl_kit.grading`): the cell still runs as the lesson does,
    and nbgrader's release replaces the delimited lines with its note that the answer was removed.
    """
    fallbacks: list[str] = []

    def replace(match: re.Match) -> str:
        indent, block = match.group(1), match.group(2)
        kept = f"{indent}{SOLUTION_BEGIN}\n{block}{indent}{SOLUTION_END}\n" if keep_answers else ""
        if indent:  # inside a function: its checker reports the NotImplementedError as unanswered
            note = "" if keep_answers else " (the answer was removed from this copy)"
            return f"{indent}# Your code here{note}:\n{kept}{indent}{PLACEHOLDER}"
        names = _assigned_names(block)
        if needed_later & set(names):
            fallbacks.append(f"if {' or '.join(f'{n} is ...' for n in names)}:  # not answered yet: later cells "
                             "use the lesson's value\n" + "".join(f"    {line}\n" for line in block.splitlines()))
        note = "" if keep_answers else " (the answer was removed from this copy)"
        return "\n".join([f"# Your answer here: replace each `...`{note}."]
                         + [f"{name} = {UNANSWERED}" for name in names]) + ("\n" + kept.rstrip("\n") if kept else "")

    blanked, n = _BLOCK.subn(replace, source)
    if fallbacks:
        blanked = blanked.rstrip("\n") + "\n" + "".join(fallbacks)
    return blanked, n


def _needed_later(sources: list[str], index: int) -> tuple[set[str], set[str]]:
    """Names that cell `index`'s answers define and a later cell reads: (top-level names, functions)."""
    later = "\n".join(_BLOCK.sub("", source) for source in sources[index + 1:])  # as the copy will read them
    names, functions = set(), set()
    for match in _BLOCK.finditer(sources[index]):
        if match.group(1):
            defined = re.findall(r"^def (\w+)\(", sources[index][:match.start()], re.M)
            functions.update(defined[-1:])
        else:
            names.update(_assigned_names(match.group(2)))
    def used(name: str, call: str = "") -> bool:  # not `keras.ops.name`, not the string "name"
        return re.search(rf"(?<![.\w\"']){re.escape(name)}\b{call}", later) is not None

    return {n for n in names if used(n)}, {f for f in functions if used(f, call=r"\s*\(")}


def student_notebook(notebook: str | Path, keep_answers: bool = False) -> tuple[dict, list[int]]:
    """The lesson with every answer blanked, as notebook JSON, and the indices of its exercise cells.
    (`keep_answers`: kept between nbgrader's delimiters, see `blank_answers`.)

    Outputs, execution counts and test markers are removed. Raises NotebookError when the
    notebook has no answer blocks, or when a later cell calls a function whose body is an
    exercise (the copy would stop there).
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise NotebookError(f"No notebook at {notebook}.")
    nb = json.loads(notebook.read_text())
    sources = ["".join(c["source"]) if c["cell_type"] == "code" else "" for c in nb["cells"]]
    exercises = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        names, functions = _needed_later(sources, i)
        if functions:
            raise NotebookError(f"{notebook.name}: a later cell calls {', '.join(sorted(functions))}, whose body is an "
                                "exercise; a student copy would stop there. Call it only in its checker, or make "
                                "the exercise a separate function.")
        source, n = blank_answers(sources[i], names, keep_answers)
        if n:
            exercises.append(i)
        cell["source"] = _TEST_MARKER.sub("", source).splitlines(keepends=True)
        cell["outputs"], cell["execution_count"] = [], None
    if not exercises:
        raise NotebookError(f"{notebook} has no answer blocks (lines '{BEGIN}' … '{END}') to blank.")
    return nb, exercises


_CHECKER = re.compile(r"^checks\.check_\w+\(", re.M)
_FALLBACK = re.compile(r"^if .+ is \.\.\.:  # not answered yet", re.M)


def split_exercise(source: str) -> tuple[str, str, str]:
    """A blanked exercise cell cut into (the student's part, the checker call, the fallback).

    The grader needs them apart: the student edits the first, the checker is a locked test
    cell that nbgrader restores before grading, and the fallback (empty when no later cell
    needs the answer) runs after the checker, so a missing answer cannot pass the check.
    """
    checker = _CHECKER.search(source)
    if not checker:
        raise NotebookError("An exercise cell has no `checks.check_…(…)` call at the start of a line, so it "
                            f"cannot be graded: add one after the answer (cell: {source.strip()[:60]!r}).")
    fallback = _FALLBACK.search(source, checker.start())
    end = fallback.start() if fallback else len(source)
    return source[:checker.start()].rstrip() + "\n", source[checker.start():end].strip() + "\n", \
        source[end:].strip() + ("\n" if fallback else "")


def make_student_copy(notebook: str | Path, out: str | Path | None = None) -> Path:
    """Write a copy of `notebook` with every answer blanked (see `student_notebook`); return its path.

    The default name adds `_exercises` before `.ipynb`.
    """
    notebook = Path(notebook)
    out = Path(out) if out else notebook.with_name(notebook.stem + "_exercises.ipynb")
    if out.resolve() == notebook.resolve():
        raise NotebookError("The student copy must not overwrite the lesson itself: choose another --out.")
    nb, _ = student_notebook(notebook)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return out


def with_exercises(notebooks: list[str | Path]) -> list[Path]:
    """Those of `notebooks` that have answer blocks. Raises NotebookError for a path that is not a file."""
    for notebook in notebooks:
        if not Path(notebook).is_file():
            raise NotebookError(f"No notebook at {notebook}.")
    return [Path(n) for n in notebooks if BEGIN in Path(n).read_text()]


def make_student_copies(notebooks: list[str | Path], out_dir: str | Path) -> list[Path]:
    """A student copy of each notebook that has exercises, in `out_dir`; the others are skipped.

    Raises NotebookError for a path that is not a notebook, or when none has an answer block.
    """
    written = [make_student_copy(notebook, Path(out_dir) / (notebook.stem + "_exercises.ipynb"))
               for notebook in with_exercises(notebooks)]
    if not written:
        raise NotebookError(f"None of {', '.join(map(str, notebooks))} has answer blocks to blank.")
    return written

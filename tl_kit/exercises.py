"""Student copies of a lesson: every worked answer replaced by `raise NotImplementedError`.

The committed notebooks carry working answers (the test suite runs them), between marker lines:

    # >>> answer
    return (n - k) // stride + 1
    # <<< answer

`make_student_copy` blanks each marked block, keeping its indentation, so a teacher can hand
out `01_conv_pool_softmax_exercises.ipynb`; the checkers then say "not written yet" until the
student fills the block in. From a terminal: `python -m tl_kit exercises notebooks/01_conv_pool_softmax.ipynb`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import NotebookError

BEGIN, END = "# >>> answer", "# <<< answer"
PLACEHOLDER = 'raise NotImplementedError("Exercise: write your code here")'


def blank_answers(source: str) -> tuple[str, int]:
    """Replace every marked answer block in a cell's source; return (new source, blocks replaced)."""
    pattern = re.compile(rf"^([ \t]*){re.escape(BEGIN)}\n.*?^[ \t]*{re.escape(END)}[ \t]*$", re.M | re.S)

    def replace(match: re.Match) -> str:
        indent = match.group(1)
        return f"{indent}# Your code here (the answer was removed from this copy):\n{indent}{PLACEHOLDER}"

    return pattern.subn(replace, source)


def make_student_copy(notebook: str | Path, out: str | Path | None = None) -> Path:
    """Write a copy of `notebook` with every answer blanked; return its path.

    The default name adds `_exercises` before `.ipynb`. Outputs and execution counts are removed.
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise NotebookError(f"No notebook at {notebook}.")
    out = Path(out) if out else notebook.with_name(notebook.stem + "_exercises.ipynb")
    if out.resolve() == notebook.resolve():
        raise NotebookError("The student copy must not overwrite the lesson itself: choose another --out.")
    nb = json.loads(notebook.read_text())
    blanked = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source, n = blank_answers("".join(cell["source"]))
        blanked += n
        cell["source"] = source.splitlines(keepends=True)
        cell["outputs"], cell["execution_count"] = [], None
    if not blanked:
        raise NotebookError(f"{notebook} has no answer blocks (lines '{BEGIN}' … '{END}') to blank.")
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return out

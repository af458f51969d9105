"""Run a lesson as a student who restarts the kernel where the lesson says they may.

A cell tagged `after-restart` promises that it needs nothing from the cells above it (the lesson
tells the student to restart and run it). `execute_with_restarts` holds the lesson to that: each
tagged cell starts a fresh kernel, which then runs the rest of the lesson, so a tagged cell or
any cell after it that leans on a variable from before the restart fails with NameError.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TAG = "after-restart"
#: words in a markdown cell that tell the student to restart the kernel (or say it may stop)
RESTART_WORDS = re.compile(r"restart the kernel|kernel\s*→\s*restart|if the kernel stops", re.IGNORECASE)


def restart_points(nb) -> list[int]:
    """Indices of the cells tagged `after-restart`."""
    return [i for i, cell in enumerate(nb.cells) if TAG in cell.get("metadata", {}).get("tags", [])]


def restart_instructions(nb) -> list[int]:
    """Indices of the markdown cells that tell the student to restart the kernel."""
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown" and RESTART_WORDS.search(cell.source)]


def execute_with_restarts(path: Path, env: dict[str, str], cwd: Path, timeout: int = 900):
    """Execute the notebook at `path` top to bottom, in a fresh kernel from each `after-restart`
    cell on; returns the executed notebook (all cells, outputs in place). `env` is set while it runs."""
    nb = nbformat.read(path, as_version=4)
    bounds = [0, *restart_points(nb), len(nb.cells)]
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for start, end in zip(bounds, bounds[1:]):
            part = nbformat.v4.new_notebook(cells=nb.cells[start:end], metadata=nb.metadata)
            NotebookClient(part, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": str(cwd)}}).execute()  # a new kernel for each part
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    return nb

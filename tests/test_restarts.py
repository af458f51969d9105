"""Every "restart the kernel and run the next cell" in a lesson is true: that cell, and the rest of
the lesson after it, run in a fresh kernel (lesson 04's is run by tests/test_lesson04.py)."""

import nbformat
import pytest

from tests.restarts import execute_with_restarts, restart_instructions, restart_points
from tl_kit.lessons import lesson_paths


@pytest.mark.parametrize("path", lesson_paths(), ids=lambda p: p.stem)
def test_each_restart_instruction_is_followed_by_a_cell_tagged_after_restart(path):
    nb = nbformat.read(path, as_version=4)
    for i in restart_instructions(nb):
        following = next(j for j in range(i + 1, len(nb.cells)) if nb.cells[j].cell_type == "code")
        assert following in restart_points(nb), (f"{path.name}: cell {i} tells the student to restart the kernel, "
                                                 f"but the next code cell ({following}) is not tagged after-restart")


def test_every_lesson_with_a_restart_point_is_run_with_a_restart():
    with_points = {p.name for p in lesson_paths() if restart_points(nbformat.read(p, as_version=4))}
    assert with_points == {"03_fine_tuning.ipynb", "04_your_own_images.ipynb"}  # run below and in test_lesson04.py


def test_lesson_03_runs_on_after_a_kernel_restart(tmp_path):
    path = next(p for p in lesson_paths() if p.name == "03_fine_tuning.ipynb")
    nb = execute_with_restarts(path, {"TL_KIT_RUNS": str(tmp_path / "runs"), "TL_KIT_PROFILE": "fast",
                                      "TL_KIT_LIVE_PLOTS": "0"}, path.parent)
    after = nb.cells[restart_points(nb)[0]]
    assert any("after reloading" in o.get("text", "") for o in after.outputs)

"""The lessons in a real JupyterLab, in a real browser: every cell runs, every widget renders.

nbval executes notebooks without a front end, so it never sees a widget fail to render
("Error displaying widget", or a text repr where controls should be). This test starts
JupyterLab from the kit's environment on a loopback port with a token, in a temporary copy of
notebooks/, drives Debian's Chromium with Playwright, runs each lesson top to bottom in the fast
profile, and checks the page. Screenshots go to $TL_KIT_SCREENSHOTS (default: a temp folder).
It skips, saying why, where no Chromium or Playwright can be had.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, running
from tl_kit import config

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: pip install playwright")
if not CHROMIUM:
    pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); the browser test needs one",
                allow_module_level=True)

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
#: notebook → (text of the cell that shows a widget, a control it must render, a preset to click)
LESSONS = {
    "00_start_here.ipynb": (None, None, None),
    "01_conv_pool_softmax.ipynb": ("explorer = ConvExplorer(examples)", ".widget-dropdown select", None),
    "02_feature_extraction.ipynb": (None, None, None),
    # Both lessons end with the last block kept applied; feature extraction differs from it whatever the cut
    # (with a cut after block 1, "train everything" would be the same choice).
    "03_fine_tuning.ipynb": ("freezer = FreezeWidget(", ".widget-checkbox input[type='checkbox']",
                             "feature extraction"),
    "03b_choosing_the_model.ipynb": (None, None, None),
    "04_your_own_images.ipynb": ("freezer = FreezeWidget(", ".widget-checkbox input[type='checkbox']",
                                 "feature extraction"),
    "05_look_inside.ipynb": (None, None, None),
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a temporary copy of the notebooks; yields (base_url, token, folder)."""
    work = tmp_path_factory.mktemp("lab")
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(nb, work / nb.name)
    port, token = free_port(), secrets.token_hex(16)
    settings = work / ".settings"
    # Render every cell (no virtual scrolling), so off-screen widgets are in the page; no news pop-up.
    for plugin, values in (("notebook-extension/tracker", {"windowingMode": "none"}),
                           ("apputils-extension/notification", {"fetchNews": "false"})):
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    # The kit's own cache folder, which `make test`'s nbval runs have just filled: the browser
    # test reuses their VGG16 features instead of computing them a third time.
    env = {**os.environ, "TL_KIT_PROFILE": "fast", "TL_KIT_CACHE": str(config.cache_dir()),
           "TL_KIT_RUNS": str(work / "runs"), "JUPYTER_RUNTIME_DIR": str(work / ".runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(work / ".workspaces")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, f"{base}/api/status?token={token}", work / "lab.log", env=env):
        yield base, token, work


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield chromium
        chromium.close()


def saved_code_cells(base: str, token: str, name: str) -> list[dict]:
    """The code cells of the notebook as saved on the server (what the student's file now holds)."""
    with urllib.request.urlopen(f"{base}/api/contents/{name}?token={token}&content=1", timeout=30) as r:
        nb = json.loads(r.read())["content"]
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def shut_down_kernels(base: str, token: str) -> None:
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=30) as r:
        kernels = json.loads(r.read())
    for kernel in kernels:
        request = urllib.request.Request(f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=60).close()


def wait_for_kernel(page, timeout_ms: int = 180_000) -> None:
    """Wait until the kernel has started and is idle: the status bar says "| Idle". The
    execution indicator alone can read idle before any kernel is connected, and a Run All sent
    then runs nothing."""
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\|\s*Idle")).first.wait_for(timeout=timeout_ms)


def run_all_and_wait(page, timeout_s: float = 900) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    # Run All marks the first code cell queued ("[*]") at once, and it keeps a number when it ran:
    # wait for that, so that the loop below cannot see the page as idle before anything ran.
    page.locator(".jp-CodeCell .jp-InputPrompt").first.filter(has_text=re.compile(r"\[(\*|\d+)\]")).wait_for(
        timeout=30_000)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = page.locator(".jp-InputPrompt", has_text="[*]").count()
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
        if busy == 0 and idle:
            return
        page.wait_for_timeout(250)
    pytest.fail(f"the notebook was still running after {timeout_s:.0f} s")


def unexecuted_cells(panel) -> list[int]:
    """Positions of code cells whose prompt shows no execution count ("[ ]:"): cells Run All skipped."""
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
    assert prompts, "no code-cell prompts found: has JupyterLab's page structure changed?"
    return [i for i, text in enumerate(prompts) if not re.search(r"\[\d+\]", text)]


@pytest.mark.parametrize("name", list(LESSONS))
def test_lesson_runs_and_its_widgets_render_in_jupyterlab(lab, browser, name):
    base, token, work = lab
    cell_text, control, preset = LESSONS[name]
    shots = Path(os.environ.get("TL_KIT_SCREENSHOTS") or work / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    try:
        # ?reset: a fresh workspace, this notebook alone (no tabs restored from an earlier test)
        page.goto(f"{base}/lab/tree/{name}?reset&token={token}", wait_until="domcontentloaded")
        wait_for_kernel(page)
        run_all_and_wait(page)
        panel = page.locator(".jp-NotebookPanel:visible").first
        skipped = unexecuted_cells(panel)
        assert not skipped, f"{name}: Run All left code cells {skipped} unexecuted"
        body = panel.inner_text()
        assert "Error displaying widget" not in body
        assert "Traceback" not in body
        if cell_text:
            cell = panel.locator(".jp-CodeCell", has_text=cell_text).first
            cell.evaluate("e => e.scrollIntoView({block: 'start'})")
            try:
                cell.locator(control).first.wait_for(state="visible", timeout=60_000)  # real controls, not a repr
            except playwright.TimeoutError:
                pytest.fail(f"{name}: no {control} rendered in the widget cell; it shows:\n{cell.inner_text()[:2000]}")
            assert "Widget(children=" not in cell.inner_text() and "Explorer(children=" not in cell.inner_text()
        if preset:
            summary = cell.locator(".widget-html-content", has_text="one training step").first
            before = summary.inner_text()
            button = cell.locator(".widget-toggle-button", has_text=preset).first
            button.scroll_into_view_if_needed()
            button.click()
            deadline = time.monotonic() + 30
            while summary.inner_text() == before and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert summary.inner_text() != before, "the trainable-parameter count did not change"
            summary.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.screenshot(path=str(shots / f"{Path(name).stem}.png"))
        page.keyboard.press("Control+s")
        # The tab loses its dirty mark when the contents API has written the file.
        page.locator(".lm-TabBar-tab.jp-mod-dirty").first.wait_for(state="detached", timeout=60_000)
        cells = saved_code_cells(base, token, name)
        assert all(c.get("execution_count") for c in cells), f"{name}: the saved copy has cells that never ran"
        errors = [o for c in cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    except BaseException:
        page.screenshot(path=str(shots / f"FAILED-{Path(name).stem}.png"), full_page=True)
        raise
    finally:
        page.close()
        shut_down_kernels(base, token)  # five idle kernels, each holding a backend and VGG16, would crowd a 2-core machine

"""A classroom on a real JupyterHub: three students, one shared read-only cache, a killed kernel.

The hub runs on loopback with its usual proxy (configurable-http-proxy from npm, installed by
`make test` into build/node), the dummy authenticator and the local-process spawner, so each
student's server and kernels run as that student's own Unix account (the test creates three).
The students run lesson 04 in the fast profile at the same time, through the hub: the proxy, the
servers' REST APIs and their kernels' websockets.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.hub import Hub, HubError, HUB_CONFIG, Student
from tests.servers import free_port, running

ROOT = Path(__file__).resolve().parent.parent
PROXY = ROOT / "build" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
LESSON = "04_your_own_images.ipynb"
STUDENTS = ["tlkit-student1", "tlkit-student2", "tlkit-student3"]
TRAINING_CELL = "checkpoint = BestModelCheckpoint("


def _why_not() -> str | None:
    if not PROXY.exists():
        return (f"configurable-http-proxy is not installed ({PROXY} missing): `make test` installs it with npm, "
                "and npm was not available")
    if os.geteuid() != 0:
        return "the hub test creates three student accounts, which needs root"
    if not shutil.which("useradd"):
        return "no useradd on this machine to create the student accounts"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")


def _code_cells(notebook: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.fixture(scope="module")
def classroom(tmp_path_factory, others_can_run_python):
    """The teacher's set-up: accounts, the lesson in each home, a prefetched shared cache, the hub."""
    folder = Path(tempfile.mkdtemp(prefix="tl-kit-hub-"))  # not under pytest's own folder, which is private
    folder.chmod(0o755)
    for name in STUDENTS:
        if subprocess.run(["id", name], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        home = Path(f"~{name}").expanduser()
        shutil.rmtree(home / "lessons", ignore_errors=True)
        shutil.rmtree(home / ".cache", ignore_errors=True)
        (home / "lessons").mkdir()
        shutil.copy(ROOT / "notebooks" / LESSON, home / "lessons" / LESSON)
        subprocess.run(["chown", "-R", f"{name}:{name}", str(home)], check=True)
        home.chmod(0o700)  # a student's files are theirs alone
    shared = folder / "shared"  # the teacher's cache: root's, readable by all, writable by none of them
    done = subprocess.run([sys.executable, "-m", "tl_kit", "prefetch", "--no-weights", "--dest", str(shared),
                           "--features", "fast", "--lessons", LESSON], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "ok    features of" in done.stdout, done.stdout + done.stderr[-2000:]
    token = os.urandom(16).hex()
    port = free_port()
    environment = {"TL_KIT_PROFILE": "fast", "TL_KIT_SHARED_DIR": str(shared), "TL_KIT_LIVE_PLOTS": "0",
                   "TQDM_DISABLE": "1", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2",
                   "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow")}
    (folder / "jupyterhub_config.py").write_text(HUB_CONFIG.format(
        port=port, hub_port=free_port(), proxy=str(PROXY), proxy_api_port=free_port(),
        pid_file=str(folder / "proxy.pid"), folder=folder, students=set(STUDENTS),
        singleuser=str(Path(sys.executable).parent / "jupyterhub-singleuser"), environment=environment,
        token=token))
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    url = f"http://127.0.0.1:{port}"
    with running([str(Path(sys.executable).parent / "jupyterhub"), "-f", str(folder / "jupyterhub_config.py")],
                 f"{url}/hub/api/", folder / "hub.log", env=env, cwd=folder, timeout=120):
        hub = Hub(url, token)
        yield {"hub": hub, "shared": shared, "log": folder / "hub.log"}
        for name in STUDENTS:
            hub.api(f"users/{name}/server", "DELETE")
    shutil.rmtree(folder, ignore_errors=True)


def _kill_kernel_process(student: str) -> int:
    """SIGKILL the student's kernel, as the out-of-memory killer would; return how many died."""
    pids = subprocess.run(["pgrep", "-u", student, "-f", "ipykernel_launcher"], capture_output=True, text=True)
    for pid in pids.stdout.split():
        os.kill(int(pid), signal.SIGKILL)
    return len(pids.stdout.split())


def _lesson(student: Student, results: dict, kill_after_training: bool = False) -> None:
    """One student's session: open the lesson, poke at the shared cache, run every cell."""
    log = results[student.name] = {"cells": 0, "errors": [], "text": ""}
    try:
        student.open_notebook(f"lessons/{LESSON}")
        probe = student.run("import os, pathlib\nshared = pathlib.Path(os.environ['TL_KIT_SHARED_DIR'])\n"
                            "try:\n    (shared / 'features' / 'mine.npz').write_bytes(b'x')\n    print('WROTE')\n"
                            "except PermissionError as err:\n    print('refused:', err)")
        log["write_attempt"] = probe.text
        for source in _code_cells(ROOT / "notebooks" / LESSON):
            result = student.run(source)
            log["cells"] += 1
            log["text"] += result.text
            if result.error:
                log["errors"].append(result.error)
            if kill_after_training and TRAINING_CELL in source:
                break
        if kill_after_training:
            log["killed"] = _kill_kernel_process(student.name)
            time.sleep(3)
            student.restart()  # what the student does next: Kernel → Restart
            gone = student.run("print('dataset' in dir())")
            reload = student.run(
                "import tl_kit\nfrom tl_kit import TransferModel, latest_run\n"
                "profile = tl_kit.start()\nfolder = latest_run(model_file='model.keras')\n"
                "best = TransferModel.load(folder / 'model.keras')\n"
                "data = tl_kit.load_dataset(folder / 'demo_images', profile=profile, image_size=best.image_size)\n"
                "print('reloaded', folder.name, best.score(data.x_test, data.y_test))")
            log["after_restart"] = {"namespace_empty": gone.text.strip() == "False", "reload": reload.text,
                                    "error": reload.error}
    except (HubError, TimeoutError, OSError) as err:
        log["errors"].append(f"{type(err).__name__}: {err}")


@pytest.fixture(scope="module")
def lessons_run(classroom):
    hub = classroom["hub"]
    students = {name: hub.start_server(name) for name in STUDENTS}
    results: dict = {}
    start = time.monotonic()
    threads = [threading.Thread(target=_lesson, args=(students[name], results, name == STUDENTS[0]))
               for name in STUDENTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=1200)
    return {"students": students, "results": results, "seconds": time.monotonic() - start}


def test_every_student_finishes_the_lesson_at_the_same_time(lessons_run, classroom):
    results = lessons_run["results"]
    cells = len(_code_cells(ROOT / "notebooks" / LESSON))
    for name in STUDENTS[1:]:
        assert results[name]["errors"] == [] and results[name]["cells"] == cells, \
            (results[name]["errors"], classroom["log"].read_text()[-3000:])
        assert "test accuracy" in results[name]["text"]


def test_the_shared_cache_is_used_and_stays_read_only(lessons_run, classroom):
    before = sorted(p.name for p in (classroom["shared"] / "features").iterdir())
    for name in STUDENTS:
        log = lessons_run["results"][name]
        assert "refused: [Errno 13] Permission denied" in log["write_attempt"], log["write_attempt"]
        assert "images from the teacher's shared cache" in log["text"]  # no VGG16 pass of their own
    assert "mine.npz" not in before
    assert all(p.stat().st_uid == 0 and not p.stat().st_mode & 0o022 for p in (classroom["shared"]).rglob("*"))


def test_one_student_cannot_read_or_overwrite_anothers_files_through_the_hub(lessons_run):
    alice, bob = (lessons_run["students"][n] for n in STUDENTS[:2])
    status, _ = alice.api(f"contents/lessons/{LESSON}", server=bob.name)
    assert status == 403
    status, _ = alice.api("contents/lessons/mine.ipynb", "PUT", {"type": "notebook", "content": {
        "cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}, server=bob.name)
    assert status == 403
    status, body = alice.api("contents/lessons")
    assert status == 200 and any(item["name"] == "runs" for item in body["content"])  # her own: fine
    attempt = alice.run(f"import os\ntry:\n    print(os.listdir('/home/{bob.name}/lessons/runs'))\n"
                        "except PermissionError:\n    print('refused')")
    assert attempt.text.strip() == "refused"  # not through her kernel either
    status, body = bob.api("contents/lessons/runs")
    assert status == 200 and body["content"]  # and Bob's run folders are all still there


def test_a_killed_kernel_restarts_and_reloads_the_last_checkpoint(lessons_run):
    log = lessons_run["results"][STUDENTS[0]]
    assert log["errors"] == [] and log["killed"] >= 1
    after = log["after_restart"]
    assert after["namespace_empty"] and after["error"] is None, after
    line = next(line for line in after["reload"].splitlines() if line.startswith("reloaded "))
    assert 0.34 < float(line.split()[-1]) <= 1  # the trained model: better than chance on three classes

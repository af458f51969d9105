"""Fixtures shared by the unit tests: small real image folders built from the shipped data."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from pathlib import Path

import pytest

from tl_kit.data import shipped_path

FASHION = shipped_path("fashion_mnist")


def copy_class_images(dest: Path, classes: dict[str, int], split: str = "train") -> Path:
    """Copy the first n shipped images of each named class into dest/<class>/; return dest."""
    for name, n in classes.items():
        (dest / name).mkdir(parents=True, exist_ok=True)
        for src in sorted((FASHION / split / name).glob("*.png"))[:n]:
            shutil.copy(src, dest / name / src.name)
    return dest


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    """A teacher-style folder: three classes of 10 real Fashion-MNIST images each, no splits."""
    return copy_class_images(tmp_path / "photos", {"bag": 10, "sneaker": 10, "trouser": 10})


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's Keras or tl-kit caches, or sees their data override."""
    home = tmp_path_factory.mktemp("keras_home")
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("TL_KIT_CACHE", str(tmp_path_factory.mktemp("tl_kit_cache")))
    monkeypatch.delenv("TL_KIT_DATA", raising=False)
    monkeypatch.delenv("TL_KIT_SHARED_DIR", raising=False)


#: Both Keras backends, for tests that run a script on each; the JAX runs are marked `jax`, so that
#: `make test` runs them in its JAX lane (with nbval on JAX) and the TensorFlow ones in the other.
BACKENDS = ["tensorflow", pytest.param("jax", marks=pytest.mark.jax)]


def run_on_backend(script: str, backend: str, timeout: int = 600) -> dict:
    """Run a Python script with Keras on `backend`; return the JSON object its last output line prints.

    A backend is chosen once per process. Where this process already runs `backend` (`make test`
    runs the tests marked `jax` in a pytest on JAX, the others in one on TensorFlow), the script
    runs here, in a namespace of its own: starting Python and importing the backend again costs
    about 5 s a script. Elsewhere it runs in a fresh process with KERAS_BACKEND=`backend`, stopped
    after `timeout` seconds (a script run here has no time limit).
    """
    import json
    import subprocess

    import keras

    if keras.backend.backend() == backend:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(script, f"<script on {backend}>", "exec"), {"__name__": "__main__"})
        stdout = printed.getvalue()
    else:
        env = {**os.environ, "KERAS_BACKEND": backend}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        stdout = out.stdout
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["backend"] == backend, result
    return result


@pytest.fixture(scope="session")
def others_can_run_python():
    """Grading and the hub run students' code as other accounts, who must be able to run this Python. On a
    machine whose interpreter or checkout lives under a private folder (/root/.pyenv), let other
    accounts pass through (o+x, not list) for the tests' duration, as a hub install would need."""
    if os.geteuid() != 0:
        yield False
        return
    changed = []
    needed = (Path(os.path.realpath(sys.executable)), Path(sys.prefix) / "bin", Path(__file__).resolve().parent)
    for folder in {parent for path in needed for parent in path.parents}:  # the interpreter, the venv, the kit
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod(mode | 0o001)
            changed.append((folder, mode))
    yield True
    for folder, mode in changed:
        folder.chmod(mode)

"""`make lab` really starts a JupyterLab that serves notebooks/ (the README's first command)."""

import json
import os
import secrets
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, running

ROOT = Path(__file__).resolve().parent.parent


def get(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


@pytest.mark.skipif(not (ROOT / ".venv" / ".tl-kit-installed").exists(), reason="needs the environment of `make`")
def test_make_lab_serves_the_notebooks_folder(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
            "--ServerApp.port_retries=0 --LabApp.news_url=None --LabApp.check_for_updates_class="
            "jupyterlab.NeverCheckForUpdate")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    base = f"http://127.0.0.1:{port}"
    with running(["make", "lab", f"LAB_ARGS={args}"], f"{base}/api/status?token={token}", tmp_path / "lab.log",
                 env=env, cwd=ROOT):
        _, listing = get(f"{base}/api/contents?token={token}")
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert "00_start_here.ipynb" in names
        status, page = get(f"{base}/lab?token={token}")
        assert status == 200 and "JupyterLab" in page
        _, kernelspecs = get(f"{base}/api/kernelspecs?token={token}")
        assert "tl-kit" in json.loads(kernelspecs)["kernelspecs"]

"""How much of a hub node one student takes: each lesson's peak kernel memory and CPU-seconds.

    python benchmarks/hub_sizing.py [--profiles fast cpu]     (or: make bench BENCH_ARGS=--only-sizing)

Each lesson runs top to bottom in a child process (nbclient, like a student pressing "Run all"),
in order and with one fresh cache and runs folder per profile, so a student's first pass is what
is measured (features extracted, not read from a cache). The kernel is that child's child: once
it has exited, `getrusage(RUSAGE_CHILDREN)` in the child gives the kernel's peak resident memory
and its CPU-seconds exactly, with no sampling. The results go into benchmarks/results.json under
`hub_sizing`; `python benchmarks/run.py` renders them into the README's sizing table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, time
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
start = time.perf_counter()
NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": os.path.dirname(path)}}).execute()
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, reaped when nbclient shut it down
print(json.dumps({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}))
"""


def measure_lesson(notebook: Path, env: dict[str, str]) -> dict[str, float]:
    """Run one notebook in a child process; its kernel's wall seconds, CPU-seconds and peak MB."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(notebook)], env=env, capture_output=True, text=True,
                          timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{notebook.name} failed:\n{done.stderr[-3000:]}")
    return {k: round(v, 1) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def measure(profiles: list[str]) -> dict:
    """Every lesson in each profile, in order, as one student would run them."""
    sys.path.insert(0, str(ROOT))
    from tl_kit.lessons import LESSONS

    result: dict = {"cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                    "backend": os.environ.get("KERAS_BACKEND", "tensorflow")}
    for profile in profiles:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "TL_KIT_PROFILE": profile, "TL_KIT_LIVE_PLOTS": "0", "TQDM_DISABLE": "1",
                   "TL_KIT_CACHE": f"{home}/cache", "TL_KIT_RUNS": f"{home}/runs", "TF_CPP_MIN_LOG_LEVEL": "2"}
            result[profile] = {}
            for lesson in LESSONS:
                print(f"{lesson.notebook} in the {profile} profile …", flush=True)
                result[profile][lesson.notebook] = row = measure_lesson(ROOT / "notebooks" / lesson.notebook, env)
                print(f"    {row}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="*", default=["fast", "cpu"], choices=["fast", "cpu"])
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "results.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results["hub_sizing"] = {**results.get("hub_sizing", {}), **measure(args.profiles)}
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results["hub_sizing"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

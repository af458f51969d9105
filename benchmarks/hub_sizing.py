"""How much of a hub node one student takes: each lesson's peak kernel memory and CPU-seconds.

    python benchmarks/hub_sizing.py [--profiles fast cpu] [--shared]    (or: make hub-sizing)

Each lesson runs top to bottom in a child process (nbclient, like a student pressing "Run all"),
in order and with one fresh cache and runs folder per profile, so a student's first pass is what
is measured (features extracted, not read from a cache). The kernel is that child's child: once
it has exited, `getrusage(RUSAGE_CHILDREN)` in the child gives the kernel's peak resident memory
and its CPU-seconds exactly, with no sampling. With --shared, the teacher first fills a shared
feature cache (`python -m tl_kit prefetch --features fast`) and the students' fast-profile runs
read it, as on a hub set up as the README says. The results go into benchmarks/results.json
under `hub_sizing`, and docs/classroom.md's sizing section (between its hub-sizing markers) is
rendered from them.
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
sys.path.insert(0, str(ROOT))

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


def measure(profiles: list[str], shared: bool = False, notebooks: list[str] | None = None) -> dict:
    """Every lesson (or only `notebooks`) in each profile, in order, as one student would run them."""
    from tl_kit.lessons import LESSONS

    result: dict = {"cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                    "backend": os.environ.get("KERAS_BACKEND", "tensorflow")}
    for profile in profiles:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "TL_KIT_PROFILE": profile, "TL_KIT_LIVE_PLOTS": "0", "TQDM_DISABLE": "1",
                   "TL_KIT_CACHE": f"{home}/cache", "TL_KIT_RUNS": f"{home}/runs", "TF_CPP_MIN_LOG_LEVEL": "2"}
            key = profile
            if shared:
                print(f"the teacher fills a shared feature cache in the {profile} profile …", flush=True)
                subprocess.run([sys.executable, "-m", "tl_kit", "prefetch", "--no-weights", "--dest",
                                f"{home}/shared", "--features", profile], env=env, check=True)
                env["TL_KIT_SHARED_DIR"], key = f"{home}/shared", f"{profile}_shared"
            result[key] = {}
            for lesson in LESSONS:
                if notebooks and lesson.notebook not in notebooks:
                    continue
                print(f"{lesson.notebook} in the {key} profile …", flush=True)
                result[key][lesson.notebook] = row = measure_lesson(ROOT / "notebooks" / lesson.notebook, env)
                print(f"    {row}", flush=True)
    return result


START, END = "<!-- hub-sizing:start -->", "<!-- hub-sizing:end -->"
NODES = ((8, 32), (16, 64), (32, 128))  # cores, GB: common hub node sizes
SYSTEM_GB = 2.0  # the node's own processes, the hub and its proxy
SERVER_GB = 0.2  # a student's Jupyter server without a kernel


def _gb(mb: float) -> float:
    return mb / 1024


def _round_up(gb: float, step: float = 0.5) -> float:
    return -(-gb // step) * step


def render(sizing: dict) -> str:
    """docs/classroom.md's sizing section: measured per-lesson cost, limits to set, students per node."""
    from tl_kit.lessons import LESSONS

    cpu, fast = sizing["cpu"], sizing["fast"]
    lines = [f"Measured {sizing['date']} on {sizing['cores']} cores ({sizing['backend']} backend): each lesson run top "
             "to bottom once in a fresh kernel, as a student's first pass (features extracted by their own kernel). "
             "Peak = the kernel's largest resident memory; CPU = its CPU-seconds, which is what a shared node must "
             "supply (wall time on a busy node ≈ students × CPU-seconds ÷ cores).", "",
             "| lesson | fast: peak | fast: CPU | cpu: peak | cpu: CPU |" +
             (" fast, shared features: CPU |" if "fast_shared" in sizing else ""),
             "|---|---|---|---|---|" + ("---|" if "fast_shared" in sizing else "")]
    for lesson in LESSONS:
        f, c = fast[lesson.notebook], cpu[lesson.notebook]
        when = sizing.get("dates", {}).get(lesson.notebook)
        row = (f"| {lesson.notebook.split('_')[0]}{f' (measured {when})' if when else ''} | {_gb(f['peak_mb']):.1f} GB | {f['cpu_s']:.0f} s | "
               f"{_gb(c['peak_mb']):.1f} GB | {c['cpu_s']:.0f} s |")
        if "fast_shared" in sizing:
            row += f" {sizing['fast_shared'][lesson.notebook]['cpu_s']:.0f} s |"
        lines.append(row)
    total = {p: sum(r["cpu_s"] for r in sizing[p].values()) for p in ("fast", "cpu", "fast_shared") if p in sizing}
    lines.append(f"| all | | {total['fast']:.0f} s | | {total['cpu']:.0f} s |" +
                 (f" {total['fast_shared']:.0f} s |" if "fast_shared" in total else ""))
    peaks = sorted((_gb(r["peak_mb"]) for r in cpu.values()), reverse=True)
    guarantee = _round_up(peaks[0] + SERVER_GB)
    limit = _round_up(guarantee + peaks[1])
    heaviest = max(cpu, key=lambda n: cpu[n]["cpu_s"])
    lines += ["", f"**What to set** (the cpu profile, a laptop-sized run). A class runs the same lesson at the same "
              "time, so a node must hold every student's peak at once: `mem_guarantee: "
              f"{guarantee:g}G` (the largest lesson's peak, {peaks[0]:.1f} GB, plus the server) and `mem_limit: {limit:g}G` (room for a "
              f"second kernel left open, up to {peaks[1]:.1f} GB: above the limit the kernel is killed, and the "
              "student restarts and reloads the last checkpoint); `cpu_limit: 2` (these runs used 2 cores; "
              "TensorFlow would take every core it sees) and `cpu_guarantee` = the node's cores ÷ its students. These are "
              f"the spawner's traits (`c.Spawner.mem_limit = \"{limit:g}G\"`…); Zero to JupyterHub calls them "
              "`singleuser.memory` and `singleuser.cpu`.", "",
              f"| node | students (by memory guarantee) | lesson {heaviest.split('_')[0]} for all of them at once "
              "(cpu profile, CPU-bound) |", "|---|---|---|"]
    for cores, gb in NODES:
        students = int((gb - SYSTEM_GB) // guarantee)
        minutes = students * cpu[heaviest]["cpu_s"] / cores / 60
        lines.append(f"| {cores} cores, {gb} GB | {students} | ≈ {minutes:.0f} min |")
    if "fast_shared" in sizing:
        saved = 1 - total["fast_shared"] / total["fast"]
        lines += ["", f"With the teacher's shared feature cache (`prefetch --features fast`), the fast profile's "
                  f"lessons took {total['fast_shared']:.0f} CPU-seconds per student instead of {total['fast']:.0f} "
                  f"({saved:.0%} less). The cpu profile's saving was not measured here."]
    return "\n".join(lines)


def write_readme(sizing: dict) -> None:
    readme = ROOT / "docs" / "classroom.md"
    text = readme.read_text()
    head, rest = text.split(START)
    _, tail = rest.split(END)
    readme.write_text(f"{head}{START}\n{render(sizing)}\n{END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="*", default=["fast", "cpu"], choices=["fast", "cpu"])
    parser.add_argument("--shared", action="store_true", help="students read a shared feature cache the teacher "
                                                              "filled first")
    parser.add_argument("--render", action="store_true", help="only rewrite docs/classroom.md from results.json")
    parser.add_argument("--notebooks", nargs="*", default=None, metavar="NAME",
                        help="measure only these lessons (e.g. a new one), merged into the earlier measurement")
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "results.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    if not args.render:
        measured = measure(args.profiles, args.shared, args.notebooks)
        sizing = results.setdefault("hub_sizing", {})
        if args.notebooks:  # merged lesson by lesson; their own date is kept beside the earlier one
            for key in measured.keys() - {"cores", "date", "backend"}:
                sizing.setdefault(key, {}).update(measured[key])
            sizing.setdefault("dates", {}).update({nb: measured["date"] for nb in args.notebooks})
        else:
            sizing.update(measured)
            sizing.pop("dates", None)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write_readme(results["hub_sizing"])
    print(render(results["hub_sizing"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

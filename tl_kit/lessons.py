"""The lessons, and how long each took on the reference machines.

The times are measured, never typed in: `benchmarks/run.py` writes the fast and cpu profiles'
whole-notebook wall seconds into `lesson_times.json` beside this file, and `make gpu-check`
the gpu profile's. `tl_kit.info` scales them to the student's machine by VGG16's forward speed
(`reference_images_per_s`). A lesson never timed in a profile has None there, and `tl_kit.info`
says so instead of guessing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TIMES_FILE = Path(__file__).resolve().parent / "lesson_times.json"


@dataclass(frozen=True)
class Lesson:
    """One notebook: its file name and its title."""

    notebook: str
    title: str

    @property
    def reference_seconds(self) -> dict[str, float | None]:
        """Wall seconds per profile on the reference machines (None: not timed)."""
        return read_times()["seconds"].get(self.notebook, {})


LESSONS = (
    Lesson("00_start_here.ipynb", "Start here: check your environment"),
    Lesson("01_conv_pool_softmax.ipynb", "Conv → pool → softmax, by hand and by Keras"),
    Lesson("02_feature_extraction.ipynb", "VGG16 as a frozen feature extractor"),
    Lesson("03_fine_tuning.ipynb", "Fine-tuning VGG16: where to cut, which layers to freeze"),
    Lesson("03b_choosing_the_model.ipynb", "Choosing the pretrained model: which network, which weights"),
    Lesson("04_your_own_images.ipynb", "Your own images, start to finish"),
    Lesson("05_look_inside.ipynb", "Look inside: what VGG16 sees, and what fine-tuning changed"),
)


def read_times() -> dict:
    """The contents of lesson_times.json."""
    return json.loads(TIMES_FILE.read_text())


def reference_images_per_s(profile: str) -> float:
    """VGG16 forward images/s at `profile`'s image size on the reference machine."""
    return float(read_times()["images_per_s"][profile])


def record_times(profile: str, seconds: dict[str, float], images_per_s: float | None = None,
                 device: str | None = None) -> None:
    """Write measured lesson times (notebook → seconds) for one profile into lesson_times.json,
    with the machine they were measured on (`device`), so a reader knows what the numbers mean."""
    times = read_times()
    for notebook, value in seconds.items():
        times["seconds"].setdefault(notebook, {})[profile] = round(float(value))
    if images_per_s is not None:
        times["images_per_s"][profile] = round(float(images_per_s), 1)
    if device is not None:
        times.setdefault("devices", {})[profile] = device
    TIMES_FILE.write_text(json.dumps(times, indent=2, ensure_ascii=False) + "\n")


def _duration(seconds: float) -> str:
    """'under a minute', 'about 1 minute', 'about 5½ minutes': to the nearest half minute."""
    if seconds < 60:
        return "under a minute"
    halves = max(2, round(seconds / 30))
    whole, half = divmod(halves, 2)
    return f"about {whole}{'½' if half else ''} minute{'s' if halves > 2 else ''}"


def header_time(notebook: str) -> str:
    """The time line under a lesson's title, written from lesson_times.json so that it always says
    what was measured, where: cpu on the reference 2-core machine, gpu on the device named there.
    Lesson 00 scales the same numbers to the learner's machine. The line is part of the English
    notebook's source, so it stays in English: the Chinese lessons get it through their own
    catalogs (`tl_kit.translate`), not through the kit's."""
    times = read_times()
    seconds = times["seconds"].get(notebook, {})
    cpu, gpu = seconds.get("cpu"), seconds.get("gpu")
    text = (f"{_duration(cpu)} on a 2-core CPU (`cpu` profile, measured on the reference machine with an empty "
            "cache; lesson 00 estimates it for yours)" if cpu is not None else "not yet timed on a CPU")
    device = times.get("devices", {}).get("gpu", "a GPU").split(",")[0]
    text += f"; {_duration(gpu)} on a GPU ({device})" if gpu is not None else "; not yet timed on a GPU"
    return f"*Time: {text}.*"


#: the time line in a lesson's first cell
HEADER_TIME = re.compile(r"^\*Time: .*\*$", re.MULTILINE)


def write_header_times() -> list[str]:
    """Rewrite each lesson's time line from lesson_times.json (benchmarks/run.py calls it after
    timing the lessons); returns the notebooks it changed."""
    import nbformat

    changed = []
    for path in lesson_paths():
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        line = header_time(path.name)
        found = HEADER_TIME.search(first.source)
        if found and found.group(0) != line:
            first.source = HEADER_TIME.sub(line.replace("\\", "\\\\"), first.source)
            nbformat.write(nb, path)
            changed.append(path.name)
    return changed


def lesson_paths() -> list[Path]:
    """The lesson notebooks that exist, in order."""
    return [NOTEBOOKS / lesson.notebook for lesson in LESSONS if (NOTEBOOKS / lesson.notebook).exists()]

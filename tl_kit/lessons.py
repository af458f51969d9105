"""The lessons, and how long each took on the reference machines.

Times are wall seconds of a whole notebook run top to bottom: for `fast` and `cpu` by
`benchmarks/run.py` (nbclient) on a 2-core CPU machine (benchmarks/results.json, 2026-11-26);
for `gpu` by `make gpu-check` on one NVIDIA H100 with Keras' JAX backend (None: not timed
there, and `tl_kit.info` says so instead of guessing). `REFERENCE_IMAGES_PER_S` is VGG16's
forward speed at each profile's image size on the same machines — for `fast` and `cpu` measured
with `tl_kit.info.measure_vgg16_speed`, as 00_start_here measures it — so `tl_kit.info` can
scale the times to the student's machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Lesson:
    notebook: str
    title: str
    reference_seconds: dict[str, float | None]


LESSONS = (
    Lesson("00_start_here.ipynb", "Start here: check your environment",
           {"fast": 7, "cpu": 7, "gpu": 15}),
    Lesson("01_conv_pool_softmax.ipynb", "Conv → pool → softmax, by hand and by Keras",
           {"fast": 8, "cpu": 8, "gpu": 33}),
    Lesson("02_feature_extraction.ipynb", "VGG16 as a frozen feature extractor",
           {"fast": 55, "cpu": 278, "gpu": None}),
    Lesson("03_fine_tuning.ipynb", "Fine-tuning VGG16: which layers to freeze",
           {"fast": 51, "cpu": 438, "gpu": 299}),
    Lesson("04_your_own_images.ipynb", "Your own images, start to finish",
           {"fast": 11, "cpu": 13, "gpu": None}),
)

#: VGG16 forward images/s at each profile's image size on the reference machines.
REFERENCE_IMAGES_PER_S = {"fast": 240.0, "cpu": 110.0, "gpu": 5352.0}


def lesson_paths() -> list[Path]:
    """The lesson notebooks that exist, in order."""
    return [NOTEBOOKS / lesson.notebook for lesson in LESSONS if (NOTEBOOKS / lesson.notebook).exists()]

"""The lessons, and how long each took on the reference machines.

Times are wall seconds of a whole notebook run top to bottom (nbclient), measured by
`benchmarks/run.py` on a 2-core CPU machine for `fast` and `cpu`, and on one NVIDIA H100 with
Keras' JAX backend for `gpu`. `REFERENCE_IMAGES_PER_S` is VGG16's forward speed measured in the
same runs, at each profile's image size, so `tl_kit.info` can scale the times to this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Lesson:
    notebook: str
    title: str
    reference_seconds: dict[str, float]


LESSONS = (
    Lesson("00_start_here.ipynb", "Start here: check your environment",
           {"fast": 25, "cpu": 30, "gpu": 30}),
    Lesson("01_conv_pool_softmax.ipynb", "Conv → pool → softmax, by hand and by Keras",
           {"fast": 60, "cpu": 90, "gpu": 60}),
    Lesson("02_feature_extraction.ipynb", "VGG16 as a frozen feature extractor",
           {"fast": 90, "cpu": 480, "gpu": 240}),
    Lesson("03_fine_tuning.ipynb", "Fine-tuning VGG16: which layers to freeze",
           {"fast": 90, "cpu": 540, "gpu": 300}),
    Lesson("04_your_own_images.ipynb", "Your own images, start to finish",
           {"fast": 20, "cpu": 60, "gpu": 60}),
)

#: VGG16 forward images/s at each profile's image size on the reference machines.
REFERENCE_IMAGES_PER_S = {"fast": 400.0, "cpu": 80.0, "gpu": 1500.0}


def lesson_paths() -> list[Path]:
    """The lesson notebooks that exist, in order."""
    return [NOTEBOOKS / lesson.notebook for lesson in LESSONS if (NOTEBOOKS / lesson.notebook).exists()]

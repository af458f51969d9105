"""`python -m tl_kit info` and the start-here notebook: what this machine has, and what to expect.

The report answers a student's first questions: which Python, Keras and backend; CPU or GPU;
which profile and why; which VGG16 weights the lessons will use and why; what data was found;
and roughly how long each lesson takes here (the reference times of `tl_kit.lessons`, scaled
by a two-second VGG16 speed test on this machine).
"""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import dataclass

import numpy as np

from . import config
from .errors import TLKitError
from .lessons import LESSONS, reference_images_per_s
from .profiles import Profile, get_profile


def measure_speed(model, batch: int = 8, repeats: int = 2) -> float:
    """A model's forward images per second on this machine, on random pixels, best of `repeats`
    (after one call that builds and compiles it)."""
    x = np.random.default_rng(0).uniform(0, 255, (batch, *model.input_shape[1:])).astype("float32")
    model.predict_on_batch(x)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(x)
        best = min(best, time.perf_counter() - start)
    return batch / best


def measure_vgg16_speed(image_size: int, batch: int = 8, repeats: int = 2) -> float:
    """VGG16 (random weights, no top) forward images per second at image_size², best of `repeats`."""
    import keras

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(image_size, image_size, 3))
    return measure_speed(model, batch, repeats)


@dataclass
class LessonEstimate:
    notebook: str
    title: str
    minutes: float | None  # None: never timed in this profile on the reference machine

    @property
    def text(self) -> str:
        """"~ 4.2 min", or says that there is no reference time to scale (rather than a guess)."""
        return "   (not timed yet)" if self.minutes is None else f"~{self.minutes:5.1f} min"


def estimate_lessons(profile: Profile, images_per_s: float) -> list[LessonEstimate]:
    """Each lesson's reference time for this profile, scaled by this machine's measured speed."""
    factor = reference_images_per_s(profile.name) / max(images_per_s, 1e-6)
    estimates = []
    for lesson in LESSONS:
        seconds = lesson.reference_seconds.get(profile.name)
        estimates.append(LessonEstimate(lesson.notebook, lesson.title, None if seconds is None else seconds * factor / 60))
    return estimates


BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_bfloat16(cpuinfo: str | None = None) -> list[str]:
    """The CPU features (Linux's /proc/cpuinfo flags) that do bfloat16 arithmetic in hardware,
    the case where `TL_KIT_PRECISION=mixed_bfloat16` was measured faster; [] elsewhere.

    >>> cpu_bfloat16("flags : fpu avx512f avx512_bf16 amx_tile")
    ['avx512_bf16']
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    flags = {f for line in cpuinfo.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    return [f for f in BF16_FLAGS if f in flags]


def precision_line(profile: Profile, hardware: list[str]) -> str:
    """What lesson 00 says about lower precision on this machine."""
    env = config.SETTINGS["precision"].env
    if profile.precision != "float32":
        return (f"precision: {profile.precision}" + ("" if hardware else
                " — this CPU has no bfloat16 arithmetic in hardware, so it may be slower than float32"))
    if hardware:
        return (f"precision: float32; this CPU does bfloat16 in hardware ({', '.join(hardware)}): "
                f"{env}=mixed_bfloat16 ran VGG16 about 2× faster on the kit's reference CPU (README, Profiles)")
    return "precision: float32"


def precision_advice(profile: Profile | None = None) -> str:
    """One line for lesson 00: the precision in use, and whether this CPU could use bfloat16."""
    return precision_line(profile or get_profile(), cpu_bfloat16())


def report(profile: Profile | None = None, measure: bool = True) -> str:
    """The whole environment report, as text (what 00_start_here shows)."""
    from .data import SHIPPED, load_dataset, resolve_data_root
    from .notebook import describe_profile, runtime_summary
    from .weights import resolve_weights

    profile = profile or get_profile()
    lines = ["tl-kit · " + runtime_summary(), describe_profile(profile), precision_advice(profile)]
    try:
        lines.append(f"VGG16 weights: {resolve_weights('auto')}")
    except TLKitError as err:
        lines.append(f"VGG16 weights: PROBLEM — {err}")
    try:
        name, root = resolve_data_root()
        source = f"from ${config.SETTINGS['data'].env}" if config.data_choice() else "the default"
        lines.append(f"data for the lessons: {name} ({source}, {root})")
    except TLKitError as err:
        lines.append(f"data: PROBLEM — {err}")
    for name in SHIPPED:
        try:
            dataset = load_dataset(name, profile=profile)
            lines.append(f"  shipped data set {name}: {dataset.num_classes} classes; this profile uses "
                         f"{len(dataset.y_train)} train / {len(dataset.y_val)} val / {len(dataset.y_test)} test images")
        except TLKitError as err:
            lines.append(f"  shipped data set {name}: PROBLEM — {err}")
    if measure:
        speed = measure_vgg16_speed(profile.image_size)
        lines.append(f"VGG16 forward here: {speed:.0f} images/s at {profile.image_size} px "
                     f"(reference machine: {reference_images_per_s(profile.name):.0f})")
        lines.append("estimated time per lesson in this profile:")
        for est in estimate_lessons(profile, speed):
            lines.append(f"  {est.notebook:<32} {est.text}  {est.title}")
    return "\n".join(lines)


def check_environment() -> list[str]:
    """The usual set-up problems found on this machine, each with its fix; empty when all is well."""
    import importlib.util

    from .data import resolve_data_root
    from .weights import offline_weights_path, read_offline_conv_weights

    problems = []
    for module, package in (("ipywidgets", "ipywidgets"), ("jupyterlab_widgets", "jupyterlab-widgets"),
                            ("matplotlib", "matplotlib"), ("sklearn", "scikit-learn"), ("h5py", "h5py")):
        if importlib.util.find_spec(module) is None:
            problems.append(f"- The package {package} is missing: `pip install {package}` "
                            "(or run `make lab`, which installs everything).")
    try:
        read_offline_conv_weights(offline_weights_path())
    except TLKitError as err:
        problems.append(f"- Offline weights: {err}")
    try:
        resolve_data_root()
    except TLKitError as err:
        problems.append(f"- Data: {err}")
    return problems

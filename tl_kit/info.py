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
from .i18n import _
from .lessons import LESSONS, reference_images_per_s
from .profiles import Profile, get_profile


def measure_speed(model, batch: int = 8, repeats: int = 2) -> float:
    """A model's forward images per second on this machine, on random pixels, best of `repeats`
    (after one call that builds and compiles it)."""
    x = np.random.default_rng(0).uniform(0, 255, (batch, *model.input_shape[1:])).astype("float32")
    model.predict_on_batch(x)
    best = float("inf")
    for _repeat in range(repeats):
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
        if self.minutes is None:
            # TRANSLATORS: in the table of lesson times, where a lesson was never timed in this profile.
            return "   " + _("(not timed yet)")
        # TRANSLATORS: a lesson's estimated time, in the table of lesson times.
        return _("~{minutes:5.1f} min").format(minutes=self.minutes)


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


def precision_line(profile: Profile, hardware: list[str] | None, gpu: bool = False) -> str:
    """What lesson 00 says about lower precision here: the precision in use, what the kit found
    out about bfloat16 on this machine, and what follows from it.

    `hardware` is `cpu_bfloat16()`'s list of this CPU's bfloat16 features, or None when the
    CPU's features could not be read (no /proc/cpuinfo: not Linux). `gpu` says whether the lessons
    compute on a GPU, where the CPU's features do not matter and the kit has measured nothing.

    >>> from tl_kit.profiles import PROFILES
    >>> precision_line(PROFILES["cpu"], ["avx512_bf16"]).split(".")[0]
    'precision: float32 (the default)'
    """
    env = config.SETTINGS["precision"].env
    first, second = BF16_FLAGS
    if gpu:
        if profile.precision == "float32":
            return _("precision: float32 (the default); the lessons compute on a GPU here, where the kit has not "
                     "measured {env}=mixed_bfloat16 (its measurement is on a CPU: docs/configuration.md, Profiles), so "
                     "it gives no advice either way.").format(env=env)
        return _("precision: {precision} (set by {env}); the lessons compute on a GPU here, where the kit has not "
                 "measured {env}=mixed_bfloat16 (its measurement is on a CPU: docs/configuration.md, Profiles), so it "
                 "gives no advice either way.").format(precision=profile.precision, env=env)
    if hardware is None:
        if profile.precision == "float32":
            return _("precision: float32 (the default); the kit could not read this CPU's features (it reads "
                     "/proc/cpuinfo, which only Linux has), so it cannot tell whether bfloat16 is done in hardware "
                     "here: keep float32 unless you time both.")
        return _("precision: {precision} (set by {env}); the kit could not read this CPU's features (it reads "
                 "/proc/cpuinfo, which only Linux has), so it cannot tell whether bfloat16 is done in hardware here: "
                 "time a lesson with and without it.").format(precision=profile.precision, env=env)
    if profile.precision != "float32":
        if hardware:
            return _("precision: {precision} (set by {env}); this CPU does bfloat16 in hardware ({features}), the "
                     "only case where the kit measured it faster (docs/configuration.md, Profiles).").format(
                precision=profile.precision, env=env, features=", ".join(hardware))
        return _("precision: {precision} (set by {env}), but this CPU lists neither {first} nor {second} among its "
                 "features: it has no bfloat16 arithmetic in hardware, so {precision} may be slower than float32 "
                 "here; unset {env} to go back to float32.").format(precision=profile.precision, env=env,
                                                                   first=first, second=second)
    if hardware:
        return _("precision: float32 (the default). This CPU does bfloat16 in hardware ({features}): "
                 "{env}=mixed_bfloat16 ran VGG16 about 2× faster on the kit's reference CPU, at the same accuracy "
                 "(docs/configuration.md, Profiles), so it is worth trying here.").format(
            features=", ".join(hardware), env=env)
    return _("precision: float32 (the default), and it stays the right choice here: this CPU lists neither {first} "
             "nor {second} among its features, so it has no bfloat16 arithmetic in hardware, and "
             "{env}=mixed_bfloat16 would emulate it in software: the kit measured a speed-up only on a CPU that has "
             "it (docs/configuration.md, Profiles).").format(first=first, second=second, env=env)


def precision_advice(profile: Profile | None = None) -> str:
    """One line for lesson 00: the precision in use, whether this machine could compute faster in
    bfloat16, and why (what the kit read of the CPU's features, or that the lessons run on a GPU)."""
    from .profiles import gpu_available

    try:
        hardware: list[str] | None = cpu_bfloat16(Path("/proc/cpuinfo").read_text())
    except OSError:
        hardware = None
    return precision_line(profile or get_profile(), hardware, gpu=gpu_available())


def report(profile: Profile | None = None, measure: bool = True) -> str:
    """The whole environment report, as text (what 00_start_here shows)."""
    from .data import SHIPPED, load_dataset, resolve_data_root
    from .notebook import describe_profile, runtime_summary
    from .weights import resolve_weights

    profile = profile or get_profile()
    lines = ["tl-kit · " + runtime_summary(), describe_profile(profile), precision_advice(profile)]
    try:
        lines.append(_("VGG16 weights: {source}").format(source=resolve_weights("auto")))
    except TLKitError as err:
        lines.append(_("VGG16 weights: PROBLEM — {error}").format(error=err))
    try:
        name, root = resolve_data_root()
        if config.data_choice():
            lines.append(_("data for the lessons: {name} (from ${env}, {root})").format(
                name=name, env=config.SETTINGS["data"].env, root=root))
        else:
            lines.append(_("data for the lessons: {name} (the default, {root})").format(name=name, root=root))
    except TLKitError as err:
        lines.append(_("data: PROBLEM — {error}").format(error=err))
    for name in SHIPPED:
        try:
            dataset = load_dataset(name, profile=profile)
            lines.append("  " + _("shipped data set {name}: {classes} classes; this profile uses {train} train / "
                                  "{val} val / {test} test images").format(
                name=name, classes=dataset.num_classes, train=len(dataset.y_train), val=len(dataset.y_val),
                test=len(dataset.y_test)))
        except TLKitError as err:
            lines.append("  " + _("shipped data set {name}: PROBLEM — {error}").format(name=name, error=err))
    if measure:
        speed = measure_vgg16_speed(profile.image_size)
        lines.append(_("VGG16 forward here: {speed:.0f} images/s at {size} px (reference machine: "
                       "{reference:.0f})").format(speed=speed, size=profile.image_size,
                                                  reference=reference_images_per_s(profile.name)))
        lines.append(_("estimated time per lesson in this profile:"))
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
            problems.append("- " + _("The package {package} is missing: `pip install {package}` (or run `make lab`, "
                                     "which installs everything).").format(package=package))
    try:
        read_offline_conv_weights(offline_weights_path())
    except TLKitError as err:
        problems.append("- " + _("Offline weights: {error}").format(error=err))
    try:
        resolve_data_root()
    except TLKitError as err:
        problems.append("- " + _("Data: {error}").format(error=err))
    return problems

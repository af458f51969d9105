"""A work-around for one slow path of XLA on the CPU, applied when `import tl_kit` runs.

XLA's algebraic simplifier swaps the two operands of a convolution whose image is smaller than
its kernel: VGG16's block 5 at 32 to 47 px sees 2×2 feature maps under 3×3 kernels. The swapped
convolution lands on a slow CPU code path (how slow: docs/benchmarks.md, "XLA on the CPU").
Leaving that pass out (`--xla_disable_hlo_passes=algsimp`) removes the slow path; it changes no
result, only how XLA rewrites the program before compiling. From 48 px on (block 5 on 3×3 maps
or larger) XLA does not swap, so no profile needs the flag: the fast profile uses 48 px for this
reason. It is for `TL_KIT_IMAGE_SIZE` below 48 under JAX.

The flag goes into `XLA_FLAGS`, which XLA reads when JAX first compiles, so it must be set before
a lesson runs any Keras code; `import tl_kit` is every lesson's first line. It is **opt-in**
(`TL_KIT_XLA_CPU_FIX=1`), because the JAX kernel crashed with it on (the same page says when),
and it is added only where it was measured: the Keras backend is JAX, JAX runs on the CPU (no
GPU or TPU plugin for JAX is installed, or `JAX_PLATFORMS=cpu`), and `XLA_FLAGS` does not already
choose passes to disable. `make bench` measures VGG16 at 32 px with and without it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
from collections.abc import MutableMapping
from pathlib import Path

from .config import SETTINGS

FLAG = "--xla_disable_hlo_passes=algsimp"

#: Packages that give JAX an accelerator; with one installed, the flag is left out.
_ACCELERATOR_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin", "jax_rocm7_plugin",
                        "libtpu")


def keras_backend(environ: MutableMapping[str, str] = os.environ) -> str:
    """The backend Keras will choose, found the way Keras finds it (the `KERAS_BACKEND` variable,
    then `keras.json` under `KERAS_HOME` or `~/.keras`), without importing Keras.

    >>> keras_backend({"KERAS_BACKEND": "jax"})
    'jax'
    """
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    home = Path(environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def jax_has_accelerator_plugin() -> bool:
    """Whether a JAX plugin for a GPU or TPU is installed (then JAX may not run on the CPU)."""
    if any(importlib.util.find_spec(name) is not None for name in _ACCELERATOR_PLUGINS):
        return True
    return any(entry.name != "cpu" for entry in importlib.metadata.entry_points(group="jax_plugins"))


def wanted(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Whether the flag should be added to this process's `XLA_FLAGS` (see the module's docstring).

    >>> wanted({"KERAS_BACKEND": "tensorflow", "TL_KIT_XLA_CPU_FIX": "1"})
    False
    >>> wanted({"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TL_KIT_XLA_CPU_FIX": "1"})
    True
    >>> wanted({"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"})
    False
    >>> wanted({"KERAS_BACKEND": "jax", "TL_KIT_XLA_CPU_FIX": "1", "XLA_FLAGS": "--xla_disable_hlo_passes=foo"})
    False
    """
    if environ.get(SETTINGS["xla_cpu_fix"].env, "").strip() != "1" or keras_backend(environ) != "jax":
        return False
    if "xla_disable_hlo_passes" in environ.get("XLA_FLAGS", ""):
        return False
    platforms = environ.get("JAX_PLATFORMS", "").strip()
    if platforms:
        return platforms == "cpu"
    return not jax_has_accelerator_plugin()


def apply(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Add the flag to `XLA_FLAGS` when `wanted`; True when it did. Safe to call twice."""
    if not wanted(environ):
        return False
    environ["XLA_FLAGS"] = f"{environ.get('XLA_FLAGS', '')} {FLAG}".strip()
    return True


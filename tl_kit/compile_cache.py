"""JAX's persistent compilation cache, kept in the kit's cache folder (set when `import tl_kit` runs).

On the JAX backend every new Keras model compiles its training and prediction steps with XLA,
and in a short lesson compiling is much of the time. JAX can keep the compiled programs on disk,
keyed by the program itself, the JAX version, the device and XLA's flags, and give them back to
a later process that compiles the same program: a lesson run again (after a kernel restart, or
the next day) skips what it compiled before, and computes the same numbers (what it saves:
docs/benchmarks.md, "How `make test` got to its time").

The kit turns it on only where nobody chose otherwise:

- the Keras backend is JAX (TensorFlow has no such cache);
- `JAX_COMPILATION_CACHE_DIR` is not set (a folder set there is JAX's own setting, and wins; JAX
  then keeps only programs that took a second or more to compile, unless
  `JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0` is set too, as `make test` does);
- `JAX_ENABLE_COMPILATION_CACHE` is not `false` (JAX's own off switch).

The folder is `jax/` in the kit's cache folder (`TL_KIT_CACHE`, else `~/.cache/tl-kit`). Every
compiled program is kept (JAX keeps by default only those that took a second or more, which
leaves out most of a fast-profile lesson's). A program already there is not written again.
Deleting the folder is always safe. (JAX can cap
the folder's size, `JAX_COMPILATION_CACHE_MAX_SIZE`, but only with the `filelock` package installed;
without it, a cap makes every read fail.)

The settings go into the environment, which JAX reads when it is imported, so that they hold
for this process and for the Python processes it starts; if JAX was imported before the kit,
they are handed to `jax.config` too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

from . import config
from .xla_cpu import keras_backend

DIR_ENV = "JAX_COMPILATION_CACHE_DIR"
OFF_ENV = "JAX_ENABLE_COMPILATION_CACHE"
MIN_TIME_ENV = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"


def folder() -> Path:
    """The kit's folder for compiled programs: `jax/` in the kit's cache folder (`config.cache_dir()`)."""
    return config.cache_dir() / "jax"


def apply(environ: MutableMapping[str, str] = os.environ) -> Path | None:
    """Point JAX's persistent compilation cache at `folder()` where the module's docstring says;
    return the folder JAX will use, or None where no cache is on. Safe to call twice.

    >>> apply({"KERAS_BACKEND": "jax"}) == folder()
    True
    >>> apply({"KERAS_BACKEND": "jax", "JAX_COMPILATION_CACHE_DIR": "/mine"})
    PosixPath('/mine')
    >>> apply({"KERAS_BACKEND": "jax", "JAX_ENABLE_COMPILATION_CACHE": "false"}) is None
    True
    >>> apply({"KERAS_BACKEND": "tensorflow"}) is None
    True
    """
    if keras_backend(environ) != "jax":
        return None
    if environ.get(OFF_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return None
    chosen = environ.get(DIR_ENV, "").strip()
    if chosen:
        return Path(chosen)
    environ[DIR_ENV] = str(folder())
    environ.setdefault(MIN_TIME_ENV, "0")
    if environ is os.environ and "jax" in sys.modules:  # JAX read its settings already: tell it
        import jax

        jax.config.update("jax_compilation_cache_dir", environ[DIR_ENV])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", float(environ[MIN_TIME_ENV]))
    return Path(environ[DIR_ENV])

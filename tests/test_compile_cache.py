"""JAX's persistent compilation cache: on where nobody chose otherwise, in the kit's cache folder,
and a second process gets its compiled programs from it with the same results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tl_kit import compile_cache

pytestmark = pytest.mark.jax  # the JAX backend's settings: make test runs them in its JAX lane

# A small Keras model trained for a step and asked for predictions: the compiles a lesson makes.
TRAIN = """
import json, sys
JAX_FIRST = sys.argv[1] == "jax-first"
if JAX_FIRST:
    import jax  # imported before the kit: the kit must hand its settings to jax.config
import tl_kit, keras, numpy as np
import jax
events = []
jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).normal(size=(16, 8, 8, 3)).astype("float32")
y = np.arange(16) % 4
model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(4, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy")
model.fit(x, y, epochs=1, batch_size=8, verbose=0)
print(json.dumps({"folder": jax.config.jax_compilation_cache_dir, "predictions": model.predict(x, verbose=0).tolist(),
                  "hits": events.count("/jax/compilation_cache/cache_hits"),
                  "misses": events.count("/jax/compilation_cache/cache_misses")}))
"""


def train(order: str = "kit-first", **env: str) -> dict:
    """TRAIN in a fresh process on JAX with only `env`'s cache settings (none of this process's)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") and k != "TL_KIT_CACHE"}
    done = subprocess.run([sys.executable, "-c", TRAIN, order], env={**clean, "KERAS_BACKEND": "jax", **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_on_for_jax_in_the_kits_cache_folder_unless_jax_is_told_otherwise(monkeypatch):
    monkeypatch.setenv("TL_KIT_CACHE", "/srv/cache")
    env = {"KERAS_BACKEND": "jax"}
    assert compile_cache.apply(env) == Path("/srv/cache/jax") == Path(env["JAX_COMPILATION_CACHE_DIR"])
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"  # small programs too: most of a fast lesson's
    assert compile_cache.apply(env) == Path("/srv/cache/jax")  # twice: the same
    monkeypatch.delenv("TL_KIT_CACHE")
    assert compile_cache.folder() == Path.home() / ".cache" / "tl-kit" / "jax"
    mine = {"KERAS_BACKEND": "jax", "JAX_COMPILATION_CACHE_DIR": "/mine"}
    assert compile_cache.apply(mine) == Path("/mine") and mine["JAX_COMPILATION_CACHE_DIR"] == "/mine"
    assert "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in mine  # JAX's own settings left as chosen
    slow = {"KERAS_BACKEND": "jax", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "2"}
    compile_cache.apply(slow)
    assert slow["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "2"
    for off in ("false", "0", "False"):
        env = {"KERAS_BACKEND": "jax", "JAX_ENABLE_COMPILATION_CACHE": off}
        assert compile_cache.apply(env) is None and "JAX_COMPILATION_CACHE_DIR" not in env
    tf = {"KERAS_BACKEND": "tensorflow"}
    assert compile_cache.apply(tf) is None and tf == {"KERAS_BACKEND": "tensorflow"}


def test_a_second_process_reuses_the_compiled_programs_and_computes_the_same(tmp_path):
    first = train(TL_KIT_CACHE=str(tmp_path))
    assert first["folder"] == str(tmp_path / "jax")
    assert first["hits"] == 0 and first["misses"] > 0
    assert any((tmp_path / "jax").iterdir()), "nothing was written to the cache folder"
    # JAX imported before the kit this time: the kit must still hand it the folder
    again = train("jax-first", TL_KIT_CACHE=str(tmp_path))
    assert again["folder"] == str(tmp_path / "jax")
    assert again["hits"] == first["misses"] and again["misses"] == 0  # every program came from the cache
    assert again["predictions"] == first["predictions"]

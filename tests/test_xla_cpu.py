"""The XLA work-around under JAX on the CPU: when it is applied, and that it changes no result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tl_kit import xla_cpu

pytestmark = pytest.mark.jax  # the JAX backend's settings: make test runs them in its JAX lane

# A convolution whose 2×2 image is smaller than its 3×3 kernel: the case XLA's simplifier rewrites.
CONV = """
import json, os, numpy as np
import tl_kit, keras
x = np.random.default_rng(0).normal(size=(4, 2, 2, 64)).astype("float32")
k = np.random.default_rng(1).normal(size=(3, 3, 64, 64)).astype("float32")
y = keras.ops.convert_to_numpy(keras.ops.conv(x, k, padding="same"))
print(json.dumps({"flags": os.environ.get("XLA_FLAGS", ""), "y": y.tolist()}))
"""


def run_conv(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "TL_KIT_XLA_CPU_FIX", "JAX_PLATFORMS")}
    done = subprocess.run([sys.executable, "-c", CONV], env={**clean, "KERAS_BACKEND": "jax", **env},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_applied_only_when_asked_for_and_for_jax_on_the_cpu(monkeypatch):
    monkeypatch.setattr(xla_cpu, "jax_has_accelerator_plugin", lambda: False)
    on = {"TL_KIT_XLA_CPU_FIX": "1"}
    assert xla_cpu.wanted({"KERAS_BACKEND": "jax", **on})
    assert not xla_cpu.wanted({"KERAS_BACKEND": "jax"}), "off unless asked for: the JAX kernel crashed with it"
    assert not xla_cpu.wanted({"KERAS_BACKEND": "tensorflow", **on})
    assert not xla_cpu.wanted({"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cuda", **on})
    assert not xla_cpu.wanted({"KERAS_BACKEND": "jax", "TL_KIT_XLA_CPU_FIX": "0"})
    monkeypatch.setattr(xla_cpu, "jax_has_accelerator_plugin", lambda: True)
    assert not xla_cpu.wanted({"KERAS_BACKEND": "jax", **on}), "a GPU plugin is installed: leave XLA alone"
    assert xla_cpu.wanted({"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", **on})


def test_apply_adds_the_flag_once_and_keeps_the_users_flags(monkeypatch):
    monkeypatch.setattr(xla_cpu, "jax_has_accelerator_plugin", lambda: False)
    env = {"KERAS_BACKEND": "jax", "TL_KIT_XLA_CPU_FIX": "1", "XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}
    assert xla_cpu.apply(env) and not xla_cpu.apply(env)
    assert env["XLA_FLAGS"] == f"--xla_cpu_enable_fast_math=false {xla_cpu.FLAG}"
    assert xla_cpu.FLAG in env["XLA_FLAGS"].split()
    mine = {"KERAS_BACKEND": "jax", "TL_KIT_XLA_CPU_FIX": "1", "XLA_FLAGS": "--xla_disable_hlo_passes=fusion"}
    assert not xla_cpu.apply(mine) and mine["XLA_FLAGS"] == "--xla_disable_hlo_passes=fusion"


def test_the_backend_is_found_like_keras_finds_it(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert xla_cpu.keras_backend({"KERAS_HOME": str(tmp_path)}) == "jax"
    assert xla_cpu.keras_backend({"KERAS_HOME": str(tmp_path), "KERAS_BACKEND": "torch"}) == "torch"
    (tmp_path / "keras.json").write_text("not json")
    assert xla_cpu.keras_backend({"KERAS_HOME": str(tmp_path)}) == "tensorflow"


@pytest.mark.skipif(xla_cpu.jax_has_accelerator_plugin(), reason="JAX has a GPU or TPU plugin here")
def test_import_tl_kit_sets_the_flag_when_asked_and_the_convolution_gives_the_same_numbers():
    fixed, plain = run_conv(TL_KIT_XLA_CPU_FIX="1"), run_conv()
    assert xla_cpu.FLAG in fixed["flags"].split() and xla_cpu.FLAG not in plain["flags"]
    np.testing.assert_allclose(np.array(fixed["y"]), np.array(plain["y"]), rtol=1e-4, atol=1e-3)

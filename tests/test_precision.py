"""Lower precision as a profile option: chosen by TL_KIT_PRECISION, set by start(), told by lesson 00,
never mixed up with float32 in the feature cache, and a bfloat16 fine-tune trains."""

import keras
import numpy as np
import pytest

from tl_kit import FINE_TUNE_LAST_BLOCK, TransferModel, build_head, info
from tl_kit.errors import ProfileError
from tl_kit.features import FeatureCache, extract_features
from tl_kit.notebook import describe_profile, start
from tl_kit.profiles import PROFILES, get_profile
from tl_kit.weights import load_vgg16


@pytest.fixture
def policy():
    """Leave Keras' global dtype policy as the test found it."""
    before = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(before)


def test_the_profiles_compute_in_float32_unless_asked(monkeypatch):
    monkeypatch.delenv("TL_KIT_PRECISION", raising=False)
    assert {p.precision for p in PROFILES.values()} == {"float32"}
    monkeypatch.setenv("TL_KIT_PRECISION", "mixed_bfloat16")
    profile = get_profile("fast")
    assert profile.precision == "mixed_bfloat16" and "mixed_bfloat16 by TL_KIT_PRECISION" in profile.reason
    assert "mixed_bfloat16 (bfloat16 arithmetic)" in describe_profile(profile)


def test_an_unknown_precision_says_which_there_are(monkeypatch):
    monkeypatch.setenv("TL_KIT_PRECISION", "float16")
    with pytest.raises(ProfileError, match="float32, mixed_bfloat16"):
        get_profile("fast")


def test_start_sets_the_policy_and_sets_it_back(monkeypatch, policy):
    monkeypatch.setenv("TL_KIT_PROFILE", "fast")
    monkeypatch.setenv("TL_KIT_PRECISION", "mixed_bfloat16")
    start(quiet=True)
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    monkeypatch.delenv("TL_KIT_PRECISION")
    start(quiet=True)
    assert keras.config.dtype_policy().name == "float32"


def test_lesson_00_says_whether_this_cpu_does_bfloat16():
    assert info.cpu_bfloat16("flags\t: fpu sse avx512f avx512_bf16 amx_bf16\n") == ["avx512_bf16", "amx_bf16"]
    assert info.cpu_bfloat16("flags\t: fpu sse avx2\n") == []
    fast = PROFILES["fast"]
    assert "TL_KIT_PRECISION=mixed_bfloat16 ran VGG16 about 2× faster" in info.precision_line(fast, ["avx512_bf16"])
    without = info.precision_line(fast, [])  # says what it found and what follows, not only the precision
    assert without.startswith("precision: float32") and "neither avx512_bf16 nor amx_bf16" in without
    assert "stays the right choice" in without and "2× faster" not in without
    assert "could not read this CPU's features" in info.precision_line(fast, None)
    assert "no advice either way" in info.precision_line(fast, ["avx512_bf16"], gpu=True)
    bf16 = get_profile("fast").__class__(**{**fast.__dict__, "precision": "mixed_bfloat16"})
    assert "may be slower" in info.precision_line(bf16, [])


def test_bfloat16_features_are_cached_apart_from_float32_ones_and_a_fine_tune_trains(policy, tmp_path):
    from tl_kit.data import load_dataset

    data = load_dataset(profile=PROFILES["fast"], image_size=32)
    images, labels = data.x_train[:40], data.y_train[:40]
    cache = FeatureCache(tmp_path)
    base32, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    f32 = extract_features(base32, images, "block4_pool", cache=cache, progress=False)
    keras.config.set_dtype_policy("mixed_bfloat16")
    base16, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    f16 = extract_features(base16, images, "block4_pool", cache=cache, progress=False)
    assert cache.misses == 2, "float32 features must not stand in for bfloat16 ones"
    assert not np.array_equal(f16, f32)
    np.testing.assert_allclose(f16, f32, rtol=0.1, atol=0.05 * float(np.abs(f32).max()))
    model = TransferModel(base16, build_head(base16.output_shape[1:], data.num_classes, name="head"))
    model.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
    run = model.fit((images, labels), (images, labels), epochs=2, batch_size=20, cache=cache)
    assert run.epochs == 2 and np.isfinite(run.history["loss"]).all()
    assert model.model.get_layer("block5_conv1").compute_dtype == "bfloat16"
    assert model.model.get_layer("block5_conv1").kernel.dtype == "float32"  # weights stay float32


def test_the_readmes_paragraph_on_precision_is_rendered_from_the_results():
    import json
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "benchmarks"))
    from bf16 import END, START, render

    res = json.loads((root / "benchmarks" / "results.json").read_text())
    assert f"{START}\n{render(res)}\n{END}" in (root / "docs" / "configuration.md").read_text()

"""Prefix caching: the same outputs as the naive path, recomputed whenever it must be; checkpoints."""

import subprocess
import sys

import numpy as np
import pytest

from tl_kit.data import load_dataset
from tl_kit.features import FeatureCache, extract_features
from tl_kit.finetune import fine_tune, frozen_prefix, score, suffix_model
from tl_kit.freezing import build_classifier, freeze
from tl_kit.models import build_head
from tl_kit.preprocessing import preprocess
from tl_kit.profiles import PROFILES
from tl_kit.runs import BestModelCheckpoint, latest_run, load_model, new_run, read_report, write_report
from tl_kit.training import accuracy
from tl_kit.weights import load_vgg16


@pytest.fixture(scope="module")
def data():
    return load_dataset(profile=PROFILES["fast"])


def make_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    return build_classifier(base, build_head((1, 1, 512), 10, name="head"))


def test_frozen_prefix_follows_the_freezing():
    model = make_model()
    for preset, boundary in [("fine-tune block5", "block4_pool"), ("fine-tune blocks 4–5", "block3_pool"),
                             ("feature extraction: freeze the whole base", "block5_pool"), ("train everything", None)]:
        freeze(model, preset=preset)
        assert frozen_prefix(model) == boundary
    freeze(model, train=["block3_conv1", "head"])
    assert frozen_prefix(model) == "block2_pool"


def test_suffix_on_cached_activations_predicts_what_the_whole_model_predicts(data, tmp_path):
    model = make_model()
    freeze(model, preset="fine-tune blocks 4–5")
    images = data.x_test[:16]
    acts = extract_features(model, images, "block3_pool", cache=FeatureCache(tmp_path), progress=False, verbose=False)
    np.testing.assert_allclose(suffix_model(model, "block3_pool").predict(acts, verbose=0),
                               model.predict(preprocess(images), verbose=0), atol=1e-5)


def test_cached_and_naive_fine_tuning_train_the_same_model(data, tmp_path):
    train, val = data.split("train"), data.split("val")
    results = {}
    for use_cache in (True, False):
        model = make_model(seed=1)
        freeze(model, preset="fine-tune block5", learning_rate=1e-5)
        run = fine_tune(model, train, val, epochs=2, batch_size=32, use_cache=use_cache, cache=FeatureCache(tmp_path))
        results[use_cache] = (model.predict(preprocess(data.x_test), verbose=0), run)
    np.testing.assert_allclose(results[True][0], results[False][0], atol=2e-3)
    assert "cached prefix" in results[True][1].mode and "full forward" in results[False][1].mode


def test_the_prefix_cache_is_recomputed_when_freezing_data_or_weights_change(data, tmp_path):
    cache = FeatureCache(tmp_path)
    model = make_model()
    train, val = data.split("train"), data.split("val")
    freeze(model, preset="fine-tune block5")
    fine_tune(model, train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 2  # train and val activations
    fine_tune(model, train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 2 and cache.memory_hits == 2  # block5 trained, blocks 1–4 did not: reused
    freeze(model, preset="fine-tune blocks 4–5")  # another boundary
    fine_tune(model, train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 4
    fine_tune(model, (train[0][:50], train[1][:50]), val, epochs=1, batch_size=32, cache=cache)  # other data
    assert cache.misses == 5
    kernel, bias = model.get_layer("block1_conv1").get_weights()
    model.get_layer("block1_conv1").set_weights([kernel * 0.5, bias])  # other weights in the prefix
    fine_tune(model, train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 7


def test_augmentation_uses_the_full_pass_and_still_trains(data):
    model = make_model()
    freeze(model, preset="fine-tune block5", learning_rate=1e-5)
    before = model.get_layer("block5_conv1").get_weights()[0].copy()
    run = fine_tune(model, data.split("train"), data.split("val"), epochs=1, batch_size=32, augment=True, cache=None)
    assert "augmented" in run.mode and run.cache_seconds == 0
    assert not np.allclose(before, model.get_layer("block5_conv1").get_weights()[0])


def test_score_through_the_cache_equals_the_full_model(data, tmp_path):
    model = make_model()
    freeze(model, preset="fine-tune block5")
    cached = score(model, *data.split("test"), cache=FeatureCache(tmp_path))
    assert cached == pytest.approx(accuracy(model, preprocess(data.x_test), data.y_test))


ROUND_TRIP = r"""
import json, sys
from tl_kit.data import load_dataset
from tl_kit.preprocessing import preprocess
from tl_kit.profiles import PROFILES
from tl_kit.runs import load_model, read_report
from tl_kit.training import accuracy
folder = sys.argv[1]
report = read_report(folder)
data = load_dataset(report["data"], profile=PROFILES[report["profile"]])
model = load_model(folder + "/best.keras")
print(json.dumps(accuracy(model, preprocess(data.x_test), data.y_test)))
"""


def test_checkpoint_round_trip_in_a_fresh_process_gives_the_same_test_accuracy(data, tmp_path, monkeypatch):
    monkeypatch.setenv("TL_KIT_RUNS", str(tmp_path / "runs"))
    model = make_model()
    freeze(model, preset="fine-tune block5", learning_rate=1e-5)
    folder = new_run("round/trip ../name")
    assert folder.parent == tmp_path / "runs" and ".." not in folder.name and "/" not in folder.name
    checkpoint = BestModelCheckpoint(model, folder / "best.keras")
    fine_tune(model, data.split("train"), data.split("val"), epochs=2, batch_size=32, callbacks=[checkpoint],
              cache=None)
    assert checkpoint.saved_epochs and (folder / "best.keras").exists()
    saved = load_model(folder / "best.keras")
    expected = accuracy(saved, preprocess(data.x_test), data.y_test)
    write_report(folder, data=str(data.root), profile="fast", test_accuracy=expected)
    assert latest_run() == folder and read_report(folder)["test_accuracy"] == expected
    out = subprocess.run([sys.executable, "-c", ROUND_TRIP, str(folder)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) == expected


def test_missing_or_truncated_model_file_is_a_clear_error(tmp_path):
    from tl_kit.errors import TLKitError

    with pytest.raises(TLKitError, match="No saved model"):
        load_model(tmp_path / "best.keras")
    (tmp_path / "best.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(TLKitError, match="cannot be loaded"):
        load_model(tmp_path / "best.keras")
    with pytest.raises(TLKitError, match="No run"):
        latest_run(tmp_path / "empty")

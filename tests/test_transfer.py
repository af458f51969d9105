"""TransferModel: what trains is exactly what was chosen, and compiled; the cached prefix trains
the same model as the full pass; the state survives save and load; the freeze widget is a view."""

import subprocess
import sys

import numpy as np
import pytest

from tl_kit import (FEATURE_EXTRACTION, FINE_TUNE_LAST_BLOCK, FINE_TUNE_LAST_TWO_BLOCKS, PRESETS, TRAIN_ALL, TransferModel,
                    build_head, load_vgg16)
from tl_kit.data import load_dataset
from tl_kit.errors import FreezeError, ModelFileError, StaleCompileError, TrainingError
from tl_kit.features import FeatureCache, extract_features
from tl_kit.freezing import step_cost, summarize, unit_layers
from tl_kit.preprocessing import preprocess
from tl_kit.profiles import PROFILES
from tl_kit.runs import BestModelCheckpoint, latest_run, load_model, new_run, read_report, write_report
from tl_kit.training import Result, score
from tl_kit.transfer import suffix_model
from tl_kit.widgets import FreezeWidget

from tests.conftest import BACKENDS, run_on_backend

BLOCK5 = {"block5_conv1", "block5_conv2", "block5_conv3"}
BLOCK4 = {"block4_conv1", "block4_conv2", "block4_conv3"}


@pytest.fixture(scope="module")
def data():
    return load_dataset(profile=PROFILES["fast"], image_size=32)  # VGG16's smallest input: the cheapest fits


def make_model(seed: int = 0, classes: int = 10) -> TransferModel:
    import keras

    keras.utils.set_random_seed(seed)
    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    return TransferModel(base, build_head((1, 1, 512), classes, name="head"))


@pytest.fixture
def tm():
    return make_model(classes=4)


def trains(tm: TransferModel) -> set[str]:
    """The layers owning at least one of the weights the Keras model would train (not the flags)."""
    paths = {w.path for w in tm.model.trainable_weights}
    return {layer.name for layer in unit_layers(tm.model) if any(w.path in paths for w in layer.weights)}


def test_a_new_transfer_model_starts_as_feature_extraction(tm):
    assert trains(tm) == {"head"} and tm.preset is FEATURE_EXTRACTION and tm.learning_rate == 1e-3


@pytest.mark.parametrize("preset, expected", [
    (FEATURE_EXTRACTION, {"head"}),
    (FINE_TUNE_LAST_BLOCK, BLOCK5 | {"head"}),
    (FINE_TUNE_LAST_TWO_BLOCKS, BLOCK5 | BLOCK4 | {"head"}),
])
def test_presets_train_exactly_their_layers(tm, preset, expected):
    tm.use_preset(preset)
    assert trains(tm) == expected and tm.preset is preset
    tm.unfreeze()
    tm.use_preset(preset.id)  # the same by its ASCII id
    assert trains(tm) == expected


def test_preset_ids_are_ascii_identifiers():
    for key, preset in PRESETS.items():
        assert key == preset.id and preset.id.isidentifier() and preset.id.isascii()


def test_unfreeze_freeze_to_and_train_only_agree(tm):
    tm.unfreeze()
    assert len(tm.model.trainable_weights) == len(tm.model.weights) == 26 + 4  # 13 convs, two dense layers
    assert tm.preset is TRAIN_ALL
    by_layer = tm.freeze_to("block4_pool").trainable_params
    by_names = tm.train_only(sorted(BLOCK5 | {"head"})).trainable_params
    by_preset = tm.use_preset(FINE_TUNE_LAST_BLOCK).trainable_params
    assert by_layer == by_names == by_preset == 3 * (9 * 512 * 512 + 512) + 512 * 1024 + 1024 + 1024 * 4 + 4


def test_freezing_recompiles_so_the_optimizer_sees_the_new_weights(tm):
    x = np.random.default_rng(0).normal(size=(8, 32, 32, 3)).astype("float32")
    y = np.arange(8) % 4
    tm.model.fit(x, y, epochs=1, verbose=0)
    before = tm.model.get_layer("block5_conv3").get_weights()[0].copy()
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-3)  # unfreeze *after* a fit
    tm.model.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(before, tm.model.get_layer("block5_conv3").get_weights()[0])
    pretrained = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)[0]
    assert np.array_equal(tm.model.get_layer("block4_conv3").get_weights()[0],
                          pretrained.get_layer("block4_conv3").get_weights()[0])


def test_no_kit_state_is_hidden_on_the_keras_model(tm):
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-5)
    assert not [name for name in vars(tm.model) if name.startswith("_tl_kit")]


def test_changing_trainable_by_hand_after_compile_is_loud(tm):
    tm.check_compiled()
    tm.model.get_layer("block5_conv1").trainable = True
    with pytest.raises(StaleCompileError, match="recompile"):
        tm.check_compiled()
    images = np.zeros((4, 32, 32, 3), np.uint8)
    with pytest.raises(StaleCompileError):
        tm.fit((images, np.arange(4)), (images, np.arange(4)), epochs=1, batch_size=4, cache=None)
    tm.use_preset(FINE_TUNE_LAST_BLOCK)  # the kit's way recompiles, and fit is allowed again
    tm.check_compiled()


@pytest.mark.parametrize("call, match", [
    (lambda tm: tm.use_preset("freeze everything"), "Unknown preset"),
    (lambda tm: tm.use_preset("fine-tune last two blocks"), "Did you mean 'fine_tune_last_two_blocks'"),
    (lambda tm: tm.train_only([]), "nothing to train"),
    (lambda tm: tm.train_only(["block1_pool", "block5_pool"]), "nothing to train"),
    (lambda tm: tm.freeze_to("head"), "nothing to train"),
    (lambda tm: tm.freeze_to("block9_pool"), "Unknown layer 'block9_pool'"),
    (lambda tm: tm.train_only(["block5_conv9"]), "Unknown layer"),
])
def test_bad_choices_are_refused_and_change_nothing(tm, call, match):
    tm.use_preset(FINE_TUNE_LAST_BLOCK)
    before = [layer.trainable for layer in tm.model.layers]
    with pytest.raises(FreezeError, match=match):
        call(tm)
    assert before == [layer.trainable for layer in tm.model.layers]
    tm.check_compiled()


@pytest.mark.parametrize("rate", [0, -1e-5, float("nan"), "fast"])
def test_a_learning_rate_that_is_not_positive_is_refused_and_changes_nothing(tm, rate):
    with pytest.raises(TrainingError, match="positive number"):
        tm.unfreeze(learning_rate=rate)
    assert trains(tm) == {"head"} and tm.learning_rate == 1e-3


def test_step_cost_falls_as_more_of_the_prefix_freezes(tm):
    costs = [summarize(tm.model, trainable=set(tm.use_preset(p).trainable)).relative_step_cost
             for p in PRESETS.values()]
    assert costs == sorted(costs) and costs[-1] == pytest.approx(1.0)
    cached = step_cost(tm.model, BLOCK5 | {"head"}, cached_prefix=True)
    assert cached < step_cost(tm.model, BLOCK5 | {"head"}) < 1.0


def test_frozen_prefix_follows_the_freezing(tm):
    for preset, boundary in [(FINE_TUNE_LAST_BLOCK, "block4_pool"), (FINE_TUNE_LAST_TWO_BLOCKS, "block3_pool"),
                             (FEATURE_EXTRACTION, "block5_pool"), (TRAIN_ALL, None)]:
        tm.use_preset(preset)
        assert tm.frozen_prefix == boundary
    tm.train_only(["block3_conv1", "head"])
    assert tm.frozen_prefix == "block2_pool" and tm.preset is None and tm.describe().startswith("custom")


def test_suffix_on_cached_activations_predicts_what_the_whole_model_predicts(data, tmp_path):
    tm = make_model()
    tm.use_preset(FINE_TUNE_LAST_TWO_BLOCKS)
    images = data.x_test[:16]
    acts = extract_features(tm.model, images, "block3_pool", cache=FeatureCache(tmp_path), progress=False,
                            verbose=False)
    np.testing.assert_allclose(suffix_model(tm.model, "block3_pool").predict(acts, verbose=0), tm.predict(images),
                               atol=1e-5)


def test_cached_and_full_pass_fine_tuning_train_the_same_model(data, tmp_path):
    train, val = data.split("train"), data.split("val")
    results = {}
    for use_cache in (True, False):
        tm = make_model(seed=1)
        tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-5)
        run = tm.fit(train, val, epochs=2, batch_size=32, use_cache=use_cache, cache=FeatureCache(tmp_path))
        results[use_cache] = (tm.predict(data.x_test), run)
    np.testing.assert_allclose(results[True][0], results[False][0], atol=2e-3)
    cached, full = results[True][1], results[False][1]
    assert "cached prefix" in cached.mode and cached.cache_seconds > 0
    assert "full forward" in full.mode and full.cache_seconds == 0


def test_fit_returns_the_same_result_type_as_the_baselines(data):
    tm = make_model()
    run = tm.fit(data.split("train"), data.split("val"), data.split("test"), epochs=3, batch_size=32, cache=None)
    assert isinstance(run, Result) and run.method == f"{FEATURE_EXTRACTION.label} (cut at block5_pool)"
    assert run.epochs == 3 and len(run.epoch_seconds) == 3 and len(run.history["val_accuracy"]) == 3
    assert run.seconds_per_epoch == pytest.approx(float(np.median(run.epoch_seconds[1:])))
    assert run.val_accuracy == pytest.approx(tm.score(*data.split("val"), cache=None))
    assert run.test_accuracy == pytest.approx(tm.score(*data.split("test"), cache=None))
    assert run.trainable_params == tm.summary().trainable_params


def test_early_stopping_ends_the_run_and_the_result_counts_the_epochs_run(data):
    import keras

    tm = make_model()
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=0, min_delta=1.0)
    run = tm.fit(data.split("train"), data.split("val"), epochs=10, batch_size=32, callbacks=[stop], cache=None)
    assert run.epochs == len(run.epoch_seconds) == 2  # the second epoch cannot improve by 100 points


def test_the_prefix_cache_is_recomputed_when_freezing_data_or_weights_change(data, tmp_path):
    cache = FeatureCache(tmp_path)
    tm = make_model()
    train, val = data.split("train"), data.split("val")
    tm.use_preset(FINE_TUNE_LAST_BLOCK)
    tm.fit(train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 2  # train and val activations (the training accuracy reuses the train ones)
    hits = cache.memory_hits
    tm.fit(train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 2 and cache.memory_hits == hits + 2  # block5 trained, blocks 1–4 did not: reused
    tm.use_preset(FINE_TUNE_LAST_TWO_BLOCKS)  # another boundary
    tm.fit(train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 4
    tm.fit((train[0][:50], train[1][:50]), val, epochs=1, batch_size=32, cache=cache)  # other data
    assert cache.misses == 5
    kernel, bias = tm.model.get_layer("block1_conv1").get_weights()
    tm.model.get_layer("block1_conv1").set_weights([kernel * 0.5, bias])  # other weights in the prefix
    tm.fit(train, val, epochs=1, batch_size=32, cache=cache)
    assert cache.misses == 7


def test_fit_scores_test_and_train_with_the_model_it_trained_exactly_as_score_does(data, tmp_path):
    cache = FeatureCache(tmp_path)
    tm = make_model()
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
    train, val, test = data.split("train"), data.split("val"), data.split("test")
    run = tm.fit(train, val, test, epochs=1, batch_size=32, cache=cache, balanced=True)
    assert "cached prefix" in run.mode
    assert run.test_accuracy == tm.score(*test, cache=cache, balanced=True)
    assert run.train_accuracy == tm.score(*train, cache=cache, balanced=True)


REUSE = """
import json, keras, numpy as np
from tl_kit import FINE_TUNE_LAST_BLOCK, TransferModel, build_head, load_vgg16
from tl_kit.data import load_dataset
from tl_kit.features import FeatureCache
from tl_kit.profiles import PROFILES
# The fast profile's 48 px (block 5 on 3×3 maps; see tl_kit.profiles), few images: every fit is cheap.
data = load_dataset("emoji", profile=PROFILES["fast"])
train, val, test = ((x[:n], y[:n]) for (x, y), n in zip((data.split(s) for s in ("train", "val", "test")), (48, 16, 16)))
keras.utils.set_random_seed(0)
base, _ = load_vgg16("offline", input_shape=PROFILES["fast"].input_shape, verbose=False)
head = build_head(base.output_shape[1:], data.num_classes, name="head")
def model():  # a new TransferModel on the same layers, from the same weights: a fresh compile
    tm = TransferModel(base, head)
    tm.model.set_weights(start)
    return tm
start = TransferModel(base, head).model.get_weights()
out = {"backend": keras.backend.backend()}
# Block 5 and the head train on both paths (the cached prefix, and the full pass every step):
# each path keeps its own compiled model, and training fewer layers than TRAIN_ALL keeps it cheap.
for path, use_cache in (("prefix", True), ("full", False)):
    runs, compiled = [], []
    tm = model()
    for seed in (1, 2):
        tm.model.set_weights(start)
        tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
        r = tm.fit(train, val, test, epochs=2, batch_size=32, seed=seed, use_cache=use_cache, cache=FeatureCache(None))
        runs.append([r.history["loss"], r.val_accuracy, r.test_accuracy, r.train_accuracy, r.mode])
        compiled.append(len(tm._fit_models))
    fresh = model()
    fresh.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
    r = fresh.fit(train, val, test, epochs=2, batch_size=32, seed=2, use_cache=use_cache, cache=FeatureCache(None))
    out[path] = {"reused": runs, "compiled": compiled,
                 "fresh": [r.history["loss"], r.val_accuracy, r.test_accuracy, r.train_accuracy, r.mode]}
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reused_compiled_model_trains_exactly_as_a_new_one(backend):
    result = run_on_backend(REUSE, backend)
    for path, mode in (("prefix", "cached prefix"), ("full", "full forward pass")):
        runs = result[path]
        assert all(run[-1].startswith(mode) for run in runs["reused"]), runs["reused"]
        assert runs["compiled"] == [1, 1]  # one compiled model served both fits
        first, second = runs["reused"]
        np.testing.assert_allclose(second[0], runs["fresh"][0], rtol=1e-5)  # seed 2: reused = a new model
        assert second[1:4] == pytest.approx(runs["fresh"][1:4]) and second[4] == runs["fresh"][4]
        assert first[0] != second[0]  # and two seeds are two different fits


def test_augmentation_uses_the_full_pass_and_still_trains(data):
    tm = make_model()
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-5)
    before = tm.model.get_layer("block5_conv1").get_weights()[0].copy()
    run = tm.fit(data.split("train"), data.split("val"), epochs=1, batch_size=32, augment=True, cache=None)
    assert "augmented" in run.mode and run.cache_seconds == 0
    assert tm._fit_models == {}  # augment=True draws a new augmentation layer per fit: no model kept for it
    assert not np.allclose(before, tm.model.get_layer("block5_conv1").get_weights()[0])


def test_score_through_the_cache_equals_the_full_model(data, tmp_path):
    tm = make_model()
    tm.use_preset(FINE_TUNE_LAST_BLOCK)
    cached = tm.score(*data.split("test"), cache=FeatureCache(tmp_path))
    assert cached == pytest.approx(score(tm.model, preprocess(data.x_test), data.y_test))
    assert cached == pytest.approx(tm.score(*data.split("test"), use_cache=False))


def test_save_and_load_keep_the_frozen_layers_the_learning_rate_and_the_predictions(data, tmp_path):
    tm = make_model()
    tm.freeze_to("block3_pool", learning_rate=1e-5)
    tm.fit(data.split("train"), data.split("val"), epochs=1, batch_size=32, cache=None)
    again = TransferModel.load(tm.save(tmp_path / "model.keras"))
    assert again.trainable_layers == tm.trainable_layers and trains(again) == trains(tm)
    assert again.learning_rate == 1e-5 and again.preset is FINE_TUNE_LAST_TWO_BLOCKS
    np.testing.assert_allclose(again.predict(data.x_test), tm.predict(data.x_test), atol=1e-6)
    again.fit(data.split("train"), data.split("val"), epochs=1, batch_size=32, cache=None)  # trains as loaded
    assert np.array_equal(again.model.get_layer("block3_conv3").get_weights()[0],
                          tm.model.get_layer("block3_conv3").get_weights()[0])  # frozen after the reload too


ROUND_TRIP = r"""
import json, sys
from tl_kit import TransferModel
from tl_kit.data import load_dataset
from tl_kit.profiles import PROFILES
from tl_kit.runs import read_report
folder = sys.argv[1]
report = read_report(folder)
data = load_dataset(report["data"], profile=PROFILES[report["profile"]], image_size=report["image_size"])
print(json.dumps(TransferModel.load(folder + "/best.keras").score(data.x_test, data.y_test, cache=None)))
"""


def test_checkpoint_round_trip_in_a_fresh_process_gives_the_same_test_accuracy(data, tmp_path, monkeypatch):
    monkeypatch.setenv("TL_KIT_RUNS", str(tmp_path / "runs"))
    tm = make_model()
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-5)
    folder = new_run("round/trip ../name")
    assert folder.parent == tmp_path / "runs" and ".." not in folder.name and "/" not in folder.name
    checkpoint = BestModelCheckpoint(tm, folder / "best.keras")
    tm.fit(data.split("train"), data.split("val"), epochs=2, batch_size=32, callbacks=[checkpoint], cache=None)
    assert checkpoint.saved_epochs and (folder / "best.keras").exists()
    expected = TransferModel.load(folder / "best.keras").score(*data.split("test"), cache=None)
    write_report(folder, data=str(data.root), profile="fast", image_size=data.x_test.shape[1], test_accuracy=expected)
    assert latest_run() == folder and read_report(folder)["test_accuracy"] == expected
    out = subprocess.run([sys.executable, "-c", ROUND_TRIP, str(folder)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) == expected


def test_missing_or_truncated_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match="No saved model"):
        TransferModel.load(tmp_path / "best.keras")
    (tmp_path / "best.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ModelFileError, match="cannot be loaded"):
        load_model(tmp_path / "best.keras")
    with pytest.raises(ModelFileError, match="No run"):
        latest_run(tmp_path / "empty")


def test_widget_preset_from_code_changes_the_models_trainable_weights(tm):
    widget = FreezeWidget(tm, learning_rate=1e-5)
    assert trains(tm) == {"head"}
    widget.preset.value = FINE_TUNE_LAST_TWO_BLOCKS.id
    assert widget.layer_boxes["block4_conv1"].value and not widget.layer_boxes["block3_conv3"].value
    assert trains(tm) == {"head"}  # a preview until applied
    assert "not applied yet" in widget.summary.value
    widget.apply_button.click()
    assert trains(tm) == BLOCK5 | BLOCK4 | {"head"}
    assert "applied" in widget.status.value and tm.learning_rate == pytest.approx(1e-5)
    tm.check_compiled()


def test_widget_layer_and_block_boxes(tm):
    widget = FreezeWidget(tm)
    widget.preset.value = FEATURE_EXTRACTION.id
    frozen_count = widget.preview.trainable_params
    widget.block_boxes["block5"].value = True
    assert all(widget.layer_boxes[n].value for n in BLOCK5)
    assert widget.preset.value == FINE_TUNE_LAST_BLOCK.id  # the ticks match a preset again
    assert widget.preview.trainable_params > frozen_count
    widget.layer_boxes["block5_conv1"].value = False
    assert widget.preset.value == "custom" and widget.block_boxes["block5"].value is False
    widget.apply()
    assert trains(tm) == {"block5_conv2", "block5_conv3", "head"}
    assert widget.redraws >= 4


def test_widget_reports_an_empty_choice_and_keeps_the_model(tm):
    tm.use_preset(FINE_TUNE_LAST_BLOCK)
    widget = FreezeWidget(tm)
    for box in widget.layer_boxes.values():
        box.value = False
    assert widget.apply().trainable == tm.trainable_layers  # the earlier applied summary stays
    assert "nothing to train" in widget.error and "⚠" in widget.status.value
    assert trains(tm) == BLOCK5 | {"head"}


def test_a_transfer_model_needs_a_base_and_a_head():
    with pytest.raises(TrainingError, match="base and a head"):
        TransferModel()


def make_cut_model(cut: str = "block4_pool", classes: int = 4) -> TransferModel:
    import keras

    keras.utils.set_random_seed(0)
    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    shape = tuple(base.get_layer(cut).output.shape[1:])
    return TransferModel(base, build_head(shape, classes, name="head"), cut=cut)


def test_a_cut_model_leaves_the_blocks_after_the_cut_out_and_says_so():
    tm = make_cut_model("block4_pool")
    names = [layer.name for layer in unit_layers(tm.model)]
    assert names[-2:] == ["block4_pool", "head"] and not BLOCK5 & set(names)
    assert tm.cut == "block4_pool" and [n for n, _ in tm.cut_away] == ["block5_conv1", "block5_conv2", "block5_conv3",
                                                                      "block5_pool"]
    assert dict(tm.cut_away)["block5_conv1"] == 3 * 3 * 512 * 512 + 512 and "cut at block4_pool" in tm.describe()


@pytest.mark.parametrize("preset, expected, prefix", [
    (FEATURE_EXTRACTION, {"head"}, "block4_pool"),
    (FINE_TUNE_LAST_BLOCK, BLOCK4 | {"head"}, "block3_pool"),
    (FINE_TUNE_LAST_TWO_BLOCKS, BLOCK4 | {"block3_conv1", "block3_conv2", "block3_conv3", "head"}, "block2_pool"),
])
def test_presets_are_relative_to_the_cut(preset, expected, prefix):
    tm = make_cut_model("block4_pool")
    tm.use_preset(preset)
    assert trains(tm) == expected and tm.preset is preset and tm.frozen_prefix == prefix
    tm.unfreeze()
    assert tm.preset is TRAIN_ALL


def test_a_head_built_for_another_cut_is_refused_with_what_to_do():
    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    with pytest.raises(TrainingError, match="build the head on features from block4_pool"):
        TransferModel(base, build_head((1, 1, 512), 4, name="head"), cut="block4_pool")
    with pytest.raises(FreezeError, match="no such layer"):
        TransferModel(base, build_head((1, 1, 512), 4, name="head"), cut="block9_pool")


def test_a_cut_model_trains_on_the_cached_prefix_saves_and_loads_with_its_cut(data, tmp_path):
    tm = make_cut_model("block4_pool", classes=data.num_classes)
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4, head_multiplier=10)
    result = tm.fit(data.split("train"), data.split("val"), data.split("test"), epochs=1, batch_size=32,
                    cache=FeatureCache(tmp_path / "cache"))
    assert result.mode.startswith("cached prefix: the layers up to block3_pool")
    cached = tm.score(*data.split("test"), cache=FeatureCache(tmp_path / "cache"))
    assert cached == pytest.approx(tm.score(*data.split("test"), use_cache=False))
    again = TransferModel.load(tm.save(tmp_path / "cut.keras"))
    assert again.cut == "block4_pool" and again.preset is FINE_TUNE_LAST_BLOCK and again.head_multiplier == 10
    np.testing.assert_allclose(again.predict(data.x_test), tm.predict(data.x_test), atol=1e-6)
    tm.model.get_layer("block3_conv3").trainable = True  # by hand: the guard works with any cut
    with pytest.raises(StaleCompileError):
        tm.fit(data.split("train"), data.split("val"), epochs=1, batch_size=32, cache=None)


def test_snapshot_and_restore_go_back_to_a_named_state(data):
    tm = make_cut_model("block3_pool", classes=data.num_classes)
    tm.snapshot("start")
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-3)
    tm.fit(data.split("train"), data.split("val"), epochs=1, batch_size=32, cache=None)
    moved = tm.model.get_layer("block3_conv3").get_weights()[0].copy()
    tm.restore("start")
    assert not np.array_equal(moved, tm.model.get_layer("block3_conv3").get_weights()[0])
    tm.snapshot("start")  # a name taken again keeps the newest state
    assert tm.snapshots == ["start"] and tm.preset is FINE_TUNE_LAST_BLOCK  # restore leaves the freezing alone
    with pytest.raises(TrainingError, match="No snapshot named 'phase 1'.*'start'"):
        tm.restore("phase 1")


def test_the_widget_shows_the_blocks_cut_away_as_gone_not_as_frozen():
    tm = make_cut_model("block4_pool")
    widget = FreezeWidget(tm)
    assert not BLOCK5 & set(widget.layer_boxes)  # nothing to tick for a layer that is not in the model
    assert "block5: cut away" in str([child.value for column in widget.children[1].children
                                      for child in column.children if hasattr(child, "value")])
    widget.preset.value = FINE_TUNE_LAST_BLOCK.id
    assert {n for n in BLOCK4 if widget.layer_boxes[n].value} == BLOCK4


CUT_MODEL = """
import json, tempfile, keras, numpy as np
from tl_kit import FINE_TUNE_LAST_BLOCK, StaleCompileError, TransferModel, build_head, load_vgg16
from tl_kit.data import load_dataset
from tl_kit.features import FeatureCache
from tl_kit.profiles import PROFILES
data = load_dataset("emoji", profile=PROFILES["fast"])
train, val, test = ((x[:n], y[:n]) for (x, y), n in zip((data.split(s) for s in ("train", "val", "test")), (48, 16, 16)))
keras.utils.set_random_seed(0)
base, _ = load_vgg16("offline", input_shape=PROFILES["fast"].input_shape, verbose=False)
tm = TransferModel(base, build_head(base.get_layer("block4_pool").output.shape[1:], data.num_classes, name="head"),
                   cut="block4_pool")
tm.snapshot("start")
out = {"backend": keras.backend.backend(), "cut": tm.cut, "cut_away": [n for n, _ in tm.cut_away]}
for path, use_cache in (("prefix", True), ("full", False)):  # the same training on both paths, head 10× faster
    tm.restore("start")
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4, head_multiplier=10)
    r = tm.fit(train, val, test, epochs=2, batch_size=32, seed=1, use_cache=use_cache, cache=FeatureCache(None))
    out[path] = {"loss": r.history["loss"], "mode": r.mode, "weights": float(tm.model.get_layer("block4_conv3").get_weights()[0].sum())}
path = tempfile.mkdtemp() + "/cut.keras"
again = TransferModel.load(tm.save(path))
out["reloaded"] = [again.cut, again.preset.id if again.preset else None, again.head_multiplier,
                   float(np.abs(again.predict(test[0]) - tm.predict(test[0])).max())]
tm.model.get_layer("block3_conv1").trainable = True  # by hand, without recompiling
try:
    tm.fit(train, val, epochs=1, batch_size=32, cache=FeatureCache(None))
    out["stale"] = "trained"
except StaleCompileError:
    out["stale"] = "refused"
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cut_model_trains_the_same_on_both_paths_reloads_and_guards_its_flags(backend):
    result = run_on_backend(CUT_MODEL, backend)
    assert result["cut"] == "block4_pool" and result["cut_away"][0] == "block5_conv1"
    prefix, full = result["prefix"], result["full"]
    assert prefix["mode"].startswith("cached prefix: the layers up to block3_pool") and full["mode"].startswith("full")
    np.testing.assert_allclose(prefix["loss"], full["loss"], rtol=1e-3)  # the same model, whichever path trains it
    assert prefix["weights"] == pytest.approx(full["weights"], rel=1e-3)
    assert result["reloaded"][:3] == ["block4_pool", "fine_tune_last_block", 10.0] and result["reloaded"][3] < 1e-5
    assert result["stale"] == "refused"


@pytest.mark.parametrize("losses", [[1.0, 0.995, 0.99, 0.985, 0.98], [1.0, 0.8, 0.795, 0.7, 0.71, 0.72], [0.5, 0.6, 0.7]])
def test_the_checkpoint_saves_the_epoch_early_stopping_keeps(losses, tmp_path):
    """Both count an epoch as better only when validation loss improves by MIN_DELTA, so the model
    on disk is the one training ends with (a gain of 0.005 a step is no gain to either)."""
    import keras

    from tl_kit import early_stopping

    class Saved:
        def save(self, path):
            pass

    net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    stop, checkpoint = early_stopping(patience=10), BestModelCheckpoint(Saved(), tmp_path / "m.keras")
    for callback in (stop, checkpoint):
        callback.set_model(net)
        callback.on_train_begin()
    for epoch, loss in enumerate(losses):
        for callback in (stop, checkpoint):
            callback.on_epoch_end(epoch, {"val_loss": loss})
    assert checkpoint.saved_epochs[-1] == stop.best_epoch


def test_a_tiny_cached_step_cost_is_said_as_under_one_percent_not_as_free():
    from tl_kit.freezing import FreezeSummary

    assert FreezeSummary(["head"], 10, 90, 0.33, 0.001).cached_share == "<1%"
    assert FreezeSummary(["head"], 10, 90, 0.53, 0.31).cached_share == "31%"
    assert "(<1% with the frozen prefix cached)" in repr(FreezeSummary(["head"], 10, 90, 0.33, 0.001))

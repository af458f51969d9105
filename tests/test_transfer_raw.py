"""TransferModel, its presets, the freeze widget, the network picture and choose_cut on a base that
takes raw pixels (`load_pretrained`): EfficientNet-Lite0, whose BatchNormalization layers stay
frozen whatever trains, and VGG16, which must agree with `load_vgg16`'s base."""

import matplotlib

matplotlib.use("Agg")

import keras
import numpy as np
import pytest

from tl_kit import (FEATURE_EXTRACTION, FINE_TUNE_LAST_BLOCK, FINE_TUNE_LAST_TWO_BLOCKS, TRAIN_ALL, TransferModel,
                    build_head, light_augmentation, load_dataset, load_pretrained, load_vgg16)
from tl_kit.batchnorm import batchnorm_layers, moving_statistics, statistics_shift
from tl_kit.cuts import choose_cut, usual_cuts
from tl_kit.errors import FreezeError, OptionError
from tl_kit.features import FeatureCache
from tl_kit.freezing import base_blocks, block_of, frozen_prefix, split_points, unit_layers
from tl_kit.plots import plot_network
from tl_kit.preprocessing import preprocess
from tl_kit.pretrained import BACKBONES
from tl_kit.profiles import PROFILES
from tl_kit.training import score
from tl_kit.widgets import FreezeWidget

from tests.conftest import BACKENDS, run_on_backend

SIZE = 64


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """(emoji at 64 px, an EfficientNet-Lite0 base, its ImageNet weights): built once for the module, with its
    own cache folder (conftest's cache isolation is per test and does not reach a module fixture)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TL_KIT_CACHE", str(tmp_path_factory.mktemp("raw_cache")))
        mp.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("raw_keras")))
        mp.delenv("TL_KIT_DATA", raising=False)
        mp.delenv("TL_KIT_SHARED_DIR", raising=False)
        data = load_dataset("emoji", profile=PROFILES["fast"], image_size=SIZE)
        keras.utils.set_random_seed(0)
        base, _ = load_pretrained("efficientnet_lite0", input_shape=(SIZE, SIZE, 3), verbose=False)
    return data, base, base.get_weights()


def efficientnet(shared, cut: str = "block6_output") -> TransferModel:
    """A new TransferModel on the shared base, its weights back to ImageNet's, with a new head."""
    data, base, weights = shared
    base.set_weights(weights)
    return TransferModel(base, build_head(base.get_layer(cut).output.shape[1:], data.num_classes, name="head"), cut=cut)


def trains(tm: TransferModel) -> set[str]:
    """The layers owning at least one of the weights the Keras model would train (not the flags)."""
    paths = {w.path for w in tm.model.trainable_weights}
    return {layer.name for layer in unit_layers(tm.model) if any(w.path in paths for w in layer.weights)}


def weighted(tm: TransferModel, block: str) -> set[str]:
    """The layers of `block` with weights that can train: its convs, not its BatchNormalization layers."""
    return {layer.name for layer in unit_layers(tm.model) if block_of(layer.name) == block and layer.weights
            and not isinstance(layer, keras.layers.BatchNormalization)}


# --- blocks, presets and BatchNormalization -----------------------------------------------------------------------

def test_efficientnet_layers_group_by_stage_and_preprocess_is_no_block():
    assert [block_of(n) for n in ("block6a_dwconv", "block6_output", "stem_conv", "top_conv", "block3_conv2",
                                  "preprocess", "head")] == ["block6", "block6", "stem", "top", "block3",
                                                             "preprocess", "head"]


def test_base_blocks_count_the_stages_and_leave_preprocess_out(shared):
    tm = efficientnet(shared, "top_activation")
    blocks = base_blocks(tm.model)
    assert [block_of(b[0]) for b in blocks] == ["stem"] + [f"block{i}" for i in range(1, 8)] + ["top"]
    assert blocks[-1] == ["top_conv", "top_bn", "top_activation"]


@pytest.mark.parametrize("preset, blocks, prefix", [
    (FEATURE_EXTRACTION, (), "block6_output"),
    (FINE_TUNE_LAST_BLOCK, ("block6",), "block5_output"),
    (FINE_TUNE_LAST_TWO_BLOCKS, ("block5", "block6"), "block4_output"),
    (TRAIN_ALL, ("stem", "block1", "block2", "block3", "block4", "block5", "block6"), None),
])
def test_presets_count_stages_from_the_cut_and_never_train_batchnorm(shared, preset, blocks, prefix):
    tm = efficientnet(shared, "block6_output")
    summary = tm.use_preset(preset)
    expected = set().union(*(weighted(tm, b) for b in blocks)) | {"head"}
    assert trains(tm) == expected and tm.preset is preset and tm.frozen_prefix == prefix
    assert not any(layer.trainable for layer in batchnorm_layers(tm.model))  # trainable=False: inference mode too
    assert summary.trainable_params == sum(tm.model.get_layer(n).count_params() for n in expected)
    assert summary.trainable_params + summary.frozen_params == tm.model.count_params()
    assert preset.label in tm.describe() and "cut at block6_output" in tm.describe()


def test_the_last_block_at_the_top_is_the_top_conv(shared):
    tm = efficientnet(shared, "top_activation")
    tm.use_preset(FINE_TUNE_LAST_BLOCK)
    assert trains(tm) == {"top_conv", "head"} and tm.frozen_prefix == "block7_output"


def test_naming_batchnorm_layers_trains_nothing_more_and_naming_only_them_is_refused(shared):
    tm = efficientnet(shared)
    tm.train_only(["block6d_project_conv", "block6d_project_bn", "head"])
    assert trains(tm) == {"block6d_project_conv", "head"} and tm.preset is None
    assert tm.describe().startswith("custom: block6d_project_conv … head train")
    with pytest.raises(FreezeError, match="nothing to train"):
        tm.train_only(["block6d_project_bn"])
    assert trains(tm) == {"block6d_project_conv", "head"}  # left as it was


def test_the_cached_prefix_never_splits_a_residual_block_nor_caches_raw_pixels(shared):
    tm = efficientnet(shared)
    assert "block6b_dwconv" not in split_points(tm.model) and "block6a_project_bn" in split_points(tm.model)
    tm.freeze_to("block6b_expand_activation")  # block6b_add reads block6a's output: the prefix must end there
    assert tm.frozen_prefix == "block6a_project_bn"
    tm.unfreeze()
    assert frozen_prefix(tm.model) is None  # 'preprocess' alone is frozen: nothing to cache


def test_fine_tuning_leaves_the_batchnorm_statistics_alone_and_save_load_keeps_them_frozen(shared, tmp_path):
    data, _, _ = shared
    tm = efficientnet(shared)
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
    before = moving_statistics(tm.model)
    conv = tm.model.get_layer("block6a_expand_conv").get_weights()[0].copy()
    tm.fit((data.x_train[:12], data.y_train[:12]), (data.x_val[:6], data.y_val[:6]), epochs=1, batch_size=6,
           use_cache=False, cache=None)
    assert statistics_shift(before, moving_statistics(tm.model)) == 0.0  # inference mode: ImageNet's statistics
    assert not np.allclose(conv, tm.model.get_layer("block6a_expand_conv").get_weights()[0])  # and the convs trained
    again = TransferModel.load(tm.save(tmp_path / "efficientnet.keras"))
    assert again.preset is FINE_TUNE_LAST_BLOCK and trains(again) == trains(tm)
    assert not any(layer.trainable for layer in batchnorm_layers(again.model))
    np.testing.assert_allclose(again.predict(data.x_test[:8]), tm.predict(data.x_test[:8]), atol=1e-5)


# --- the raw-pixel convention -------------------------------------------------------------------------------------

def test_predict_and_score_give_the_model_raw_pixels(shared):
    data, _, _ = shared
    tm = efficientnet(shared)
    raw = data.x_test[:8].astype("float32")
    np.testing.assert_allclose(tm.predict(data.x_test[:8]), tm.model.predict(raw, verbose=0), atol=1e-6)
    tm.use_preset(FINE_TUNE_LAST_BLOCK)
    cached = tm.score(data.x_test, data.y_test, cache=FeatureCache(None))
    assert cached == pytest.approx(score(tm.model, data.x_test.astype("float32"), data.y_test))
    assert cached == pytest.approx(tm.score(data.x_test, data.y_test, use_cache=False))


def test_augmentation_feeds_raw_pixels_to_the_base_and_trains_one_epoch(shared):
    data, _, _ = shared
    tm = efficientnet(shared)
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
    before = tm.model.get_layer("block6d_project_conv").get_weights()[0].copy()
    augmentation = light_augmentation()
    run = tm.fit((data.x_train[:12], data.y_train[:12]), (data.x_val[:6], data.y_val[:6]), epochs=1, batch_size=6,
                 augment=augmentation, cache=None)
    assert "augmented" in run.mode and run.epochs == 1
    assert not np.allclose(before, tm.model.get_layer("block6d_project_conv").get_weights()[0])
    (pipeline, _), = tm._fit_models.values()  # the augmentation, then the model itself: no VGG16 preprocessing
    assert [layer.name for layer in pipeline.layers] == [augmentation.name, tm.model.name]


def test_vgg16_from_load_pretrained_agrees_with_load_vgg16s_base_through_transfer_model():
    import keras

    data = load_dataset(profile=PROFILES["fast"], image_size=32)
    outside, _ = load_vgg16("auto", input_shape=(32, 32, 3), verbose=False)  # VGG16's preprocessing done outside
    inside, _ = load_pretrained("vgg16", input_shape=(32, 32, 3), verbose=False)  # ...in the model (the same weights,
    # block1_conv1's input channels reversed: it reads RGB, where the original reads BGR)
    keras.utils.set_random_seed(0)
    head = build_head((1, 1, 512), data.num_classes, name="head")
    start = head.get_weights()
    old, new = TransferModel(outside, head), TransferModel(inside, head)  # one head, shared: the same weights
    assert new.preset is FEATURE_EXTRACTION and base_blocks(new.model) == base_blocks(old.model)
    np.testing.assert_allclose(new.predict(data.x_test), old.predict(data.x_test), atol=1e-5)
    assert new.score(*data.split("test")) == pytest.approx(score(old.model, preprocess(data.x_test), data.y_test))
    assert old.score(*data.split("test")) == pytest.approx(score(old.model, preprocess(data.x_test), data.y_test))
    losses = {}
    for name, tm in (("old", old), ("new", new)):
        head.set_weights(start)
        tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
        assert tm.frozen_prefix == "block4_pool"
        losses[name] = tm.fit(data.split("train"), data.split("val"), epochs=1, batch_size=32, seed=1,
                              use_cache=False, cache=None).history["loss"]
    np.testing.assert_allclose(losses["new"], losses["old"], rtol=1e-4)


# --- both training paths, on TensorFlow and on JAX ------------------------------------------------------------------

BOTH_PATHS = """
import json, keras
from tl_kit import FINE_TUNE_LAST_BLOCK, TransferModel, build_head, load_dataset, load_pretrained
from tl_kit.batchnorm import moving_statistics, statistics_shift
from tl_kit.features import FeatureCache
from tl_kit.profiles import PROFILES
data = load_dataset("emoji", profile=PROFILES["fast"], image_size=64)
train, val = (data.x_train[:12], data.y_train[:12]), (data.x_val[:6], data.y_val[:6])
keras.utils.set_random_seed(0)
base, _ = load_pretrained("efficientnet_lite0", input_shape=(64, 64, 3), verbose=False)
tm = TransferModel(base, build_head(base.get_layer("block6_output").output.shape[1:], data.num_classes, name="head"),
                   cut="block6_output")
tm.snapshot("start")
statistics = moving_statistics(tm.model)
out = {"backend": keras.backend.backend()}
for path, use_cache in (("prefix", True), ("full", False)):  # the same training on both paths
    tm.restore("start")
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
    r = tm.fit(train, val, epochs=2, batch_size=6, seed=1, use_cache=use_cache, cache=FeatureCache(None))
    out[path] = {"loss": r.history["loss"], "mode": r.mode, "shift": statistics_shift(statistics, moving_statistics(tm.model)),
                 "weights": float(tm.model.get_layer("block6d_project_conv").get_weights()[0].sum())}
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_efficientnet_trains_the_same_on_the_cached_prefix_and_the_full_pass(backend):
    result = run_on_backend(BOTH_PATHS, backend)
    prefix, full = result["prefix"], result["full"]
    assert prefix["mode"].startswith("cached prefix: the layers up to block5_output") and full["mode"].startswith("full")
    np.testing.assert_allclose(prefix["loss"], full["loss"], rtol=1e-3)
    assert prefix["weights"] == pytest.approx(full["weights"], rel=1e-3)
    assert prefix["shift"] == full["shift"] == 0.0  # BN in inference mode on both paths


# --- choose_cut, the widget and the picture --------------------------------------------------------------------------

def test_choose_cut_probes_efficientnets_usual_cuts_and_returns_one(shared):
    data, base, weights = shared
    base.set_weights(weights)
    cuts = BACKBONES["efficientnet_lite0"].cuts
    assert usual_cuts(base) == cuts and len(cuts) == 8
    choice = choose_cut(base, data, weights="ImageNet")
    assert list(choice.val_scores()) == list(cuts) and choice.chosen in cuts and choice.top == "top_activation"
    assert choice.sentence().startswith(f"Cut after {choice.chosen}: ")
    labels = [t.get_text() for t in choice.plot().axes[0].get_xticklabels()]
    assert labels == list(cuts)
    some = choose_cut(base, data, candidates=("block5b_add", "block3_output"))  # any layer of the base
    assert list(some.val_scores()) == ["block3_output", "block5b_add"]


def test_choose_cut_refuses_a_layer_the_base_lacks_and_lists_its_usual_cuts(shared):
    _, base, _ = shared
    with pytest.raises(OptionError, match="must be among block1_output, .*, block7_output, top_activation; "
                                          r"got \['block4_pool'\]\. Not a layer of this base: 'block4_pool'"):
        choose_cut(base, None, candidates=("block4_pool",))


def test_the_widget_groups_efficientnet_by_stage_shows_batchnorm_frozen_and_applies_a_preset(shared):
    tm = efficientnet(shared)
    widget = FreezeWidget(tm, learning_rate=1e-4)
    assert set(widget.block_boxes) == {"stem", *(f"block{i}" for i in range(1, 7))}
    assert all(widget.layer_boxes[layer.name].disabled and not widget.layer_boxes[layer.name].value
               for layer in batchnorm_layers(tm.model))
    assert "45 BatchNormalization layers stay frozen" in widget.summary.value
    widget.preset.value = FINE_TUNE_LAST_BLOCK.id
    assert widget.selection() == weighted(tm, "block6") | {"head"}
    widget.apply()
    assert trains(tm) == weighted(tm, "block6") | {"head"} and tm.preset is FINE_TUNE_LAST_BLOCK and widget.error is None
    widget.block_boxes["block5"].value = True
    assert widget.preset.value == FINE_TUNE_LAST_TWO_BLOCKS.id
    widget.layer_boxes["block5a_expand_conv"].value = False
    assert widget.preset.value == "custom" and widget.block_boxes["block5"].value is False


def test_the_network_picture_draws_a_long_network_one_box_per_block(shared):
    tm = efficientnet(shared)
    tm.use_preset(FINE_TUNE_LAST_BLOCK)
    fig = plot_network(tm.model, set(tm.trainable_layers), cut_away=tm.cut_away)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts if not t.get_text().endswith(" M")]
    assert labels == ["stem", *(f"block{i}" for i in range(1, 8)), "top", "head"]
    orange = [p for p in ax.patches if p.get_fill() and p.get_facecolor()[:3] == pytest.approx((0.949, 0.557, 0.169),
                                                                                                abs=1e-3)]
    assert len(orange) == 2  # block6 (its convs) and the head
    assert sum(1 for p in ax.patches if not p.get_fill()) == 2  # block7 and top, cut away
    assert "block's parameters" in ax.get_title()

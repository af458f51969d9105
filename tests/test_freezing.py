"""The freeze API and the freeze widget: what trains is exactly what was chosen, and compiled."""

import numpy as np
import pytest

from tl_kit.errors import TLKitError
from tl_kit.finetune import fine_tune
from tl_kit.freezing import (PRESETS, FreezeError, StaleCompileError, build_classifier, check_compiled, freeze,
                             step_cost, summarize)
from tl_kit.models import build_head
from tl_kit.weights import load_vgg16
from tl_kit.widgets import FreezeWidget

BLOCK5 = {"block5_conv1", "block5_conv2", "block5_conv3"}


@pytest.fixture
def model():
    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    return build_classifier(base, build_head((1, 1, 512), 4, name="head"))


def trainable_layers(model) -> set[str]:
    """The layers owning at least one of the weights the model would train."""
    from tl_kit.freezing import unit_layers

    ids = {id(w) for w in model.trainable_weights}
    return {layer.name for layer in unit_layers(model) if any(id(w) in ids for w in layer.weights)}


@pytest.mark.parametrize("preset, expected", [
    ("feature extraction: freeze the whole base", {"head"}),
    ("fine-tune block5", BLOCK5 | {"head"}),
    ("fine-tune blocks 4–5", BLOCK5 | {"block4_conv1", "block4_conv2", "block4_conv3", "head"}),
])
def test_presets_train_exactly_their_layers(model, preset, expected):
    freeze(model, preset=preset)
    assert trainable_layers(model) == expected


def test_train_everything_and_the_three_ways_of_saying_it_agree(model):
    freeze(model, preset="train everything")
    assert len(model.trainable_weights) == len(model.weights) == 26 + 4  # 13 convs and two dense layers
    by_up_to = freeze(model, up_to="block4_pool").trainable_params
    by_names = freeze(model, train=sorted(BLOCK5 | {"head"})).trainable_params
    by_preset = freeze(model, preset="fine-tune block5").trainable_params
    assert by_up_to == by_names == by_preset == 3 * (9 * 512 * 512 + 512) + 512 * 1024 + 1024 + 1024 * 4 + 4


def test_freeze_recompiles_so_the_optimizer_sees_the_new_weights(model):
    freeze(model, preset="feature extraction: freeze the whole base")
    x = np.random.default_rng(0).normal(size=(8, 32, 32, 3)).astype("float32")
    y = np.arange(8) % 4
    model.fit(x, y, epochs=1, verbose=0)
    before = model.get_layer("block5_conv3").get_weights()[0].copy()
    freeze(model, preset="fine-tune block5", learning_rate=1e-3)  # unfreeze *after* a fit
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(before, model.get_layer("block5_conv3").get_weights()[0])
    assert np.array_equal(model.get_layer("block4_conv3").get_weights()[0],
                          load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)[0]
                          .get_layer("block4_conv3").get_weights()[0])


def test_changing_trainable_by_hand_after_compile_is_loud(model):
    freeze(model, preset="feature extraction: freeze the whole base")
    check_compiled(model)
    model.get_layer("block5_conv1").trainable = True
    with pytest.raises(StaleCompileError, match="recompiles"):
        check_compiled(model)
    images = np.zeros((4, 32, 32, 3), np.uint8)
    with pytest.raises(StaleCompileError):
        fine_tune(model, (images, np.arange(4)), (images, np.arange(4)), epochs=1, batch_size=4, cache=None)


@pytest.mark.parametrize("kwargs, match", [
    (dict(preset="freeze everything"), "Unknown preset"),
    (dict(train=[]), "nothing to train"),
    (dict(train=["block1_pool", "block5_pool"]), "nothing to train"),
    (dict(up_to="head"), "nothing to train"),
    (dict(up_to="block9_pool"), "Unknown layer 'block9_pool'"),
    (dict(train=["block5_conv9"]), "Unknown layer"),
    (dict(preset="train everything", learning_rate=0), "must be positive"),
    (dict(preset="train everything", learning_rate=-1e-5), "must be positive"),
    (dict(), "exactly one way"),
    (dict(up_to="block4_pool", preset="fine-tune block5"), "exactly one way"),
])
def test_bad_choices_are_refused_and_change_nothing(model, kwargs, match):
    freeze(model, preset="fine-tune block5")
    before = [layer.trainable for layer in model.layers]
    with pytest.raises(FreezeError, match=match):
        freeze(model, **kwargs)
    assert before == [layer.trainable for layer in model.layers]
    check_compiled(model)


def test_step_cost_falls_as_more_of_the_prefix_freezes(model):
    costs = [summarize(model, trainable=set(freeze(model, preset=p).trainable)).relative_step_cost for p in PRESETS]
    assert costs == sorted(costs) and costs[-1] == pytest.approx(1.0)
    cached = step_cost(model, BLOCK5 | {"head"}, cached_prefix=True)
    assert cached < step_cost(model, BLOCK5 | {"head"}) < 1.0


def test_widget_preset_from_code_changes_the_models_trainable_weights(model):
    freeze(model, preset="feature extraction: freeze the whole base")
    widget = FreezeWidget(model, learning_rate=1e-5)
    assert trainable_layers(model) == {"head"}
    widget.preset.value = "fine-tune blocks 4–5"
    assert widget.layer_boxes["block4_conv1"].value and not widget.layer_boxes["block3_conv3"].value
    assert trainable_layers(model) == {"head"}  # a preview until applied
    assert "not applied yet" in widget.summary.value
    widget.apply_button.click()
    assert trainable_layers(model) == BLOCK5 | {"block4_conv1", "block4_conv2", "block4_conv3", "head"}
    assert "applied" in widget.status.value and model._tl_kit_learning_rate == pytest.approx(1e-5)
    check_compiled(model)


def test_widget_layer_and_block_boxes(model):
    widget = FreezeWidget(model)
    widget.preset.value = "feature extraction: freeze the whole base"
    frozen_count = widget.preview.trainable_params
    widget.block_boxes["block5"].value = True
    assert all(widget.layer_boxes[n].value for n in BLOCK5)
    assert widget.preset.value == "fine-tune block5"  # the ticks match a preset again
    assert widget.preview.trainable_params > frozen_count
    widget.layer_boxes["block5_conv1"].value = False
    assert widget.preset.value == "custom" and widget.block_boxes["block5"].value is False
    widget.apply()
    assert trainable_layers(model) == {"block5_conv2", "block5_conv3", "head"}
    assert widget.redraws >= 4


def test_widget_reports_an_empty_choice_and_keeps_the_model(model):
    freeze(model, preset="fine-tune block5")
    widget = FreezeWidget(model)
    for box in widget.layer_boxes.values():
        box.value = False
    assert widget.apply() is not None  # the earlier applied summary stays
    assert "nothing to train" in widget.error and "⚠" in widget.status.value
    assert trainable_layers(model) == BLOCK5 | {"head"}


def test_fine_tune_needs_a_freeze_first(model):
    images = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(TLKitError, match="freeze"):
        fine_tune(model, (images, np.arange(2)), (images, np.arange(2)), epochs=1, batch_size=2, cache=None)

"""Looking inside: Grad-CAM where the answer is known, on both backends and through a nested base;
the weight-change chart exactly zero for frozen layers after a real fine-tuning step."""

import numpy as np
import pytest

from tests.conftest import BACKENDS, run_on_backend

from tl_kit.errors import LayerError, ShapeError
from tl_kit.inside import channel_weights, gradcam, layer_weights, split_at, top_images, weight_change

# A small CNN learns "is there a bright square?"; the square is always in the top-left corner of
# the positive images, so Grad-CAM for "square" must peak there.
SQUARE = r"""
import json
import keras
import numpy as np
from tl_kit.inside import gradcam

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.uniform(0, 0.4, size=(400, 32, 32, 3)).astype("float32")
y = np.arange(400) % 2
x[y == 1, 2:10, 2:10, :] = 1.0  # the bright square, top left
model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                          keras.layers.MaxPooling2D(2),
                          keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv"),
                          keras.layers.GlobalMaxPooling2D(), keras.layers.Dense(2, activation="softmax")])
model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=8, batch_size=32, verbose=0)
test = rng.uniform(0, 0.4, size=(32, 32, 3)).astype("float32")
test[2:10, 2:10, :] = 1.0
cam = gradcam(model, test, layer="last_conv", class_index=1)
peak = np.unravel_index(np.argmax(cam.heatmap), cam.heatmap.shape)
print(json.dumps({"backend": keras.backend.backend(), "peak": [int(p) for p in peak],
                  "accuracy": float(model.evaluate(x, y, verbose=0)[1]), "p": cam.probability,
                  "corner_share": float(cam.heatmap[:16, :16].sum() / cam.heatmap.sum())}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcam_peaks_where_the_evidence_is_a_bright_square_in_the_top_left_corner(backend):
    result = run_on_backend(SQUARE, backend)
    assert result["accuracy"] > 0.95 and result["p"] > 0.9
    assert result["peak"][0] < 12 and result["peak"][1] < 12, result  # inside or at the square (rows/cols 2–9)
    assert result["corner_share"] > 0.6, result


@pytest.fixture(scope="module")
def vgg_classifier():
    from tl_kit import TransferModel, build_head, load_vgg16

    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    return TransferModel(base, build_head((1, 1, 512), 6, name="head")), base


def test_a_nested_base_gives_the_same_heatmap_as_the_flat_model(vgg_classifier):
    import keras

    from tl_kit import preprocess

    tm, base = vgg_classifier
    nested = keras.Sequential([keras.Input((32, 32, 3)), base, tm.model.get_layer("head")])
    image = (np.random.default_rng(1).random((32, 32, 3)) * 255).astype("uint8")
    flat, inner = gradcam(tm.model, image, prepare=preprocess), gradcam(nested, image, prepare=preprocess)
    assert flat.heatmap.shape == (32, 32) and flat.coarse.shape == (2, 2)
    np.testing.assert_allclose(flat.heatmap, inner.heatmap, atol=1e-5)
    assert flat.class_index == inner.class_index and 0 <= flat.heatmap.min() and flat.heatmap.max() <= 1
    explained = gradcam(tm.model, image, prepare=preprocess, class_index=(flat.class_index + 1) % 6)
    assert explained.class_index == (flat.class_index + 1) % 6


def test_bad_requests_get_clear_errors(vgg_classifier):
    import keras

    tm, _ = vgg_classifier
    with pytest.raises(LayerError, match="No layer 'block9_conv1'.*block5_conv3"):
        split_at(tm.model, "block9_conv1")
    with pytest.raises(ShapeError, match="one image of shape"):
        gradcam(tm.model, np.zeros((2, 32, 32, 3)))
    with pytest.raises(ShapeError, match="outside the model's 6 classes"):
        gradcam(tm.model, np.zeros((32, 32, 3)), class_index=7)
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(3, 3, padding="same", name="conv")(inputs)
    branching = keras.Model(inputs, keras.layers.Activation("softmax")(
        keras.layers.GlobalAveragePooling2D()(keras.layers.Add()([conv, inputs]))))
    with pytest.raises(LayerError, match="branches"):
        gradcam(branching, np.ones((8, 8, 3)), layer="conv")


def test_frozen_layers_do_not_move_at_all_in_a_real_fine_tuning_step_and_unfrozen_ones_do(vgg_classifier):
    from tl_kit import FINE_TUNE_BLOCK5
    from tl_kit.data import load_dataset
    from tl_kit.profiles import PROFILES

    tm, _ = vgg_classifier
    data = load_dataset("emoji", profile=PROFILES["fast"], image_size=32)
    tm.use_preset(FINE_TUNE_BLOCK5, learning_rate=1e-4)
    before = layer_weights(tm.model)
    tm.fit(data.split("train"), data.split("val"), epochs=1, batch_size=32, use_cache=False)
    change = weight_change(before, tm.model)
    head = {layer.name for layer in tm.model.get_layer("head").layers if layer.weights}  # Keras numbers their names
    frozen = [n for n in change if not n.startswith("block5") and n not in head]
    assert all(change[n] > 0 for n in head)
    assert frozen and all(change[n] == 0.0 for n in frozen)  # exactly zero, not merely small
    assert all(change[n] > 0 for n in ("block5_conv1", "block5_conv2", "block5_conv3"))
    assert len(change) == 13 + 2  # 13 conv layers and the head's two dense layers


def test_channel_weights_and_top_images():
    grads = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    np.testing.assert_allclose(channel_weights(grads), grads.mean(axis=(0, 1)))
    acts = np.zeros((5, 2, 2, 3))
    acts[3, ..., 1], acts[1, ..., 1], acts[4, 0, 0, 1] = 5.0, 2.0, 1.0
    assert list(top_images(acts, 1, k=3)) == [3, 1, 4]
    with pytest.raises(ShapeError):
        top_images(acts, 3)

"""Looking inside: Grad-CAM where the answer is known, on both backends and through a nested base,
from the logit (a hand computation; a saturated softmax still gives a map); the weight-change chart
exactly zero for frozen layers after a real fine-tuning step."""

import numpy as np
import pytest

from tests.conftest import BACKENDS, run_on_backend

from tl_kit.errors import LayerError, ShapeError
from tl_kit.inside import (GradCAM, background_mask, channel_weights, favourites_in_common, favourites_sentence,
                           gradcam, heat_place, layer_weights, split_at, top_images, weight_change)

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


# conv → (nested head: global average pooling → Dense softmax). The logit z_c = mean_ij(A_ij) · W[:, c] + b_c
# has gradient W[k, c] / (H·W) at every position of map k, so Grad-CAM's channel weights are W[:, c] / 36.
HAND = r"""
import json
import keras
import numpy as np
from tl_kit.inside import gradcam, split_at

keras.utils.set_random_seed(1)
head = keras.Sequential([keras.Input((6, 6, 4)), keras.layers.GlobalAveragePooling2D(),
                         keras.layers.Dense(3, activation="softmax", name="out")], name="head")
model = keras.Sequential([keras.Input((6, 6, 3)),
                          keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"), head])
kernel = np.array([[1.5, -0.5, 0.2], [-1.0, 1.0, 0.3], [0.5, 0.8, -1.2], [-0.7, -0.2, 1.0]], dtype="float32")
head.get_layer("out").set_weights([kernel, np.array([0.1, -0.2, 0.0], dtype="float32")])
image = np.random.default_rng(1).uniform(0, 1, size=(6, 6, 3)).astype("float32")
maps = keras.ops.convert_to_numpy(split_at(model, "conv").to_maps(image[None]))[0]
probs = keras.ops.convert_to_numpy(model(image[None]))[0]


def normalised(coarse):
    coarse = np.maximum(coarse, 0.0)
    return coarse / coarse.max() if coarse.max() > 0 else coarse


out = {"backend": keras.backend.backend(), "probs": probs.tolist(), "classes": [], "probability": [],
       "coarse": [], "hand_logit": [], "hand_probability": [], "signed": [], "hand_signed": [], "empty": []}
for c in range(3):
    cam = gradcam(model, image, layer="conv", class_index=c)
    dp_dz = probs[c] * ((np.arange(3) == c) - probs)  # the softmax's Jacobian row: what the probability would use
    out["classes"].append(cam.class_index)
    out["probability"].append(cam.probability)
    out["coarse"].append(cam.coarse.tolist())
    out["hand_logit"].append(normalised(maps @ (kernel[:, c] / 36)).tolist())
    out["hand_probability"].append(normalised(maps @ (kernel @ dp_dz / 36)).tolist())
    out["signed"].append(cam.signed.tolist())
    out["hand_signed"].append((maps @ (kernel[:, c] / 36)).tolist())
    out["empty"].append(cam.empty)
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcam_weights_the_maps_by_the_gradient_of_the_logit_as_a_hand_computation_does(backend):
    result = run_on_backend(HAND, backend)
    assert result["classes"] == [0, 1, 2]
    np.testing.assert_allclose(result["probability"], result["probs"], rtol=1e-6)  # the softmax's, as before
    for coarse, logit, probability in zip(result["coarse"], result["hand_logit"], result["hand_probability"]):
        assert np.max(logit) == 1.0
        np.testing.assert_allclose(coarse, logit, atol=1e-5)
        assert not np.allclose(logit, probability, atol=1e-2)  # the two differ here: the test can tell them apart
    # the signed sum before the ReLU is kept, unscaled: what says how far below 0 an empty map is
    np.testing.assert_allclose(result["signed"], result["hand_signed"], atol=1e-5)
    assert result["empty"] == [bool(np.max(h) <= 0) for h in result["hand_signed"]]


# The same small model twice: as built (random weights), then with the last Dense layer's kernel and bias
# scaled so that the chosen class's logit leads by 300: softmax gives exactly 1.0 and 0.0 in float32, and the
# probability's gradient is exactly zero. Scaling the logits scales their gradient, so the map is unchanged.
SATURATED = r"""
import json
import keras
import numpy as np
from tl_kit.inside import _gradient, gradcam, split_at

keras.utils.set_random_seed(2)
model = keras.Sequential([keras.Input((8, 8, 3)),
                          keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv"),
                          keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(4, activation="softmax", name="out")])
image = np.random.default_rng(2).uniform(0, 1, size=(8, 8, 3)).astype("float32")
calm = gradcam(model, image, layer="conv")
probs = keras.ops.convert_to_numpy(model(image[None]))[0].astype("float64")
lead = np.delete(np.log(probs[calm.class_index]) - np.log(probs), calm.class_index).min()  # z_c - z_j, smallest
kernel, bias = model.get_layer("out").get_weights()
model.get_layer("out").set_weights([kernel * (300 / lead), bias * (300 / lead)])
sure = gradcam(model, image, layer="conv")
split = split_at(model, "conv")
maps = np.asarray(keras.ops.convert_to_numpy(split.to_maps(image[None])), dtype="float32")
d_probability = _gradient(lambda a: split.from_maps(a)[0, sure.class_index], maps)
print(json.dumps({"backend": keras.backend.backend(), "classes": [calm.class_index, sure.class_index],
                  "p": [calm.probability, sure.probability],
                  "probs": keras.ops.convert_to_numpy(model(image[None]))[0].tolist(),
                  "d_probability_max": float(np.abs(d_probability).max()),
                  "calm": calm.heatmap.tolist(), "sure": sure.heatmap.tolist()}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_saturated_softmax_still_gives_the_heatmap_of_the_logit(backend):
    result = run_on_backend(SATURATED, backend)
    chosen = result["classes"][0]
    assert result["classes"] == [chosen, chosen] and result["p"][0] < 0.9 and result["p"][1] == 1.0
    assert result["probs"] == [1.0 if c == chosen else 0.0 for c in range(4)]
    assert result["d_probability_max"] == 0.0  # the probability's gradient would have given an all-zero map
    calm, sure = np.array(result["calm"]), np.array(result["sure"])
    assert calm.shape == (8, 8) and calm.max() == pytest.approx(1.0)
    np.testing.assert_allclose(sure, calm, atol=1e-5)


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
    from tl_kit import FINE_TUNE_LAST_BLOCK
    from tl_kit.data import load_dataset
    from tl_kit.profiles import PROFILES

    tm, _ = vgg_classifier
    data = load_dataset("emoji", profile=PROFILES["fast"], image_size=32)
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-4)
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


def _cam(coarse, signed=None):
    coarse = np.asarray(coarse, dtype=float)
    return GradCAM(np.zeros((16, 16)), coarse, 0, 0.9, "conv", None if signed is None else np.asarray(signed))


def test_the_background_is_the_frames_colour_and_an_object_touching_the_frame_does_not_change_it():
    picture = np.full((16, 16, 3), 255, dtype=np.uint8)  # white, as the emoji
    picture[4:12, 4:12] = (200, 30, 30)  # a red square in the middle
    picture[0:3, 0] = 0  # a few dark pixels on the frame itself
    mask = background_mask(picture)
    assert not mask[4:12, 4:12].any() and mask[12:, :].all() and not mask[0, 0]
    dark = np.zeros((16, 16, 3))  # Fashion-MNIST: a light object on black
    dark[5:9, 5:9] = 180
    assert background_mask(dark).sum() == 16 * 16 - 16


def test_heat_place_counts_the_heat_on_the_frame_and_on_cells_without_any_object_pixel():
    picture = np.full((16, 16, 3), 255, dtype=np.uint8)
    picture[4:12, 4:12] = 0  # the object fills exactly the four middle cells of a 4×4 grid
    corner = np.zeros((4, 4))
    corner[0, 0] = 1.0  # all the heat on a frame cell that holds no object pixel
    place = heat_place(_cam(corner), picture)
    assert (place.ring, place.ring_cells, place.bare, place.bare_cells) == (1.0, 0.75, 1.0, 0.75)
    assert not place.empty and "100% of the heat on the frame's cells (75% of the cells)" in place.sentence()
    middle = np.zeros((4, 4))
    middle[1:3, 1:3] = [[1.0, 0.5], [0.5, 0.0]]
    inside = heat_place(_cam(middle), picture)
    assert inside.ring == inside.bare == 0.0
    edge = np.zeros((4, 4))
    edge[1, 0] = 1.0  # a frame cell beside the object: still no object pixel in it
    picture[4:12, 3] = 0  # now the object reaches into that cell
    assert heat_place(_cam(edge), picture).bare == 0.0


def test_an_empty_map_says_so_with_its_largest_signed_sum():
    empty = _cam(np.zeros((2, 2)), signed=[[-0.5, -0.25], [-1.0, -2.0]])
    assert empty.empty and not _cam([[0.0, 0.2], [0.0, 0.0]]).empty
    place = heat_place(empty, np.full((8, 8, 3), 255))
    assert place.empty and place.ring == place.bare == 0.0
    assert place.sentence() == ("empty map: Σ α_k A^k is at most -0.25, ≤ 0 in all 4 cells, so no place raises "
                                "this class's score")


def test_favourites_are_compared_with_random_sets_for_class_and_colour():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 30)  # four classes of 30
    images = rng.integers(100, 156, size=(120, 4, 4, 3)).astype(np.uint8)  # grey-ish, a little noise
    red = np.array([3, 40, 70, 100, 110, 5])  # six images of four classes, all made red
    images[red] = (250, 20, 20)
    same_class = np.arange(30, 36)  # six images of class 1, ordinary colours
    common = favourites_in_common({"red": red, "class": same_class}, images, labels, draws=500)
    by_colour, by_class = common["red"], common["class"]
    assert by_colour.colour_p < 0.05 and by_colour.class_p > 0.05
    assert by_colour.shift[0] > 50 and by_colour.shift[1] < -50  # redder, less green than the average
    assert by_class.count == 6 and by_class.top_class == 1 and by_class.class_p < 0.05 and by_class.colour_p > 0.05
    assert 1.5 < by_class.chance_counts.mean() < 3.5  # six random images of four classes: two or three of one
    both = favourites_sentence(common)
    assert both.startswith("1 of 2 channels have one class") and "1 of 2 have a mean colour" in both
    assert "equally often" in both
    assert "colour sets the favourites apart more often" in favourites_sentence({"red": by_colour})
    assert "class sets the favourites apart more often" in favourites_sentence({"class": by_class})
    plain = favourites_in_common({"any": np.array([0, 31, 62, 93, 1, 32])}, images, labels, draws=500)
    assert "Neither class nor colour" in favourites_sentence(plain)

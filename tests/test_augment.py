"""Augmentation varies the training images only, and each layer does what its name says."""

import keras
import numpy as np
import pytest

from tl_kit import TransferModel, augmentation_for, build_head, light_augmentation, load_dataset, load_vgg16
from tl_kit.augment import RandomBackground
from tl_kit.profiles import PROFILES


@pytest.fixture(scope="module")
def emoji():
    return load_dataset("emoji", profile=PROFILES["fast"])


def test_random_background_paints_only_the_white_pixels_and_only_while_training():
    images = np.full((8, 6, 6, 3), 255.0, "float32")
    images[:, 2:4, 2:4] = [200.0, 30.0, 30.0]  # a red object in the middle
    layer = RandomBackground(keep_white=0.0, seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)), images)
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    np.testing.assert_array_equal(out[:, 2:4, 2:4], images[:, 2:4, 2:4])  # the object is untouched
    corners = out[:, 0, 0]
    assert (corners != 255.0).any(axis=1).all()  # every background painted...
    assert len({tuple(c) for c in corners.round(3)}) == 8  # ...each image its own colour
    assert np.all(out[:, 0, 0] == out[:, 5, 5])  # one colour per image, not per pixel


def test_the_emoji_augmentation_changes_training_images_and_leaves_inference_alone(emoji):
    layer = augmentation_for("emoji")
    assert [sub.name for sub in layer.layers] == ["flip", "zoom", "shift", "rotate", "background"]
    x = emoji.x_train[:8].astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    keras.utils.set_random_seed(0)
    changed = keras.ops.convert_to_numpy(layer(x, training=True))
    assert changed.shape == x.shape and not np.allclose(changed, x)
    assert changed.min() >= 0 and changed.max() <= 255.5


def test_fashion_mnist_gets_the_light_augmentation_with_a_black_fill():
    layer = augmentation_for("fashion_mnist")
    assert [sub.name for sub in layer.layers] == ["flip", "shift"]
    black = np.zeros((4, 32, 32, 3), "float32")
    keras.utils.set_random_seed(0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(light_augmentation()(black, training=True)), black)


def test_fitting_with_augmentation_scores_val_and_test_on_the_plain_images(emoji):
    keras.utils.set_random_seed(0)
    base, _ = load_vgg16("offline", input_shape=emoji.x_train.shape[1:], verbose=False)
    model = TransferModel(base, build_head(base.output.shape[1:], emoji.num_classes, name="head"))
    run = model.fit(emoji.split("train"), emoji.split("val"), emoji.split("test"), epochs=1, batch_size=16,
                    augment=augmentation_for("emoji"), cache=None)
    assert "augmented images (rendering_augmentation)" in run.mode
    # evaluated twice, the same: no random layer acts outside training
    assert run.val_accuracy == pytest.approx(model.score(*emoji.split("val"), cache=None))
    assert run.test_accuracy == pytest.approx(model.score(*emoji.split("test"), cache=None))

"""Training-time augmentation: each epoch sees a slightly different rendering of every image.

Augmentation runs on raw RGB pixels (0…255), before VGG16's preprocessing, so a shifted or
rotated image is filled with a real colour (black for Fashion-MNIST, white for emoji), not with
the ImageNet mean. The layers are Keras' own random layers, active only while training: the
validation and test images are never augmented.

    >>> layer = augmentation_for("emoji")          # doctest: +SKIP
    >>> [l.name for l in layer.layers]             # doctest: +SKIP
    ['flip', 'zoom', 'shift', 'rotate', 'background']
"""

from __future__ import annotations

import keras


class RandomBackground(keras.layers.Layer):
    """Paint the white background of a rendering in a random colour (while training only).

    Emoji are drawn on white; a classifier could learn "white around it" as part of every
    class. Pixels whose three channels are all ≥ `threshold` count as background; each image
    gets its own colour, and with probability `keep_white` stays as it was.
    """

    def __init__(self, threshold: float = 250.0, keep_white: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.threshold, self.keep_white, self.seed = threshold, keep_white, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        ops = keras.ops
        batch = ops.shape(images)[0]
        colour = keras.random.uniform((batch, 1, 1, 3), 0.0, 255.0, seed=self.seed_generator)
        keep = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator) < self.keep_white
        background = ops.all(images >= self.threshold, axis=-1, keepdims=True)
        painted = ops.where(background, ops.cast(colour, images.dtype), images)
        return ops.where(keep, images, painted)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold": self.threshold, "keep_white": self.keep_white, "seed": self.seed}


def light_augmentation(fill: float = 0.0) -> keras.Sequential:
    """Mirror left-right and shift up to 10%: for clothes and photos. `fill` is the colour of the
    pixels shifted in (0: black, Fashion-MNIST's background)."""
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", name="flip"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=fill, name="shift"),
    ], name="light_augmentation")


def rendering_augmentation() -> keras.Sequential:
    """For rendered pictures such as emoji on white: mirror, scale ±20%, shift ±10%, rotate ±10°,
    and a random background colour, so the model sees the object in many renderings."""
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", name="flip"),
        keras.layers.RandomZoom(0.2, fill_mode="constant", fill_value=255.0, name="zoom"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=255.0, name="shift"),
        keras.layers.RandomRotation(10 / 360, fill_mode="constant", fill_value=255.0, name="rotate"),
        RandomBackground(name="background"),
    ], name="rendering_augmentation")


def augmentation_for(dataset_name: str) -> keras.Sequential:
    """The augmentation that suits a data set: `rendering_augmentation` for "emoji", else `light_augmentation`."""
    return rendering_augmentation() if dataset_name == "emoji" else light_augmentation()

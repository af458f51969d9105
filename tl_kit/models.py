"""The models the lessons train: the new head on VGG16's features, and a small CNN from scratch.

Lesson 02 shows this code (`tl_kit.notebook.show_code`) where it teaches it; lesson 03 reuses
it. One definition, two lessons.
"""

from __future__ import annotations

import numpy as np


def build_head(input_shape: tuple[int, ...], num_classes: int, kind: str = "gap", hidden: int = 1024,
               features: np.ndarray | None = None, name: str | None = None, dropout: float = 0.0):
    """A new classifier for a frozen VGG16: pooling → Dense(hidden, relu) → Dense(num_classes, softmax).

    kind="flatten" is the kit's reference design (every position of every map feeds the dense
    layer); kind="gap" averages each map to one number first (GlobalAveragePooling2D), which has
    far fewer weights. For 1-D inputs (features already pooled) kind is ignored.

    `features`, if given (the training features), sets a Normalization layer that standardises
    each input: VGG16's activations are unscaled ReLU outputs, and standardised inputs let Adam's
    default rate work for every layer and every weights source.

    `dropout` > 0 adds a Dropout layer after the hidden layer: while training it zeroes that
    share of the hidden units at random, so the head cannot rely on any one of them (a remedy
    for a head that memorises its training images).
    """
    import keras

    from .errors import OptionError

    if kind not in ("gap", "flatten"):
        raise OptionError(f"kind must be 'gap' (global average pooling) or 'flatten'; got {kind!r}.")
    inputs = keras.Input(input_shape)
    x = inputs
    if len(input_shape) == 3:
        x = keras.layers.Flatten()(x) if kind == "flatten" else keras.layers.GlobalAveragePooling2D()(x)
    if features is not None:
        mean, variance = feature_statistics(_pooled(features, kind))
        x = keras.layers.Normalization(mean=mean, variance=variance, name="standardize")(x)
    x = keras.layers.Dense(hidden, activation="relu")(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name or f"{kind}_head")


def feature_statistics(features: np.ndarray, floor: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and variance, the variance floored at `floor` × its average.

    Without the floor a feature that is (almost) always 0 on the training images — common for
    ReLU maps — would be divided by ~0 and explode on the first validation image that lights it up.
    """
    flat = features.reshape(len(features), -1).astype("float64")
    mean, variance = flat.mean(axis=0), flat.var(axis=0)
    variance = np.maximum(variance, floor * max(float(variance.mean()), 1e-12))
    return mean.astype("float32"), variance.astype("float32")


def _pooled(features: np.ndarray, kind: str) -> np.ndarray:
    """What the head's Normalization layer sees: features after its Flatten or GAP."""
    if features.ndim == 4:
        return features.reshape(len(features), -1) if kind == "flatten" else features.mean(axis=(1, 2))
    return features


def small_cnn(input_shape: tuple[int, int, int], num_classes: int, resolution: int | None = None,
              name: str = "small_cnn"):
    """Two conv blocks, flatten, softmax, trained from scratch: the baseline transfer has to beat.

    It takes the same uint8 images as VGG16, rescales them to 0…1 and resizes them to
    `resolution` pixels inside the model (default: the input size, at most 64 px, where a CPU
    still trains it in seconds; at 32 px it would throw away detail of the 96-px emoji).
    """
    import keras

    resolution = resolution or min(int(input_shape[0]), 64)

    return keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Resizing(resolution, resolution),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(num_classes, activation="softmax"),
    ], name=name)


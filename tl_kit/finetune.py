"""Fine-tuning with a cached frozen prefix: the speed that matters on a CPU.

When the frozen layers form a prefix of the network (blocks 1–4, say) and the images are not
augmented, the prefix's output for each image never changes during training. Computing it once
and training only the suffix (block 5 and the head) on those activations gives the same model,
several times faster. The activations are cached by `tl_kit.features`, keyed by the prefix's
weights, the boundary layer and the images, so a different freezing, data or weights can never
reuse them. With augmentation every epoch sees new pixels, and the full forward pass is needed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .errors import TLKitError
from .features import FeatureCache, extract_features
from .freezing import check_compiled, unit_layers
from .preprocessing import preprocess
from .training import accuracy, compile_classifier


def frozen_prefix(model) -> str | None:
    """The last layer before the first layer with trainable weights (None: the first layer trains)."""
    last = None
    for layer in unit_layers(model):
        if layer.trainable and layer.weights:
            return last
        last = layer.name
    return last


def suffix_model(model, boundary: str):
    """A model from `boundary`'s output to the model's output, sharing the model's layers and weights."""
    import keras

    layers = unit_layers(model)
    names = [layer.name for layer in layers]
    x = inputs = keras.Input(model.get_layer(boundary).output.shape[1:])
    for layer in layers[names.index(boundary) + 1:]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"after_{boundary}")


def augmentation():
    """Light augmentation for clothes and photos: mirror left-right, shift up to 10%."""
    import keras

    return keras.Sequential([keras.layers.RandomFlip("horizontal"),
                             keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant")], name="augment")


@dataclass
class FineTuneRun:
    """How a fine-tuning run trained, and what it cost."""

    mode: str
    epochs: int
    seconds: float
    cache_seconds: float
    history: dict = field(default_factory=dict, repr=False)
    epoch_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def seconds_per_epoch(self) -> float:
        """A typical epoch: the median of those after the first (which also compiles), if any."""
        later = self.epoch_seconds[1:] or self.epoch_seconds
        return float(np.median(later)) if later else self.seconds / max(self.epochs, 1)


def fine_tune(model, train: tuple, val: tuple, *, epochs: int, batch_size: int, augment: bool = False,
              use_cache: bool = True, callbacks: list | None = None, cache: FeatureCache | str | None = "default",
              seed: int = 0) -> FineTuneRun:
    """Train `model` (frozen and compiled by `tl_kit.freezing.freeze`) on uint8 images.

    Without augmentation and with a frozen prefix, only the suffix runs, on cached activations;
    otherwise every image goes through the whole network (after augmentation, if asked).
    `train` and `val` are (images, labels) pairs; callbacks see val_accuracy after each epoch.
    """
    import keras

    if getattr(model, "_tl_kit_learning_rate", None) is None:
        raise TLKitError("Choose what trains first: tl_kit.freezing.freeze(model, ...) sets the flags and compiles.")
    check_compiled(model)
    keras.utils.set_random_seed(seed)
    boundary = frozen_prefix(model) if use_cache and not augment else None
    cache_seconds = 0.0
    if boundary is not None:
        start = time.perf_counter()
        x_train, x_val = (extract_features(model, x, boundary, cache=cache, batch_size=batch_size, verbose=False)
                          for x in (train[0], val[0]))
        cache_seconds = time.perf_counter() - start
        fit_model = compile_classifier(suffix_model(model, boundary), model._tl_kit_learning_rate)
        mode = f"cached prefix: blocks up to {boundary} run once, only the layers after it train"
    else:
        x_train, x_val = preprocess(train[0]), preprocess(val[0])
        fit_model = model
        if augment:
            fit_model = compile_classifier(keras.Sequential([augmentation(), model]), model._tl_kit_learning_rate)
        mode = "full forward pass every step" + (" (augmented images)" if augment else "")
    from .callbacks import EpochTimer

    timer = EpochTimer()
    start = time.perf_counter()
    history = fit_model.fit(x_train, train[1], validation_data=(x_val, val[1]), epochs=epochs,
                            batch_size=batch_size, verbose=0, callbacks=[*(callbacks or []), timer])
    return FineTuneRun(mode, len(history.history.get("loss", [])), time.perf_counter() - start, cache_seconds,
                       history.history, timer.seconds)


def score(model, images: np.ndarray, labels: np.ndarray, use_cache: bool = True,
          cache: FeatureCache | str | None = "default") -> float:
    """Test accuracy of the whole model; through the cached frozen prefix when there is one."""
    boundary = frozen_prefix(model) if use_cache else None
    if boundary is None:
        return accuracy(model, preprocess(images), labels)
    activations = extract_features(model, images, boundary, cache=cache, verbose=False, progress=False)
    return accuracy(suffix_model(model, boundary), activations, labels)

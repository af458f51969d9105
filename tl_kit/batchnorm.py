"""BatchNormalization when fine-tuning: the two ways a frozen BN layer can run, and what each does.

A BN layer normalises its inputs with a mean and a variance, then scales and shifts them with
two weights (gamma, beta). While training it uses each batch's own mean and variance and moves
its stored *moving* statistics towards them (momentum 0.99); at inference it uses the stored
ones. A pretrained network's stored statistics describe its own training images (ImageNet).

Freezing gamma and beta is not the whole of freezing a BN layer: a layer that still runs in
training mode normalises with the statistics of a few dozen of *your* images, and moves the
stored ones towards them, so the features the rest of the network learnt to read shift under it. In
Keras 3, `layer.trainable = False` on a BN layer does both: frozen weights and inference mode
(keras.io, "Transfer learning & fine-tuning", on BatchNormalization). Keras before TensorFlow
2.0 kept training mode, and so does PyTorch until `.eval()`; `set_batchnorm_mode(model, "training")`
rebuilds that behaviour, so a lesson can measure what it costs.
"""

from __future__ import annotations

import keras
import numpy as np

from .errors import OptionError

MODES = ("inference", "training")


def is_batchnorm(layer) -> bool:
    """True for a BatchNormalization layer, which the kit's freezing keeps frozen whatever is chosen."""
    return isinstance(layer, keras.layers.BatchNormalization)


def batchnorm_layers(model) -> list:
    """Every BatchNormalization layer in `model`, nested models included, input to output."""
    found = []
    for layer in model.layers:
        if is_batchnorm(layer):
            found.append(layer)
        elif hasattr(layer, "layers"):  # a nested model
            found += batchnorm_layers(layer)
    return found


def set_batchnorm_mode(model, mode: str) -> int:
    """Freeze every BN layer's gamma and beta, and choose how it runs while the model trains.

    - "inference" (keras.io's advice): `trainable = False`. The layer normalises with its stored
      statistics in training too, and never changes them.
    - "training" (the trap): the layer stays trainable, only its gamma and beta are frozen. It
      normalises each batch with that batch's statistics and moves its stored ones towards them.

    Returns the number of BN layers set. Call it after choosing which layers train (a layer's
    `trainable` flag decides its mode) and recompile afterwards, as for any change of flags.
    """
    if mode not in MODES:
        raise OptionError(f"mode must be 'inference' (frozen BN layers use their stored statistics) or 'training' "
                          f"(they use each batch's and update the stored ones); got {mode!r}.")
    layers = batchnorm_layers(model)
    for layer in layers:
        layer.trainable = mode == "training"
        for variable in (layer.gamma, layer.beta):
            if variable is not None:
                variable.trainable = False
    return len(layers)


def moving_statistics(model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """layer name → copies of its stored (moving) mean and variance."""
    return {layer.name: (np.array(keras.ops.convert_to_numpy(layer.moving_mean)),
                         np.array(keras.ops.convert_to_numpy(layer.moving_variance)))
            for layer in batchnorm_layers(model)}


def statistics_shift(before: dict[str, tuple[np.ndarray, np.ndarray]],
                     after: dict[str, tuple[np.ndarray, np.ndarray]]) -> float:
    """How far the stored means moved, in units of the stored standard deviation: the mean over the
    channels of all layers of |mean after − mean before| / sqrt(variance before). 0: untouched;
    1: a feature's usual value moved by its usual spread. Each training step moves a stored mean
    1% of the way to the batch's (momentum 0.99), so a few dozen steps give a few hundredths."""
    shifts = [np.abs(after[name][0] - mean) / np.sqrt(variance + 1e-3) for name, (mean, variance) in before.items()]
    return float(np.mean(np.concatenate(shifts))) if shifts else 0.0

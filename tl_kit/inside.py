"""Looking inside a classifier: which images excite a channel, where the evidence for a class lies
(Grad-CAM), and how far fine-tuning moved each layer's weights.

Grad-CAM (Selvaraju et al., 2017) weights each feature map of a conv layer by the gradient of a
class score with respect to it, averaged over the map, and keeps the positive part of the
weighted sum: a coarse heatmap of where the evidence for that class lies. The class score is the
logit, the class's output before the model's final softmax, as in the paper and keras.io's
Grad-CAM example; not the probability, whose gradient vanishes when the softmax saturates (a
confident prediction, p = 1.0 in float32, would give an all-zero map).

Two traps are handled here rather than in the lesson:

- **A nested base.** A classifier built as `Sequential([vgg16, head])` hides VGG16's layers inside
  a sub-model, so `Model(model.input, model.get_layer("vgg16").get_layer("block5_conv3").output)`
  fails with "Graph disconnected" (keras-team/keras #16355, tensorflow/tensorflow #44462). The
  kit flattens the model into its chain of layers and splits that chain at the conv layer, so a
  nested and a flat classifier give the same heatmap.
- **Backends.** Keras 3 has no backend-neutral gradient; `_gradient` asks TensorFlow's tape or
  JAX's `grad`, whichever Keras runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from .errors import LayerError, ShapeError


def layer_chain(model) -> list:
    """The model's layers in the order they run, sub-models opened up (input layers left out).

    Every classifier of the lessons is a chain (each layer feeds the next); `gradcam` checks
    that running the chain gives the model's own output, and refuses a model that branches.
    """
    chain = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            chain.extend(layer_chain(layer))
        else:
            chain.append(layer)
    return chain


def _run(layers: list, x):
    for layer in layers:
        x = layer(x, training=False) if _takes_training(layer) else layer(x)
    return x


def _takes_training(layer) -> bool:
    return isinstance(layer, (keras.layers.Dropout, keras.layers.BatchNormalization))


@dataclass
class Split:
    """A chain model cut after one layer: `to_maps(x)` gives that layer's output, `from_maps(a)` the
    model's output from it (together, the whole model)."""

    layer: str
    before: list
    after: list

    def to_maps(self, x):
        return _run(self.before, x)

    def from_maps(self, maps):
        return _run(self.after, maps)

    def scores(self, maps):
        """The class scores from the maps: the logits where the model ends in a softmax (a Dense
        layer's activation or a layer of its own), skipping only that softmax; else its output."""
        *body, last = self.after or [None]
        if isinstance(last, keras.layers.Softmax) or (isinstance(last, keras.layers.Activation)
                                                      and last.activation is keras.activations.softmax):
            return _run(body, maps)
        if isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax:
            x = _run(body, maps)  # the Dense layer without its activation; the model stays as it is
            logits = keras.ops.matmul(keras.ops.cast(x, last.kernel.dtype), last.kernel)
            return logits if last.bias is None else logits + last.bias
        return self.from_maps(maps)


def split_at(model, layer_name: str) -> Split:
    """Cut `model` (flat or with nested sub-models) right after the layer called `layer_name`."""
    chain = layer_chain(model)
    names = [layer.name for layer in chain]
    if layer_name not in names:
        convs = [n for n, layer in zip(names, chain) if isinstance(layer, keras.layers.Conv2D)]
        raise LayerError(f"No layer {layer_name!r} in this model (nested models included). Its conv layers: "
                         f"{', '.join(convs) or 'none'}.")
    k = names.index(layer_name)
    return Split(layer_name, chain[:k + 1], chain[k + 1:])


def _gradient(fn: Callable, x: np.ndarray) -> np.ndarray:
    """d fn(x) / d x for a scalar-valued fn of a float32 array, on the active Keras backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return tape.gradient(value, x).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(fn)(x))
    if backend == "torch":
        import torch

        t = torch.tensor(x, requires_grad=True)
        fn(t).backward()
        return t.grad.detach().cpu().numpy()
    raise NotImplementedError(f"Grad-CAM has no gradient for the {backend!r} backend; use tensorflow, jax or torch.")


@dataclass
class GradCAM:
    """One image's Grad-CAM: the heatmap (H, W, 0…1, at the image's size), the class it explains,
    that class's probability, and the coarse map at the conv layer's resolution."""

    heatmap: np.ndarray
    coarse: np.ndarray
    class_index: int
    probability: float
    layer: str


def gradcam(model, image: np.ndarray, layer: str = "block5_conv3", class_index: int | None = None,
            prepare: Callable | None = None) -> GradCAM:
    """Grad-CAM of `model` for one image (H, W, 3) at conv layer `layer`.

    `class_index` None explains the predicted class. `prepare` turns the image batch into the
    model's input (e.g. `tl_kit.preprocess` for a VGG16 classifier that takes preprocessed
    pixels); None feeds it as float32.

    The gradient is the class's logit's (`Split.scores`), not its probability's, which is ~0 for
    a confident prediction; `probability` is the softmax's.
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ShapeError(f"Give one image of shape (H, W, channels); got {image.shape}.")
    x = np.asarray(prepare(image[None]) if prepare else image[None], dtype="float32")
    split = split_at(model, layer)
    maps = np.asarray(keras.ops.convert_to_numpy(split.to_maps(x)), dtype="float32")
    if maps.ndim != 4:
        raise LayerError(f"{layer} gives output of shape {maps.shape}; Grad-CAM needs a conv layer's (1, H, W, C).")
    branches = LayerError("Running this model's layers one after another does not give its output: it branches "
                          "(e.g. a skip connection). Grad-CAM here needs a chain such as VGG16 and a head.")
    try:
        probs = keras.ops.convert_to_numpy(split.from_maps(maps))[0]
    except (ValueError, TypeError) as err:  # a merge layer fed one input, a shape that does not follow
        raise branches from err
    whole = keras.ops.convert_to_numpy(model(x, training=False))[0]
    if probs.shape != whole.shape or not np.allclose(probs, whole, atol=1e-4):
        raise branches
    chosen = int(np.argmax(probs)) if class_index is None else int(class_index)
    if not 0 <= chosen < len(probs):
        raise ShapeError(f"class_index {class_index} is outside the model's {len(probs)} classes.")
    grads = _gradient(lambda a: split.scores(a)[0, chosen], maps)  # the logit: see the module's docstring
    weights = channel_weights(grads[0])
    coarse = np.maximum(np.tensordot(maps[0], weights, axes=([2], [0])), 0.0)
    top = float(coarse.max())
    coarse = coarse / top if top > 0 else coarse
    heatmap = keras.ops.convert_to_numpy(keras.ops.image.resize(coarse[..., None], image.shape[:2],
                                                                interpolation="bilinear"))[..., 0]
    return GradCAM(np.clip(heatmap, 0.0, 1.0), coarse, chosen, float(probs[chosen]), layer)


def channel_weights(grads: np.ndarray) -> np.ndarray:
    """Grad-CAM's weight per channel: the gradient (H, W, C) averaged over height and width."""
    return np.asarray(grads).mean(axis=(0, 1))


def weight_change(before: dict[str, list[np.ndarray]], after) -> dict[str, float]:
    """How far each layer's weights moved: ‖after − before‖ / ‖before‖ over all its arrays.

    `before` comes from `layer_weights(model)` taken before training; `after` is the model
    after it. A frozen layer gives exactly 0.
    """
    now = layer_weights(after)
    if set(now) != set(before):
        raise LayerError("The two models have different layers; take `before` from the same model.")
    change = {}
    for name, arrays in before.items():
        moved = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(now[name], arrays)))
        size = np.sqrt(sum(float(np.sum(b ** 2)) for b in arrays))
        change[name] = moved / size if size else moved
    return change


def layer_weights(model) -> dict[str, list[np.ndarray]]:
    """A copy of every layer's weights (layers with weights only, sub-models opened up), by name."""
    return {layer.name: [np.array(w) for w in layer.get_weights()] for layer in layer_chain(model)
            if layer.weights}


def top_images(activations: np.ndarray, channel: int, k: int = 6) -> np.ndarray:
    """Indices of the k images whose maps (N, H, W, C) respond most to `channel` (mean over the map)."""
    if activations.ndim != 4:
        raise ShapeError(f"Give conv activations of shape (N, H, W, C); got {activations.shape}.")
    if not 0 <= channel < activations.shape[-1]:
        raise ShapeError(f"channel {channel} is outside 0…{activations.shape[-1] - 1}.")
    strength = activations[..., channel].mean(axis=(1, 2))
    return np.argsort(-strength, kind="stable")[:k]

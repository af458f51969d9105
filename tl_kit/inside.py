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
from .i18n import _


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
    raise NotImplementedError(f"Grad-CAM has no gradient for the {backend!r} backend; the kit runs on tensorflow or "
                              "jax: set KERAS_BACKEND to one of them.")


@dataclass
class GradCAM:
    """One image's Grad-CAM: the heatmap (H, W, 0…1, at the image's size), the class it explains,
    that class's probability, and the coarse map at the conv layer's resolution."""

    heatmap: np.ndarray
    coarse: np.ndarray
    class_index: int
    probability: float
    layer: str
    signed: np.ndarray | None = None  # Σ_k α_k A^k per cell before the ReLU (unscaled); None if not kept

    @property
    def empty(self) -> bool:
        """True when no cell has positive evidence: the weighted sum is ≤ 0 everywhere, so the ReLU
        leaves nothing (the model's score for the class does not rise, to first order, anywhere)."""
        return not float(self.coarse.max()) > 0


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
    signed = np.tensordot(maps[0], weights, axes=([2], [0]))
    coarse = np.maximum(signed, 0.0)
    top = float(coarse.max())
    coarse = coarse / top if top > 0 else coarse
    heatmap = keras.ops.convert_to_numpy(keras.ops.image.resize(coarse[..., None], image.shape[:2],
                                                                interpolation="bilinear"))[..., 0]
    return GradCAM(np.clip(heatmap, 0.0, 1.0), coarse, chosen, float(probs[chosen]), layer, signed)


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


def background_mask(image: np.ndarray, tolerance: float = 24.0) -> np.ndarray:
    """True where a pixel has the picture's background colour: within `tolerance` (0…255, in every
    channel) of the median colour of its outermost row and column of pixels, the frame around it.

    Right for pictures on a plain background (the emoji on white, Fashion-MNIST on black); a photo
    whose frame is busy gets a mask of the pixels that happen to match its median.

    >>> picture = np.full((4, 4, 3), 255); picture[1:3, 1:3] = 0   # a black square on white
    >>> int(background_mask(picture).sum())
    12
    """
    image = np.asarray(image, dtype="float32")
    if image.ndim == 2:
        image = image[..., None]
    frame = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])  # (pixels, channels)
    return np.all(np.abs(image - np.median(frame, axis=0)) <= tolerance, axis=-1)


@dataclass
class HeatPlace:
    """Where one Grad-CAM map puts its evidence, counted on the conv layer's own grid of cells (the
    finest place the map can name), each share against the share of the cells it covers."""

    empty: bool
    grid: tuple[int, int]
    ring: float  # share of the heat in the outer ring of cells, along the picture's frame
    ring_cells: float  # share of the cells in that ring
    bare: float  # share of the heat in cells with no object pixel at all (background only)
    bare_cells: float  # share of such cells
    peak: float  # the largest signed sum Σ α_k A^k over the cells (≤ 0 when the map is empty)

    def sentence(self) -> str:
        """One line: empty, or where the heat lies against the share of the cells."""
        if self.empty:
            # TRANSLATORS: printed after "{row}, image {n} ({title}): " in lesson 05; Σ α_k A^k is Grad-CAM's
            # weighted sum of a conv layer's maps before the ReLU (keep the formula as it is).
            return _("empty map: Σ α_k A^k is at most {peak:.2g}, ≤ 0 in all {cells} cells, so no place raises "
                     "this class's score").format(peak=self.peak, cells=self.grid[0] * self.grid[1])
        # TRANSLATORS: printed after "{row}, image {n} ({title}): " in lesson 05: where a Grad-CAM heatmap puts its
        # heat, counted on the conv layer's grid of cells; the frame's cells are the outer ring of cells along the
        # picture's edge.
        return _("{ring:.0%} of the heat on the frame's cells ({ring_cells:.0%} of the cells), {bare:.0%} on cells "
                 "with no object pixel ({bare_cells:.0%} of the cells)").format(
            ring=self.ring, ring_cells=self.ring_cells, bare=self.bare, bare_cells=self.bare_cells)


def heat_place(cam: GradCAM, image: np.ndarray, tolerance: float = 24.0) -> HeatPlace:
    """Where `cam` (for `image`) puts its heat: on the frame's ring of cells, and on cells that hold
    no object pixel (`background_mask`), each compared with the share of the cells they are.

    A cell covers image_size / grid pixels a side, so a cell that holds the edge of the object
    also holds background: only heat on cells *without any* object pixel is evidence found where
    there is no object.
    """
    coarse = np.asarray(cam.coarse, dtype="float64")
    rows, cols = coarse.shape
    ring = np.ones((rows, cols), bool)
    ring[1:-1, 1:-1] = False
    background = background_mask(image, tolerance)
    r_edges = np.linspace(0, background.shape[0], rows + 1).round().astype(int)
    c_edges = np.linspace(0, background.shape[1], cols + 1).round().astype(int)
    bare = np.array([[background[r_edges[i]:r_edges[i + 1], c_edges[j]:c_edges[j + 1]].all() for j in range(cols)]
                     for i in range(rows)])
    total = coarse.sum()
    share = (lambda mask: float(coarse[mask].sum() / total)) if total > 0 else (lambda mask: 0.0)
    signed = cam.signed if cam.signed is not None else cam.coarse
    return HeatPlace(cam.empty, (rows, cols), share(ring), float(ring.mean()), share(bare), float(bare.mean()),
                     float(np.max(signed)))


@dataclass
class Favourites:
    """What one channel's favourite images have in common: a class, a colour, each against chance
    (the same number of training images drawn at random, `draws` times)."""

    label: str
    indices: np.ndarray
    top_class: int
    count: int  # how many of the favourites are of `top_class`
    chance_counts: np.ndarray  # per random draw: how many of its images are of its most common class
    colour: np.ndarray  # the favourites' mean colour, RGB 0…255
    shift: np.ndarray  # that colour minus all the training images' mean colour
    chance_distances: np.ndarray  # per random draw: how far its mean colour is from the average

    @property
    def k(self) -> int:
        return len(self.indices)

    @property
    def class_p(self) -> float:
        """Share of random draws whose most common class is at least as common as the favourites'."""
        return float(np.mean(self.chance_counts >= self.count))

    @property
    def colour_p(self) -> float:
        """Share of random draws whose mean colour is at least as far from the average as the favourites'."""
        return float(np.mean(self.chance_distances >= np.linalg.norm(self.shift)))


def favourites_in_common(picks: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray, draws: int = 2000,
                         seed: int = 0) -> dict[str, Favourites]:
    """For each channel's favourite images (`picks`: label → indices into `images`), their most
    common class and their mean colour, each with what `draws` random sets of as many training
    images give: the baseline that says whether "4 of 6 are food" or "redder than average" is
    more than chance.

    >>> labels = np.array([0] * 50 + [1] * 50); images = np.zeros((100, 2, 2, 3)); images[:50] = 200
    >>> common = favourites_in_common({"c": np.arange(6)}, images, labels)
    >>> common["c"].count, common["c"].class_p < 0.05, common["c"].colour_p < 0.05
    (6, True, True)
    """
    rng = np.random.default_rng(seed)
    images, labels = np.asarray(images), np.asarray(labels)
    colours = images.reshape(len(images), -1, images.shape[-1] if images.ndim == 4 else 1).mean(axis=1)
    average = colours.mean(axis=0)
    found = {}
    for label, idx in picks.items():
        idx = np.asarray(idx)
        k = len(idx)
        counts = np.bincount(labels[idx])
        samples = [rng.choice(len(labels), size=k, replace=False) for _ in range(draws)]
        chance_counts = np.array([np.bincount(labels[s]).max() for s in samples])
        chance_distances = np.array([np.linalg.norm(colours[s].mean(axis=0) - average) for s in samples])
        mean = colours[idx].mean(axis=0)
        found[label] = Favourites(label, idx, int(counts.argmax()), int(counts.max()), chance_counts, mean,
                                  mean - average, chance_distances)
    return found


def favourites_sentence(common: dict[str, Favourites], level: float = 0.05) -> str:
    """What the favourites share, over all channels, in words computed from `favourites_in_common`:
    how many channels have a class, how many a colour, beyond what `level` of random draws reach,
    and which of the two explains them better here."""
    n = len(common)
    first = next(iter(common.values()))
    by_class = sum(f.class_p < level for f in common.values())
    by_colour = sum(f.colour_p < level for f in common.values())
    # TRANSLATORS: the first sentence of lesson 05's summary of what channels' favourite images share; {k} is how
    # many favourites each channel has (e.g. 6), {draws} how many random sets of as many training images they are
    # set against.
    counted = _("{by_class} of {n} channels have one class among their top {k} more often than {share:.0%} of {draws} "
                "random sets of {k} training images do; {by_colour} of {n} have a mean colour farther from the average "
                "than {share:.0%} of those sets.").format(by_class=by_class, n=n, k=first.k, share=1 - level,
                                                          draws=len(first.chance_counts), by_colour=by_colour)
    if by_colour > by_class:
        verdict = _("Here colour sets the favourites apart more often than class: these channels respond to a "
                    "colour across classes.")
    elif by_class > by_colour:
        verdict = _("Here class sets the favourites apart more often than colour: these channels behave more like "
                    "detectors of (parts of) a class.")
    elif by_class:
        verdict = _("Class and colour set them apart equally often: the images themselves must tell which came "
                    "first.")
    else:
        verdict = _("Neither class nor colour sets the favourites apart from random images: look for a shape or a "
                    "texture they share.")
    # TRANSLATORS: joins the two sentences of the summary: {counted} "1 of 4 channels have one class …", then
    # {verdict} "Here class sets the favourites apart …" (the space between them is the English sentence gap).
    return _("{counted} {verdict}").format(counted=counted, verdict=verdict)

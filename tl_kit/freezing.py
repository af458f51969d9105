"""Choosing which layers train: the vocabulary of lesson 03, as plain functions over a model.

`TransferModel` (tl_kit.transfer) is what a lesson calls: `freeze_to("block4_pool")`,
`unfreeze()`, `train_only([...])`, `use_preset(FINE_TUNE_LAST_BLOCK)`. This module holds what those
share and what the freeze widget previews before anything changes: the presets, the plan of
which layers a choice trains (`plan`), and what a choice costs (`summarize`, `step_cost`).

    >>> FINE_TUNE_LAST_BLOCK.id, FINE_TUNE_LAST_BLOCK.label, FINE_TUNE_LAST_BLOCK.blocks
    ('fine_tune_last_block', 'fine-tune the last block', 1)
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable

import keras
import numpy as np

from .batchnorm import is_batchnorm
from .errors import FreezeError
from .i18n import N_, _

#: The name the kit gives the new classifier head inside a transfer model.
HEAD = "head"


@dataclass(frozen=True)
class Preset:
    """A named freezing choice, relative to where the base was cut: `id` (an identifier to type),
    `label` (words for a table or a button) and `blocks`, how many of the last blocks kept train
    (0: none, feature extraction; None: every layer). The head always trains.

    Relative, not a layer name, because the base may end anywhere (`TransferModel(..., cut=...)`):
    cut after block 4, "fine-tune the last block" trains block 4. `up_to(model)` names the
    last frozen layer of a given model.
    """

    id: str
    label: str
    blocks: int | None

    def up_to(self, model) -> str | None:
        """The last frozen layer of `model` under this preset (None: nothing is frozen)."""
        if self.blocks is None:
            return None
        groups = base_blocks(model)
        if self.blocks >= len(groups):
            return None
        return groups[-self.blocks - 1][-1]

    def trains(self, model) -> set[str]:
        """The layers of `model` that train under this preset (the head included)."""
        return layers_after(model, self.up_to(model))

    def __str__(self) -> str:
        return self.label


FEATURE_EXTRACTION = Preset("feature_extraction", N_("feature extraction: freeze the whole base"), 0)
FINE_TUNE_LAST_BLOCK = Preset("fine_tune_last_block", N_("fine-tune the last block"), 1)
FINE_TUNE_LAST_TWO_BLOCKS = Preset("fine_tune_last_two_blocks", N_("fine-tune the last two blocks"), 2)
TRAIN_ALL = Preset("train_all", N_("train everything"), None)
#: Preset id → Preset, from the most frozen to the least.
PRESETS: dict[str, Preset] = {p.id: p for p in (FEATURE_EXTRACTION, FINE_TUNE_LAST_BLOCK, FINE_TUNE_LAST_TWO_BLOCKS,
                                                TRAIN_ALL)}


def get_preset(preset: Preset | str) -> Preset:
    """A Preset, given itself or its id; FreezeError with the closest id for anything else.

    >>> get_preset("train_all").label
    'train everything'
    """
    if isinstance(preset, Preset):
        return preset
    if preset in PRESETS:
        return PRESETS[preset]
    by_label = {p.label: p.id for p in PRESETS.values()}
    guess = difflib.get_close_matches(str(preset), list(PRESETS) + list(by_label), n=1, cutoff=0.5)
    hint = f" Did you mean {by_label.get(guess[0], guess[0])!r}?" if guess else ""
    raise FreezeError(f"Unknown preset {preset!r}.{hint} Presets (by id): "
                      + ", ".join(f"{p.id!r} ({p.label})" for p in PRESETS.values()) + ".")


def unit_layers(model) -> list:
    """The layers freezing works on, input to output (the input layer excluded)."""
    return [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]


def layer_names(model) -> list[str]:
    """Names of `unit_layers(model)`, in order."""
    return [layer.name for layer in unit_layers(model)]


def block_of(name: str) -> str:
    """The block a layer belongs to: VGG16's 'block3_conv2' → 'block3'; EfficientNet's stages, 'block6a_dwconv'
    and 'block6_output' → 'block6', 'stem_conv' → 'stem', 'top_conv' → 'top'. Any other layer (the head, a
    raw-pixel base's 'preprocess') is its own."""
    found = re.match(r"(block\d+|stem|top)[a-z]?_", name)
    return found.group(1) if found else name


def base_blocks(model) -> list[list[str]]:
    """The base's blocks in `model`, input to output, each a list of its layers' names.

    The base is every layer before the head (the model's last layer); its layers group by
    `block_of` ('block4_conv1' → block4). A model cut after block 4 has four blocks. A layer in no
    block (a raw-pixel base's 'preprocess') is not one: the presets count blocks, and EfficientNet's
    are its stem, its seven stages and its top.
    """
    groups: dict[str, list[str]] = {}
    for name in layer_names(model)[:-1]:
        if block_of(name) != name:
            groups.setdefault(block_of(name), []).append(name)
    return list(groups.values())


def can_train(layer) -> bool:
    """Whether choosing `layer` makes weights train: it has weights and is not BatchNormalization.

    keras.io's advice for fine-tuning ("Transfer learning & fine-tuning"): keep every BN layer
    frozen, which in Keras 3 also runs it in inference mode, normalising with the statistics it
    learnt on its own training images; a BN layer that trains renormalises with a few dozen of
    yours and shifts the features every later layer reads (`tl_kit.batchnorm` measures it).
    """
    return bool(layer.weights) and not is_batchnorm(layer)


def layers_after(model, up_to: str | None) -> set[str]:
    """The layers after `up_to` (all of them for None): what trains when everything up to it is frozen."""
    names = layer_names(model)
    if up_to is None:
        return set(names)
    if up_to not in names:
        raise FreezeError(f"Unknown layer {up_to!r}. The model's layers: {', '.join(names)}.")
    return set(names[names.index(up_to) + 1:])


def plan(model, trainable: Iterable[str]) -> set[str]:
    """Check a choice of trainable layers against the model and return it as a set.

    Raises FreezeError for an unknown layer, or for a choice in which no layer has weights to
    train, before anything changes.
    """
    chosen = {trainable} if isinstance(trainable, str) else set(trainable)
    names = layer_names(model)
    unknown = sorted(chosen - set(names))
    if unknown:
        raise FreezeError(f"Unknown layer(s) {unknown}. The model's layers: {', '.join(names)}.")
    if not any(can_train(model.get_layer(n)) for n in chosen):
        batchnorm = any(is_batchnorm(model.get_layer(n)) for n in chosen)
        raise FreezeError("That choice leaves nothing to train (no selected layer has weights that train"
                          + ("; BatchNormalization layers stay frozen" if batchnorm else "")
                          + "): unfreeze at least the head. The model was left as it was.")
    return chosen


def _reads(model) -> dict[str, set[str]]:
    """layer name → the layers whose outputs it reads, in `model`'s own graph. From the model's config: a layer
    shared with another model (a head reused on a second base) answers `layer.input` for whichever model called
    it first."""
    def sources(value, into: set[str]) -> set[str]:
        if isinstance(value, dict):
            if "keras_history" in value:
                into.add(value["keras_history"][0])
            for item in value.values():
                sources(item, into)
        elif isinstance(value, (list, tuple)):
            for item in value:
                sources(item, into)
        return into

    return {layer["name"]: sources(layer["inbound_nodes"], set()) for layer in model.get_config()["layers"]}


def split_points(model) -> list[str]:
    """The layers whose output alone feeds every layer after them, input to output: where a model splits
    into a prefix and a suffix that reads only the prefix's output (`tl_kit.transfer.suffix_model`).

    Every layer of a chain such as VGG16; in EfficientNet, not a layer inside a residual block, whose
    input is added back at the block's end.
    """
    reads = _reads(model)
    order = list(reads)  # the config lists the layers input to output
    last_reader = {name: i for i, name in enumerate(order)}
    for i, name in enumerate(order):
        for source in reads[name]:
            last_reader[source] = max(last_reader[source], i)
    units, points, reach = set(layer_names(model)), [], 0
    for i, name in enumerate(order):
        if name in units and reach <= i:
            points.append(name)
        reach = max(reach, last_reader[name])
    return points


def frozen_prefix(model) -> str | None:
    """The layer after which the frozen prefix's output can be cached: the last split point (`split_points`)
    before the first layer with trainable weights. None when that prefix holds no weights (the first layer
    trains, or only a raw-pixel base's 'preprocess' is frozen): caching would save nothing."""
    layers = unit_layers(model)
    first = next((i for i, layer in enumerate(layers) if layer.trainable and layer.weights), len(layers))
    points = set(split_points(model))
    last = next((i for i in range(first - 1, -1, -1) if layers[i].name in points), None)
    if last is None or not any(layer.weights for layer in layers[:last + 1]):
        return None
    return layers[last].name


def layer_flops(model) -> dict[str, float]:
    """Forward-pass multiply-adds ×2 per image, per layer, from the layers' shapes."""
    flops = {}
    for layer in unit_layers(model):
        out = layer.output.shape
        if isinstance(layer, keras.layers.DepthwiseConv2D):  # one k×k filter per channel
            kh, kw = layer.kernel_size
            flops[layer.name] = 2.0 * out[1] * out[2] * out[3] * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            flops[layer.name] = 2.0 * out[1] * out[2] * out[3] * kh * kw * layer.input.shape[-1] / layer.groups
        elif isinstance(layer, keras.layers.Dense):
            flops[layer.name] = 2.0 * layer.input.shape[-1] * out[-1]
        elif isinstance(layer, keras.Model):  # a nested model such as the head: its own layers
            flops[layer.name] = sum(2.0 * np.prod(w.shape) for w in layer.weights if len(w.shape) >= 2)
        else:  # pooling, flatten, batch norm: one operation per input value (an add: per output value)
            shape = out if isinstance(layer.input, (list, tuple)) else layer.input.shape
            flops[layer.name] = float(np.prod([d for d in shape[1:] if d]))
    return flops


def step_cost(model, trainable: Iterable[str], cached_prefix: bool = False) -> float:
    """One training step's cost with `trainable` layers, relative to training every layer.

    A step is a forward pass (every layer; with `cached_prefix`, only from the first trainable
    layer on) plus a backward pass that computes weight gradients for trainable layers and
    input gradients for every layer after the first trainable one. Each costs about one forward
    pass of that layer. A frozen prefix therefore saves its whole backward pass, and with a
    cache, its forward pass too.
    """
    flops = layer_flops(model)
    names = list(flops)

    def cost(chosen: set[str], cached: bool) -> float:
        first = next((i for i, n in enumerate(names) if n in chosen and can_train(model.get_layer(n))), len(names))
        forward = sum(flops[n] for n in names[first if cached else 0:])
        weight_grads = sum(flops[n] for n in names if n in chosen and can_train(model.get_layer(n)))
        input_grads = sum(flops[n] for n in names[first + 1:])
        return forward + weight_grads + input_grads

    return cost(set(trainable), cached_prefix) / cost(set(names), False)


@dataclass
class FreezeSummary:
    """What a freezing choice means: parameters on each side and the relative step cost."""

    trainable: list[str]
    trainable_params: int
    frozen_params: int
    relative_step_cost: float
    cached_step_cost: float

    @property
    def cached_share(self) -> str:
        """The cached step cost as a percentage, '<1%' rather than a '0%' that reads as free."""
        return "<1%" if 0 < self.cached_step_cost < 0.005 else f"{self.cached_step_cost:.0%}"

    def __repr__(self) -> str:
        return _("trainable {trainable:,} · frozen {frozen:,} · one step costs ~{cost:.0%} of training everything "
                 "({cached} with the frozen prefix cached)").format(
            trainable=self.trainable_params, frozen=self.frozen_params, cost=self.relative_step_cost,
            cached=self.cached_share)


def summarize(model, trainable: Iterable[str] | None = None) -> FreezeSummary:
    """Summarise the model's current flags, or the hypothetical choice `trainable` (the widget's preview), whose
    BatchNormalization layers stay frozen as `TransferModel.train_only` keeps them."""
    names = layer_names(model)
    if trainable is None:
        chosen = {n for n in names if model.get_layer(n).trainable}
    else:
        chosen = {n for n in set(trainable) & set(names) if not is_batchnorm(model.get_layer(n))}
    count = {n: model.get_layer(n).count_params() for n in names}
    on = sum(count[n] for n in names if n in chosen)
    return FreezeSummary([n for n in names if n in chosen], on, sum(count.values()) - on,
                         step_cost(model, chosen), step_cost(model, chosen, cached_prefix=True))

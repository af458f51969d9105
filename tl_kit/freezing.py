"""Choosing which layers train: the vocabulary of lesson 03.

    model = build_classifier(base, head)          # VGG16's conv base and a head, as one model
    freeze(model, up_to="block4_pool")            # freeze blocks 1–4, train block 5 and the head
    freeze(model, train=["block5_conv3", "head"]) # or name exactly what trains
    freeze(model, preset="fine-tune blocks 4–5")  # or use a preset

`freeze` sets every layer's `trainable` flag *and recompiles*, because in Keras a change to
`trainable` takes effect only when the model is compiled again: on TensorFlow, unfreezing after
`fit` without recompiling is silently ignored; on JAX, `fit` fails about optimizer variables.
The kit records what was compiled, and `check_compiled` (called by `tl_kit.training` before
every fit) raises if someone changed a flag by hand without recompiling: the classic
"fine-tuning that never unfroze anything" becomes a loud error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .errors import TLKitError

HEAD = "head"
#: Preset name → the last frozen layer (None: nothing frozen).
PRESETS: dict[str, str | None] = {
    "feature extraction: freeze the whole base": "block5_pool",
    "fine-tune block5": "block4_pool",
    "fine-tune blocks 4–5": "block3_pool",
    "train everything": None,
}


class FreezeError(TLKitError, ValueError):
    """A freezing choice that cannot work; the model is left as it was."""


class StaleCompileError(TLKitError, RuntimeError):
    """`trainable` flags changed after compile: the change would be ignored (TensorFlow) or fail (JAX)."""


def build_classifier(base, head, name: str = "vgg16_classifier"):
    """One model: the base's layers, each under its own name so `freeze` can address it, then the
    head as one layer (build it with name="head"). It shares its layers and weights with `base`
    and `head`: training one trains the other."""
    import keras

    return keras.Model(base.input, head(base.output), name=name)


def unit_layers(model) -> list:
    """The layers `freeze` works on, input to output (the input layer excluded)."""
    return [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]


def _names(model) -> list[str]:
    return [layer.name for layer in unit_layers(model)]


def plan(model, up_to: str | None = "", train: Iterable[str] | None = None, preset: str | None = None) -> set[str]:
    """The set of layer names that will train, for one of the three ways of saying it.

    Raises FreezeError for an unknown layer or preset, an empty selection, or a selection in
    which no layer has weights to train.
    """
    names = _names(model)
    given = [up_to != "", train is not None, preset is not None]
    if sum(given) != 1:
        raise FreezeError("Say what to freeze in exactly one way: up_to='block4_pool', train=[layer names], "
                          "or preset=one of " + ", ".join(repr(p) for p in PRESETS) + ".")
    if preset is not None:
        if preset not in PRESETS:
            raise FreezeError(f"Unknown preset {preset!r}. Presets: {', '.join(repr(p) for p in PRESETS)}.")
        up_to = PRESETS[preset]
    if train is not None:
        train = [train] if isinstance(train, str) else list(train)
        unknown = [n for n in train if n not in names]
        if unknown:
            raise FreezeError(f"Unknown layer(s) {unknown}. The model's layers: {', '.join(names)}.")
        chosen = set(train)
    elif up_to is None:
        chosen = set(names)
    else:
        if up_to not in names:
            raise FreezeError(f"Unknown layer {up_to!r} for up_to. The model's layers: {', '.join(names)}.")
        chosen = set(names[names.index(up_to) + 1:])
    with_weights = [n for n in chosen if model.get_layer(n).weights]
    if not with_weights:
        raise FreezeError("That choice leaves nothing to train (no selected layer has weights): unfreeze at least "
                          "the head. The model was left as it was.")
    return chosen


def freeze(model, up_to: str | None = "", *, train: Iterable[str] | None = None, preset: str | None = None,
           learning_rate: float = 1e-3) -> "FreezeSummary":
    """Freeze layers, train the rest, and recompile with Adam at `learning_rate`.

    Say what trains in one way: `up_to` (the last frozen layer; None freezes nothing), `train`
    (the names of the layers that train), or `preset` (a key of PRESETS). Everything is checked
    before any flag changes, so a bad choice leaves the model as it was.

    >>> freeze(model, up_to="block4_pool", learning_rate=1e-5)   # doctest: +SKIP
    trainable 2,895,370 · frozen 12,354,880 · one step costs ~52% of training everything
    """
    from .training import compile_classifier

    if not learning_rate > 0:
        raise FreezeError(f"The learning rate must be positive; got {learning_rate}. Fine-tuning uses a small "
                          "one, such as 1e-5.")
    chosen = plan(model, up_to, train, preset)
    for layer in unit_layers(model):
        layer.trainable = layer.name in chosen
    compile_classifier(model, learning_rate)
    model._tl_kit_compiled = _trainable_ids(model)
    model._tl_kit_learning_rate = learning_rate
    return summarize(model)


def _trainable_ids(model) -> frozenset[int]:
    return frozenset(id(w) for w in model.trainable_weights)


def check_compiled(model) -> None:
    """Raise StaleCompileError if trainable flags changed since `freeze` compiled the model."""
    compiled = getattr(model, "_tl_kit_compiled", None)
    if compiled is not None and compiled != _trainable_ids(model):
        raise StaleCompileError(
            "Some layers' `trainable` flags changed after the model was compiled; Keras would ignore that "
            "change (TensorFlow) or fail (JAX). Use tl_kit.freezing.freeze(model, ...), which sets the flags "
            "and recompiles, before training."
        )


def layer_flops(model) -> dict[str, float]:
    """Forward-pass multiply-adds ×2 per image, per layer, from the layers' shapes."""
    flops = {}
    for layer in unit_layers(model):
        out = layer.output.shape
        kind = layer.__class__.__name__
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            flops[layer.name] = 2.0 * out[1] * out[2] * out[3] * kh * kw * layer.input.shape[-1]
        elif kind == "Dense":
            flops[layer.name] = 2.0 * layer.input.shape[-1] * out[-1]
        elif layer.weights:  # a nested model such as the head: its own layers
            flops[layer.name] = sum(2.0 * np.prod(w.shape) for w in layer.weights if len(w.shape) >= 2)
        else:  # pooling, flatten: one operation per input value
            flops[layer.name] = float(np.prod([d for d in layer.input.shape[1:] if d]))
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
        first = next((i for i, n in enumerate(names) if n in chosen and model.get_layer(n).weights), len(names))
        forward = sum(flops[n] for n in names[first if cached else 0:])
        weight_grads = sum(flops[n] for n in names if n in chosen and model.get_layer(n).weights)
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

    def __repr__(self) -> str:
        return (f"trainable {self.trainable_params:,} · frozen {self.frozen_params:,} · one step costs "
                f"~{self.relative_step_cost:.0%} of training everything ({self.cached_step_cost:.0%} with the "
                f"frozen prefix cached)")


def summarize(model, trainable: Iterable[str] | None = None) -> FreezeSummary:
    """Summarise the model's current flags, or the hypothetical choice `trainable` (the widget's preview)."""
    names = [layer.name for layer in unit_layers(model)]
    chosen = set(trainable) if trainable is not None else {n for n in names if model.get_layer(n).trainable}
    count = {n: int(sum(np.prod(w.shape) for w in model.get_layer(n).weights)) for n in names}
    on = sum(count[n] for n in names if n in chosen)
    return FreezeSummary([n for n in names if n in chosen], on, sum(count.values()) - on,
                         step_cost(model, chosen), step_cost(model, chosen, cached_prefix=True))

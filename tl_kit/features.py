"""Feature extraction with a cache that can never serve stale features.

Running a frozen VGG16 over the data set is the slow part of lesson 02; training a head on its
output takes seconds. So features are computed once and kept, in memory and on disk under
$TL_KIT_CACHE (default ~/.cache/tl-kit), in a file named by a hash of everything that changes
them: the weights (their values, not their name, so random or fine-tuned weights cannot be
confused with pretrained ones), the layer and pooling, and the images themselves (which covers
their size and which images they are). A file that fails to load or to match its checksum is
reported and recomputed.

    >>> features = extract_features(base, dataset.x_train, "block5_pool")   # doctest: +SKIP
    block5_pool: computed 1000 images in 10.4 s (96 images/s), cached
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import weakref
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import config
from .errors import LayerError, OptionError, ShapeError
from .i18n import _
from .preprocessing import model_input
from .training import batch_predict

FORMAT_VERSION = 1


def cache_root() -> Path:
    """The kit's cache folder: $TL_KIT_CACHE, else ~/.cache/tl-kit."""
    return config.cache_dir()


def _digest(parts) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def fingerprint_weights(model) -> str:
    """A hash of every weight's name, shape and values: changes whenever any weight does."""
    import keras

    parts = []
    for w in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(w))
        parts += [w.path, value.shape, value.dtype, value.tobytes()]
    return _digest(parts)


def fingerprint_images(images: np.ndarray) -> str:
    """A hash of the images' shape, dtype and pixels: which images, at which size."""
    images = np.ascontiguousarray(images)
    return _digest([images.shape, images.dtype, images.tobytes()])


@dataclass(frozen=True)
class FeatureKey:
    """Everything that determines a layer's features."""

    weights: str
    layer: str
    pooling: str
    image_size: int
    images: str
    compute_dtype: str = "float32"  # bfloat16 under the mixed_bfloat16 precision: other numbers

    @property
    def digest(self) -> str:
        return _digest([FORMAT_VERSION, *asdict(self).values()])


def _shared_features() -> Path | None:
    """The teacher's features: `features/` in $TL_KIT_SHARED_DIR, when that folder is usable."""
    shared = config.shared_dir()
    return shared / "features" if shared else None


class FeatureCache:
    """Features by key, in memory and in .npz files under `folder` (None: memory only).

    `shared` is a teacher's read-only folder of features (default: `features/` in
    $TL_KIT_SHARED_DIR, filled by `python -m tl_kit prefetch --features`): looked in after
    `folder`, never written to, so thirty students need not each run VGG16 over the same images.
    Counters `memory_hits`, `disk_hits`, `shared_hits`, `misses` and `corrupt` say what happened.
    """

    def __init__(self, folder: Path | str | None = "default", memory: bool = True,
                 shared: Path | str | None = "default"):
        self.folder = cache_root() / "features" if folder == "default" else (Path(folder) if folder else None)
        self.shared = _shared_features() if shared == "default" else (Path(shared) if shared else None)
        self.memory: dict[str, np.ndarray] | None = {} if memory else None
        self.memory_hits = self.disk_hits = self.shared_hits = self.misses = self.corrupt = 0

    def path(self, key: FeatureKey, folder: Path | None = None) -> Path | None:
        folder = folder or self.folder
        return folder / f"{key.layer}-{key.digest}.npz" if folder else None

    def get(self, key: FeatureKey) -> np.ndarray | None:
        digest = key.digest
        if self.memory is not None and digest in self.memory:
            self.memory_hits += 1
            return self.memory[digest]
        for folder, shared in ((self.folder, False), (self.shared, True)):
            path = self.path(key, folder) if folder else None
            if path is None or not path.exists():
                continue
            try:
                features = self._read(path, key)
            except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
                self.corrupt += 1
                if shared:  # the teacher's folder: report it, never touch it
                    # TRANSLATORS: {error} is the reason, in English (e.g. "its checksum does not match").
                    print(_("The shared features {path} are unreadable ({error}); computing them here. Tell whoever "
                            "manages the shared folder to run `python -m tl_kit prefetch --features` again.").format(
                        path=path, error=err))
                    continue
                # TRANSLATORS: {error} is the reason, in English (e.g. "its checksum does not match").
                print(_("The cached features {path} are unreadable ({error}); recomputing them.").format(
                    path=path, error=err))
                path.unlink(missing_ok=True)
                continue
            if shared:
                self.shared_hits += 1
            else:
                self.disk_hits += 1
            if self.memory is not None:
                self.memory[digest] = features
            return features
        self.misses += 1
        return None

    @staticmethod
    def _read(path: Path, key: FeatureKey) -> np.ndarray:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            features = data["features"]
        if meta.get("key") != asdict(key):
            raise ValueError("it was written for other inputs")
        if meta.get("checksum") != _digest([features.tobytes()]) or list(features.shape) != meta.get("shape"):
            raise ValueError("its checksum does not match")
        return features

    def put(self, key: FeatureKey, features: np.ndarray) -> None:
        features = np.ascontiguousarray(features)
        if self.memory is not None:
            self.memory[key.digest] = features
        path = self.path(key)
        if path is None:
            return
        try:
            meta = json.dumps({"key": asdict(key), "shape": list(features.shape),
                               "checksum": _digest([features.tobytes()])})
            write_npz(path, features=features, meta=np.array(meta))
        except OSError as err:
            # TRANSLATORS: {error} is the system's reason, in English (e.g. "[Errno 28] No space left on device").
            print(_("Could not write the feature cache under {folder} ({error}); keeping it in memory only.").format(
                folder=path.parent, error=err))


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """Save arrays as `path` (.npz) atomically: a temporary file beside it, then a rename, so an
    interrupted write never leaves a half file (nor, on an error, the temporary one). Readable by
    all the umask allows, not tempfile's 0600: a teacher's shared cache must be. Raises OSError."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz.tmp", delete=False) as f:
            tmp = Path(f.name)
            np.savez(f, **arrays)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)  # gone already after the rename


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The cache `extract_features` uses unless told otherwise (one per kernel).
DEFAULT_CACHE: FeatureCache | None = None


def default_cache() -> FeatureCache:
    """The kernel's cache, made anew when $TL_KIT_CACHE or $TL_KIT_SHARED_DIR has changed."""
    global DEFAULT_CACHE
    if DEFAULT_CACHE is None or DEFAULT_CACHE.folder != cache_root() / "features" or \
            DEFAULT_CACHE.shared != _shared_features():
        DEFAULT_CACHE = FeatureCache()
    return DEFAULT_CACHE


#: base model → (layers, pooling) → its feature model: one model, so one compilation, per request
_FEATURE_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def feature_model(base, layers: list[str], pooling: str | None = None):
    """A model from base's input to the named layers' outputs (global-average pooled if pooling='avg').

    The same request on the same base gives back the same model: it shares the base's layers
    (so it always sees the current weights), and its compiled forward pass is reused, which on
    JAX saves a compilation for every split of every data set.
    """
    key = (tuple(layers), pooling)
    try:
        return _FEATURE_MODELS[base][key]
    except (KeyError, TypeError):  # TypeError: a base that cannot be weakly referenced
        model = _feature_model(base, layers, pooling)
    try:
        _FEATURE_MODELS.setdefault(base, {})[key] = model
    except TypeError:
        pass
    return model


def _feature_model(base, layers: list[str], pooling: str | None = None):
    import keras

    outputs = []
    for name in layers:
        try:
            out = base.get_layer(name).output
        except ValueError as err:
            names = ", ".join(layer.name for layer in base.layers[1:])
            raise LayerError(f"The model has no layer {name!r}. Its layers: {names}.") from err
        outputs.append(keras.layers.GlobalAveragePooling2D(name=f"{name}_gap")(out) if pooling == "avg" else out)
    return keras.Model(base.input, outputs)


def _progress_callback(total_steps: int, desc: str):
    import keras
    from tqdm.auto import tqdm

    class TqdmPredict(keras.callbacks.Callback):
        def on_predict_begin(self, logs=None):
            self.bar = tqdm(total=total_steps, desc=desc, unit="batch", leave=False)

        def on_predict_batch_end(self, batch, logs=None):
            self.bar.update(1)

        def on_predict_end(self, logs=None):
            self.bar.close()

    return TqdmPredict()


def extract_features(base, images: np.ndarray, layers: str | list[str] = "block5_pool", *, pooling: str | None = None,
                     batch_size: int = 32, cache: FeatureCache | None = "default", progress: bool = True,
                     verbose: bool = True):
    """Run the frozen `base` over uint8 RGB `images`; return one layer's features, or a dict of them.

    Args:
        base: a Keras model such as `load_vgg16(...)[0]`.
        images: (N, H, W, 3) uint8 RGB, as `load_dataset` returns them; VGG16's preprocessing is applied
            here unless the model does its own (`tl_kit.preprocessing.takes_raw_pixels`).
        layers: a layer name, or a list of names (all computed in one forward pass).
        pooling: None keeps the maps (N, h, w, C); "avg" averages each map to one number (N, C).
        cache: a FeatureCache, "default" (memory + disk), or None (always compute).
        progress: show a progress bar while computing.
    """
    single = isinstance(layers, str)
    names = [layers] if single else list(layers)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ShapeError(f"extract_features expects RGB images (N, H, W, 3); got {images.shape}.")
    if pooling not in (None, "avg"):
        raise OptionError(f"pooling must be None or 'avg'; got {pooling!r}.")
    cache = default_cache() if cache == "default" else cache
    model = feature_model(base, names, pooling)
    keys, found = {}, {n: None for n in names}
    shared_before = cache.shared_hits if cache else 0
    if cache:  # fingerprints cost a pass over weights and pixels: only worth it with a cache
        weights_id, images_id = fingerprint_weights(model), fingerprint_images(images)
        keys = {n: FeatureKey(weights_id, n, pooling or "none", int(images.shape[1]), images_id,
                              str(model.compute_dtype)) for n in names}
        found = {n: cache.get(k) for n, k in keys.items()}
    missing = [n for n, f in found.items() if f is None]
    if missing:
        todo = model if missing == names else feature_model(base, missing, pooling)
        steps = -(-len(images) // batch_size)
        # TRANSLATORS: a progress bar's description; {layers} are layer names such as "block5_pool".
        description = _("extracting {layers}").format(layers=", ".join(missing))
        callbacks = [_progress_callback(steps, description)] if progress else []
        start = time.perf_counter()
        outputs = batch_predict(todo, model_input(base, images), batch_size, callbacks)
        seconds = time.perf_counter() - start
        outputs = [outputs] if len(missing) == 1 else outputs
        for name, features in zip(missing, outputs):
            found[name] = np.asarray(features)
            if cache:
                cache.put(keys[name], found[name])
        if verbose:
            numbers = dict(layers=", ".join(missing), n=len(images), seconds=seconds, rate=len(images) / seconds)
            if cache:
                # TRANSLATORS: {layers} are layer names such as "block5_pool"; {rate} is images per second.
                print(_("{layers}: computed {n} images in {seconds:.1f} s ({rate:.0f} images/s), cached").format(
                    **numbers))
            else:
                print(_("{layers}: computed {n} images in {seconds:.1f} s ({rate:.0f} images/s)").format(**numbers))
    if verbose and len(missing) < len(names):
        found_names = ", ".join(n for n in names if n not in missing)
        if cache.shared_hits > shared_before:
            # TRANSLATORS: {layers} are layer names such as "block5_pool"; the features were read, not computed.
            print(_("{layers}: {n} images from the teacher's shared cache").format(layers=found_names, n=len(images)))
        else:
            print(_("{layers}: {n} images from the cache").format(layers=found_names, n=len(images)))
    return found[names[0]] if single else found

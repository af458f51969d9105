"""`TransferModel`: a pretrained base and a new head, and everything fine-tuning needs to know.

Lesson 03's vocabulary is this class's API, in the spirit of fastai's `freeze_to`/`unfreeze`:

    tm = TransferModel(base, head)                  # starts as feature extraction: the base frozen
    tm = TransferModel(base, head, cut="block4_pool")   # or: the head reads block 4, block 5 is cut away
    tm.freeze_to("block3_pool", learning_rate=1e-5) # blocks 1–3 frozen: block 4 and the head train
    tm.use_preset(FINE_TUNE_LAST_BLOCK)             # or a named preset, relative to the cut
    tm.unfreeze()                                   # everything trains
    result = tm.fit(train, val, epochs=5, batch_size=32)   # a tl_kit.training.Result
    tm.score(*test); tm.save("best.keras"); TransferModel.load("best.keras")
    tm.snapshot("phase 1"); ...; tm.restore("phase 1")     # named states to start sections from

**Where to cut.** The head reads the layer `cut` (default: the base's last layer); the layers
after it are not part of the model at all, and `cut_away` lists them. Which cut transfers
best depends on the weights and the data (`tl_kit.cuts.choose_cut` measures it on validation).

Why one object: in Keras a change to `layer.trainable` takes effect only when the model is
compiled again (on TensorFlow an unfrozen layer silently stays frozen; on JAX `fit` fails about
optimizer variables). Every freezing method here sets the flags *and* recompiles, and the object
remembers which weights it compiled as trainable, so `fit` can refuse a model whose flags were
changed by hand since (StaleCompileError): "fine-tuning that never unfroze anything" becomes a
loud error. The state lives on this object, not on the Keras model, and what matters of it (the
flags and the learning rate) is in the saved file, so it survives `save`/`load`.

**Two bases.** `load_vgg16`'s base takes VGG16's preprocessing done outside the model
(`tl_kit.preprocess`); a backbone from `tl_kit.load_pretrained` (EfficientNet-Lite0, or VGG16
again) takes raw pixels and preprocesses them in its first layer, "preprocess". Every method
here takes uint8 images and gives the model what its base expects (`tl_kit.preprocessing.model_input`).

**BatchNormalization stays frozen.** Whatever a choice unfreezes, BN layers (EfficientNet has
one after every conv) keep `trainable = False`, which in Keras 3 also runs them in inference
mode, as keras.io advises for fine-tuning; `tl_kit.batchnorm` shows what the other way costs.
The presets count the layers that train, BN aside.

**The cached prefix.** When the frozen layers form a prefix of the network (blocks 1–4, say)
and the images are not augmented, the prefix's output for an image never changes during
training. `fit` then computes it once (cached by `tl_kit.features`, keyed by the prefix's
weights, the boundary layer and the images) and trains only the rest on it: the same model,
several times faster on a CPU. `Result.mode` says which path a run took. The boundary is a
layer the rest reads alone (`tl_kit.freezing.split_points`: not inside one of EfficientNet's
residual blocks).

**One compiled model per way of training.** Each path trains a Keras model that shares this
object's layers (the suffix after the prefix, the whole network, or the network behind an
augmentation layer). Compiling a new one costs seconds per fit on JAX, and the lessons fit the
same freezing once per seed. So `fit` keeps one compiled model per path, freezing, learning rate
and augmentation layer, and gives it back to a later fit with its optimizer state set back to
the start: the same training as a new model (a test checks it on TensorFlow and JAX), compiled
once.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Iterable

import keras
import numpy as np

from .errors import FreezeError, StaleCompileError, TrainingError
from .features import FeatureCache, extract_features
from .batchnorm import is_batchnorm
from .freezing import (FEATURE_EXTRACTION, PRESETS, FreezeSummary, Preset, can_train, frozen_prefix, get_preset,
                       layer_names, layers_after, plan, summarize, unit_layers)
from .i18n import _
from .preprocessing import VGG16Preprocess, model_input, takes_raw_pixels
from .training import (Result, accuracy, batch_predict, check_learning_rate, compile_classifier, compile_for_reuse,
                       restart_optimizer, score, trainable_params)


def suffix_model(model, boundary: str):
    """A model from `boundary`'s output to the model's output, sharing the model's layers and weights.

    `boundary` must be one of `tl_kit.freezing.split_points(model)`, as `frozen_prefix` is. Keras builds the
    graph between the two (EfficientNet's residual adds included) on a new input for the boundary's output.
    """
    return keras.Model(model.get_layer(boundary).output, model.outputs[0], name=f"after_{boundary}")


def _saved_optimizer(path: str | Path) -> dict:
    """The optimizer config in a .keras file's compile config ({} when saved uncompiled)."""
    try:
        with zipfile.ZipFile(path) as archive:
            compiled = json.loads(archive.read("config.json")).get("compile_config") or {}
        return dict(compiled["optimizer"]["config"])
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        return {}


def saved_learning_rate(path: str | Path) -> float | None:
    """The learning rate a .keras file was compiled with (None: saved uncompiled).

    Read from the file's compile config rather than by restoring the optimizer: its slots
    belong to whichever model trained last (with a cached prefix, only the suffix), and the
    model is recompiled on load anyway. Keras stores the rate as float32; 7 significant digits
    give back the number that was typed (1e-05, not 9.9999997e-06).
    """
    rate = _saved_optimizer(path).get("learning_rate")
    return float(f"{float(rate):.7g}") if isinstance(rate, (int, float)) else None


def saved_head_multiplier(path: str | Path) -> float:
    """The head's learning-rate multiplier a .keras file was compiled with (1: none)."""
    return max(_saved_optimizer(path).get("multipliers", {}).values(), default=1.0)


def _check_multiplier(factor: float) -> float:
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 < factor <= 1000:
        raise TrainingError(f"head_multiplier must be a number above 0 (at most 1000); got {factor!r}. Use e.g. 10 for "
                            "a head that learns ten times faster than the base, or 1 for one learning rate.")
    return float(factor)


class TransferModel:
    """A pretrained base and a new head as one Keras model, with its freezing state.

    Args:
        base: the pretrained base, e.g. `load_vgg16(...)[0]` (preprocessed input) or
            `load_pretrained("efficientnet_lite0")[0]` (raw pixels); its layers keep their names, so
            `freeze_to("block4_pool")` can address them.
        head: the new classifier, built on the cut layer's output shape with name="head".
        cut: the base layer the head reads (default: the base's last layer). Layers after it
            are left out of the model (`cut_away`), e.g. cut="block4_pool" drops block 5.
        learning_rate: the starting learning rate (the head alone trains at first).
        head_multiplier: the head trains at `learning_rate × head_multiplier`, the base at
            `learning_rate` (e.g. 10: a new head learns faster than the pretrained layers move).
        name: the Keras model's name (default: the base's name + "_classifier").

    The new model shares layers and weights with `base` and `head`. It starts as feature
    extraction (the whole base frozen), compiled. `model` is the Keras model, for `predict`,
    `summary()` or anything else Keras offers.
    """

    def __init__(self, base=None, head=None, *, cut: str | None = None, learning_rate: float = 1e-3,
                 name: str | None = None, model=None, head_multiplier: float = 1.0):
        self.head_multiplier = _check_multiplier(head_multiplier)
        self._fit_models: dict[tuple, tuple] = {}  # compiled models that fit reuses: see _fit_model
        self._snapshots: dict[str, list[np.ndarray]] = {}
        #: (name, parameters) of the base layers after the cut, which the model leaves out
        self.cut_away: list[tuple[str, int]] = []
        if model is None:
            if base is None or head is None:
                raise TrainingError("TransferModel needs a base and a head: TransferModel(base, head).")
            names = layer_names(base)
            cut = cut or names[-1]
            if cut not in names:
                raise FreezeError(f"Cannot cut the base at {cut!r}: it has no such layer. Its layers: {', '.join(names)}.")
            expected = tuple(base.get_layer(cut).output.shape[1:])
            if tuple(head.input.shape[1:]) != expected:
                raise TrainingError(f"The head reads inputs of shape {tuple(head.input.shape[1:])}, but the base cut at "
                                    f"{cut} gives {expected}: build the head on features from {cut}, e.g. "
                                    f"build_head(extract_features(base, x, {cut!r}).shape[1:], ...).")
            self.cut_away = [(n, base.get_layer(n).count_params()) for n in names[names.index(cut) + 1:]]
            model = keras.Model(base.input, head(base.get_layer(cut).output), name=name or f"{base.name}_classifier")
            self.model = model
            self.use_preset(FEATURE_EXTRACTION, learning_rate=learning_rate)
        else:  # an existing model whose flags are already set (see `load`)
            self.model = model
            self._compile(learning_rate)

    # -- what trains ------------------------------------------------------------------------------
    def freeze_to(self, layer: str, learning_rate: float | None = None,
                  head_multiplier: float | None = None) -> FreezeSummary:
        """Freeze every layer up to and including `layer`; everything after it trains."""
        return self.train_only(layers_after(self.model, layer), learning_rate, head_multiplier)

    def unfreeze(self, learning_rate: float | None = None, head_multiplier: float | None = None) -> FreezeSummary:
        """Let every layer train."""
        return self.train_only(layer_names(self.model), learning_rate, head_multiplier)

    def use_preset(self, preset: Preset | str, learning_rate: float | None = None,
                   head_multiplier: float | None = None) -> FreezeSummary:
        """Freeze as a preset says (a Preset, or its id such as "fine_tune_last_block")."""
        return self.train_only(get_preset(preset).trains(self.model), learning_rate, head_multiplier)

    def train_only(self, layers: Iterable[str], learning_rate: float | None = None,
                   head_multiplier: float | None = None) -> FreezeSummary:
        """Exactly the named layers train, BatchNormalization layers aside; the rest are frozen. Then recompile.

        Every BN layer stays frozen (`trainable = False`) even when named, and so under every preset,
        `freeze_to` and `unfreeze`: in Keras 3 a frozen BN layer also runs in inference mode, with
        the statistics it learnt on ImageNet, as keras.io advises for fine-tuning (a BN layer in
        training mode renormalises with each batch of your images and moves those statistics towards them).

        Every check runs before any flag changes, so a bad choice (FreezeError, TrainingError)
        leaves the model as it was. `learning_rate` and `head_multiplier` None keep the current ones.
        """
        chosen = plan(self.model, layers)
        rate = self.learning_rate if learning_rate is None else check_learning_rate(learning_rate)
        multiplier = self.head_multiplier if head_multiplier is None else _check_multiplier(head_multiplier)
        for layer in unit_layers(self.model):
            layer.trainable = layer.name in chosen and not is_batchnorm(layer)
        self.head_multiplier = multiplier
        self._compile(rate)
        return self.summary()

    def multipliers(self) -> dict[str, float]:
        """{variable path: learning-rate factor} for the head's variables ({} when it is 1)."""
        if self.head_multiplier == 1.0:
            return {}
        return {v.path: self.head_multiplier for v in self.model.layers[-1].trainable_weights}

    def _compile(self, learning_rate: float) -> None:
        compile_classifier(self.model, learning_rate, self.multipliers())
        self.learning_rate = check_learning_rate(learning_rate)
        self._compiled_trainable = self._trainable_ids()

    def _trainable_ids(self) -> frozenset[str]:
        return frozenset(w.path for w in self.model.trainable_weights)

    def check_compiled(self) -> None:
        """Raise StaleCompileError if `trainable` flags changed since the model was compiled."""
        if self._compiled_trainable != self._trainable_ids():
            raise StaleCompileError(
                "Some layers' `trainable` flags changed after the model was compiled; Keras would ignore that "
                "change (TensorFlow) or fail (JAX). Choose what trains with the model's freeze_to(...), "
                "unfreeze(), use_preset(...) or train_only(...), which set the flags and recompile.")

    def summary(self) -> FreezeSummary:
        """Trainable and frozen parameters now, and what a training step costs."""
        return summarize(self.model)

    @property
    def trainable_layers(self) -> list[str]:
        """The layers that train now, input to output."""
        return self.summary().trainable

    @property
    def preset(self) -> Preset | None:
        """The preset the current flags match, if any: compared on the layers whose weights train (BN aside)."""
        def training(names: Iterable[str]) -> set[str]:
            return {n for n in names if can_train(self.model.get_layer(n))}

        now = training(self.trainable_layers)
        return next((p for p in PRESETS.values() if training(p.trains(self.model)) == now), None)

    @property
    def image_size(self) -> int:
        """The image size the model takes (its input's height): load data for it with
        `load_dataset(..., image_size=model.image_size)`, e.g. after a restart, since each network
        runs at its own size (`tl_kit.pretrained.Backbone.size_for`)."""
        return int(self.model.input_shape[1])

    @property
    def cut(self) -> str:
        """The base layer the head reads: where the base was cut."""
        return layer_names(self.model)[-2]

    @property
    def frozen_prefix(self) -> str | None:
        """The layer after which `fit` may cache the frozen prefix's output (None: nothing frozen to cache)."""
        return frozen_prefix(self.model)

    def describe(self) -> str:
        """The freezing in words, with the cut: the preset's label, or the trainable layers."""
        preset = self.preset
        if preset is not None:
            # TRANSLATORS: {freezing} is a preset's label, e.g. "fine-tune the last block"; {cut} is a layer's name.
            return _("{freezing} (cut at {cut})").format(freezing=_(preset.label), cut=self.cut)
        names = self.trainable_layers
        if len(names) > 1:
            # TRANSLATORS: what trains when no preset matches: the first and last of the layers that train.
            return _("custom: {first} … {last} train (cut at {cut})").format(first=names[0], last=names[-1],
                                                                             cut=self.cut)
        return _("custom: {layer} trains (cut at {cut})").format(layer=names[0], cut=self.cut)

    # -- named states ---------------------------------------------------------------------------------
    def snapshot(self, name: str) -> None:
        """Keep a copy of every weight under `name`, for `restore(name)` to go back to.

        A lesson's sections each start from a named state ("phase 1", "seed 2") rather than
        from whatever the section before left behind.
        """
        self._snapshots[name] = [np.copy(w) for w in self.model.get_weights()]

    def restore(self, name: str) -> None:
        """Set every weight back to the snapshot `name`; the freezing and learning rate stay as they are."""
        if name not in self._snapshots:
            known = ", ".join(map(repr, self._snapshots)) or "none yet"
            raise TrainingError(f"No snapshot named {name!r}; this model's snapshots: {known}. Take one with "
                                f"snapshot({name!r}) first.")
        self.model.set_weights(self._snapshots[name])

    @property
    def snapshots(self) -> list[str]:
        """The names of the snapshots taken, oldest first."""
        return list(self._snapshots)

    # -- training and scoring ---------------------------------------------------------------------
    def fit(self, train: tuple, val: tuple, test: tuple | None = None, *, epochs: int, batch_size: int,
            augment: bool | keras.Layer = False, use_cache: bool = True, callbacks: list | None = None,
            cache: FeatureCache | str | None = "default", seed: int = 0, method: str | None = None,
            balanced: bool = False, class_weight: dict[int, float] | None = None) -> Result:
        """Train on uint8 images and return a `Result`, scored on val (and on test, if given).

        Args:
            train, val, test: (images, labels) pairs; images (N, H, W, 3) uint8 RGB as `load_dataset`
                gives them. Callbacks see val_accuracy after each epoch.
            augment: False; True for `tl_kit.augment.light_augmentation()`; or a Keras layer
                applied to the raw pixels of each training batch (`tl_kit.augment.augmentation_for`),
                before VGG16's preprocessing (or the base's own "preprocess" layer).
            use_cache: take the cached-prefix path when it is valid (a frozen prefix, no augmentation).
            method: the row's name in a results table (default: the freezing in words).
            balanced: score val and test with balanced accuracy (for classes of different sizes).
            class_weight: weigh each training image's loss by its class, e.g. `tl_kit.class_weights(y)`,
                so that a big class does not dominate what the model learns.

        `val_accuracy` is measured after training, on the weights the model ends with (with
        `EarlyStopping(restore_best_weights=True)`, the best epoch's).
        """
        self.check_compiled()
        keras.utils.set_random_seed(seed)
        boundary = self.frozen_prefix if use_cache and augment is False else None
        cache_seconds = 0.0
        if boundary is not None:
            start = time.perf_counter()
            x_train, x_val = (extract_features(self.model, x, boundary, cache=cache, batch_size=batch_size,
                                               verbose=False, progress=False) for x in (train[0], val[0]))
            cache_seconds = time.perf_counter() - start
            fit_model = self._fit_model(("prefix", boundary), lambda: suffix_model(self.model, boundary),
                                        (x_val, val[1]), batch_size)
            # TRANSLATORS: how a run trained (printed after it); {boundary} is a layer's name, e.g. "block4_pool".
            mode = _("cached prefix: the layers up to {boundary} ran once; only the layers after it trained").format(
                boundary=boundary)
        elif augment is not False:
            from .augment import light_augmentation

            layer = light_augmentation() if augment is True else augment
            x_train, x_val = np.asarray(train[0], "float32"), np.asarray(val[0], "float32")
            preprocessing = [] if takes_raw_pixels(self.model) else [VGG16Preprocess()]
            fit_model = self._fit_model(("augment", id(layer)), lambda: keras.Sequential(
                [keras.Input(x_train.shape[1:]), layer, *preprocessing, self.model]), (x_val, val[1]), batch_size,
                keep=augment is not True)  # augment=True makes a new layer each time: nothing to reuse
            # TRANSLATORS: {layer} is the name of the augmentation layer, e.g. "light_augmentation".
            mode = _("full forward pass every step, augmented images ({layer})").format(layer=layer.name)
        else:
            x_train, x_val = model_input(self.model, train[0]), model_input(self.model, val[0])
            fit_model = self._fit_model(("full",), lambda: keras.Model(self.model.inputs, self.model.outputs),
                                        (x_val, val[1]), batch_size)
            mode = _("full forward pass every step")
        from .callbacks import EpochTimer

        timer = EpochTimer()
        start = time.perf_counter()
        history = fit_model.fit(x_train, train[1], validation_data=(x_val, val[1]), epochs=epochs,
                                batch_size=batch_size, verbose=0, callbacks=[*(callbacks or []), timer],
                                class_weight=class_weight)
        seconds = time.perf_counter() - start
        if boundary is not None:  # score with the suffix model that trained: no new model to compile
            test_accuracy = None if test is None else score(
                fit_model, extract_features(self.model, test[0], boundary, cache=cache, batch_size=batch_size,
                                            verbose=False, progress=False), test[1], balanced=balanced)
            train_accuracy = score(fit_model, x_train, train[1], balanced=balanced)
        elif augment is False:  # the whole network, as it trained
            test_accuracy = None if test is None else score(fit_model, model_input(self.model, test[0]), test[1],
                                                            balanced=balanced)
            train_accuracy = score(fit_model, x_train, train[1], balanced=balanced)
        else:
            test_accuracy = None if test is None else self.score(*test, cache=cache, balanced=balanced)
            train_accuracy = self.score(*train, cache=cache, balanced=balanced)
        return Result(method or self.describe(), trainable_params(self.model), seconds,
                      score(fit_model, x_val, val[1], balanced=balanced), test_accuracy,
                      epochs=len(history.history.get("loss", [])), epoch_seconds=timer.seconds,
                      history=history.history, mode=mode, cache_seconds=cache_seconds, max_epochs=epochs,
                      train_accuracy=train_accuracy, model=self)

    def _fit_model(self, path: tuple, build, val: tuple, batch_size: int, keep: bool = True) -> keras.Model:
        """The compiled Keras model that trains for `path` under the current freezing, learning rate
        and multipliers: built with `build()` and compiled the first time, reused after that with
        its optimizer state set back to where it started.

        A new model is built on the validation set (`compile_for_reuse`), which compiles the
        step that `fit` validates with anyway.
        """
        key = (path, self._compiled_trainable, self.learning_rate, tuple(sorted(self.multipliers().items())))
        if key in self._fit_models:
            model, optimizer_start = self._fit_models[key]
            restart_optimizer(model, optimizer_start)
            return model
        model = build()
        optimizer_start = compile_for_reuse(model, self.learning_rate, self.multipliers(), *val, batch_size=batch_size)
        if keep:
            self._fit_models[key] = (model, optimizer_start)
        return model

    def predict(self, images: np.ndarray, batch_size: int = 64, use_cache: bool = False,
                cache: FeatureCache | str | None = "default") -> np.ndarray:
        """Class probabilities for uint8 RGB images (given to the model as its base expects: `model_input`).

        `use_cache=True` runs the frozen prefix through the feature cache, as `score` does: the same
        probabilities, without running the frozen layers again on images they have seen.
        """
        boundary = self.frozen_prefix if use_cache else None
        if boundary is None:
            return batch_predict(self.model, model_input(self.model, images), batch_size)
        activations = extract_features(self.model, images, boundary, cache=cache, batch_size=batch_size, verbose=False,
                                       progress=False)
        return batch_predict(suffix_model(self.model, boundary), activations, batch_size)

    def score(self, images: np.ndarray, labels: np.ndarray, use_cache: bool = True,
              cache: FeatureCache | str | None = "default", balanced: bool = False) -> float:
        """Accuracy (or balanced accuracy) on uint8 images; through the cached frozen prefix when there is one."""
        return accuracy(labels, np.argmax(self.predict(images, use_cache=use_cache, cache=cache), axis=1),
                        balanced=balanced)

    # -- saving -----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save the whole model (weights, `trainable` flags, optimizer and its learning rate) as .keras."""
        path = Path(path)
        self.model.save(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TransferModel":
        """Load a model saved by `save` (safe mode on), with the same frozen layers and learning rate."""
        from .runs import load_model

        model = load_model(path)  # the layers' `trainable` flags are part of the saved config
        return cls(model=model, learning_rate=saved_learning_rate(path) or 1e-3,
                   head_multiplier=saved_head_multiplier(path))

    def __repr__(self) -> str:
        names = dict(freezing=self.describe(), learning_rate=self.learning_rate, summary=repr(self.summary()))
        if self.head_multiplier != 1.0:
            # TRANSLATORS: {freezing} says what trains (e.g. "fine-tune the last block (cut at block4_pool)"); the head
            # trains at the learning rate times {multiplier}; {summary} counts the trainable and frozen parameters.
            return _("TransferModel({freezing}, learning rate {learning_rate:g} (the head ×{multiplier:g}); "
                     "{summary})").format(multiplier=self.head_multiplier, **names)
        # TRANSLATORS: {freezing} says what trains (e.g. "fine-tune the last block (cut at block4_pool)"); {summary}
        # counts the trainable and frozen parameters.
        return _("TransferModel({freezing}, learning rate {learning_rate:g}; {summary})").format(**names)

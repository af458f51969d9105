"""Training and comparing models on equal terms: same data, same epochs, same optimizer.

Every training run in the kit ends in one `Result` (trainable parameters, seconds, the time of
each epoch, validation and test accuracy): `fit_and_score` for the baselines and heads, and
`TransferModel.fit` for VGG16 with its new head. A list of Results prints as one table
(`ResultsTable`), so a lesson compares methods row by row.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import ShapeError, TrainingError
from .i18n import N_, _


def trainable_params(model) -> int:
    """Number of weights the optimizer updates (frozen layers excluded)."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def check_learning_rate(learning_rate: float) -> float:
    """The learning rate as a float, or TrainingError when it is not a positive number."""
    try:
        value = float(learning_rate)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0:
        raise TrainingError(f"The learning rate must be a positive number; got {learning_rate!r}. A new head "
                            "trains well at 1e-3; fine-tuning pretrained layers uses a small one, such as 1e-5.")
    return value


def compile_classifier(model, learning_rate: float = 1e-3, multipliers: dict[str, float] | None = None):
    """Adam and cross-entropy on integer labels (sparse: the same loss as categorical cross-entropy
    on one-hot labels, without building the one-hot vectors).

    `multipliers` ({variable path: factor}) gives those variables their own learning rate,
    `learning_rate × factor` (`tl_kit.optimizers.LayerwiseAdam`); without it, plain Adam.
    """
    import keras

    learning_rate = check_learning_rate(learning_rate)
    if multipliers and any(factor != 1.0 for factor in multipliers.values()):
        from .optimizers import LayerwiseAdam

        optimizer = LayerwiseAdam(learning_rate, multipliers=multipliers)
    else:
        optimizer = keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def compile_for_reuse(model, learning_rate: float, multipliers: dict[str, float] | None, x: np.ndarray,
                      y: np.ndarray, batch_size: int | None = None) -> list[np.ndarray]:
    """Compile `model` (as `compile_classifier`) and build everything `fit` would build, by
    evaluating it on (x, y); return its optimizer's starting state, for `restart_optimizer`.

    A compiled model kept and fitted again must train exactly as a new one: its optimizer state
    goes back to this start, and nothing is left for `fit` to build, since Keras would build it
    from one drawn shuffle of the data, on a new model only, and a reused model would then see
    other batches.
    """
    compile_classifier(model, learning_rate, multipliers)
    model.optimizer.build(model.trainable_variables)
    model.evaluate(x, y, batch_size=batch_size, verbose=0)  # builds the loss and metrics; draws no shuffle
    return [np.array(v) for v in model.optimizer.variables]


def restart_optimizer(model, start: list[np.ndarray]) -> None:
    """Set a model's optimizer state back to `start` (from `compile_for_reuse`)."""
    for variable, value in zip(model.optimizer.variables, start):
        variable.assign(value)


def batch_predict(model, x: np.ndarray, batch_size: int = 64, callbacks: list | None = None):
    """`model.predict(x)`, run batch by batch with `predict_on_batch`; the outputs are the same.

    Why not `predict` itself: on TensorFlow each call builds a `tf.data` pipeline and an iterator
    before the first batch, about 70 ms (measured on the 2-core machine, a small head on 100
    images: 73 ms per `predict`, 5 ms batch by batch), and the lessons score hundreds of small sets.
    `predict_on_batch` runs the same compiled prediction step on each batch. With `callbacks`
    (a progress bar over a long extraction), `predict` runs, which calls them.

    On JAX, which compiles a model's forward pass once per input shape, an input longer than one
    batch is padded with zeros to whole batches and the padding's outputs are dropped: a last,
    smaller batch would cost a second compilation (seconds on a CPU) every time a set's size is
    not a multiple of the batch size, and lesson 02 predicts on sets of many sizes. No layer at
    inference mixes images within a batch, so each image's output is unchanged.
    """
    import keras

    x = np.asarray(x)
    n = len(x)
    if n == 0:
        raise ShapeError("There is nothing to predict: the input holds no images. Check the split or the folder "
                         "it came from.")
    pad = (-n) % batch_size if keras.backend.backend() == "jax" and n > batch_size else 0
    if pad:
        x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
    if callbacks:
        out = model.predict(x, batch_size=batch_size, verbose=0, callbacks=callbacks)
    else:
        batches = [model.predict_on_batch(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        several = isinstance(batches[0], (list, tuple))
        out = ([np.concatenate(parts) for parts in zip(*batches)] if several else np.concatenate(batches))
    if not pad:
        return out
    return [o[:n] for o in out] if isinstance(out, (list, tuple)) else out[:n]


def score(model, x: np.ndarray, y: np.ndarray, batch_size: int = 64, balanced: bool = False) -> float:
    """Accuracy: the share of correct predictions of a Keras `model` on inputs `x`, labels `y`.

    `balanced=True` gives balanced accuracy instead, the mean of the per-class recalls: on a
    test set whose classes differ in size it does not reward favouring the big class (on a
    balanced set the two are equal). `TransferModel.score` is the same measure on raw images.
    """
    return accuracy(y, np.argmax(batch_predict(model, x, batch_size), axis=1), balanced=balanced)


def accuracy(y: np.ndarray, predicted: np.ndarray, balanced: bool = False) -> float:
    """The share of `predicted` labels equal to `y`, or (`balanced=True`) scikit-learn's balanced accuracy.

    >>> accuracy([0, 0, 0, 1], [0, 0, 0, 0]), accuracy([0, 0, 0, 1], [0, 0, 0, 0], balanced=True)
    (0.75, 0.5)
    """
    if balanced:  # over the classes in `y`; a prediction of another class is simply wrong, no warning needed
        from sklearn.metrics import balanced_accuracy_score

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
            return float(balanced_accuracy_score(np.asarray(y), np.asarray(predicted)))
    return float(np.mean(np.asarray(predicted) == np.asarray(y)))


def typical_epoch_seconds(epoch_seconds: list[float]) -> float | None:
    """The kit's one rule for "seconds per epoch": the median of the epochs after the first (which
    also traces and compiles the training step), or the only epoch there is; None for none."""
    later = list(epoch_seconds[1:]) or list(epoch_seconds)
    return float(np.median(later)) if later else None


@dataclass
class Result:
    """One training run, one row of a comparison: a method and what it cost and scored.

    `epoch_seconds` holds each epoch's wall time (empty for a run of a fixed number of steps,
    which is one pass); `mode` says how it trained (e.g. through a cached frozen prefix), and
    `cache_seconds` what computing that cache cost once. `test_accuracy` stays None until the
    run is scored on test.
    """

    method: str
    trainable_params: int
    train_seconds: float
    val_accuracy: float
    test_accuracy: float | None = None
    epochs: int = 0
    epoch_seconds: list[float] = field(default_factory=list, repr=False)
    history: dict = field(default_factory=dict, repr=False)
    mode: str = ""
    cache_seconds: float = 0.0
    train_accuracy: float | None = None  #: on the training images, after training (to see overfitting)
    max_epochs: int | None = None  #: the epoch limit it was given (None: a fixed number of steps)
    model: object = field(default=None, repr=False)

    @property
    def stopped_early(self) -> bool:
        """True when early stopping ended the run before its epoch limit."""
        return self.max_epochs is not None and self.epochs < self.max_epochs

    @property
    def seconds_per_epoch(self) -> float:
        """A typical epoch (`typical_epoch_seconds`), else the training time over the epochs."""
        typical = typical_epoch_seconds(self.epoch_seconds)
        return typical if typical is not None else self.train_seconds / max(self.epochs, 1)


def repeat_for_steps(x: np.ndarray, y: np.ndarray, steps: int, batch_size: int,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The training set reshuffled and repeated to exactly steps × batch_size examples.

    One pass over it is `steps` gradient steps, however small the set: a fair, equal budget for
    5 or 500 images per class, without hundreds of tiny epochs and their overhead.
    """
    rng = np.random.default_rng(seed)
    needed = steps * batch_size
    order = np.concatenate([rng.permutation(len(y)) for _ in range(-(-needed // len(y)))])[:needed]
    return x[order], y[order]


def class_weights(labels: np.ndarray) -> dict[int, float]:
    """A weight per class, inversely proportional to its share of `labels` (scikit-learn's
    "balanced": n / (classes × count)), so that in the loss every class counts as much as any
    other, however many images it has. Keras' `fit(class_weight=...)` takes it as it is.

    >>> class_weights(np.array([0, 0, 0, 1]))
    {0: 0.6666666666666666, 1: 2.0}
    """
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.asarray(labels)
    present = np.unique(labels)
    weights = compute_class_weight("balanced", classes=present, y=labels)
    return {int(c): float(w) for c, w in zip(present, weights)}


def fit_and_score(method: str, model, train: tuple, val: tuple, test: tuple, *, batch_size: int,
                  epochs: int | None = None, steps: int | None = None, learning_rate: float = 1e-3,
                  callbacks: list | None = None, compile: bool = True, seed: int = 0, balanced: bool = False,
                  class_weight: dict[int, float] | None = None) -> Result:
    """Compile (unless told not to), train, and score on val and test (balanced accuracy if asked).

    Train for `epochs` (validating after each), or for exactly `steps` gradient steps (validating
    at the end only). `train`, `val` and `test` are (x, y) pairs; the seconds count `fit` alone.
    `class_weight` weighs each training image's loss by its class (`class_weights` makes one that
    counts every class equally).
    """
    import keras

    if (epochs is None) == (steps is None):
        raise TrainingError(f"Give either epochs or steps, not {'both' if epochs else 'neither'}: epochs=N "
                            "validates after each epoch, steps=N trains exactly N gradient steps.")
    keras.utils.set_random_seed(seed)
    if compile:
        compile_classifier(model, learning_rate)
    validation = val
    if steps is not None:
        passes = steps * batch_size / len(train[1])
        train, validation, epochs = repeat_for_steps(*train, steps, batch_size, seed), None, 1
    from .callbacks import EpochTimer

    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(*train, validation_data=validation, epochs=epochs, batch_size=batch_size, verbose=0,
                        callbacks=[*(callbacks or []), timer], class_weight=class_weight)
    seconds = time.perf_counter() - start
    return Result(method, trainable_params(model), seconds, score(model, *val, balanced=balanced),
                  score(model, *test, balanced=balanced),
                  epochs=len(history.history.get("loss", [])) if steps is None else round(passes),
                  epoch_seconds=timer.seconds if steps is None else [], history=history.history,
                  train_accuracy=score(model, *train, balanced=balanced) if steps is None else None,
                  max_epochs=epochs, model=model)


class ResultsTable(list):
    """A list of Results that shows itself as a table (HTML in a notebook, text elsewhere)."""

    #: The headers, in English (each shown through `_()`: see `headers`).
    # TRANSLATORS: the headers of a table with one training run per row: "method" is how the row trained (e.g.
    # "fine-tune the last block"), "train s" its training seconds, "val acc"/"test acc" validation/test accuracy.
    columns = (N_("method"), N_("trainable params"), N_("train s"), N_("s/epoch"), N_("val acc"), N_("test acc"))

    def headers(self) -> tuple[str, ...]:
        """The column headers in the language in use."""
        return tuple(_(c) for c in self.columns)

    def rows(self) -> list[tuple[str, ...]]:
        return [(r.method, f"{r.trainable_params:,}", f"{r.train_seconds:.1f}", f"{r.seconds_per_epoch:.2f}",
                 f"{r.val_accuracy:.1%}", "—" if r.test_accuracy is None else f"{r.test_accuracy:.1%}")
                for r in self]

    def __str__(self) -> str:
        rows = [self.headers(), *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from .tables import html_table

        return html_table(self.headers(), self.rows())

    def best(self, key: str = "val_accuracy") -> Result:
        """The row with the highest `key` (validation accuracy: choose on validation, never on test)."""
        return max(self, key=lambda r: getattr(r, key))

    def by_method(self, method: str) -> Result:
        """The row of `method`; KeyError naming the methods there are."""
        for r in self:
            if r.method == method:
                return r
        raise KeyError(f"No row {method!r}; rows: {', '.join(repr(r.method) for r in self)}.")

"""Training and comparing models on equal terms: same data, same epochs, same optimizer.

`fit_and_score` trains a model and returns a `Result` (trainable parameters, training seconds,
validation and test accuracy); a list of them prints as one table (`ResultsTable`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .errors import TLKitError


def trainable_params(model) -> int:
    """Number of weights the optimizer updates (frozen layers excluded)."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def compile_classifier(model, learning_rate: float = 1e-3):
    """Adam and cross-entropy on integer labels (sparse: the same loss as categorical cross-entropy
    on one-hot labels, without building the one-hot vectors)."""
    import keras

    if not learning_rate > 0:
        raise TLKitError(f"The learning rate must be positive; got {learning_rate}.")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 64) -> float:
    """Share of correct predictions of `model` on (x, y)."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == np.asarray(y)))


@dataclass
class Result:
    """One row of a comparison: a method and what it cost and scored."""

    method: str
    trainable_params: int
    train_seconds: float
    val_accuracy: float
    test_accuracy: float
    epochs: int = 0
    history: dict = field(default_factory=dict, repr=False)
    model: object = field(default=None, repr=False)
    epoch_seconds: float | None = None

    @property
    def seconds_per_epoch(self) -> float:
        """A typical epoch (the first also compiles, so later ones are preferred when there are any)."""
        return self.epoch_seconds if self.epoch_seconds is not None else self.train_seconds / max(self.epochs, 1)


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


def fit_and_score(method: str, model, train: tuple, val: tuple, test: tuple, *, batch_size: int,
                  epochs: int | None = None, steps: int | None = None, learning_rate: float = 1e-3,
                  callbacks: list | None = None, compile: bool = True, seed: int = 0) -> Result:
    """Compile (unless told not to), train, and score on val and test.

    Train for `epochs` (validating after each), or for exactly `steps` gradient steps (validating
    at the end only). `train`, `val` and `test` are (x, y) pairs; the seconds count `fit` alone.
    """
    import keras

    if (epochs is None) == (steps is None):
        raise TLKitError("Give either epochs or steps.")
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
                        callbacks=[*(callbacks or []), timer])
    seconds = time.perf_counter() - start
    return Result(method, trainable_params(model), seconds, accuracy(model, *val), accuracy(model, *test),
                  epochs if steps is None else round(passes), history.history, model,
                  timer.typical if steps is None else None)


class ResultsTable(list):
    """A list of Results that shows itself as a table (HTML in a notebook, text elsewhere)."""

    columns = ("method", "trainable params", "train s", "s/epoch", "val acc", "test acc")

    def rows(self) -> list[tuple[str, ...]]:
        return [(r.method, f"{r.trainable_params:,}", f"{r.train_seconds:.1f}", f"{r.seconds_per_epoch:.2f}",
                 f"{r.val_accuracy:.1%}", f"{r.test_accuracy:.1%}") for r in self]

    def __str__(self) -> str:
        rows = [self.columns, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in self.rows())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def best(self, key: str = "val_accuracy") -> Result:
        return max(self, key=lambda r: getattr(r, key))

    def by_method(self, method: str) -> Result:
        for r in self:
            if r.method == method:
                return r
        raise KeyError(method)

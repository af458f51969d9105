"""The linear probe: how good are features, measured the way papers measure it.

A probe is the simplest classifier that can read a representation: standardise each feature,
then fit an L2-regularised logistic regression (Kornblith, Shlens & Le, "Do Better ImageNet
Models Transfer Better?", 2019). Its solver runs until it converges, so there is no epoch budget to argue
about, and its one hyper-parameter, the regularisation strength C, is chosen on the validation
set, never on test. The same probe reads pretrained features, random features and raw pixels,
so the comparison is about the inputs alone.

Scores are *balanced* accuracy (the mean of the per-class recalls): on a test set whose
classes differ in size (the emoji set), plain accuracy would reward guessing the big class; on
a balanced set the two are equal.

    >>> result = linear_probe(x_train, y_train, x_val, y_val, x_test, y_test)   # doctest: +SKIP
    >>> result.C, result.val_score, result.test_score                            # doctest: +SKIP
    (0.01, 0.71, 0.69)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import ShapeError

#: Regularisation strengths tried (C is the inverse: small C, strong regularisation).
C_GRID = tuple(float(c) for c in np.logspace(-3, 1, 5))


@dataclass
class ProbeResult:
    """A fitted probe: its C (chosen on validation), balanced accuracies, and the fitted pipeline."""

    C: float
    val_score: float
    test_score: float | None
    train_score: float
    model: object = field(repr=False)
    val_by_C: dict[float, float] = field(default_factory=dict, repr=False)


def balanced_score(model, x: np.ndarray, y: np.ndarray) -> float:
    """Balanced accuracy of a fitted scikit-learn classifier on (x, y)."""
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y, model.predict(_flat(x))))


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2:
        raise ShapeError(f"A probe reads one feature vector (or array) per image; got shape {x.shape}.")
    return x.reshape(len(x), -1).astype("float32")


def linear_probe(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                 x_test: np.ndarray | None = None, y_test: np.ndarray | None = None, *,
                 Cs: tuple[float, ...] = C_GRID, blas_threads: int | None = 1) -> ProbeResult:
    """Fit a standardised L2 logistic regression for each C, keep the best on validation.

    Inputs are features (N, ...) of any shape (flattened here): pooled VGG16 activations, or
    raw pixels. Ties on validation go to the stronger regularisation (the smaller C).
    `blas_threads` limits the linear-algebra threads while it fits (None: as the machine is set up).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    x_train, x_val = _flat(x_train), _flat(x_val)
    best, val_by_C = None, {}
    # A probe's matrices are small (hundreds of images): splitting each product over BLAS threads
    # costs more than it saves. One thread gives the same fits, several times faster on a 2-core
    # machine with TensorFlow loaded (benchmarks/results.json: probe_threads).
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        for C in sorted(Cs):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300, tol=1e-3))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # the weakest regularisation may stop early
                model.fit(x_train, y_train)
            val_by_C[C] = balanced_score(model, x_val, y_val)
            if best is None or val_by_C[C] > val_by_C[best[0]]:
                best = (C, model)
        C, model = best
        test = None if x_test is None else balanced_score(model, x_test, y_test)
        train = balanced_score(model, x_train, y_train)
    return ProbeResult(C, val_by_C[C], test, train, model, val_by_C)

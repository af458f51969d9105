"""The kit's exceptions, each named for what went wrong, each message saying what to do next.

Every class is also a subclass of the built-in exception a Python user would expect
(`ValueError`, `RuntimeError`, `OSError`), so ordinary `except` clauses keep working. Inside
Jupyter, `tl_kit` shows them as one short line instead of a traceback
(see `tl_kit.notebook.short_errors`).

    >>> try:
    ...     raise OptionError("padding must be 'valid' or 'same'; got 'full'.")
    ... except ValueError as err:
    ...     print(type(err).__name__, "is a ValueError")
    OptionError is a ValueError
"""

from __future__ import annotations


class TLKitError(Exception):
    """Base class: an error whose message tells the reader what to do next."""


class ProfileError(TLKitError, ValueError):
    """An unknown profile name, e.g. in TL_KIT_PROFILE."""


class DataError(TLKitError, ValueError):
    """A data folder or data set that cannot be used as it is (missing, one class, an empty class...)."""


class ImageError(DataError):
    """A file (on disk or uploaded) that is not an image the kit can decode."""


class WeightsError(TLKitError, RuntimeError):
    """Weights that cannot be had (no network) or cannot be read (a truncated file)."""


class ShapeError(TLKitError, ValueError):
    """An array or kernel of the wrong shape, or a window that does not fit the input."""


class OptionError(TLKitError, ValueError):
    """An argument outside the values it may take: a padding, pooling or head kind, a split name."""


class LayerError(TLKitError, ValueError):
    """A layer name the model does not have."""


class FreezeError(TLKitError, ValueError):
    """A freezing choice that cannot work (unknown preset or layer, nothing left to train); the model
    is left as it was."""


class StaleCompileError(TLKitError, RuntimeError):
    """`trainable` flags changed after compile: the change would be ignored (TensorFlow) or fail (JAX)."""


class TrainingError(TLKitError, ValueError):
    """A training call that cannot run as asked: a learning rate ≤ 0, neither or both of epochs and
    steps, a callback that needs validation data."""


class ModelFileError(TLKitError, OSError):
    """A saved model, report or run folder that is missing or cannot be read."""


class NotebookError(TLKitError, ValueError):
    """A notebook that cannot be turned into a student copy (missing, no answers, would overwrite)."""


class CheckFailed(TLKitError, AssertionError):
    """An exercise's checker failed while a teacher's grader ran the notebook (TL_KIT_GRADING=1)."""


class GradingError(TLKitError, RuntimeError):
    """A course folder or a folder of returned notebooks that cannot be used as it is (`tl_kit.grading`)."""


class DataWarning(UserWarning):
    """Some files were skipped while loading a folder; the message names them (a warning: loading goes on)."""

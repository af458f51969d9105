"""The kit's exceptions: problems a student or teacher can fix, with messages that say how.

Each is also a subclass of the built-in exception a Python user would expect
(`ValueError`, `FileNotFoundError`, ...), so ordinary `except` clauses keep working.
Inside Jupyter, `tl_kit` shows them as one short line instead of a traceback
(see `tl_kit.notebook.short_errors`).
"""

from __future__ import annotations


class TLKitError(Exception):
    """Base class: an error whose message tells the reader what to do next."""


class ProfileError(TLKitError, ValueError):
    """An unknown profile name, e.g. in TL_KIT_PROFILE."""


class DataError(TLKitError, ValueError):
    """A data folder or image that cannot be used as it is."""


class WeightsError(TLKitError, RuntimeError):
    """Weights that cannot be had (no network) or cannot be read (a truncated file)."""


class ShapeError(TLKitError, ValueError):
    """An array or kernel of the wrong shape, or a stride/padding that does not fit."""

"""Keras callbacks of the lessons: curves redrawn while `fit` runs, and each epoch's wall time."""

from __future__ import annotations

import time

import keras
import matplotlib.pyplot as plt

from . import config
from .i18n import _


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (not a plain script, a terminal IPython or a test run)."""
    if not config.live_plots():
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LiveCurves(keras.callbacks.Callback):
    """Redraw loss and a metric (train and validation) after each epoch, in place.

    It draws only inside a Jupyter kernel, at most once per `min_interval` seconds, and once more
    at the end; in a script, a test or with TL_KIT_LIVE_PLOTS=0 it stays quiet and only records.
    `history` holds every epoch's logs either way. `before` is the history of an earlier phase
    this run continues (lesson 03's phase 1): drawn first, in grey, on the same time axis.
    """

    def __init__(self, metric: str = "accuracy", title: str | None = None, min_interval: float = 1.0,
                 before: dict[str, list[float]] | None = None, label: str = ""):
        super().__init__()
        self.metric, self.title, self.min_interval = metric, title, min_interval
        self.before, self.label = before, label
        self.figure_text = ""  #: the text alternative of the last figure drawn (printed under it at the end)
        self.history: dict[str, list[float]] = {}
        self.draws = 0
        self._handle = None
        self._last = 0.0
        self.live = _in_notebook()

    def on_train_begin(self, logs=None):
        self.history = {}
        self._handle, self._last = None, 0.0

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if time.monotonic() - self._last >= self.min_interval:
            self._draw()

    def on_train_end(self, logs=None):
        self._draw()
        if self.live and self.history:
            print(_("Figure: {text}").format(text=self.figure_text))

    def figure(self) -> plt.Figure:
        """The current curves as a figure (what is drawn live)."""
        from .plots import plot_history

        fig = plot_history({self.label: self.history}, self.metric, self.title, before=self.before)
        self.figure_text = fig.alt_text
        return fig

    def _draw(self) -> None:
        self._last = time.monotonic()
        if not self.live or not self.history:
            return
        from IPython.display import display

        fig = self.figure()
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
        self.draws += 1


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of each epoch, in `seconds` (`Result.seconds_per_epoch` summarises them)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


#: How much validation loss must improve to count as better: early stopping and the checkpoint share
#: it, so the epoch a run keeps in memory is the epoch it saved to disk.
MIN_DELTA = 0.01


def early_stopping(patience: int, min_delta: float = MIN_DELTA) -> keras.callbacks.EarlyStopping:
    """The lessons' stopping rule: stop when validation loss has not improved by `min_delta` for
    `patience` epochs, and keep the best epoch's weights.

    Validation *loss*, not accuracy: on a small validation set accuracy moves in steps of one
    image and plateaus early, while the loss still says whether the model is getting better.
    A new callback each time, because one keeps its best weights and wait count between fits.

        >>> stop = early_stopping(profile.patience)             # doctest: +SKIP
        >>> model.fit(train, val, epochs=15, batch_size=32, callbacks=[stop])   # doctest: +SKIP
    """
    return keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=min_delta, patience=patience,
                                         restore_best_weights=True)

"""Run folders: where a fine-tuning run keeps its best model and its report.

A run folder is `runs/<date>-<time>-<name>/` under $TL_KIT_RUNS (default: `runs/` beside the
notebook). Only the kit names files in it; nothing a user uploads or types becomes a path.
Saved models are read back with Keras' safe mode on, which refuses to run code stored in a file.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path

import keras

from . import config
from .callbacks import MIN_DELTA
from .errors import ModelFileError, TrainingError


def runs_root() -> Path:
    """The folder that holds run folders ($TL_KIT_RUNS, else runs/ beside the notebook)."""
    return config.runs_dir()


def new_run(name: str) -> Path:
    """Create and return a fresh run folder; `name` is reduced to letters, digits, '-' and '_'."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "run"
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = runs_root() / f"{stamp}-{slug}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = runs_root() / f"{stamp}-{slug}-{suffix}"
    folder.mkdir(parents=True)
    return folder


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save `model` (the whole classifier) to `path` whenever `monitor` improves.

    Unlike keras.callbacks.ModelCheckpoint it saves the model it is given, not the one being fit:
    with a cached frozen prefix, `fit` trains only the suffix, but the file must hold everything.
    The default watches validation loss with early stopping's `min_delta` (an epoch counts as
    better only when it improves by that much, as in `keras.callbacks.EarlyStopping`), so the
    saved model is the epoch early stopping keeps; a loss improves downwards, an accuracy upwards.
    """

    def __init__(self, model_to_save, path: str | Path, monitor: str = "val_loss", min_delta: float = MIN_DELTA):
        super().__init__()
        self.model_to_save, self.path, self.monitor = model_to_save, Path(path), monitor
        self.min_delta = abs(min_delta)
        self.sign = -1.0 if "loss" in monitor else 1.0
        self.best = -float("inf")
        self.saved_epochs: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise TrainingError(f"BestModelCheckpoint watches {self.monitor!r}, which fit does not report: "
                             "pass validation data.")
        if self.sign * value > self.best + self.min_delta:
            self.best = self.sign * float(value)
            self.model_to_save.save(self.path)
            self.saved_epochs.append(epoch)


def load_model(path: str | Path, compile: bool = False):
    """Load a saved .keras model with safe mode on; a missing or damaged file is a clear error.

    By default the model comes back uncompiled, ready to predict. `TransferModel.load` asks for
    the compiled model, whose optimizer remembers the learning rate it was trained with.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"No saved model at {path}. Run the training cell first (it saves the model there).")
    from . import optimizers  # noqa: F401  (registers LayerwiseAdam, for files compiled with it)

    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelFileError(f"{path} cannot be loaded ({err}). It may be truncated: delete it and train "
                             "again.") from err


def write_report(folder: Path, **fields) -> Path:
    """Write report.json in the run folder (numbers and strings only)."""
    path = Path(folder) / "report.json"
    path.write_text(json.dumps(fields, indent=2, default=float) + "\n")
    return path


def latest_run(root: str | Path | None = None, model_file: str = "best.keras") -> Path:
    """The newest run folder that holds a saved model (`model_file`: lesson 03 saves best.keras,
    lesson 04 model.keras). After a kernel restart, this is how to get back to the last checkpoint."""
    root = Path(root) if root else runs_root()
    runs = sorted(p.parent for p in root.glob(f"*/{model_file}"))
    if not runs:
        raise ModelFileError(f"No run with a saved model under {root}. Run the fine-tuning section first.")
    return runs[-1]


def read_report(folder: str | Path) -> dict:
    """The report.json of a run folder."""
    path = Path(folder) / "report.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ModelFileError(f"Cannot read {path} ({err}): run the cell that writes the report first.") from err

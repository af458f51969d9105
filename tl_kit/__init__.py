"""tl-kit: the helper package behind the transfer-learning lessons in notebooks/.

The lessons keep the code they teach (the conv loop, the freezing, the head) in the notebook;
this package holds the plumbing: profiles, data, weights, plots, widgets, caches.

    >>> import tl_kit
    >>> profile = tl_kit.start()          # doctest: +SKIP  (prints what this runs on)
"""

import os as _os

# Quiet TensorFlow's C++ start-up chatter for students; must happen before TensorFlow loads.
# (oneDNN stays on: turning it off costs VGG16 about a third of its CPU speed.)
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .data import Dataset, load_dataset, load_image_folder  # noqa: E402
from .errors import DataError, ProfileError, ShapeError, TLKitError, WeightsError  # noqa: E402
from .notebook import start  # noqa: E402
from .preprocessing import preprocess  # noqa: E402
from .profiles import Profile, get_profile  # noqa: E402
from .weights import WeightsSource, load_vgg16, resolve_weights  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "Dataset", "DataError", "Profile", "ProfileError", "ShapeError", "TLKitError", "WeightsError",
    "WeightsSource", "get_profile", "load_dataset", "load_image_folder", "load_vgg16", "preprocess",
    "resolve_weights", "start",
]

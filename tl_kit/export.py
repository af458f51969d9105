"""A classifier to give away: it works without tl_kit, on raw pictures of any size.

The kit's models take images at one size, and a model built on `load_vgg16`'s base takes
VGG16's preprocessing done outside it (BGR, minus the ImageNet mean pixel): only the kit's own
`predict` adds that. Someone who loads such a file with plain Keras and feeds it pixels gets
the classic silent mismatch: wrong answers, no error. `export_classifier` saves instead

    image (RGB 0…255, any height and width) → Resizing(size, size) → VGG16's preprocessing
    (a Rescaling and a channel swap folded into the first convolution) → the trained classifier

built from Keras' own layers only and saved uncompiled, so that `keras.saving.load_model(path)`
loads it in a Python process that never imports tl_kit, with safe mode on, on any backend.
`write_usage` puts the few lines that use it beside it, with the class names.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from .errors import ModelFileError, ShapeError
from .i18n import N_, _
from .preprocessing import read_rgb, takes_raw_pixels, vgg16_rescaling

#: the file name of the exported classifier in a run folder
CLASSIFIER_FILE = "classifier.keras"
#: the file beside it that says how to use it without the kit
USAGE_FILE = "HOW_TO_USE.md"


def _raw_pixel_model(model: keras.Model) -> keras.Model:
    """`model` as a model that takes RGB pixels 0…255 at its own size, from Keras' own layers.

    Always a copy, uncompiled (a saved optimizer would only be noise to whoever loads it). A
    model that preprocesses itself (`takes_raw_pixels`) is copied as it is. A model that takes
    VGG16's preprocessing done outside gets it as layers: its first convolution reads its input
    channels in reverse order (RGB where it read BGR), behind a Rescaling that subtracts the
    ImageNet mean pixel (in RGB order).
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    if takes_raw_pixels(model):
        return copy
    first = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)][0]
    if not isinstance(first, keras.layers.Conv2D) or first.kernel.shape[2] != 3:
        raise ShapeError(f"Cannot fold VGG16's preprocessing into this model: its first layer, {first.name!r}, is "
                         "not a convolution of 3 input channels. Build it on tl_kit.load_pretrained(...), whose "
                         "models take raw pixels.")
    kernel, *rest = copy.get_layer(first.name).get_weights()
    copy.get_layer(first.name).set_weights([read_rgb(kernel), *rest])
    inputs = keras.Input(model.input_shape[1:], name="pixels")
    return keras.Model(inputs, copy(vgg16_rescaling()(inputs)), name="raw_pixels")


def standalone_classifier(model: keras.Model) -> keras.Model:
    """The trained classifier behind a Resizing layer and its preprocessing: RGB 0…255 of any size
    in (one size per batch), class probabilities out. Keras' own layers only."""
    size = model.input_shape[1:3]
    if None in size:
        raise ShapeError(f"The model takes images of any size already ({model.input_shape}); export needs the size "
                         "it was trained at.")
    inputs = keras.Input((None, None, 3), name="image")
    resized = keras.layers.Resizing(*size, interpolation="bilinear", name="resize")(inputs)
    return keras.Model(inputs, _raw_pixel_model(model)(resized), name="classifier")


def export_classifier(model: keras.Model, path: str | Path) -> Path:
    """Save `standalone_classifier(model)` to `path` (.keras), uncompiled: it needs no optimizer,
    loss or custom object to predict, so plain Keras loads it. Written to a temporary file first:
    nothing half-written is left if saving fails."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"Export to a .keras file; got {path.name!r}.")
    partial = path.with_name(path.name + ".partial.keras")
    try:
        standalone_classifier(model).save(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


#: HOW_TO_USE.md: its prose and code comments are filled in, in the language in use (the `USAGE_*` texts below).
USAGE = """# {title}

{about}

```python
import keras
import numpy as np
from PIL import Image

model = keras.saving.load_model("{file}")  # {where}
class_names = {names_json}
image = np.asarray(Image.open("my_picture.jpg").convert("RGB"))  # {shape}
probabilities = model.predict(image[None], verbose=0)[0]
print(class_names[int(probabilities.argmax())], float(probabilities.max()))
```

{with_kit}
"""
# TRANSLATORS: the title of HOW_TO_USE.md, a Markdown file saved beside an exported classifier; {file} is its file name.
USAGE_TITLE = N_("How to use `{file}` without tl-kit")
# TRANSLATORS: the first paragraph of HOW_TO_USE.md (Markdown; the line breaks may go); {names} are the class names.
USAGE_ABOUT = N_("""A {classes}-class image classifier: {names}. It takes RGB pictures with values 0–255, of any
height and width (one size per batch; it resizes them to {size}×{size} itself, and prepares
the pixels as its network expects), and returns one probability per class, in this order.
Nothing from tl-kit is needed: Keras 3 (any backend) and Pillow.""")
# TRANSLATORS: a Python comment in HOW_TO_USE.md, after the line that loads the model file (keep it on one line).
USAGE_WHERE = N_("run this in the run folder, or give the file's full path")
# TRANSLATORS: a Python comment in HOW_TO_USE.md: the shape and values of the picture's array (keep it on one line).
USAGE_SHAPE = N_("(height, width, 3), 0–255")
# TRANSLATORS: the last line of HOW_TO_USE.md; keep the command in backquotes as it is.
USAGE_WITH_KIT = N_("With tl-kit installed, `python -m tl_kit predict {folder} my_picture.jpg` does the same.")


def write_usage(folder: str | Path, class_names: list[str], image_size: int, file: str = CLASSIFIER_FILE) -> Path:
    """Write HOW_TO_USE.md beside an exported classifier: what it takes, what it returns, and the
    lines of plain Keras that run it."""
    folder = Path(folder)
    path = folder / USAGE_FILE
    text = USAGE.format(title=_(USAGE_TITLE).format(file=file),
                        about=_(USAGE_ABOUT).format(classes=len(class_names), names=", ".join(class_names),
                                                    size=image_size),
                        file=file, where=_(USAGE_WHERE), names_json=json.dumps(list(class_names)),
                        shape=_(USAGE_SHAPE), with_kit=_(USAGE_WITH_KIT).format(folder=folder))
    path.write_text(text, encoding="utf-8")
    return path


def load_classifier(path: str | Path) -> tuple[keras.Model, list[str] | None]:
    """An exported classifier and its class names: `path` is a run folder (its classifier.keras and
    the class names of its report.json) or a .keras file (class names from a report.json beside it,
    else None)."""
    from .runs import load_model, read_report

    path = Path(path)
    file = path / CLASSIFIER_FILE if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        raise ModelFileError(f"{path} holds no {CLASSIFIER_FILE}: run lesson 04 to the end (it exports one), or "
                             "give the path of a .keras file.")
    model = load_model(file)
    names = None
    if (file.parent / "report.json").is_file():
        fields = read_report(file.parent)
        names = fields.get("classes") or fields.get("class_names")
    if names is not None and len(names) != model.output_shape[-1]:
        names = None  # a report of another model: better no names than wrong ones
    return model, names


def predict_files(model: keras.Model, files: list[str | Path]) -> list[tuple[Path, np.ndarray | None, str | None]]:
    """(file, probabilities or None, error or None) for each picture file, read with Pillow at its own
    size: an unreadable file gets its error and the others are still classified."""
    from PIL import Image, UnidentifiedImageError

    from .preprocessing import pil_to_rgb

    out = []
    for file in map(Path, files):
        try:
            with Image.open(file) as image:
                pixels = np.asarray(pil_to_rgb(image), dtype="float32")
        except (OSError, UnidentifiedImageError) as err:
            out.append((file, None, f"cannot be read as a picture ({type(err).__name__}): give a PNG, JPEG, GIF, "
                                    "BMP or WebP file"))
            continue
        out.append((file, model.predict(pixels[None], verbose=0)[0], None))
    return out

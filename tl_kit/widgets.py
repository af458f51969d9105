"""Interactive views for the lessons. Each widget is a thin view over a plain function, so the
same thing is reachable from code, and nbval and pytest drive the widgets headless by setting
their values.

- `ConvExplorer` (lesson 01): an image, a kernel, stride, padding and pooling → feature maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from . import conv
from .errors import ShapeError, TLKitError

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
        raise ShapeError(f"pool must be 'max', 'avg' or 'none'; got {pool!r}.")
    fmap = conv.conv2d(image[..., None], kernel[..., None, None], stride=stride, padding=padding)
    pooled = None if pool == "none" else conv.pool2d(fmap, pool_size, padding="valid", mode=pool)
    (h, w), (kh, kw) = image.shape, kernel.shape
    text = (f"input {h}×{w} → conv {kh}×{kw}, stride {stride}, padding '{padding}' → "
            f"feature map {fmap.shape[0]}×{fmap.shape[1]}")
    if pooled is not None:
        text += f" → {pool} pool {pool_size}×{pool_size} → {pooled.shape[0]}×{pooled.shape[1]}"
    return ConvView(image, kernel, fmap[..., 0], None if pooled is None else pooled[..., 0], text)


def draw_conv_view(view: ConvView) -> plt.Figure:
    """Input, feature map and pooled map side by side, each at its true pixel size."""
    panels = [("input", view.image, "gray"), ("feature map", view.feature_map, "RdBu_r")]
    if view.pooled is not None:
        panels.append(("pooled", view.pooled, "RdBu_r"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4))
    for ax, (title, data, cmap) in zip(axes, panels):
        if cmap == "RdBu_r":  # centre the colours on 0: red positive, blue negative
            limit = float(np.abs(data).max()) or 1.0
            ax.imshow(data, cmap=cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(data, cmap=cmap)
        ax.set_title(f"{title}\n{data.shape[0]}×{data.shape[1]}")
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


class ConvExplorer(widgets.VBox):
    """Choose an image, a kernel (a preset or your own 3×3), stride, padding and pooling; the
    figure and the shapes redraw at once. Every control is an attribute (`image`, `preset`,
    `cells`, `stride`, `padding`, `pool`, `pool_size`); setting one from code redraws too, and
    `view` holds the latest `ConvView`.
    """

    def __init__(self, images: dict[str, np.ndarray]):
        if not images:
            raise ShapeError("ConvExplorer needs at least one image: a dict of name → (H, W) array.")
        self.images = {name: np.asarray(img, float) for name, img in images.items()}
        self.image = widgets.Dropdown(options=list(self.images), description="image")
        self.preset = widgets.Dropdown(options=list(KERNELS) + ["custom"], value="vertical edges (Sobel x)",
                                       description="kernel")
        self.cells = [widgets.FloatText(layout=widgets.Layout(width="70px")) for _ in range(9)]
        self.stride = widgets.IntSlider(value=1, min=1, max=4, description="stride")
        self.padding = widgets.ToggleButtons(options=list(conv.PADDINGS), description="padding")
        self.pool = widgets.ToggleButtons(options=["max", "avg", "none"], description="pooling")
        self.pool_size = widgets.IntSlider(value=2, min=1, max=4, description="pool size")
        self.shapes = widgets.HTML()
        self.output = widgets.Output()
        self.view: ConvView | None = None
        self.error: str | None = None
        self.redraws = 0
        self._syncing = False
        self._set_cells(KERNELS[self.preset.value])
        grid = widgets.GridBox(self.cells, layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
        controls = widgets.VBox([self.image, self.preset, widgets.HTML("editable 3×3 kernel:"), grid])
        settings = widgets.VBox([self.stride, self.padding, self.pool, self.pool_size])
        super().__init__([widgets.HBox([controls, settings]), self.shapes, self.output])
        self.preset.observe(self._on_preset, names="value")
        for control in [self.image, self.stride, self.padding, self.pool, self.pool_size]:
            control.observe(self.update, names="value")
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        self.update()

    @property
    def kernel(self) -> np.ndarray:
        """The 3×3 kernel as the cells show it."""
        return np.array([c.value for c in self.cells], float).reshape(3, 3)

    def _set_cells(self, kernel: np.ndarray) -> None:
        self._syncing = True
        try:
            for cell, value in zip(self.cells, np.asarray(kernel, float).ravel()):
                cell.value = round(float(value), 4)
        finally:
            self._syncing = False

    def _on_preset(self, change) -> None:
        if change["new"] != "custom":
            self._set_cells(KERNELS[change["new"]])
        self.update()

    def _on_cell(self, change) -> None:
        if self._syncing:
            return
        if self.preset.value != "custom":
            self._syncing = True
            self.preset.value = "custom"  # the kernel no longer is the preset
            self._syncing = False
        self.update()

    def update(self, change=None) -> None:
        """Recompute and redraw; a bad combination shows its message instead of a figure."""
        if self._syncing:
            return
        self.redraws += 1
        try:
            self.view = conv_view(self.images[self.image.value], self.kernel, self.stride.value,
                                  self.padding.value, self.pool.value, self.pool_size.value)
            self.error = None
        except TLKitError as err:
            self.view, self.error = None, str(err)
        self.output.clear_output(wait=True)
        if self.error:
            self.shapes.value = f"<b style='color:#b00'>⚠ {self.error}</b>"
            return
        self.shapes.value = f"<code>{self.view.description}</code>"
        with self.output:
            fig = draw_conv_view(self.view)
            display(fig)
            plt.close(fig)

"""Interactive views for the lessons. Each widget is a thin view over a plain function, so the
same thing is reachable from code, and nbval and pytest drive the widgets headless by setting
their values.

- `ConvExplorer` (lesson 01): an image, a kernel, stride, padding and pooling → feature maps.
- `FreezeWidget` (lesson 03): which layers of VGG16 train, with live costs; a view of `tl_kit.freezing`.
- `UploadClassifier` (lesson 03): classify an uploaded picture, read in memory only.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from . import conv
from .errors import ShapeError, TLKitError
from .freezing import PRESETS, FreezeSummary, freeze, plan, summarize, unit_layers

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


def _group(name: str) -> str:
    """'block3_conv2' → 'block3'; anything else (the head) is its own group."""
    return name.split("_")[0] if name.startswith("block") else name


def draw_network(model, trainable: set[str], title: str = "") -> plt.Figure:
    """The network as a row of boxes, one per layer, height by its number of filters/units;
    trainable layers orange, frozen layers blue-grey, pooling layers thin."""
    layers = unit_layers(model)
    fig, ax = plt.subplots(figsize=(min(14, 0.55 * len(layers) + 2), 2.6))
    x = 0.0
    for layer in layers:
        channels = layer.output.shape[-1] or 1
        height = 0.4 + 1.6 * np.log2(channels) / np.log2(1024)
        width = 0.25 if not layer.weights else 0.8
        color = "#f28e2b" if layer.name in trainable and layer.weights else ("#c9d3df" if layer.weights else "#e8e8e8")
        ax.add_patch(plt.Rectangle((x, -height / 2), width, height, color=color, ec="#555", lw=0.6))
        x += width + 0.12
    ax.set_xlim(-0.2, x)
    ax.set_ylim(-1.3, 1.3)
    ax.axis("off")
    starts, x = {}, 0.0
    for layer in layers:
        starts.setdefault(_group(layer.name), x)
        x += (0.25 if not layer.weights else 0.8) + 0.12
    for group, start in starts.items():
        ax.text(start, -1.25, group, fontsize=8)
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color="#f28e2b"), plt.Rectangle((0, 0), 1, 1, color="#c9d3df")],
              labels=["trainable", "frozen"], loc="upper right", fontsize=8, ncols=2)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


class FreezeWidget(widgets.VBox):
    """Choose which layers train: per-layer and per-block checkboxes (ticked = trainable) and the
    presets of `tl_kit.freezing.PRESETS`. Trainable and frozen parameters, the relative cost of a
    training step and a picture of the network update as you choose; **Apply** sets the flags and
    recompiles (`tl_kit.freezing.freeze`). Controls are attributes (`preset`, `layer_boxes`,
    `block_boxes`, `learning_rate`, `apply_button`); `apply()` does what the button does.
    """

    def __init__(self, model, learning_rate: float = 1e-5):
        self.model = model
        self.names = [layer.name for layer in unit_layers(model)]
        self._syncing = False
        self.redraws = 0
        # what is in force now: the last freeze() on this model, if the kit compiled it
        self.applied: FreezeSummary | None = summarize(model) if hasattr(model, "_tl_kit_compiled") else None
        self.error: str | None = None
        counts = {n: int(sum(np.prod(w.shape) for w in model.get_layer(n).weights)) for n in self.names}
        self.layer_boxes = {n: widgets.Checkbox(value=model.get_layer(n).trainable and bool(counts[n]),
                                                description=f"{n} ({counts[n]:,})", indent=False,
                                                disabled=not counts[n], layout=widgets.Layout(width="230px"))
                            for n in self.names}
        groups: dict[str, list[str]] = {}
        for n in self.names:
            groups.setdefault(_group(n), []).append(n)
        self.groups = groups
        self.block_boxes = {g: widgets.Checkbox(value=False, description=f"all of {g}", indent=False,
                                                layout=widgets.Layout(width="230px"))
                            for g, members in groups.items() if len(members) > 1}
        self.preset = widgets.ToggleButtons(options=list(PRESETS) + ["custom"], value="custom",
                                            description="preset", style={"button_width": "auto"})
        self.learning_rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-6, max=-2, step=0.5,
                                                    description="learning rate", readout_format=".0e",
                                                    style={"description_width": "initial"})
        self.apply_button = widgets.Button(description="Apply: set trainable, recompile", button_style="primary",
                                           layout=widgets.Layout(width="260px"))
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        self.picture = widgets.Output()
        columns = []
        for g, members in groups.items():
            column = ([self.block_boxes[g]] if g in self.block_boxes else []) + [self.layer_boxes[n] for n in members]
            columns.append(widgets.VBox([widgets.HTML(f"<b>{g}</b>")] + column))
        super().__init__([self.preset, widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap")),
                          self.summary, self.picture, widgets.HBox([self.learning_rate, self.apply_button]),
                          self.status])
        self.preset.observe(self._on_preset, names="value")
        for box in self.layer_boxes.values():
            box.observe(self._on_layer, names="value")
        for g, box in self.block_boxes.items():
            box.observe(lambda change, g=g: self._on_block(g, change), names="value")
        self.apply_button.on_click(lambda _: self.apply())
        self._sync_blocks()
        self.update()

    def selection(self) -> set[str]:
        """The layers ticked as trainable now (applied or not)."""
        return {n for n, box in self.layer_boxes.items() if box.value}

    @property
    def preview(self) -> FreezeSummary:
        """What the ticked choice would mean, before Apply."""
        return summarize(self.model, self.selection())

    def _set_boxes(self, trainable: set[str]) -> None:
        self._syncing = True
        try:
            for n, box in self.layer_boxes.items():
                box.value = n in trainable and not box.disabled
            self._sync_blocks()
        finally:
            self._syncing = False

    def _sync_blocks(self) -> None:
        was, self._syncing = self._syncing, True
        for g, box in self.block_boxes.items():
            members = [self.layer_boxes[n] for n in self.groups[g] if not self.layer_boxes[n].disabled]
            box.value = all(m.value for m in members)
        self._syncing = was

    def _on_preset(self, change) -> None:
        if self._syncing or change["new"] == "custom":
            return
        self._set_boxes(plan(self.model, preset=change["new"]))
        self.update()

    def _on_layer(self, change) -> None:
        if self._syncing:
            return
        self._sync_blocks()
        self._mark_custom()
        self.update()

    def _on_block(self, group: str, change) -> None:
        if self._syncing:
            return
        self._syncing = True
        for n in self.groups[group]:
            if not self.layer_boxes[n].disabled:
                self.layer_boxes[n].value = change["new"]
        self._syncing = False
        self._mark_custom()
        self.update()

    def _mark_custom(self) -> None:
        chosen = self._weighted(self.selection())
        matching = [p for p in PRESETS if self._weighted(plan(self.model, preset=p)) == chosen]
        self._syncing = True
        self.preset.value = matching[0] if matching else "custom"
        self._syncing = False

    def _weighted(self, names: set[str]) -> set[str]:
        return {n for n in names if not self.layer_boxes[n].disabled}

    def update(self) -> None:
        """Redraw the live summary and picture for the ticked choice."""
        self.redraws += 1
        preview = self.preview
        pending = self.applied is None or self._weighted(set(self.applied.trainable)) != self._weighted(self.selection())
        self.summary.value = (f"<b>trainable</b> {preview.trainable_params:,} parameters · <b>frozen</b> "
                              f"{preview.frozen_params:,} · one training step ≈ <b>{preview.relative_step_cost:.0%}</b> "
                              f"of training everything ({preview.cached_step_cost:.0%} with the frozen prefix cached)"
                              + (" · <i>not applied yet</i>" if pending else " · <i>applied</i>"))
        self.picture.clear_output(wait=True)
        with self.picture:
            fig = draw_network(self.model, self.selection(), "orange: trains · blue-grey: frozen")
            display(fig)
            plt.close(fig)

    def apply(self) -> FreezeSummary | None:
        """Set `trainable` on every layer as ticked and recompile; a bad choice is reported and changes nothing."""
        try:
            self.applied = freeze(self.model, train=sorted(self._weighted(self.selection())) or [],
                                  learning_rate=self.learning_rate.value)
            self.error = None
            self.status.value = (f"✓ applied and recompiled (a change to <code>trainable</code> takes effect only "
                                 f"after compile): {self.applied}")
        except TLKitError as err:
            self.error = str(err)
            self.status.value = f"<b style='color:#b00'>⚠ {err}</b>"
        self.update()
        return self.applied


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
        return ", ".join(f"{name} {p:.1%}" for name, p in self.top())


def classify_bytes(model, data: bytes, class_names: list[str], image_size: int) -> Prediction:
    """Classify an image given as the bytes of a file (PNG, JPEG, ...), read in memory only."""
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    from .preprocessing import pil_to_rgb, preprocess, resize_rgb

    try:
        with Image.open(io.BytesIO(bytes(data))) as picture:
            picture.load()
            rgb = resize_rgb(pil_to_rgb(ImageOps.exif_transpose(picture)), image_size)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ShapeError(f"That file is not an image the kit can read ({type(err).__name__}). "
                         "Upload a PNG, JPEG, GIF, BMP or WebP picture.") from err
    probabilities = model.predict(preprocess(rgb[None]), verbose=0)[0]
    return Prediction(rgb, probabilities, list(class_names))


class UploadClassifier(widgets.VBox):
    """Upload a picture; the model says what it sees, with its top-3 probabilities.

    The upload is read in memory and never written to disk, and its file name is only shown
    (escaped), never used as a path. `classify(data)` does the same from code.
    """

    def __init__(self, model, class_names: list[str], image_size: int):
        self.model, self.class_names, self.image_size = model, list(class_names), image_size
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload a picture")
        self.output = widgets.Output()
        self.message = widgets.HTML()
        self.last: Prediction | None = None
        self.error: str | None = None
        super().__init__([self.upload, self.message, self.output])
        self.upload.observe(self._on_upload, names="value")

    def _on_upload(self, change) -> None:
        for item in change["new"] or ():
            self.classify(item["content"], label=str(item.get("name", "")))

    def classify(self, data: bytes, label: str = "") -> Prediction | None:
        """Classify one file's bytes and show the result (or why it cannot be read)."""
        import html

        self.output.clear_output(wait=True)
        try:
            self.last = classify_bytes(self.model, data, self.class_names, self.image_size)
        except TLKitError as err:
            self.last, self.error = None, str(err)
            self.message.value = f"<b style='color:#b00'>⚠ {html.escape(label)}: {html.escape(str(err))}</b>"
            return None
        self.error = None
        self.message.value = f"{html.escape(label)}: <b>{html.escape(repr(self.last))}</b>"
        with self.output:
            fig = draw_prediction(self.last)
            display(fig)
            plt.close(fig)
        return self.last


def draw_prediction(prediction: Prediction, k: int = 3) -> plt.Figure:
    """The picture as the model saw it, and a bar chart of its top-k probabilities."""
    fig, (ax_image, ax_bars) = plt.subplots(1, 2, figsize=(6, 2.4), gridspec_kw={"width_ratios": [1, 1.6]})
    ax_image.imshow(prediction.image)
    ax_image.axis("off")
    names, probs = zip(*prediction.top(k))
    ax_bars.barh(range(len(names))[::-1], probs, color="#4e79a7")
    ax_bars.set_yticks(range(len(names))[::-1], names)
    ax_bars.set_xlim(0, 1)
    ax_bars.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    fig.tight_layout()
    return fig

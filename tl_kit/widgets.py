"""Interactive views for the lessons. Each widget is a thin view over plain code, so the same
thing is reachable from code, and nbval and pytest drive the widgets headless by setting their
values.

- `ConvExplorer` (lesson 01): an image, a kernel, stride, padding and pooling → feature maps
  (`tl_kit.conv.conv_view`, drawn by `tl_kit.plots.plot_conv_view`).
- `FreezeWidget` (lessons 03, 04): which layers of the base train, with live costs; a view of a
  `tl_kit.transfer.TransferModel`.
- `UploadClassifier` (lesson 03): classify an uploaded picture, read in memory only
  (`tl_kit.uploads.classify_bytes`).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from . import conv
from .conv import KERNELS, ConvView, conv_view
from .errors import ShapeError, TLKitError
from .i18n import _, figure_text
from .batchnorm import is_batchnorm
from .freezing import PRESETS, FreezeSummary, block_of, can_train, summarize, unit_layers
from .plots import plot_conv_view, plot_network, plot_prediction
from .uploads import Prediction, classify_bytes


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
        self.image = widgets.Dropdown(options=list(self.images), description=_("image"))
        self.preset = widgets.Dropdown(options=list(KERNELS) + ["custom"], value="vertical edges (Sobel x)",
                                       description=_("kernel"))
        self.cells = [widgets.FloatText(layout=widgets.Layout(width="70px")) for _ in range(9)]
        self.stride = widgets.IntSlider(value=1, min=1, max=4, description=_("stride"))
        self.padding = widgets.ToggleButtons(options=list(conv.PADDINGS), description=_("padding"))
        self.pool = widgets.ToggleButtons(options=["max", "avg", "none"], description=_("pooling"))
        self.pool_size = widgets.IntSlider(value=2, min=1, max=4, description=_("pool size"))
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
            fig = plot_conv_view(self.view)
            display(fig)
            plt.close(fig)


class FreezeWidget(widgets.VBox):
    """Choose which layers of a `TransferModel` train: per-layer and per-block checkboxes (ticked =
    trainable) and the presets of `tl_kit.freezing.PRESETS` (relative to the cut: "the last block"
    is the last block kept). Blocks the model was cut before are shown as gone, not as frozen:
    no box to tick, and a hollow outline in the picture. Trainable and frozen parameters, the
    relative cost of a training step and a picture of the network update as you choose; **Apply**
    calls `transfer_model.train_only(...)`, which sets the flags and recompiles. Controls are
    attributes (`preset`, `layer_boxes`, `block_boxes`, `learning_rate`, `apply_button`);
    `apply()` does what the button does.

    Layers without weights, and BatchNormalization layers (always frozen, in inference mode: see
    `TransferModel.train_only`), have a box that cannot be ticked. A block of more than
    `LONG_BLOCK` layers (EfficientNet's stages: up to 36) lists them folded away under its
    "all of" box, and the picture then draws one box per block.
    """

    #: Blocks with more layers than this list them in a folded section.
    LONG_BLOCK = 8

    def __init__(self, transfer_model, learning_rate: float = 1e-5):
        self.transfer_model = transfer_model
        self.model = model = transfer_model.model
        self.names = [layer.name for layer in unit_layers(model)]
        self._syncing = False
        self.redraws = 0
        self.applied: FreezeSummary = transfer_model.summary()  # what is in force now
        self.error: str | None = None
        counts = {n: model.get_layer(n).count_params() for n in self.names}
        self.layer_boxes = {n: widgets.Checkbox(value=model.get_layer(n).trainable and can_train(model.get_layer(n)),
                                                description=f"{n} ({counts[n]:,})", indent=False,
                                                disabled=not can_train(model.get_layer(n)),
                                                tooltip=self._why_fixed(model.get_layer(n)),
                                                layout=widgets.Layout(width="230px"))
                            for n in self.names}
        groups: dict[str, list[str]] = {}
        for n in self.names:
            groups.setdefault(block_of(n), []).append(n)
        self.groups = groups
        self.block_boxes = {g: widgets.Checkbox(value=False, description=_("all of {block}").format(block=g), indent=False,
                                                layout=widgets.Layout(width="230px"))
                            for g, members in groups.items()
                            if len(members) > 1 and any(not self.layer_boxes[n].disabled for n in members)}
        self.batchnorm_count = sum(is_batchnorm(model.get_layer(n)) for n in self.names)
        self.preset = widgets.ToggleButtons(options=[(_(p.label), p.id) for p in PRESETS.values()] + [(_("custom"), "custom")],
                                            value="custom",
                                            description=_("preset"), style={"button_width": "auto"})
        self.learning_rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-6, max=-2, step=0.5,
                                                    description=_("learning rate"), readout_format=".0e",
                                                    style={"description_width": "initial"})
        self.apply_button = widgets.Button(description=_("Apply: set trainable, recompile"), button_style="primary",
                                           layout=widgets.Layout(width="260px"))
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        self.picture = widgets.Output()
        columns = []
        for g, members in groups.items():
            column = ([self.block_boxes[g]] if g in self.block_boxes else []) + \
                self._listed([self.layer_boxes[n] for n in members])
            columns.append(widgets.VBox([widgets.HTML(f"<b>{g}</b>")] + column))
        self.cut_away = transfer_model.cut_away
        gone: dict[str, list[str]] = {}
        for n, _block in self.cut_away:
            gone.setdefault(block_of(n), []).append(n)
        for g, members in gone.items():  # after the head's column would be confusing: before it, in order
            columns.insert(len(columns) - 1, widgets.VBox(
                [widgets.HTML("<b style='color:#999'>" + _("{block}: cut away").format(block=g) + "</b>")]
                + self._listed([widgets.HTML(f"<s style='color:#999'>{n}</s>", layout=widgets.Layout(width="230px"))
                                for n in members])))
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

    @staticmethod
    def _why_fixed(layer) -> str | None:
        """The tooltip of a box that cannot be ticked (None for one that can)."""
        if is_batchnorm(layer):
            return _("BatchNormalization: always frozen, in inference mode (keras.io's advice for fine-tuning)")
        return None if layer.weights else _("no weights to train")

    def _listed(self, rows: list) -> list:
        """A block's rows as they are, or folded into one section when the block is long."""
        if len(rows) <= self.LONG_BLOCK:
            return rows
        return [widgets.Accordion([widgets.VBox(rows)], titles=(_("its {n} layers").format(n=len(rows)),), selected_index=None,
                                  layout=widgets.Layout(width="250px"))]

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
        self._set_boxes(PRESETS[change["new"]].trains(self.model))
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
        matching = [p.id for p in PRESETS.values() if self._weighted(p.trains(self.model)) == chosen]
        self._syncing = True
        self.preset.value = matching[0] if matching else "custom"
        self._syncing = False

    def _weighted(self, names: set[str]) -> set[str]:
        return {n for n in names if not self.layer_boxes[n].disabled}

    def update(self) -> None:
        """Redraw the live summary and picture for the ticked choice."""
        self.redraws += 1
        preview = self.preview
        pending = self._weighted(set(self.applied.trainable)) != self._weighted(self.selection())
        self.summary.value = (_("<b>trainable</b> {trainable:,} parameters · <b>frozen</b> {frozen:,} · one training "
                                "step ≈ <b>{cost:.0%}</b> of training everything ({cached} with the frozen prefix "
                                "cached)").format(trainable=preview.trainable_params, frozen=preview.frozen_params,
                                                  cost=preview.relative_step_cost, cached=preview.cached_share)
                              + (_(" · the {n} BatchNormalization layers stay frozen (inference mode)").format(
                                  n=self.batchnorm_count) if self.batchnorm_count else "")
                              + (_(" · <i>not applied yet</i>") if pending else _(" · <i>applied</i>")))
        self.picture.clear_output(wait=True)
        with self.picture:
            fig = plot_network(self.model, self.selection(), figure_text("orange: trains · blue-grey: frozen"), self.cut_away)
            display(fig)
            plt.close(fig)

    def apply(self) -> FreezeSummary:
        """Set `trainable` on every layer as ticked and recompile; a bad choice is reported and changes nothing."""
        try:
            self.applied = self.transfer_model.train_only(sorted(self._weighted(self.selection())),
                                                          learning_rate=self.learning_rate.value)
            self.error = None
            self.status.value = _("✓ applied and recompiled (a change to <code>trainable</code> takes effect only "
                                  "after compile): {summary}").format(summary=self.applied)
        except TLKitError as err:
            self.error = str(err)
            self.status.value = f"<b style='color:#b00'>⚠ {err}</b>"
        self.update()
        return self.applied


class UploadClassifier(widgets.VBox):
    """Upload a picture; the model says what it sees, with its top-3 probabilities.

    The upload is read in memory and never written to disk, and its file name is only shown
    (escaped), never used as a path. `classify(data)` does the same from code.
    """

    def __init__(self, model, class_names: list[str], image_size: int):
        self.model, self.class_names, self.image_size = model, list(class_names), image_size
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description=_("Upload a picture"))
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
            fig = plot_prediction(self.last)
            display(fig)
            plt.close(fig)
        return self.last

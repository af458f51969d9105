"""Figures the lessons share: image grids, per-class counts, training curves, confusion matrices.

Each function draws into a new matplotlib figure and returns it, so a notebook shows it inline
and a test (or a teacher preparing slides) can save it with `fig.savefig(...)`.
"""

from __future__ import annotations

import functools
from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter
import numpy as np

from .i18n import N_, _, figure_text
from .reporting import Interval, mean_interval


def _alt(fig: plt.Figure, text: str) -> plt.Figure:
    """Attach the figure's text alternative: one or two sentences that say what it shows, printed
    under it by `tl_kit.show_figure` for readers who cannot see it (and as its caption for all)."""
    fig.alt_text = text
    return fig


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _chain(items: Sequence[str], template: str) -> str:
    """`items` linked pairwise by a translated `template` with {a} and {b}: "x to y to z" from
    `_("{a} to {b}")`, so that the word between them is translated too ("" for no items)."""
    return functools.reduce(lambda a, b: template.format(a=a, b=b), items) if len(items) else ""


def plot_examples(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], per_class: int = 6,
                  title: str | None = None, seed: int = 0) -> plt.Figure:
    """A grid: one row per class, `per_class` random examples each, the class name on the left."""
    rng = np.random.default_rng(seed)
    rows = len(class_names)
    fig, axes = plt.subplots(rows, per_class, figsize=(per_class * 0.9 + 1.2, rows * 0.9), squeeze=False)
    for r, name in enumerate(class_names):
        idx = np.flatnonzero(labels == r)
        picks = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for c in range(per_class):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(picks):
                ax.imshow(images[picks[c]], cmap="gray")
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    shown = ", ".join(f"{name} ({min(per_class, int(np.sum(labels == r)))})" for r, name in enumerate(class_names))
    return _alt(fig, _("Example images in a grid, one row per class, up to {per_class} per row: {shown}.").format(
        per_class=per_class, shown=shown))


def plot_history(histories: dict[str, dict[str, list[float]]], metric: str = "accuracy",
                 title: str | None = None, before: dict[str, list[float]] | None = None,
                 before_label: str | None = None) -> plt.Figure:
    """Loss and `metric` per epoch (train solid, validation dashed) for one or more named runs, on
    shared, honest axes (accuracy from 0 to 1, loss from 0).

    `before` is a history that every run continued from (lesson 03's phase 1): it is drawn once,
    in grey, and each run's epochs follow it on the same time axis, after a line marking where
    the runs begin. (With early stopping the runs start from the best epoch of `before`, not
    necessarily its last one.) Its legend label is `before_label`, by default "phase 1: head only".
    """
    def curve(run: str, validation: bool) -> str:
        # TRANSLATORS: a legend entry: a training run's name (possibly empty), then which of its curves it is.
        return (figure_text("{run} val") if validation else figure_text("{run} train")).format(run=run)

    before_label = figure_text("phase 1: head only") if before_label is None else before_label
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.6))
    offset = 0
    if before:
        offset = len(before.get("loss", before.get(f"val_{metric}", [])))
        for ax, key in ((ax_loss, "loss"), (ax_metric, metric)):
            for prefix, style in (("", "-"), ("val_", "--")):
                if f"{prefix}{key}" in before:
                    values = before[f"{prefix}{key}"]
                    ax.plot(np.arange(1, len(values) + 1), values, color="0.55", linestyle=style,
                            label=curve(before_label, bool(prefix)))
            ax.axvline(offset + 0.5, color="0.3", linewidth=1, linestyle=":")
            ax.annotate(" " + figure_text("next phase starts"), (offset + 0.5, 0.93),
                        xycoords=("data", "axes fraction"), fontsize=7, color="0.3")
    for i, (name, hist) in enumerate(histories.items()):
        color = f"C{i}"
        for ax, key in ((ax_loss, "loss"), (ax_metric, metric)):
            for prefix, style in (("", "-"), ("val_", "--")):
                if f"{prefix}{key}" in hist:
                    values = hist[f"{prefix}{key}"]
                    epochs = offset + np.arange(1, len(values) + 1)
                    ax.plot(epochs, values, color=color, linestyle=style, marker="." if len(values) < 6 else None,
                            label=curve(name, bool(prefix)).strip())
    for ax in (ax_loss, ax_metric):
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    ax_loss.set_ylim(bottom=0)
    ax_metric.set_ylim(0, 1)
    ax_metric.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax_loss.set(xlabel=figure_text("epoch"), ylabel=figure_text("loss (cross-entropy)"), title=figure_text("loss"))
    accuracy = metric == "accuracy"  # the kit's own metric has its name translated; another is a Keras key
    ax_metric.set(xlabel=figure_text("epoch"),
                  ylabel=figure_text("accuracy (plain, not balanced)") if accuracy else metric,
                  title=figure_text("accuracy") if accuracy else metric)
    ax_metric.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    said = _("accuracy") if accuracy else metric
    finals = "; ".join(
        (_("{run} validation {metric} {value} after {n} epochs") if name else
         _("validation {metric} {value} after {n} epochs")).format(run=name, metric=said,
                                                                   value=_pct(h[f"val_{metric}"][-1]),
                                                                   n=len(h[f"val_{metric}"]))
        for name, h in histories.items() if h.get(f"val_{metric}"))
    sentences = [_("Training curves: loss (left) and {metric} (right) per epoch, training solid and validation "
                   "dashed.").format(metric=said)]
    if before:
        sentences.append(_("A first phase, in grey, comes before a dotted line; the runs continue after it."))
    sentences.append(_("Last epoch's values: {finals} (with early stopping the model kept is its best epoch, which "
                       "the tables score).").format(finals=finals or _("none yet")))
    return _alt(fig, " ".join(sentences))


def plot_confusion(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                   title: str | None = None) -> plt.Figure:
    """Rows = true class, columns = predicted class. Each cell shows how many test images it
    holds (a count, which stays honest when a class has only a few images), its colour the
    fraction of that row, so that classes of different sizes can be compared. The title is by
    default "Confusion matrix (test)"."""
    from sklearn.metrics import confusion_matrix

    title = figure_text("Confusion matrix (test)") if title is None else title
    counts = confusion_matrix(y_true, y_pred, labels=np.arange(len(class_names)))
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(3.4 + 0.65 * n, 2.0 + 0.6 * n))
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(counts):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                color="white" if fractions[i, j] > 0.6 else "black")
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), [f"{name} ({row})" for name, row in zip(class_names, counts.sum(axis=1))])
    ax.set_xlabel(figure_text("predicted class"))
    ax.set_ylabel(figure_text("true class (test images)"))
    fig.colorbar(image, ax=ax, shrink=0.8, label=figure_text("fraction of the true class"),
                 format=PercentFormatter(1.0))
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    off = counts - np.diag(np.diag(counts))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    if not off[i, j]:
        worst = _("There are no mistakes.")
    elif off[i, j] == 1:
        worst = _("The most frequent mistake: {true} taken for {predicted} ({n} image).")
    else:
        worst = _("The most frequent mistake: {true} taken for {predicted} ({n} images).")
    worst = worst.format(true=class_names[i], predicted=class_names[j], n=off[i, j])
    return _alt(fig, _("Confusion matrix of {total} test images in {n} classes, true class by row, prediction by "
                       "column: {right} on the diagonal are right.").format(total=counts.sum(), n=n,
                                                                            right=np.trace(counts)) + " " + worst)


def plot_feature_maps(image: np.ndarray, maps: dict[str, np.ndarray], kernels: dict[str, np.ndarray] | None = None,
                      title: str | None = None) -> plt.Figure:
    """The input, then one column per named feature map (its kernel drawn above it, if given)."""
    rows = 2 if kernels else 1
    fig, axes = plt.subplots(rows, len(maps) + 1, figsize=(2.3 * (len(maps) + 1), 2.5 * rows), squeeze=False)
    axes[-1, 0].imshow(image, cmap="gray")
    axes[-1, 0].set_title(figure_text("input"))
    for col, (name, fmap) in enumerate(maps.items(), start=1):
        limit = float(np.abs(fmap).max()) or 1.0
        axes[-1, col].imshow(fmap, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[-1, col].set_title(name, fontsize=9)
        if kernels:
            k = kernels[name]
            axes[0, col].imshow(k, cmap="RdBu_r", vmin=-np.abs(k).max(), vmax=np.abs(k).max())
            for (i, j), v in np.ndenumerate(k):
                strong = abs(v) > 0.6 * np.abs(k).max()  # white text on the darkest cells
                axes[0, col].text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8,
                                  color="white" if strong else "black")
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    if kernels:
        axes[0, 0].axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _alt(fig, _("The input picture and its feature map under each kernel ({kernels}): red where the kernel "
                       "responds positively, blue negatively.").format(kernels=", ".join(maps)))


def plot_filters(kernel: np.ndarray, title: str, bgr: bool = True) -> plt.Figure:
    """First-layer filters (kh, kw, 3, n) as small colour tiles, each scaled to its own range.

    VGG16 sees BGR images, so its filters' channel axis is reversed for display (bgr=True).
    """
    n = kernel.shape[-1]
    cols = 16
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.6, rows * 0.6 + 0.6), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            f = kernel[..., i]
            f = f[..., ::-1] if bgr else f
            ax.imshow((f - f.min()) / (np.ptp(f) or 1.0), interpolation="nearest")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _alt(fig, _("{n} first-layer filters of {height}×{width}×{channels}, each drawn as a small colour patch "
                       "scaled to its own range ({title}).").format(n=n, height=kernel.shape[0], width=kernel.shape[1],
                                                                   channels=kernel.shape[2], title=title))


def plot_activations(activations: dict[str, np.ndarray], channels: int = 8, title: str | None = None) -> plt.Figure:
    """For each named layer (a row), its first `channels` feature maps of one image (H, W, C).

    Each map is drawn on its own colour scale, from 0 (dark violet: a response just above 0) to
    its own maximum (yellow, the number above the map), so a channel whose values are small
    still shows its pattern beside one whose values are near 500. Black means exactly 0 (or
    below): the ReLU cut that position off, no response at all. A map that is all black is
    *silent*: the channel did not respond anywhere in this image. The text alternative counts
    the silent maps and the share of black positions in each row.

    >>> fig = plot_activations({"block1_conv2": np.maximum(np.random.randn(16, 16, 8), 0)})  # doctest: +SKIP
    """
    fig, axes = plt.subplots(len(activations), channels, figsize=(channels * 1.25 + 1, len(activations) * 1.55),
                             squeeze=False, layout="constrained")
    colours = plt.get_cmap("viridis").with_extremes(bad="black")  # positions masked below: activation ≤ 0
    rows = []
    for r, (name, act) in enumerate(activations.items()):
        maps = np.asarray(act[..., :channels], dtype="float64")
        maxima = maps.max(axis=(0, 1))  # one per map shown
        for c in range(channels):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if c >= len(maxima):
                ax.axis("off")
                continue
            top = float(maxima[c])
            ax.imshow(np.ma.masked_less_equal(maps[..., c], 0), cmap=colours, vmin=0, vmax=max(top, 1e-12),
                      interpolation="nearest")
            ax.set_facecolor("black")  # an all-masked (silent) map draws nothing over it
            # TRANSLATORS: above a feature map: its largest value; "silent": it is 0 everywhere.
            ax.set_title(figure_text("max {top:.3g}").format(top=top) if top > 0 else figure_text("silent"),
                         fontsize=7, pad=2)
        axes[r, 0].set_ylabel(f"{name}\n{act.shape[0]}×{act.shape[1]}×{act.shape[2]}", rotation=0, ha="right",
                              va="center", fontsize=8)
        shown, silent, tops = len(maxima), int(np.sum(maxima <= 0)), maxima[maxima > 0]
        black = float(np.mean(maps <= 0))
        if tops.size:
            rows.append(_("{layer}: {silent} of {shown} maps silent, {black:.0%} of positions black, maxima {low:.3g} "
                          "to {high:.3g}").format(layer=name, silent=silent, shown=shown, black=black, low=tops.min(),
                                                  high=tops.max()))
        else:
            rows.append(_("{layer}: {silent} of {shown} maps silent, {black:.0%} of positions black").format(
                layer=name, silent=silent, shown=shown, black=black))
    if title:
        fig.suptitle(title, fontsize=10)
    # TRANSLATORS: links layer names in order, "block1_conv2 to block3_conv3 to block5_conv3".
    layers = _chain(list(activations), _("{a} to {b}"))
    return _alt(fig, _("Feature maps of one image, the first {channels} channels of each layer in a row, from "
                       "{layers}; each map on its own colour scale, from dark violet (just above 0) to yellow (its "
                       "maximum, written above it); black: exactly 0, no response; an all-black map is silent "
                       "({rows}).").format(channels=channels, layers=layers, rows="; ".join(rows)))


def plot_projection(features: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str,
                    tsne: bool = True, seed: int = 0) -> plt.Figure:
    """Features squeezed to 2-D by PCA (and t-SNE), one colour per class."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    flat = StandardScaler().fit_transform(features.reshape(len(features), -1))
    methods = {"PCA": PCA(n_components=2, random_state=seed)}
    if tsne:
        perplexity = min(30.0, max(2.0, (len(flat) - 1) / 4))
        methods["t-SNE"] = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    fig, axes = plt.subplots(1, len(methods), figsize=(6 * len(methods), 5), squeeze=False)
    for ax, (name, method) in zip(axes[0], methods.items()):
        points = method.fit_transform(flat)
        for c, cname in enumerate(class_names):
            mask = labels == c
            ax.scatter(points[mask, 0], points[mask, 1], s=8, color=plt.cm.tab10(c % 10), label=cname)
        ax.set_title(name)
        ax.set_xticks([]), ax.set_yticks([])
    axes[0, -1].legend(fontsize=8, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.suptitle(title)
    fig.tight_layout()
    # TRANSLATORS: links names, "PCA and t-SNE", "blocks 3 and 4", "x and y and z".
    both = _chain(list(methods), _("{a} and {b}"))
    return _alt(fig, _("{n} images' features squeezed to two dimensions by {methods}, one colour per class "
                       "({classes} classes): classes that form separate clouds are easy for a linear probe.").format(
        n=len(features), methods=both, classes=len(class_names)))


def plot_confused(images: np.ndarray, y_true: np.ndarray, probs: np.ndarray, class_names: Sequence[str],
                  n: int = 8, title: str | None = None) -> plt.Figure:
    """The n wrong predictions the model was surest of, with true and predicted class (the title by
    default "The most confidently wrong test images")."""
    title = figure_text("The most confidently wrong test images") if title is None else title
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]])][:n]
    fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(1.9 * max(len(wrong), 1), 2.6), squeeze=False)
    for ax, i in zip(axes[0], wrong):
        ax.imshow(images[i], cmap="gray")
        ax.set_title(figure_text("true: {true}\npred: {predicted}\n{share:.0%} sure").format(
            true=class_names[y_true[i]], predicted=class_names[pred[i]], share=probs[i, pred[i]]), fontsize=8)
    for ax in axes[0]:
        ax.axis("off")
    fig.suptitle(title if len(wrong) else figure_text("No wrong predictions"))
    fig.tight_layout(rect=(0, 0, 1, 0.85))
    if not len(wrong):
        return _alt(fig, _("No test image was classified wrongly."))
    pairs = ", ".join(_("{true} as {predicted}").format(true=class_names[y_true[i]], predicted=class_names[pred[i]])
                      for i in wrong)
    return _alt(fig, _("The {n} test images the classifier got wrong most confidently, each with its true and "
                       "predicted class: {pairs}.").format(n=len(wrong), pairs=pairs))


def _finish_accuracy_plot(fig: plt.Figure, ax: plt.Axes, title: str, ylabel: str,
                          chance: float | None = None) -> plt.Figure:
    """An honest accuracy axis: from 0 to 100%, chance marked; a light grid, the legend, the title."""
    ax.set_ylim(0, 1)
    if chance is not None:
        ax.axhline(chance, color="0.4", linestyle=":", linewidth=1,
                   label=figure_text("chance ({chance:.0%})").format(chance=chance))
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_kernel_learning(losses: Sequence[float], learned: np.ndarray, target: np.ndarray, title: str) -> plt.Figure:
    """The loss of gradient descent per step (log scale), and the learnt kernel beside the one
    that made the data, each cell labelled with its value, on one shared colour scale."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.5), gridspec_kw={"width_ratios": [1.6, 1, 1]}, layout="constrained")
    axes[0].plot(np.arange(1, len(losses) + 1), losses)
    axes[0].set_yscale("log")
    axes[0].set_xlabel(figure_text("gradient-descent step"))
    axes[0].set_ylabel(figure_text("mean squared error (log scale)"))
    axes[0].set_title(figure_text("loss"), fontsize=9)
    axes[0].grid(alpha=0.3)
    limit = float(max(np.abs(learned).max(), np.abs(target).max())) or 1.0
    for ax, kernel, name in ((axes[1], learned, figure_text("learnt kernel")),
                             (axes[2], target, figure_text("target kernel"))):
        image = ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), v in np.ndenumerate(kernel):
            ax.text(j, i, f"{v:.2f}".replace("-0.00", "0.00"), ha="center", va="center", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    fig.colorbar(image, ax=axes[1:], shrink=0.8, label=figure_text("weight"))
    fig.suptitle(title, fontsize=10)
    return _alt(fig, _("Left: the mean squared error falls from {first:.3g} to {last:.3g} over {n} gradient-descent "
                       "steps (log scale). Right: the learnt kernel beside the target, cell by cell; the largest "
                       "difference is {largest:.2g}.").format(first=losses[0], last=losses[-1], n=len(losses),
                                                               largest=np.abs(learned - target).max()))


def plot_block_shares(shares: dict[str, dict[str, float]], title: str) -> plt.Figure:
    """Side by side, one panel per measure (e.g. parameters, multiply-adds): each block's share of
    the whole, as a percentage bar labelled with its value, so that where the weights sit and
    where the work happens can be told apart at a glance."""
    fig, axes = plt.subplots(1, len(shares), figsize=(4.2 * len(shares), 3.4), sharey=True, squeeze=False)
    for ax, (measure, by_block) in zip(axes[0], shares.items()):
        total = sum(by_block.values())
        fractions = [v / total for v in by_block.values()]
        bars = ax.bar(list(by_block), fractions, color="C0")
        ax.bar_label(bars, [f"{f:.0%}" for f in fractions], fontsize=8)
        ax.set_title(figure_text("share of {measure}").format(measure=measure), fontsize=9)
        ax.set_xlabel(figure_text("block"))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(0, 1.1 * max(max(fractions), 0.5))
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(figure_text("share of the whole conv base"))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    parts = "; ".join(_("{measure}: largest in {largest}, smallest in {smallest}").format(
        measure=measure, largest=_blocks_at(by_block, max), smallest=_blocks_at(by_block, min))
        for measure, by_block in shares.items())
    return _alt(fig, _("Bar charts of each block's share of the whole; {parts}.").format(parts=parts))


def _blocks_at(by_block: dict[str, float], pick) -> str:
    """'block 3 (30%)', or 'blocks 3 and 4 (30% each)' when the extreme is shared (to 0.1%); shares
    under 1% keep a decimal, so a small share does not read as none."""
    total = sum(by_block.values())
    value = pick(by_block.values())
    tied = [b for b, v in by_block.items() if abs(v - value) / total < 0.0005]
    share = value / total
    text = f"{share:.1%}" if share < 0.01 else _pct(share)
    if len(tied) == 1:
        return _("block {block} ({share})").format(block=tied[0], share=text)
    return _("blocks {blocks} ({share} each)").format(blocks=_chain(tied, _("{a} and {b}")), share=text)


def plot_by_layer(accuracies: dict[str, dict[str, float]], title: str, ylabel: str | None = None,
                  chance: float | None = None) -> plt.Figure:
    """Accuracy per layer (x axis), one line per named curve (a network's weights, on a data set);
    the y axis is by default "test accuracy"."""
    said = _("test accuracy") if ylabel is None else ylabel
    ylabel = figure_text("test accuracy") if ylabel is None else ylabel
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, by_layer in accuracies.items():
        layers = list(by_layer)
        ax.plot(layers, [by_layer[k] for k in layers], marker="o", label=name)
    if sum(len(label.get_text()) for label in ax.get_xticklabels()) > 60:  # EfficientNet's 8 long names: slanted
        plt.setp(ax.get_xticklabels(), rotation=25, ha="right", rotation_mode="anchor")
    ax.set_xlabel(figure_text("features taken after"))
    best = "; ".join(_("{curve}: best {layer} ({accuracy})").format(curve=name, layer=max(by, key=by.get),
                                                                     accuracy=_pct(max(by.values())))
                     for name, by in accuracies.items())
    return _alt(_finish_accuracy_plot(fig, ax, title, ylabel, chance),
                _("{ylabel} of a linear probe on each layer's features, one line per curve ({best}).").format(
                    ylabel=said.capitalize(), best=best))


def plot_label_efficiency(curves: dict[str, dict[int, list[float]]], title: str,
                          ylabel: str | None = None, chance: float | None = None) -> plt.Figure:
    """Accuracy against labelled images per class: the mean over seeds, with its 95% interval (the
    y axis by default "balanced test accuracy")."""
    said = _("balanced test accuracy") if ylabel is None else ylabel
    ylabel = figure_text("balanced test accuracy") if ylabel is None else ylabel
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, by_count) in enumerate(curves.items()):
        counts = sorted(by_count)
        intervals = [mean_interval(by_count[c]) for c in counts]
        mean = np.array([i.mean for i in intervals]) / 100
        half = np.array([i.half_width for i in intervals]) / 100
        ax.plot(counts, mean, marker="o", color=f"C{i}", label=name)
        ax.fill_between(counts, mean - half, mean + half, color=f"C{i}", alpha=0.2)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(counts, [str(c) for c in counts])
    ax.set_xlabel(figure_text("labelled training images per class (log scale)"))
    ends = "; ".join(_("{curve}: {first} at {fewest} to {last} at {most}").format(
        curve=name, first=_pct(np.mean(by[min(by)])), fewest=min(by), last=_pct(np.mean(by[max(by)])), most=max(by))
        for name, by in curves.items())
    names = list(curves)
    alike = [(a, b) for k, a in enumerate(names) for b in names[k + 1:]
             if curves[a].keys() == curves[b].keys()
             and all(abs(np.mean(curves[a][n]) - np.mean(curves[b][n])) < 0.005 for n in curves[a])]
    if alike:  # one line hides the other: say so on the figure, not only in the text
        pairs = "; ".join(figure_text("{a} and {b}").format(a=a, b=b) for a, b in alike)
        ax.text(0.02, 0.04, figure_text("{pairs}: the lines coincide (within half a point)").format(pairs=pairs),
                transform=ax.transAxes, fontsize=8, color="0.3")
    text = _("{ylabel} against labelled images per class, the mean over seeds with a shaded 95% band, one line per "
             "method ({ends} labels per class).").format(ylabel=said.capitalize(), ends=ends)
    if alike:
        text += " " + _("The lines of {pairs} coincide.").format(
            pairs="; ".join(_("{a} and {b}").format(a=a, b=b) for a, b in alike))
    shaded = figure_text("{title}\n(shaded: 95% interval of the mean over seeds)").format(title=title)
    return _alt(_finish_accuracy_plot(fig, ax, shaded, ylabel, chance), text)


def plot_comparison(comparisons, title: str | None = None) -> plt.Figure:
    """Two panels for `tl_kit.experiments.Comparison`s. Left: one group of bars per data set, one bar
    per method (mean over seeds, whiskers the 95% interval of that mean), and chance. Right: what
    the text's verdicts rest on, the paired difference pretrained − each baseline with its 95%
    interval: seeds share their labels, so these intervals are narrower than the left whiskers
    suggest, and a difference is clear exactly when its bar does not cross zero. The title is by
    default "Does transfer pay? The same protocol on each data set"."""
    title = figure_text("Does transfer pay? The same protocol on each data set") if title is None else title
    fig, (ax, diff_ax) = plt.subplots(1, 2, figsize=(7.5 + 2.4 * len(comparisons), 4.2),
                                      gridspec_kw={"width_ratios": [1.2 + 0.6 * len(comparisons), 2]})
    methods = list(comparisons[0].scores)
    reference, baselines = methods[0], methods[1:]
    width = 0.8 / len(methods)
    for g, comparison in enumerate(comparisons):
        for i, method in enumerate(methods):
            interval = mean_interval(comparison.scores[method])
            ax.bar(g + (i - (len(methods) - 1) / 2) * width, interval.mean / 100, width * 0.92,
                   yerr=interval.half_width / 100, capsize=3,
                   color=f"C{i}", label=method if g == 0 else None)
        ax.hlines(comparison.chance, g - 0.45, g + 0.45, color="0.3", linestyle=":",
                  label=figure_text("chance") if g == 0 else None)
    ax.set_xticks(range(len(comparisons)), [figure_text("{dataset}\n{labels} labels/class, {seeds} seeds").format(
        dataset=c.dataset, labels=c.labels_per_class, seeds=len(c.seeds)) for c in comparisons])
    ax.set_ylim(0, 1)
    ax.set_ylabel(figure_text("balanced test accuracy"))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right", ncols=2)
    ax.set_title(figure_text("Each method (mean over seeds, 95% interval)"), fontsize=9)

    rows = [(-(g * (len(baselines) + 1) + i), f"{comparison.dataset}: − {method}",
             comparison.interval(reference, method), f"C{i}")
            for g, comparison in enumerate(comparisons)
            for i, method in enumerate(baselines, start=1) if method in comparison.scores]
    clear = draw_paired_differences(diff_ax, rows, figure_text("{reference} − baseline (points of balanced accuracy)")
                                    .format(reference=reference))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _alt(fig, _("Left: balanced test accuracy of {methods} on {datasets}, with chance marked. Right: "
                       "{reference} minus each baseline, paired over seeds, with 95% intervals: {clear} of {n} exclude "
                       "zero (clear differences).").format(methods=", ".join(methods),
                                                            datasets=", ".join(c.dataset for c in comparisons),
                                                            reference=reference, clear=clear, n=len(rows)))


def draw_paired_differences(ax: plt.Axes, rows: list[tuple[float, str, Interval, str]], xlabel: str) -> int:
    """Draw paired differences on `ax`, one row per (y, label, interval, colour): the mean with its
    95% interval and a line at zero, so a difference reads as clear exactly when its bar misses
    0. Returns how many rows are clear (the figure's text alternative says so)."""
    for y, _label, interval, colour in rows:
        low, high = (interval.low, interval.high) if interval.n > 1 else (interval.mean, interval.mean)
        ax.errorbar(interval.mean, y, xerr=[[interval.mean - low], [high - interval.mean]], fmt="o", capsize=4,
                    color=colour)
    ax.axvline(0, color="0.3", linewidth=1)
    ax.set_yticks([row[0] for row in rows], [row[1] for row in rows], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(figure_text("Paired differences (95% interval): clear when it misses 0"), fontsize=9)
    return sum(row[2].clear for row in rows)


def plot_predictions(images: np.ndarray, y_true: np.ndarray, probs: np.ndarray, class_names: Sequence[str],
                     k: int = 3) -> plt.Figure:
    """Each image with its true class and the model's top-k classes and probabilities (green: right)."""
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n, 3.0), squeeze=False)
    for ax, image, truth, p in zip(axes[0], images, y_true, probs):
        ax.imshow(image, cmap="gray")
        ax.axis("off")
        top = np.argsort(-p)[:k]
        lines = [f"{class_names[i]} {p[i]:.0%}" for i in top]
        ax.set_title(figure_text("true: {true}").format(true=class_names[truth]), fontsize=8)
        ax.text(0.5, -0.05, "\n".join(lines), transform=ax.transAxes, ha="center", va="top", fontsize=8,
                color="green" if top[0] == truth else "red")
    fig.tight_layout()
    right = int(sum(np.argmax(p) == t for p, t in zip(probs, y_true)))
    return _alt(fig, _("{n} test images, each with its true class and the model's {k} most likely classes: the top "
                       "guess is right for {right} of {n} (green right, red wrong).").format(n=n, k=k, right=right))


def plot_top_classes(images: np.ndarray, decoded: Sequence[list], titles: Sequence[str],
                     title: str | None = None) -> plt.Figure:
    """Each image with the classes a 1000-class ImageNet classifier ranks first, as
    `tl_kit.imagenet.decode` gives them: [(index, name, probability), ...] per image (the title by
    default "What the ImageNet classifier sees")."""
    title = figure_text("What the ImageNet classifier sees") if title is None else title
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n, 3.2), squeeze=False)
    for ax, image, top, name in zip(axes[0], images, decoded, titles):
        ax.imshow(image)
        ax.axis("off")
        ax.set_title(name, fontsize=8)
        ax.text(0.5, -0.05, "\n".join(f"{label} {p:.0%}" for _index, label, p in top), transform=ax.transAxes,
                ha="center", va="top", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    firsts = "; ".join(f"{name}: {top[0][1]}" for name, top in zip(titles, decoded))
    return _alt(fig, _("{n} pictures, each with the ImageNet classes ranked first ({firsts}).").format(n=n,
                                                                                                   firsts=firsts))


def plot_conv_view(view) -> plt.Figure:
    """Input, feature map and pooled map of a `tl_kit.conv.ConvView` side by side, each at its true pixel size."""
    panels = [(figure_text("input"), view.image, "gray"), (figure_text("feature map"), view.feature_map, "RdBu_r")]
    if view.pooled is not None:
        panels.append((figure_text("pooled"), view.pooled, "RdBu_r"))
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


#: A network with more layers than this is drawn one box per block (EfficientNet-Lite0 has 149 layers, VGG16 19).
MAX_LAYER_BOXES = 40


def plot_network(model, trainable: set[str], title: str = "", cut_away: list[tuple[str, int]] = ()) -> plt.Figure:
    """The network as a row of boxes, one per layer, trainable orange and frozen blue-grey.

    A box's height is proportional to the layer's parameter count (linear, not log: block 5's
    conv layers really are 64 times block 1's second one, and the picture should say so); layers
    without parameters (pooling) are thin grey slivers. The biggest layer is labelled with its count.
    `cut_away` ((name, parameters) of the base layers after the cut, as `TransferModel.cut_away`
    lists them) are drawn as dashed outlines between the base and the head: gone, not frozen.

    A network of more than `MAX_LAYER_BOXES` layers is drawn one box per block (`freezing.block_of`:
    EfficientNet's stem, stages and top), its height the block's parameters and its orange part
    those that train: a stage being fine-tuned keeps a blue-grey part, its BatchNormalization layers.
    """
    from .freezing import block_of, unit_layers

    layers = [(layer.name, layer.count_params()) for layer in unit_layers(model)]
    gone = {name for name, _count in cut_away}
    layers = layers[:-1] + list(cut_away) + layers[-1:]  # the head last, after what was cut away
    # (label, parameters, of which train, cut away), one per box
    boxes = [(name, count, count if name in trainable else 0, name in gone) for name, count in layers]
    by_block = len(boxes) > MAX_LAYER_BOXES
    if by_block:
        merged: dict[tuple[str, bool], list[int]] = {}
        for name, count, on, away in boxes:
            totals = merged.setdefault((block_of(name), away), [0, 0])
            totals[0] += count
            totals[1] += on
        boxes = [(group, count, on, away) for (group, away), (count, on) in merged.items()]
    largest = max(count for _name, count, _on, _away in boxes) or 1
    fig, ax = plt.subplots(figsize=(min(14, 0.55 * len(boxes) + 2), 2.8))
    x, starts, faded = 0.0, {}, set()
    for name, count, on, away in boxes:
        if count:  # a sliver without weights ('preprocess') is left unlabelled: its name would cover the next
            starts.setdefault(block_of(name), x)
        height = max(2.2 * count / largest, 0.04)
        width = 0.8 if count else 0.25
        if away:
            faded.add(block_of(name))
            ax.add_patch(plt.Rectangle((x, -1.1), width, height, fill=False, ec="#999", lw=0.8, ls="--"))
        elif not count:
            ax.add_patch(plt.Rectangle((x, -1.1), width, height, color="#e8e8e8", ec="#555", lw=0.6))
        else:  # orange for the parameters that train, below blue-grey for the frozen ones
            for bottom, part, color in ((0, on, "#f28e2b"), (on, count - on, "#c9d3df")):
                if part:
                    ax.add_patch(plt.Rectangle((x, -1.1 + height * bottom / count), width, height * part / count,
                                               color=color, ec="#555", lw=0.6))
        if count == largest:
            # TRANSLATORS: a layer's parameter count in millions, written above its box.
            ax.text(x + width / 2, -1.1 + height + 0.05, figure_text("{millions:.1f} M").format(millions=count / 1e6),
                    ha="center", fontsize=7)
        x += width + 0.12
    ax.set_xlim(-0.2, x)
    ax.set_ylim(-1.45, 1.55)
    ax.axis("off")
    for group, start in starts.items():
        ax.text(start, -1.4, group, fontsize=8, color="#999" if group in faded else "black")
    handles = [plt.Rectangle((0, 0), 1, 1, color="#f28e2b"), plt.Rectangle((0, 0), 1, 1, color="#c9d3df")]
    labels = [figure_text("trainable"), figure_text("frozen")]
    if gone:
        handles.append(plt.Rectangle((0, 0), 1, 1, fill=False, ec="#999", ls="--"))
        labels.append(figure_text("cut away (not in the model)"))
    ax.legend(handles=handles, labels=labels, loc="upper left", fontsize=8, ncols=3)
    meaning = figure_text("box height: the block's parameters (orange: the share that trains)") if by_block \
        else figure_text("box height: the layer's parameters")
    ax.set_title(f"{title} · {meaning}" if title else meaning, fontsize=9)
    fig.tight_layout()
    return fig


def plot_prediction(prediction, k: int = 3) -> plt.Figure:
    """A `tl_kit.uploads.Prediction`: the picture as the model saw it, and its top-k probabilities."""
    fig, (ax_image, ax_bars) = plt.subplots(1, 2, figsize=(6, 2.4), gridspec_kw={"width_ratios": [1, 1.6]})
    ax_image.imshow(prediction.image)
    ax_image.axis("off")
    names, probs = zip(*prediction.top(k))
    ax_bars.barh(range(len(names))[::-1], probs, color="#4e79a7")
    ax_bars.set_yticks(range(len(names))[::-1], names)
    ax_bars.set_xlim(0, 1)
    ax_bars.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: f"{v:.0%}"))
    fig.tight_layout()
    return fig


def plot_gradcam(images: np.ndarray, rows: dict[str, list], titles: Sequence[str], title: str) -> plt.Figure:
    """Grad-CAM heatmaps over their images: one column per image, one row per explanation
    (`rows` maps a row label to one `tl_kit.inside.GradCAM` per image); the heatmap in a warm
    colour scale over the picture, with a colour bar (0: no evidence, 1: the most)."""
    n, labels = len(images), list(rows)
    fig, axes = plt.subplots(len(labels), n, figsize=(1.9 * n + 1.2, 2.1 * len(labels) + 0.6), squeeze=False,
                             layout="constrained")
    for r, label in enumerate(labels):
        for c, (image, cam) in enumerate(zip(images, rows[label])):
            ax = axes[r, c]
            ax.imshow(image, cmap="gray")
            shown = ax.imshow(cam.heatmap, cmap="inferno", alpha=0.55, vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            chance = f"p={cam.probability:.0%}"  # the model's probability for the class this row explains
            ax.set_title(f"{titles[c]}\n{chance}" if r == 0 else chance, fontsize=7)
        axes[r, 0].set_ylabel(label, fontsize=8)
    fig.colorbar(shown, ax=axes, shrink=0.6, label=figure_text("Grad-CAM (0 none … 1 most evidence)"))
    fig.suptitle(title, fontsize=10)
    peaks = "; ".join(_("{label}: strongest in the {where} of the first image").format(
        label=label, where=_where(rows[label][0].heatmap)) for label in labels)
    return _alt(fig, _("Grad-CAM heatmaps over {n} test images, one row per explanation ({labels}), bright where the "
                       "model found evidence for the class, on its conv layer's coarse grid; p= is the model's "
                       "probability for that class ({peaks}).").format(n=n, labels=", ".join(labels), peaks=peaks))


#: Where in a picture, by third of its height (rows) and of its width (columns).
_PLACES = ((N_("top left"), N_("top centre"), N_("top right")),
           (N_("middle left"), N_("centre"), N_("middle right")),
           (N_("bottom left"), N_("bottom centre"), N_("bottom right")))


def _where(heatmap: np.ndarray) -> str:
    """'top left', 'centre', … : where a heatmap peaks, in words (in the language in use)."""
    i, j = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    return _(_PLACES[min(2, 3 * i // heatmap.shape[0])][min(2, 3 * j // heatmap.shape[1])])


def plot_weight_change(change: dict[str, float], trainable: set[str], title: str) -> plt.Figure:
    """How far each layer's weights moved in training (relative change, log scale), trainable layers
    orange; a layer that did not move at all is marked "0" on the axis floor instead of a bar."""
    names = list(change)
    fig, ax = plt.subplots(figsize=(min(14, 0.5 * len(names) + 2), 3.6))
    moved = [v for v in change.values() if v > 0]
    floor = min(moved) / 10 if moved else 1e-6
    for i, name in enumerate(names):
        colour = "#f28e2b" if name in trainable else "#c9d3df"
        if change[name] > 0:
            ax.bar(i, change[name], color=colour, bottom=0)
        else:
            ax.text(i, floor * 1.2, "0", ha="center", fontsize=8, color="0.3")
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(figure_text("relative change ‖after − before‖ / ‖before‖\n(log scale)"), fontsize=8)
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color="#f28e2b"), plt.Rectangle((0, 0), 1, 1, color="#c9d3df")],
              labels=[figure_text("trainable"), figure_text("frozen")], fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    still = [n for n in names if change[n] == 0]
    biggest = max(names, key=change.get)
    return _alt(fig, _("Bar chart of how far each of {n} layers' weights moved in training: {still} did not move at "
                       "all ({names}); the most, {biggest}, by {change:.2g} of its size.").format(
        n=len(names), still=len(still), names=", ".join(still[:3]) + (" …" if len(still) > 3 else ""),
        biggest=biggest, change=change[biggest]))


def plot_top_images(images: np.ndarray, picks: dict[str, np.ndarray], title: str) -> plt.Figure:
    """For each channel (row), the images that excite it most, strongest first."""
    k = max(len(p) for p in picks.values())
    fig, axes = plt.subplots(len(picks), k, figsize=(1.2 * k + 1.6, 1.25 * len(picks) + 0.5), squeeze=False)
    for r, (label, idx) in enumerate(picks.items()):
        for c in range(k):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if c < len(idx):
                ax.imshow(images[idx[c]], cmap="gray")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _alt(fig, _("For each of {n} channels ({channels}), the {k} images that excite it most, strongest on the "
                       "left.").format(n=len(picks), channels=", ".join(picks), k=k))


def plot_hardest(images: np.ndarray, labels: np.ndarray, probs: np.ndarray, class_names: Sequence[str],
                 indices: Sequence[int], title: str | None = None) -> plt.Figure:
    """Training images in the order given (hardest first: `tl_kit.checkup`), each with its label, the
    model's guess and the probabilities it gives both; red where the guess is another class. The
    title is by default "The training images the model finds hardest"."""
    title = figure_text("The training images the model finds hardest") if title is None else title
    indices = list(indices)
    cols = min(len(indices), 6) or 1
    rows = -(-len(indices) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, indices):
        guess = int(np.argmax(probs[i]))
        ax.imshow(images[i], cmap="gray")
        text = figure_text("label: {label} {share:.0%}\nmodel: the same") if guess == labels[i] \
            else figure_text("label: {label} {share:.0%}\n✗ model: {guess} {guess_share:.0%}")
        ax.set_title(text.format(label=class_names[labels[i]], share=probs[i, labels[i]], guess=class_names[guess],
                                 guess_share=probs[i, guess]), fontsize=8,
                     color="black" if guess == labels[i] else "red")
    fig.suptitle(title)
    fig.tight_layout()
    wrong = [i for i in indices if int(np.argmax(probs[i])) != labels[i]]
    if wrong:
        text = _("The {n} training images with the highest loss, hardest first, each with its label and the "
                 "probability the model gives it; the model guesses another class for {wrong} of them (red titles "
                 "marked ✗, with the guess and its probability, the surest of those guesses at {surest:.0%}).")
    else:
        text = _("The {n} training images with the highest loss, hardest first, each with its label and the "
                 "probability the model gives it; the model guesses another class for {wrong} of them (red titles "
                 "marked ✗, with the guess and its probability).")
    return _alt(fig, text.format(n=len(indices), wrong=len(wrong),
                                 surest=max(probs[i].max() for i in wrong) if wrong else 0))

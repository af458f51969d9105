"""Fair comparisons: lesson 02's (does transfer pay on this data set?) and lesson 03's strategy table.

One protocol for every method, so the comparison is about the methods alone:

- **Same labels.** For each seed, one random draw of `labels_per_class` training images per
  class is shared by every method (paired seeds: the differences are computed seed by seed).
- **Same evaluation.** The whole test set, scored with balanced accuracy; the test set is
  touched once per fit, after every choice was made.
- **Choices on validation.** The probes' regularisation C is chosen on the validation set for
  each fit; which block of VGG16 to read is chosen per method on validation (mean over seeds).
- **Trained until done.** The linear probes (pretrained features, random features, raw
  pixels) have no epoch budget (their solver runs until it converges, at most 300 iterations); the small CNN trains until its validation loss has not
  improved for `patience` epochs (at most `max_epochs`; `Comparison.epochs` shows that early
  stopping really ended it), and keeps its best epoch's weights.

The lesson shows this code with `show_code(run_comparison)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import SPLITS, Dataset, take_per_class
from .errors import DataError, OptionError
from .tables import html_table
from .features import extract_features
from .i18n import N_, _, figure_text
from .probe import ProbeResult, linear_probe
from .reporting import (Interval, difference_sentence, gain_contrast_sentence, mean_interval, paired_interval,
                        transfer_verdict)
from .training import Result

#: The blocks whose (averaged) outputs a probe may read.
BLOCKS = tuple(f"block{i}_pool" for i in range(1, 6))
PRETRAINED, RANDOM, PIXELS, CNN = "pretrained features", "random features", "raw pixels", "small CNN from scratch"
METHODS = (PRETRAINED, RANDOM, PIXELS, CNN)


@dataclass
class Comparison:
    """The test scores of each method, per seed, on one data set at one number of labels."""

    dataset: str
    labels_per_class: int
    seeds: list[int]
    scores: dict[str, list[float]]  #: method → balanced test accuracy, one per seed
    val_scores: dict[str, list[float]]
    blocks: dict[str, str] = field(default_factory=dict)  #: VGG16 method → block chosen on validation
    epochs: list[int] = field(default_factory=list)  #: the small CNN's epochs per seed (early stopping)
    max_epochs: int = 0
    chance: float = 0.0
    #: method → layer → mean validation score over seeds (compare_sources fills it: the curve by depth)
    layer_val: dict[str, dict[str, float]] = field(default_factory=dict)

    def interval(self, method: str, baseline: str) -> Interval:
        """method − baseline, in points, with its 95% interval over the paired seeds."""
        return paired_interval(self.scores[method], self.scores[baseline])

    def gains(self, reference: str = PRETRAINED) -> dict[str, Interval]:
        """reference − every other method."""
        return {m: self.interval(reference, m) for m in self.scores if m != reference}

    def seed_gains(self, baseline: str, reference: str = PRETRAINED) -> list[float]:
        """reference − baseline on each seed, in points (the paired differences behind `interval`)."""
        return [100 * (a - b) for a, b in zip(self.scores[reference], self.scores[baseline])]

    def sentences(self, reference: str = PRETRAINED) -> list[str]:
        """One sentence per other method, then the verdict on transfer, all computed from the scores.
        The verdict weighs the baselines that learnt nothing elsewhere (random features, raw pixels,
        the small CNN); another pretrained source (`run_comparison(others=...)`) gets its sentence only."""
        lines = [difference_sentence(reference, self.scores[reference], m, self.scores[m])
                 for m in self.scores if m != reference]
        baselines = {m: i for m, i in self.gains(reference).items() if m in METHODS}
        return lines + [transfer_verdict(self.dataset, baselines)]

    def budget(self) -> str:
        """What each method was given, in words, with what early stopping did in this run."""
        text = _("probes: fitted by their solver (no epochs to choose), C chosen on validation")
        if self.epochs:
            fired = sum(e < self.max_epochs for e in self.epochs)
            # TRANSLATORS: follows "probes: fitted by their solver (no epochs to choose), C chosen on validation".
            text += _("; small CNN: early stopping on validation loss, at most {max_epochs} epochs: it ran "
                      "{fewest}–{most} epochs, stopped early in {fired} of {runs} runs").format(
                max_epochs=self.max_epochs, fewest=min(self.epochs), most=max(self.epochs), fired=fired,
                runs=len(self.epochs))
        return text

    def rows(self) -> list[tuple[str, str, str]]:
        return [(m, f"{np.mean(s):.1%}", f"{100 * np.std(s, ddof=1) if len(s) > 1 else 0:.1f}")
                for m, s in self.scores.items()]

    def _repr_html_(self) -> str:
        rows = [(m + (f" ({self.blocks[m]})" if m in self.blocks else ""), a, s) for m, a, s in self.rows()]
        caption = _("{dataset}, {labels} labels per class, {seeds} seeds; chance {chance:.1%}").format(
            dataset=self.dataset, labels=self.labels_per_class, seeds=len(self.seeds), chance=self.chance)
        headers = (_("method"), _("balanced test accuracy (mean)"), _("standard deviation over seeds (points)"))
        return html_table(headers, rows, caption)

    def __str__(self) -> str:
        title = _("{dataset}, {labels} labels per class, {seeds} seeds").format(
            dataset=self.dataset, labels=self.labels_per_class, seeds=len(self.seeds))
        # TRANSLATORS: after a method's name and its mean accuracy, on one line of a printed table.
        spread = _("(sd {sd} points over seeds)")
        return "\n".join([title] + [f"  {m:<22} {a:>6}  " + spread.format(sd=s) for m, a, s in self.rows()])

    def to_json(self) -> dict:
        """Everything measured, plus each gain as [low, mean, high] points, for a run folder."""
        return {"dataset": self.dataset, "labels_per_class": self.labels_per_class, "seeds": self.seeds,
                "scores": self.scores, "val_scores": self.val_scores, "blocks": self.blocks,
                "cnn_epochs": self.epochs, "max_epochs": self.max_epochs, "chance": self.chance,
                "gain_points": {m: i.as_list() for m, i in self.gains(next(iter(self.scores))).items()},
                **({"layer_val": self.layer_val} if self.layer_val else {})}


def contrast_gains(first: Comparison, second: Comparison, reference: str = PRETRAINED) -> list[str]:
    """Did transfer pay *more* on one data set than on the other? One sentence per baseline the
    two comparisons share, on the difference of their gains (Welch's interval: the two data
    sets' seeds are independent draws), in whichever direction it falls."""
    shared = [m for m in first.scores if m != reference and m in second.scores and m in METHODS]
    # TRANSLATORS: the {gain} of sentences such as "{gain} was {mean:.1f} points larger on {name_a} than on …".
    gain = _("the gain of {method} over {baseline}")
    return [gain_contrast_sentence(gain.format(method=reference, baseline=m), first.dataset,
                                   first.seed_gains(m, reference), second.dataset, second.seed_gains(m, reference))
            for m in shared]


def layer_features(model, dataset: Dataset, layers: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
    """split → layer → the layer's output averaged per map (N, channels), for every layer at once."""
    return {s: extract_features(model, dataset.split(s)[0], list(layers), pooling="avg", verbose=False)
            for s in SPLITS}


def block_features(base, dataset: Dataset) -> dict[str, dict[str, np.ndarray]]:
    """split → block → VGG16's block output averaged per map (N, channels), for every block at once."""
    return layer_features(base, dataset, BLOCKS)


@dataclass(frozen=True)
class FeatureSource:
    """A network a probe reads: the model, the layers a probe may read (shallow to deep), and the
    data set at the image size this network runs at (networks may differ in size; the images
    and labels must be the same)."""

    model: object
    layers: tuple[str, ...]
    dataset: Dataset


def _probe_layers(features: dict[str, dict[str, np.ndarray]], layers, idx: np.ndarray,
                  dataset: Dataset) -> dict[str, ProbeResult]:
    """layer → a linear probe trained on the images `idx`, its C chosen on validation, scored on test."""
    y = dataset.y_train[idx]
    return {b: linear_probe(features["train"][b][idx], y, features["val"][b], dataset.y_val, features["test"][b],
                            dataset.y_test) for b in layers}


def _choose_layers(probes: dict[str, list[dict[str, ProbeResult]]], scores: dict, val_scores: dict) -> dict[str, str]:
    """For each method, the layer with the best mean validation score over the seeds; fills in its scores."""
    chosen = {}
    for method, by_seed in probes.items():
        chosen[method] = max(by_seed[0], key=lambda b: np.mean([p[b].val_score for p in by_seed]))
        scores[method] = [p[chosen[method]].test_score for p in by_seed]
        val_scores[method] = [p[chosen[method]].val_score for p in by_seed]
    return chosen


def _same_images(a: Dataset, b: Dataset) -> bool:
    """Whether two data sets hold the same images and labels, perhaps at different sizes: the same
    labels, and each image's mean colour within 4 levels (resizing keeps an image's mean)."""
    return a.class_names == b.class_names and all(
        np.array_equal(a.split(s)[1], b.split(s)[1])
        and np.allclose(a.split(s)[0].mean(axis=(1, 2)), b.split(s)[0].mean(axis=(1, 2)), atol=4) for s in SPLITS)


def _require_same_images(sources: dict[str, FeatureSource], reference: Dataset) -> None:
    """Paired seeds need the same images and labels in every source: else a DataError that says what to do."""
    for name, source in sources.items():
        if not _same_images(source.dataset, reference):
            raise DataError(f"The source {name!r} was given other images or labels than the others ({reference.name}): "
                            "load every source's data set from the same folder with the same profile and seed (only "
                            "image_size may differ).")


def compare_sources(sources: dict[str, FeatureSource], labels_per_class: int, seeds: int) -> Comparison:
    """Lesson 02's protocol for any networks: for each seed one draw of `labels_per_class` training
    images per class, shared by every source; a linear probe on each of a source's layers; the
    layer chosen per source on validation (mean over seeds). The first source is the reference of
    the Comparison's sentences; `layer_val` holds each source's curve (mean validation by layer).
    """
    first = next(iter(sources.values())).dataset
    _require_same_images(sources, first)
    features = {name: layer_features(s.model, s.dataset, s.layers) for name, s in sources.items()}
    probes: dict[str, list[dict[str, ProbeResult]]] = {name: [] for name in sources}
    for seed in range(seeds):
        idx = take_per_class(first.y_train, labels_per_class, seed)  # one label draw for every source
        for name, source in sources.items():
            probes[name].append(_probe_layers(features[name], source.layers, idx, first))
    scores, val_scores = {}, {}
    chosen = _choose_layers(probes, scores, val_scores)
    layer_val = {name: {b: float(np.mean([p[b].val_score for p in by_seed])) for b in by_seed[0]}
                 for name, by_seed in probes.items()}
    return Comparison(first.name, labels_per_class, list(range(seeds)), scores, val_scores, chosen,
                      chance=1 / first.num_classes, layer_val=layer_val)


def pixels(dataset: Dataset) -> dict[str, np.ndarray]:
    """split → raw pixels for the pixel probe: one channel when the images are grayscale copied thrice."""
    grayscale = bool((dataset.x_train[..., 0] == dataset.x_train[..., 2]).all())
    return {s: dataset.split(s)[0][..., :1] if grayscale else dataset.split(s)[0] for s in SPLITS}


#: (input shape, classes) → a compiled small CNN and its optimizer's initial state, reused across fits
_COMPILED_CNNS: dict[tuple, tuple[object, list[np.ndarray]]] = {}


def _ready_small_cnn(dataset: Dataset, reuse: bool):
    """A small CNN with new random weights, compiled and built, ready for `fit`.

    A new Keras model means a new compilation of its training step, which on JAX costs seconds
    per fit, and the lessons fit this baseline once per seed and per label count. With `reuse`,
    the first model is kept, and each later fit gets it back with the weights of a newly built
    model (built here, so it draws the same random numbers a new model would) and its optimizer
    state set back to the start. Either way the model is fully built (optimizer, loss and
    metrics) before `fit`, so `fit` has nothing left to build: Keras would otherwise draw one
    shuffle of the data to build them, on a new model only, and a reused model would then see
    other batches than a new one.
    """
    from .models import small_cnn
    from .training import compile_for_reuse, restart_optimizer

    shape, classes = dataset.x_train.shape[1:], dataset.num_classes
    fresh = small_cnn(shape, classes)
    key = (tuple(shape), int(classes))
    if reuse and key in _COMPILED_CNNS:
        model, optimizer_start = _COMPILED_CNNS[key]
        model.set_weights(fresh.get_weights())
        restart_optimizer(model, optimizer_start)
        return model
    optimizer_start = compile_for_reuse(fresh, 1e-3, None, dataset.x_val[:1], dataset.y_val[:1])
    if reuse:
        _COMPILED_CNNS[key] = (fresh, optimizer_start)
    return fresh


def train_small_cnn(dataset: Dataset, train_idx: np.ndarray, seed: int, max_epochs: int = 150,
                    patience: int = 10, batch_size: int = 32, reuse: bool = True) -> Result:
    """The from-scratch baseline, trained until its validation loss stops improving; its Result
    holds balanced accuracies.

    With `reuse` (the default) one compiled model serves every call with the same image size and
    class count, trained exactly as a new model would be (see `_ready_small_cnn`; a test checks
    it on TensorFlow and JAX). The Result's model is then that shared model, which the next call
    retrains: copy its weights if you need them later.
    """
    import keras

    from .training import fit_and_score

    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    return fit_and_score(CNN, _ready_small_cnn(dataset, reuse), (dataset.x_train[train_idx], dataset.y_train[train_idx]),
                         dataset.split("val"), dataset.split("test"), epochs=max_epochs, batch_size=batch_size,
                         callbacks=[stop], seed=seed, balanced=True, compile=False)


def run_comparison(dataset: Dataset, pretrained, random, labels_per_class: int, seeds: int,
                   methods: tuple[str, ...] = METHODS, max_epochs: int = 150, patience: int = 10,
                   blocks: dict[str, str] | None = None, others: dict[str, FeatureSource] | None = None) -> Comparison:
    """Compare `methods` on `dataset` with `labels_per_class` training labels, over `seeds` paired draws.

    `pretrained` and `random` are frozen VGG16 bases (e.g. `load_vgg16("auto")[0]` and
    `load_vgg16(None)[0]`); their block features are cached, so a second call is quick.
    `blocks` fixes the block each VGG16 method reads (e.g. chosen on validation by an earlier
    comparison); by default every block is probed and the best on validation is kept.
    `others` adds more feature sources (e.g. another pretrained network, at its own image size),
    each probed on every one of its layers with the same label draws, its layer chosen on validation.
    """
    fixed = blocks or {}
    features = {PRETRAINED: block_features(pretrained, dataset) if PRETRAINED in methods else None,
                RANDOM: block_features(random, dataset) if RANDOM in methods else None}
    raw = pixels(dataset) if PIXELS in methods else None
    y_val, y_test = dataset.y_val, dataset.y_test
    others = others or {}
    _require_same_images(others, dataset)
    features.update({name: layer_features(s.model, s.dataset, s.layers) for name, s in others.items()})
    probes: dict[str, list[dict[str, ProbeResult]]] = {m: [] for m in (PRETRAINED, RANDOM, *others)
                                                       if m in methods or m in others}
    scores = {m: [] for m in (*methods, *others)}
    val_scores = {m: [] for m in (*methods, *others)}
    epochs = []
    for seed in range(seeds):
        idx = take_per_class(dataset.y_train, labels_per_class, seed)  # one label draw for every method
        y = dataset.y_train[idx]
        for method in probes:  # every block (unless fixed); the block is chosen on validation below
            layers = [fixed[method]] if method in fixed else others[method].layers if method in others else BLOCKS
            probes[method].append(_probe_layers(features[method], layers, idx, dataset))
        if PIXELS in methods:
            probe = linear_probe(raw["train"][idx], y, raw["val"], y_val, raw["test"], y_test)
            scores[PIXELS].append(probe.test_score)
            val_scores[PIXELS].append(probe.val_score)
        if CNN in methods:
            cnn = train_small_cnn(dataset, idx, seed, max_epochs, patience)
            scores[CNN].append(cnn.test_accuracy)
            val_scores[CNN].append(cnn.val_accuracy)
            epochs.append(cnn.epochs)
    blocks = _choose_layers(probes, scores, val_scores)
    return Comparison(dataset.name, labels_per_class, list(range(seeds)), scores, val_scores, blocks, epochs,
                      max_epochs if CNN in methods else 0, 1 / dataset.num_classes)


class StrategyTable:
    """Lesson 03's comparison: each row a strategy, each run of it one seed (paired across rows).

    `runs` maps a row's name to its `Result`s, one per seed, in seed order. The table shows
    the mean balanced test accuracy with its 95% interval, seconds per epoch, epochs run and
    the gap between training and validation accuracy; `sentences` puts the comparisons into
    words; `budget_equal` says whether every run was trained under the same rule to the same
    end (early stopping fired in every run: each trained until validation stopped improving).
    """

    def __init__(self, runs: dict[str, list]):
        self.runs = runs

    def _check_row(self, row: str) -> None:
        if row not in self.runs:
            raise OptionError(f"{row!r} is not a row of this table; its rows: {', '.join(map(repr, self.runs))}.")

    def scores(self, row: str) -> list[float]:
        return [r.test_accuracy for r in self.runs[row]]

    @property
    def budget_equal(self) -> bool:
        return all(r.stopped_early for rs in self.runs.values() for r in rs)

    def rows(self) -> list[tuple[str, ...]]:
        out = []
        for name, rs in self.runs.items():
            interval = mean_interval(self.scores(name))
            gap = [100 * (r.train_accuracy - r.val_accuracy) for r in rs if r.train_accuracy is not None]
            out.append((name, f"{interval.mean / 100:.1%}", "—" if interval.n < 2 else f"± {interval.half_width:.1f}",
                        f"{np.median([r.seconds_per_epoch for r in rs]):.2f}",
                        f"{min(r.epochs for r in rs)}–{max(r.epochs for r in rs)}",
                        f"{rs[0].trainable_params:,}", f"{np.mean(gap):.0f}" if gap else "—"))
        return out

    #: The headers, in English (each shown through `_()`: see `headers`).
    columns = (N_("strategy"), N_("balanced test acc"), N_("95% interval (points)"), N_("s/epoch"), N_("epochs run"),
               N_("trainable params"), N_("train − val (points)"))

    def headers(self) -> tuple[str, ...]:
        """The column headers in the language in use."""
        return tuple(_(c) for c in self.columns)

    def _repr_html_(self) -> str:
        return html_table(self.headers(), self.rows())

    def __str__(self) -> str:
        rows = [self.headers(), *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.columns))]
        return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                         for r in rows)

    __repr__ = __str__

    def best(self, candidates: list[str] | None = None) -> str:
        """The row with the best mean validation accuracy among `candidates` (default: every row).

        Chosen on validation, never on test; pass the strategies only, leaving the controls out,
        to choose the model a lesson keeps.
        """
        rows = list(candidates or self.runs)
        for row in rows:
            self._check_row(row)
        return max(rows, key=lambda n: np.mean([r.val_accuracy for r in self.runs[n]]))

    def sentences(self, reference: str, candidates: list[str] | None = None) -> list[str]:
        """Each row against `reference`, the best of `candidates` on validation, and what an epoch cost."""
        self._check_row(reference)
        lines = [difference_sentence(name, self.scores(name), reference, self.scores(reference))
                 for name in self.runs if name != reference]
        best = self.best(candidates)
        lines.append(_("Chosen on validation, the best strategy is {best} (validation {val:.1%}); on test it scored "
                       "{test:.1%} (the intervals above compare each row with {reference}).").format(
            best=best, val=np.mean([r.val_accuracy for r in self.runs[best]]), test=np.mean(self.scores(best)),
            reference=reference))
        per_epoch = {n: float(np.median([r.seconds_per_epoch for r in rs])) for n, rs in self.runs.items()}
        last = max(per_epoch, key=per_epoch.get)
        lines.append(_("From {reference} to {slowest}, a training epoch went from {before:.2f} s to {after:.2f} s "
                       "({ratio:.0f}×).").format(reference=reference, slowest=last, before=per_epoch[reference],
                                                 after=per_epoch[last],
                                                 ratio=per_epoch[last] / max(per_epoch[reference], 1e-9)))
        lines.append(_("Every run was trained until validation stopped improving (early stopping fired in each): "
                       "the same stopping rule for every row, not the same cost (the seconds per epoch above).")
                     if self.budget_equal else
                     _("Not every run stopped early: some rows hit their epoch limit, so the budget was not equal "
                       "for all; read those rows with care."))
        return lines

    def plot(self, title: str, reference: str):
        """Left: balanced test accuracy (mean, 95% interval) against seconds per epoch, one point per
        row. Right: each row − `reference`, paired over seeds with its 95% interval: what the
        sentences call a difference (clear when the bar misses 0)."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, LogLocator, PercentFormatter

        from .plots import draw_paired_differences

        self._check_row(reference)
        import textwrap

        fig, (ax, diff_ax) = plt.subplots(1, 2, figsize=(12, 5.6), gridspec_kw={"width_ratios": [1.3, 1]})
        for i, (name, rs) in enumerate(self.runs.items()):
            interval = mean_interval(self.scores(name))
            ax.errorbar(np.median([r.seconds_per_epoch for r in rs]), interval.mean / 100,
                        yerr=interval.half_width / 100, fmt="o", capsize=4, color=f"C{i}", label=name)
        others = [(i, n) for i, n in enumerate(self.runs) if n != reference]
        short = reference.split(":")[0]
        xlabel = figure_text("row − {reference} (points)").format(reference=short)
        clear = draw_paired_differences(
            diff_ax, [(-k, textwrap.fill(n, 32), paired_interval(self.scores(n), self.scores(reference)), f"C{i}")
                      for k, (i, n) in enumerate(others)], xlabel)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, numticks=6))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} s"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel(figure_text("seconds per training epoch (log scale)"))
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylabel(figure_text("balanced test accuracy"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2)  # below: long row names
        ax.set_title(figure_text("Cost and accuracy (mean over seeds, 95% interval)"), fontsize=9)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        fig.alt_text = _("Left: balanced test accuracy against seconds per training epoch (log scale) for {rows} "
                         "strategies, from {lowest} (lowest) to {highest} (highest). Right: each row minus "
                         "{reference}, paired over seeds with 95% intervals: {clear} of {others} exclude zero.").format(
            rows=len(self.runs), lowest=min(self.runs, key=lambda n: np.mean(self.scores(n))),
            highest=max(self.runs, key=lambda n: np.mean(self.scores(n))), reference=short, clear=clear,
            others=len(others))
        return fig

    def to_json(self) -> dict:
        """Each row's scores, seconds per epoch and epochs per seed, and whether every run stopped early."""
        return {"rows": {n: {"test": self.scores(n), "seconds_per_epoch": [r.seconds_per_epoch for r in rs],
                             "epochs": [r.epochs for r in rs], "max_epochs": [r.max_epochs for r in rs]}
                         for n, rs in self.runs.items()},
                "budget_equal": self.budget_equal}

"""Where to cut a pretrained base: measure how well each block's features transfer, choose on validation.

The layers near the top of a network specialise to the task it was trained on (Yosinski,
Clune, Bengio & Lipson, "How transferable are features in deep neural networks?", NeurIPS
2014): the deeper the layer, the more its features depend on how close that task is to yours.
So which layer a new head should read is not a constant. With VGG16's ImageNet weights on
photos, block 5 often wins; with the kit's offline weights (trained further for edge detection)
on small emoji, block 4 did. The kit measures it every time, for the weights and the data in
use, with the cheapest fair ruler there is: a linear probe on each block's features (averaged
per map), its regularisation chosen on validation, and the block chosen on validation too.
The test set is not looked at.

    >>> choice = choose_cut(base, dataset, random_base)       # doctest: +SKIP
    >>> choice.chosen, choice.sentence()                        # doctest: +SKIP
    ('block4_pool', 'Cut after block4_pool: ...')

The candidates are the base's usual cuts (`usual_cuts`: VGG16's block outputs, or EfficientNet-
Lite0's stage outputs and top for a base from `load_pretrained`), or any of its layers you name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import Dataset
from .errors import OptionError
from .experiments import BLOCKS, layer_features
from .freezing import layer_names
from .i18n import _, figure_text
from .probe import ProbeResult, balanced_score, linear_probe


def _score(x: float) -> float:
    """A score for comparing: balanced accuracy is a mean of recalls, so one score reached through different
    recalls can differ in its last bits (0.6799999999999999 and 0.68); those are ties."""
    return round(x, 9)


def _best(scores: dict[str, float]) -> str:
    """The block with the best score; on a tie, the earlier (cheaper) one."""
    return max(scores, key=lambda b: (_score(scores[b]), -list(scores).index(b)))


@dataclass
class CutChoice:
    """Each candidate cut's linear probe (validation scores), and the cut chosen on validation.

    `probes` and `random_probes` map a block's output layer (e.g. "block4_pool") to its
    `ProbeResult`; the random ones (the same network with random weights, the control) are None
    when no random base was given. `features` holds the pretrained features the probes read, so
    the chosen probe can be scored on test once every choice is made (`probe_test_score`).
    `network` names the architecture in sentences ("a random VGG16 reached …").
    """

    dataset: str
    weights: str
    probes: dict[str, ProbeResult]
    random_probes: dict[str, ProbeResult] | None = None
    features: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    labels: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    network: str = "VGG16"

    @property
    def chosen(self) -> str:
        """The block with the best validation score (ties: the earlier, cheaper cut)."""
        return _best(self.val_scores())

    @property
    def top(self) -> str:
        """The deepest candidate: where a base is cut by default."""
        return list(self.probes)[-1]

    def val_scores(self, random: bool = False) -> dict[str, float]:
        """Block → balanced validation accuracy of its probe (of the random base's, with `random`)."""
        probes = self.random_probes if random else self.probes
        if probes is None:
            raise OptionError("No random base was probed: choose_cut(base, dataset, random_base) probes one.")
        return {b: p.val_score for b, p in probes.items()}

    def probe_test_score(self, block: str | None = None) -> float:
        """The balanced test accuracy of the probe on `block` (default: the chosen one).

        Call it after every choice is made: it is the reference a fine-tuned model is compared
        with, not a way to choose.
        """
        block = block or self.chosen
        return balanced_score(self.probes[block].model, self.features["test"][block], self.labels["test"])

    def sentence(self) -> str:
        """The choice and its reason in words, computed from the validation scores."""
        scores = self.val_scores()
        best, top = self.chosen, self.top
        names = dict(best=best, score=scores[best], top=top, top_score=scores[top], weights=self.weights)
        if best != top and _score(scores[best]) == _score(scores[top]):
            # TRANSLATORS: the {choice} of "{choice}." or of "{choice}; a random {network} reached …".
            choice = _("Cut after {best}: its features scored best on validation ({score:.1%} balanced accuracy, "
                       "tied with {top}, the top of the base: the earlier, cheaper cut is kept)").format(**names)
        elif best != top:
            above = list(self.probes)[list(self.probes).index(best) + 1:]
            tied = [b for b in above if _score(scores[b]) == _score(scores[best])]
            names.update(tied=len(tied), lower=len(above) - len(tied))  # lower ≥ 1: the top did not tie (above)
            if len(tied) > 1:
                # TRANSLATORS: the {reason} of "Cut after {best}: … the top of the base). {reason}".
                reason = _("{tied} blocks above it tied and {lower} scored lower; the earlier, cheaper cut is kept")
            elif tied:
                # TRANSLATORS: the {reason} of "Cut after {best}: … the top of the base). {reason}".
                reason = _("{tied} block above it tied and {lower} scored lower; the earlier, cheaper cut is kept")
            elif names["lower"] > 1:
                # TRANSLATORS: the {reason} of "Cut after {best}: … the top of the base). {reason}".
                reason = _("The {lower} blocks above it scored lower here: deep layers may have specialised to what "
                           "the {weights} weights were trained for, and on small images they see a coarse grid; on a "
                           "small validation set a gap of a few images may also be luck")
            else:
                # TRANSLATORS: the {reason} of "Cut after {best}: … the top of the base). {reason}".
                reason = _("The block above it scored lower here: deep layers may have specialised to what the "
                           "{weights} weights were trained for, and on small images they see a coarse grid; on a small "
                           "validation set a gap of a few images may also be luck")
            # TRANSLATORS: the {choice} of "{choice}." or of "{choice}; a random {network} reached …"; {reason} is
            # a sentence on the blocks above it, e.g. "The block above it scored lower here: …".
            choice = _("Cut after {best}: its features scored best on validation ({score:.1%} balanced accuracy, "
                       "against {top_score:.1%} for {top}, the top of the base). {reason}").format(
                reason=reason.format(**names), **names)
        else:
            # TRANSLATORS: the {choice} of "{choice}." or of "{choice}; a random {network} reached …".
            choice = _("Cut after {best}: its features scored best on validation ({score:.1%} balanced accuracy), at "
                       "the top of the base: its most specialised features transfer best here").format(**names)
        if self.random_probes is None:
            # TRANSLATORS: ends the sentence on the cut; {choice} is e.g. "Cut after block4_pool: its features …".
            return _("{choice}.").format(choice=choice)
        random = self.val_scores(random=True)
        # TRANSLATORS: ends the sentence on the cut; {choice} is e.g. "Cut after block4_pool: its features …".
        return _("{choice}; a random {network} reached {random_score:.1%} at its best block ({block}).").format(
            choice=choice, network=self.network, random_score=max(random.values()), block=_best(random))

    def plot(self, title: str | None = None):
        """The transferability curve: validation score by depth, pretrained and (if probed) random."""
        from .plots import plot_by_layer

        # TRANSLATORS: a curve's label in the figure's legend; {weights} names them, e.g. "ImageNet" or "offline".
        curves = {figure_text("{weights} weights").format(weights=self.weights): self.val_scores()}
        if self.random_probes is not None:
            curves[figure_text("random weights")] = self.val_scores(random=True)
        classes = len(np.unique(self.labels["val"]))
        title = title or figure_text("How well each block transfers ({dataset}; linear probe)").format(
            dataset=self.dataset)
        return plot_by_layer(curves, title, ylabel=figure_text("balanced validation accuracy"), chance=1 / classes)

    def to_json(self) -> dict:
        """The choice and every validation score, for a run folder or benchmarks/results.json."""
        out = {"chosen": self.chosen, "top": self.top, "val": {b: round(s, 4) for b, s in self.val_scores().items()}}
        if self.random_probes is not None:
            out["random_val"] = {b: round(s, 4) for b, s in self.val_scores(random=True).items()}
        return out


def _backbone(base):
    """The entry of `tl_kit.pretrained.BACKBONES` whose cut layers `base` has (VGG16's for `load_vgg16`'s base
    too), or None."""
    from .pretrained import BACKBONES

    names = set(layer_names(base))
    return next((entry for entry in BACKBONES.values() if set(entry.cuts) <= names), None)


def usual_cuts(base) -> tuple[str, ...]:
    """The cuts a lesson probes on `base`, shallow to deep: its backbone's (VGG16's block outputs;
    EfficientNet-Lite0's stage outputs and top), or () for a base that matches no backbone.

    >>> usual_cuts(load_pretrained("efficientnet_lite0")[0])[-2:]       # doctest: +SKIP
    ('block7_output', 'top_activation')
    """
    entry = _backbone(base)
    return entry.cuts if entry else ()


def choose_cut(base, dataset: Dataset, random_base=None, candidates: tuple[str, ...] | None = None,
               weights: str = "pretrained") -> CutChoice:
    """Probe each candidate cut of `base` on `dataset` and choose the best on validation.

    Args:
        base: the pretrained base (e.g. `load_vgg16("auto")[0]` or `load_pretrained("efficientnet_lite0")[0]`);
            its features are cached, so lesson 02's probes and this choice share one pass over the images.
        dataset: the data to transfer to; its training split trains each probe, its validation
            split scores it. The test split is only read for `probe_test_score`.
        random_base: optionally the same architecture with random weights, probed the same way:
            the control that shows what pretraining adds at each depth.
        candidates: the layers a head may read, any of the base's (default: `usual_cuts(base)`, e.g. the
            output of each of VGG16's blocks); probed in depth order.
        weights: what to call the pretrained weights in sentences and figures (e.g. `weights.short_name`).
    """
    # Without a base (arguments checked before any work), the kit's default: VGG16's blocks.
    usual, names = (usual_cuts(base), layer_names(base)) if base is not None else (BLOCKS, list(BLOCKS))
    if candidates is None:
        if not usual:
            raise OptionError(f"choose_cut knows no usual cuts for the base {base.name!r}: pass candidates=(...), "
                              f"layer names of the base, e.g. {', '.join(names[-3:])}.")
        candidates = usual
    unknown = [c for c in candidates if c not in names]
    if unknown or not candidates:
        missing = (f" Not a layer of this base: {', '.join(map(repr, unknown))}. Besides its usual cuts listed, any "
                   "of its layers can be one (base.summary() lists them)." if unknown and usual else "")
        raise OptionError(f"Candidate cuts must be among {', '.join(usual or names)}; got {list(candidates)}.{missing}")
    candidates = tuple(n for n in names if n in candidates)  # by depth: top is the deepest
    labels = {s: dataset.split(s)[1] for s in ("train", "val", "test")}

    def probe_all(model) -> tuple[dict[str, ProbeResult], dict]:
        feats = layer_features(model, dataset, candidates)
        return ({b: linear_probe(feats["train"][b], labels["train"], feats["val"][b], labels["val"])
                 for b in candidates}, feats)

    probes, features = probe_all(base)
    random_probes = probe_all(random_base)[0] if random_base is not None else None
    entry = _backbone(base)
    return CutChoice(dataset.name, weights, probes, random_probes, features, labels,
                     entry.title if entry else base.name)

"""A check-up of a training run: what went wrong, the evidence, and what to do.

The questions learners ask most about fine-tuning ("it predicts one class", "it is stuck at
chance", "validation is higher than training", "validation loss rises while accuracy rises")
each have a sign that can be measured after training. `check_run` looks at the data, the
training history and the model's predictions, runs one check per sign, and returns a `Checkup`
that prints each problem it found, with its numbers and what to do, and for each check that
stayed quiet what it measured:

    >>> result = model.fit(dataset.split("train"), dataset.split("val"), epochs=10, batch_size=32)  # doctest: +SKIP
    >>> checkup = check_run(result, dataset)       # a TransferModel's Result and its Dataset  # doctest: +SKIP
    >>> print(checkup); show_figure(checkup.figure())                                          # doctest: +SKIP

The checks (`CHECKS`), from the data to the model:

- **inputs**: do the model's inputs have the range its weights expect (raw 0…255 pixels for a
  model that preprocesses itself; VGG16's mean-subtracted BGR for `load_vgg16`'s base)?
- **leakage**: is an image of the validation or test split a near copy of a training image? A
  perceptual hash (imagehash's pHash, 256 bits) matches copies that were resized, recompressed or
  brightened; on the shipped data sets distinct images differ in at least 32 of its bits.
- **first_loss**: was the first epoch's loss far above ln(classes), the loss of a model that
  spreads its bets evenly? A model that starts that wrong is confidently wrong: a learning rate
  too high, or inputs on the wrong scale.
- **chance**: is balanced accuracy on validation better than the same predictions against
  shuffled labels (a permutation test)?
- **collapse**: do nearly all validation predictions go to one or two classes that hold far
  fewer of the images?
- **overfitting**: is training accuracy (measured after training, with dropout and augmentation
  off) far above validation accuracy?
- **val_above_train**: did Keras report validation accuracy above training accuracy? Its training
  number is an average over the epoch, while the weights still changed, with dropout and
  augmentation on; the check measures training accuracy without them to tell whether it is real.
- **overconfident**: did validation loss rise after its lowest epoch while validation accuracy
  did not fall (surer answers, the wrong ones too)?
- **hardest**: are there training images the model confidently puts in another class than their
  label (likely mislabelled)? `Checkup.figure()` shows the hardest ones either way.

Each threshold is a module constant, so a lesson can say what "far" means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import ShapeError
from .i18n import _, comma_list, words_list
from .training import accuracy

#: The checks, in the order they are reported.
CHECKS = ("inputs", "leakage", "first_loss", "chance", "collapse", "overfitting", "val_above_train", "overconfident",
          "hardest")
#: A finding's status, in the order the report lists them.
STATUSES = ("problem", "note", "ok", "skipped")
#: pHash size: 16 gives 256 bits (the default 8 gives 64, too few for small, similar pictures such as
#: Fashion-MNIST's shoes: distinct ones then often differ in 0–4 bits).
HASH_SIZE = 16
#: At most this many of the 256 bits differ for a near copy. Measured on the shipped data (tests/test_checkup.py):
#: a JPEG, resized or brightened copy differs in at most 16; distinct images in at least 32.
NEAR_COPY_BITS = 20
#: The first epoch's loss is "far above" ln(K) when it exceeds ln(K) by more than this and by more than ln(K).
FIRST_LOSS_MARGIN = 1.0
#: Significance level of the permutation test against chance.
CHANCE_P = 0.05
#: Predictions have collapsed when the fewest classes that take this share of them (one or two)
#: hold at least `COLLAPSE_EXCESS` less of the true labels.
COLLAPSE_SHARE, COLLAPSE_EXCESS = 0.9, 0.3
#: A train–validation gap (balanced accuracy) at least this large, and beyond two standard errors
#: of the validation score, is overfitting.
OVERFIT_GAP = 0.2
#: Keras' validation accuracy this far above its training accuracy (last epoch) is worth explaining.
VAL_ABOVE_MARGIN = 0.05
#: Validation loss rose by this much (absolute, and relative to its lowest) after its lowest epoch: by
#: half, since a few epochs past the best (early stopping's patience) always show some rise.
LOSS_RISE, LOSS_RISE_SHARE = 0.1, 0.5
#: A training image is confidently in another class when the model gives that class this probability;
#: the hardest check speaks up when at least `MISLABEL_SHARE` of the training images (and two) are;
#: above `FAILED_SHARE` they point to a model that failed as a whole rather than to a few labels.
SURE, MISLABEL_SHARE, FAILED_SHARE = 0.8, 0.02, 0.25


@dataclass(frozen=True)
class Finding:
    """What one check found: a problem (with what to do), or a quiet check (with what it measured),
    or a skipped one (with why)."""

    check: str
    status: str  #: "problem", "note" (not a problem, but worth reading), "ok" or "skipped"
    title: str
    evidence: str
    advice: str = ""

    @property
    def problem(self) -> bool:
        return self.status == "problem"

    def lines(self) -> list[str]:
        mark = {"problem": "✗", "note": "ℹ", "ok": "✓", "skipped": "–"}[self.status]
        # TRANSLATORS: a line of the check-up's report: {mark} is ✗ (a problem), ℹ (a note), ✓ (ok) or – (skipped),
        # {title} the finding's title, {evidence} what the check measured.
        lines = [_("{mark} {title}: {evidence}").format(mark=mark, title=self.title, evidence=self.evidence)]
        if self.advice:
            # TRANSLATORS: the line under a problem in the check-up's report (indented by four spaces).
            lines.append("    " + _("What to do: {advice}").format(advice=self.advice))
        return lines


@dataclass
class Checkup:
    """The findings of `check_run`, one per check in `CHECKS` order; printed as a report.

    `hardest` holds the indices of the training images with the highest loss (hardest first),
    `train_probs` the model's probabilities on the training images, `leaks` the near copies
    found, as (split, index there, training index, bits that differ).
    """

    findings: list[Finding]
    class_names: list[str]
    train_images: np.ndarray | None = field(default=None, repr=False)
    train_labels: np.ndarray = field(default=None, repr=False)
    train_probs: np.ndarray = field(default=None, repr=False)
    hardest: np.ndarray = field(default=None, repr=False)
    leaks: list[tuple[str, int, int, int]] = field(default_factory=list, repr=False)

    @property
    def problems(self) -> list[Finding]:
        """The findings that are problems, in report order."""
        return [f for f in self.findings if f.problem]

    def __getitem__(self, check: str) -> Finding:
        for finding in self.findings:
            if finding.check == check:
                return finding
        raise KeyError(f"No check {check!r}; the checks: {', '.join(CHECKS)}.")

    def __str__(self) -> str:
        counts = {s: sum(f.status == s for f in self.findings) for s in STATUSES}
        n_quiet = counts["ok"] + counts["note"]
        if counts["problem"] == 1:
            # TRANSLATORS: the {problems} of "Check-up of the training run: {problems}, {quiet}."
            problems = _("{n} problem found")
        else:
            # TRANSLATORS: the {problems} of "Check-up of the training run: {problems}, {quiet}."
            problems = _("{n} problems found")
        problems = problems.format(n=counts["problem"])
        if counts["note"] and n_quiet == 1:
            # TRANSLATORS: the {quiet} of "Check-up of the training run: {problems}, {quiet}.": checks that found no
            # problem, {notes} of them with a note (not a problem, but worth reading).
            quiet = _("{n} check quiet ({notes} with a note)")
        elif counts["note"]:
            # TRANSLATORS: the {quiet} of "Check-up of the training run: {problems}, {quiet}.": checks that found no
            # problem, {notes} of them with a note (not a problem, but worth reading).
            quiet = _("{n} checks quiet ({notes} with a note)")
        elif n_quiet == 1:
            # TRANSLATORS: the {quiet} of "Check-up of the training run: {problems}, {quiet}.": checks that found no
            # problem.
            quiet = _("{n} check quiet")
        else:
            # TRANSLATORS: the {quiet} of "Check-up of the training run: {problems}, {quiet}.": checks that found no
            # problem.
            quiet = _("{n} checks quiet")
        quiet = quiet.format(n=n_quiet, notes=counts["note"])
        if counts["skipped"]:
            # TRANSLATORS: the report's first line; {problems} is e.g. "2 problems found", {quiet} e.g. "6 checks
            # quiet (1 with a note)", {skipped} the number of checks skipped (for lack of what they need).
            head = _("Check-up of the training run: {problems}, {quiet}, {skipped} skipped.").format(
                problems=problems, quiet=quiet, skipped=counts["skipped"])
        else:
            # TRANSLATORS: the report's first line; {problems} is e.g. "2 problems found", {quiet} e.g. "9 checks
            # quiet (1 with a note)".
            head = _("Check-up of the training run: {problems}, {quiet}.").format(problems=problems, quiet=quiet)
        ordered = sorted(self.findings, key=lambda f: STATUSES.index(f.status))
        return "\n".join([head, *(line for f in ordered for line in f.lines())])

    __repr__ = __str__

    def figure(self, n: int = 12):
        """The `n` training images the model finds hardest (highest loss), each with its label, the
        model's guess and its probability: where to look for mislabelled images."""
        from .plots import plot_hardest

        if self.train_images is None:
            raise ShapeError("The check-up has no training images to show: its inputs were features. Pass "
                             "images=(x_train, x_val, x_test) to check_run to see them.")
        return plot_hardest(self.train_images, self.train_labels, self.train_probs, self.class_names,
                            self.hardest[:n])


def _loss(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.3g}"


def _uncertainty(score: float, n: int) -> float:
    """Two standard errors of an accuracy `score` measured on `n` images (at least that of one image
    in four wrong, so a perfect score on few images is not taken as certain)."""
    return 2 * math.sqrt(max(score * (1 - score), 0.25 / n) / n)


# -- what goes in ------------------------------------------------------------------------------------
def expected_input(model) -> str | None:
    """What a model's weights expect as input: "pixels" (RGB 0…255: a `TransferModel`, which prepares
    images itself, or a model whose first layer preprocesses, `tl_kit.preprocessing.takes_raw_pixels`),
    "vgg16" (VGG16's preprocessing done outside, `tl_kit.preprocess`: `load_vgg16`'s base and models
    on it) or None (the kit does not know: a head on features, a model of your own)."""
    import keras

    from .preprocessing import takes_raw_pixels
    from .transfer import TransferModel

    if isinstance(model, TransferModel) or takes_raw_pixels(model):
        return "pixels"
    first = model
    while isinstance(first, keras.Model):
        layers = [layer for layer in first.layers if not isinstance(layer, keras.layers.InputLayer)]
        if not layers:
            return None
        first = layers[0]
    return "vgg16" if first.name == "block1_conv1" else None


def _as_pictures(x: np.ndarray) -> np.ndarray | None:
    """Inputs as uint8 pictures for hashing and showing: uint8 images as they are, other image-shaped
    arrays stretched to 0…255 each; None for inputs that are not images (features)."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        return None
    if x.dtype == np.uint8:
        return x
    low = x.min(axis=(1, 2, 3), keepdims=True)
    span = np.maximum(x.max(axis=(1, 2, 3), keepdims=True) - low, 1e-6)
    return ((x - low) / span * 255).astype(np.uint8)


def _probabilities(model, x: np.ndarray) -> np.ndarray:
    from .training import batch_predict
    from .transfer import TransferModel

    if isinstance(model, TransferModel):
        return model.predict(x, use_cache=True)
    return np.asarray(batch_predict(model, x))


# -- the checks --------------------------------------------------------------------------------------
def check_inputs(x: np.ndarray, expects: str | None) -> Finding:
    """Whether the inputs' range matches what the weights expect (`expected_input`)."""
    title = _("Input scale")
    if expects is None:
        return Finding("inputs", "skipped", title, _("the kit does not know what this model expects (it is not a "
                                                     "TransferModel, nor built on load_vgg16's base or "
                                                     "load_pretrained's)."))
    sample = np.asarray(x[:256], dtype="float32")
    low, high = float(sample.min()), float(sample.max())
    wrong = _("Inputs not as the weights expect")
    if expects == "pixels":
        if high <= 1.5:
            return Finding("inputs", "problem", wrong, _(
                "the inputs range from {low:.4g} to {high:.4g}, but this model takes RGB pixels 0…255 and preprocesses "
                "them itself: to it, these images are almost black.").format(low=low, high=high),
                _("Give it the images as loaded (uint8, 0…255); do not divide by 255 or preprocess them."))
        if low < -0.5:
            return Finding("inputs", "problem", wrong, _(
                "the inputs range from {low:.4g} to {high:.4g}, but this model takes RGB pixels 0…255 and preprocesses "
                "them itself: these were preprocessed already, so it preprocesses twice.").format(low=low, high=high),
                _("Give it the images as loaded (uint8, 0…255), without tl_kit.preprocess or preprocess_input."))
        return Finding("inputs", "ok", title, _("the inputs range from {low:.4g} to {high:.4g}: pixels 0…255, as this "
                                                "model expects.").format(low=low, high=high))
    if low >= 0:
        return Finding("inputs", "problem", wrong, _(
            "the inputs range from {low:.4g} to {high:.4g}, all positive, but VGG16's weights expect its preprocessing "
            "(BGR, the ImageNet mean subtracted: about −124 to +152): these are raw pixels.").format(low=low,
                                                                                                    high=high),
            _("Preprocess the images with tl_kit.preprocess (keras.applications.vgg16.preprocess_input) before fit "
              "and predict, or use tl_kit.TransferModel, which does it."))
    if high - low <= 3:
        return Finding("inputs", "problem", wrong, _(
            "the inputs range from {low:.4g} to {high:.4g}, but VGG16's weights expect about −124 to +152 (pixels "
            "0…255, BGR, minus the ImageNet mean): these were scaled down.").format(low=low, high=high),
            _("Preprocess uint8 images 0…255 with tl_kit.preprocess, without dividing by 255 first."))
    return Finding("inputs", "ok", title, _("the inputs range from {low:.4g} to {high:.4g}, as VGG16's preprocessing "
                                            "gives.").format(low=low, high=high))


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def perceptual_hashes(images: np.ndarray) -> np.ndarray:
    """pHash of each uint8 image (imagehash, `HASH_SIZE`), packed: (N, HASH_SIZE² / 8) uint8."""
    import imagehash
    from PIL import Image

    from .preprocessing import ensure_rgb

    images = ensure_rgb(np.asarray(images, np.uint8))
    return np.stack([np.packbits(imagehash.phash(Image.fromarray(im), hash_size=HASH_SIZE).hash.flatten())
                     for im in images]) if len(images) else np.zeros((0, HASH_SIZE ** 2 // 8), np.uint8)


def near_copies(hashes: np.ndarray, train_hashes: np.ndarray, max_bits: int = NEAR_COPY_BITS,
                chunk: int = 256) -> list[tuple[int, int, int]]:
    """(index, training index, bits that differ) for each image whose nearest training image differs
    in at most `max_bits` bits of its hash (`perceptual_hashes`)."""
    found = []
    for start in range(0, len(hashes), chunk):
        bits = _POPCOUNT[hashes[start:start + chunk, None, :] ^ train_hashes[None, :, :]].sum(axis=-1, dtype=np.int32)
        nearest = bits.argmin(axis=1)
        for i, j in enumerate(nearest):
            if bits[i, j] <= max_bits:
                found.append((start + i, int(j), int(bits[i, j])))
    return found


def check_leakage(pictures: dict[str, np.ndarray | None], labels: dict[str, np.ndarray],
                  class_names: Sequence[str]) -> tuple[Finding, list[tuple[str, int, int, int]]]:
    """Near copies of training images in the other splits (`near_copies`)."""
    title = _("Leakage between splits")
    if pictures.get("train") is None:
        return Finding("leakage", "skipped", title, _("the inputs are features, not images: pass images=(x_train, "
                                                      "x_val, x_test) to check_run to compare the pictures.")), []
    train = perceptual_hashes(pictures["train"])
    compared = [split for split in ("val", "test") if pictures.get(split) is not None]
    leaks = [(split, i, j, bits) for split in compared
             for i, j, bits in near_copies(perceptual_hashes(pictures[split]), train)]
    if not leaks:
        if len(compared) == 2:
            # TRANSLATORS: "val" and "test" are the splits' names, as the code names them.
            quiet = _("no val or test image is a near copy of a training image (near copy: perceptual hashes "
                      "differing in at most {near} of {total} bits).")
        else:
            # TRANSLATORS: {split} is the split compared with the training images, named as in the code: "val" or
            # "test".
            quiet = _("no {split} image is a near copy of a training image (near copy: perceptual hashes differing in "
                      "at most {near} of {total} bits).")
        return Finding("leakage", "ok", title, quiet.format(split="".join(compared), near=NEAR_COPY_BITS,
                                                            total=HASH_SIZE ** 2)), leaks
    copies = {split: sum(leak[0] == split for leak in leaks) for split in compared}
    split, i, j, bits = leaks[0]
    relabelled = sum(labels[s][a] != labels["train"][b] for s, a, b, _bits in leaks)
    if relabelled:
        # TRANSLATORS: the {example} of "… are near copies of training images ({example}). …"; {split} is "val" or
        # "test", as the code names the split.
        example = _("e.g. {split} image {i} and training image {j} differ in {bits} of {total} bits; {relabelled} of "
                    "the pairs carry different labels")
    else:
        # TRANSLATORS: the {example} of "… are near copies of training images ({example}). …"; {split} is "val" or
        # "test", as the code names the split.
        example = _("e.g. {split} image {i} and training image {j} differ in {bits} of {total} bits")
    example = example.format(split=split, i=i, j=j, bits=bits, total=HASH_SIZE ** 2, relabelled=relabelled)
    if len(compared) == 2 and all(copies.values()):
        # TRANSLATORS: "val" and "test" are the splits' names, as the code names them.
        evidence = _("{val} of {val_total} val images, {test} of {test_total} test images are near copies of training "
                     "images ({example}). A score on them measures memory, not how the model does on new "
                     "images.").format(
            val=copies["val"], val_total=len(pictures["val"]), test=copies["test"], test_total=len(pictures["test"]),
            example=example)
    else:
        leaked = next(s for s in compared if copies[s])
        # TRANSLATORS: {split} is the split with near copies of training images, named as in the code: "val" or "test".
        evidence = _("{copies} of {total} {split} images are near copies of training images ({example}). A score on "
                     "them measures memory, not how the model does on new images.").format(
            copies=copies[leaked], total=len(pictures[leaked]), split=leaked, example=example)
    return Finding("leakage", "problem", _("Leakage: near copies across splits"), evidence,
                   _("Remove the copies from validation and test (or from training) and split again; "
                     "tl_kit.check_folder lists exact duplicate files before loading. Copies with different labels "
                     "are labelling mistakes.")), leaks


def check_first_loss(history: dict, num_classes: int) -> Finding:
    """Whether the loss after the first epoch (training, or validation at the epoch's end) was far
    above ln(K), or the loss became NaN.

    Both, because an epoch of one batch reports the loss before its one step (the training loss
    of a new head is then about ln(K) whatever the learning rate), and the validation loss shows
    where that step went.
    """
    title = _("First epoch's loss")
    losses = [float(v) for v in history.get("loss", [])]
    if not losses:
        return Finding("first_loss", "skipped", title, _("no training history: pass the history of fit (or its "
                                                         "Result)."))
    bad = [(e, v) for key in ("loss", "val_loss") for e, v in enumerate(history.get(key, []), 1)
           if not math.isfinite(float(v))]
    if bad:
        epoch, value = min(bad)
        return Finding("first_loss", "problem", _("The loss overflowed"),
                       _("the loss became {value} in epoch {epoch}.").format(value=value, epoch=epoch),
                       _("Lower the learning rate tenfold (a new head: 1e-3; fine-tuning: 1e-5) and check that the "
                         "inputs have the scale the model expects (the input check)."))
    even = math.log(num_classes)
    if history.get("val_loss"):
        val_loss = float(history["val_loss"][0])
        highest = max(losses[0], val_loss)
        # TRANSLATORS: the {measured} of "{measured} after the first epoch, …": the first epoch's losses.
        measured = _("{training} on training and {validation} on validation").format(training=_loss(losses[0]),
                                                                                       validation=_loss(val_loss))
    else:
        highest = losses[0]
        # TRANSLATORS: the {measured} of "{measured} after the first epoch, …": the first epoch's loss.
        measured = _("{training} on training").format(training=_loss(losses[0]))
    limit = even + max(FIRST_LOSS_MARGIN, even)
    numbers = dict(measured=measured, classes=num_classes, even=even, limit=limit)
    if highest > limit:
        return Finding("first_loss", "problem", _("First epoch's loss far too high"), _(
            "{measured} after the first epoch, far above ln({classes}) = {even:.2f}, the loss of a model that gives "
            "every class the same probability: the model became confidently wrong at once.").format(**numbers),
            _("Lower the learning rate (a new head: 1e-3; fine-tuning pretrained layers: 1e-5); then check that the "
              "inputs are preprocessed as the weights expect (the input check) and that the labels are the class "
              "numbers 0, 1, … of the images."))
    if highest <= even:
        quiet = _("{measured} after the first epoch, below ln({classes}) = {even:.2f}, the loss of a model that gives "
                  "every class the same probability (a problem above {limit:.2f}; a head that trained before starts "
                  "well below it).")
    else:
        quiet = _("{measured} after the first epoch, not far above ln({classes}) = {even:.2f}, the loss of a model "
                  "that gives every class the same probability (a problem above {limit:.2f}; a head that trained "
                  "before starts well below it).")
    return Finding("first_loss", "ok", title, quiet.format(**numbers))


def _balanced(y: np.ndarray, pred: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Balanced accuracy of `pred` against each row of `y` (2-D: one labelling per row), over `classes`:
    scikit-learn's `balanced_accuracy_score` for thousands of shuffled labellings at once."""
    recalls = [((y == c) & (pred == c)).sum(axis=-1) / np.maximum((y == c).sum(axis=-1), 1) for c in classes]
    return np.mean(recalls, axis=0)


def check_chance(y_val: np.ndarray, pred: np.ndarray, num_classes: int, shuffles: int = 2000,
                 seed: int = 0) -> Finding:
    """A permutation test: balanced accuracy on validation against the same predictions scored
    on shuffled labels (which keep the class sizes, so it is fair to imbalanced data)."""
    title = _("Better than chance")
    classes = np.unique(y_val)
    if len(classes) < 2:
        return Finding("chance", "skipped", title, _("the validation images are all of one class: there is no chance "
                                                     "level to compare with. Give validation images of every class."))
    observed = accuracy(y_val, pred, balanced=True)
    rng = np.random.default_rng(seed)
    null = _balanced(np.stack([rng.permutation(y_val) for _shuffle in range(shuffles)]), pred, classes)
    as_good = int(np.sum(null >= observed - 1e-12))
    p = (1 + as_good) / (1 + shuffles)
    if as_good == 0:
        # TRANSLATORS: the {measured} of "{measured}: no evidence that the model learned anything." and of
        # "{measured}.": what the permutation test against chance measured.
        measured = _("balanced accuracy on validation {observed:.1%} (guessing: {guess:.1%}); the same predictions "
                     "scored on the labels shuffled do as well in none of {shuffles} shufflings (p = {p:.2g})")
    else:
        # TRANSLATORS: the {measured} of "{measured}: no evidence that the model learned anything." and of
        # "{measured}.": what the permutation test against chance measured.
        measured = _("balanced accuracy on validation {observed:.1%} (guessing: {guess:.1%}); the same predictions "
                     "scored on the labels shuffled do as well in {as_good} of {shuffles} shufflings (p = {p:.2g})")
    measured = measured.format(observed=observed, guess=1 / num_classes, as_good=as_good, shuffles=shuffles, p=p)
    if p > CHANCE_P:
        return Finding("chance", "problem", _("No better than chance"),
                       _("{measured}: no evidence that the model learned anything.").format(measured=measured),
                       _("If the first-loss check fired, lower the learning rate first. Else check that each class "
                         "folder holds its class and that the labels match the images, and read the input check; if "
                         "all is well, train longer."))
    # TRANSLATORS: ends the sentence {measured}, e.g. "balanced accuracy on validation 92.0% (guessing: 33.3%); …".
    return Finding("chance", "ok", title, _("{measured}.").format(measured=measured))


def check_collapse(y_val: np.ndarray, pred: np.ndarray, class_names: Sequence[str]) -> Finding:
    """Whether nearly all validation predictions go to one or two classes that hold far fewer images."""
    title = _("Predictions spread over the classes")
    k = len(class_names)
    predicted = np.bincount(pred, minlength=k) / len(pred)
    true = np.bincount(y_val, minlength=k) / len(y_val)
    order = np.argsort(-predicted, kind="stable")
    taken = int(np.searchsorted(np.cumsum(predicted[order]), COLLAPSE_SHARE - 1e-9) + 1)
    top = order[:taken]
    share, truth = float(predicted[top].sum()), float(true[top].sum())
    named = words_list([repr(class_names[c]) for c in top])
    if taken <= 2 and taken < k and share - truth >= COLLAPSE_EXCESS:
        never = [class_names[c] for c in range(k) if predicted[c] == 0]
        if taken == 1 and never:
            # TRANSLATORS: {named} is a class name, e.g. "'sandal'"; {never} the classes never predicted: "'bag' and
            # 'shirt'".
            collapsed = _("{share:.0%} of the validation predictions are {named}, which is {truth:.0%} of the "
                          "validation images; never predicted: {never}.")
        elif taken == 1:
            # TRANSLATORS: {named} is a class name, e.g. "'sandal'".
            collapsed = _("{share:.0%} of the validation predictions are {named}, which is {truth:.0%} of the "
                          "validation images.")
        elif never:
            # TRANSLATORS: {named} is two class names, e.g. "'sandal' and 'sneaker'"; {never} the classes never
            # predicted: "'bag' and 'shirt'".
            collapsed = _("{share:.0%} of the validation predictions are {named}, which are {truth:.0%} of the "
                          "validation images; never predicted: {never}.")
        else:
            # TRANSLATORS: {named} is two class names, e.g. "'sandal' and 'sneaker'".
            collapsed = _("{share:.0%} of the validation predictions are {named}, which are {truth:.0%} of the "
                          "validation images.")
        return Finding("collapse", "problem", _("Predictions collapsed"),
                       collapsed.format(share=share, named=named, truth=truth, never=words_list([repr(n) for n in never])),
                       _("If the first-loss check fired too, lower the learning rate; if the classes differ in size, "
                         "train with class weights (tl_kit.class_weights) and score balanced accuracy; if the model "
                         "is no better than chance, check the labels and the inputs."))
    if taken == 1:
        spread = _("the most predicted class takes {share:.0%} of the predictions and {truth:.0%} of the images.")
    elif taken == 2:
        spread = _("the most predicted classes take {share:.0%} of the predictions and {truth:.0%} of the images.")
    else:
        spread = _("{taken} of the {classes} classes are needed to cover {cover:.0%} of the validation predictions.")
    return Finding("collapse", "ok", title, spread.format(share=share, truth=truth, taken=taken, classes=k,
                                                          cover=COLLAPSE_SHARE))


def check_overfitting(train_score: float, val_score: float, n_val: int) -> Finding:
    """Whether training accuracy (after training, dropout and augmentation off) is far above validation's."""
    title = _("Train–validation gap")
    gap = train_score - val_score
    noise = _uncertainty(val_score, n_val)
    numbers = dict(train=train_score, val=val_score, gap=100 * gap, noise=100 * noise, limit=100 * OVERFIT_GAP,
                   n=n_val)
    if gap >= OVERFIT_GAP and gap > noise:
        return Finding("overfitting", "problem", _("Overfitting"), _(
            "balanced accuracy {train:.1%} on the training images and {val:.1%} on validation, both measured after "
            "training with dropout and augmentation off: a gap of {gap:.0f} points (the validation score alone is "
            "uncertain by about ±{noise:.0f}).").format(**numbers),
            _("The model learned its training images better than images like them: more images per class, "
              "augmentation (fit(augment=True)), fewer layers to fine-tune or a lower learning rate; keep early "
              "stopping on validation loss, which keeps the best epoch."))
    return Finding("overfitting", "ok", title, _(
        "balanced accuracy {train:.1%} on the training images and {val:.1%} on validation, both measured after "
        "training with dropout and augmentation off: a gap of {gap:+.0f} points (a problem from {limit:.0f} points, "
        "and beyond the ±{noise:.0f} a validation score on {n} images is uncertain by).").format(**numbers))


def check_val_above_train(history: dict, train_score: float, val_score: float, n_val: int) -> Finding:
    """Whether Keras reported validation accuracy above training accuracy in some epoch, and whether
    it is so when measured on the model as it ended (`train_score`, `val_score`: plain accuracy)."""
    title = _("Validation above training")
    if not history.get("accuracy") or not history.get("val_accuracy"):
        return Finding("val_above_train", "skipped", title, _("no accuracy in the training history (compile with "
                                                              "metrics=['accuracy'] and validation_data)."))
    pairs = list(zip(history["accuracy"], history["val_accuracy"]))
    above = [e for e, (t, v) in enumerate(pairs, 1) if v - t >= VAL_ABOVE_MARGIN]
    if not above:
        return Finding("val_above_train", "ok", title, _(
            "in none of the {epochs} epochs did Keras report validation accuracy {margin:.0f} points or more above "
            "training accuracy.").format(epochs=len(pairs), margin=100 * VAL_ABOVE_MARGIN))
    keras_train, keras_val = pairs[above[-1] - 1]
    numbers = dict(above=len(above), epochs=len(pairs), epoch=above[-1], keras_val=keras_val, keras_train=keras_train,
                   train=train_score, val=val_score)
    if train_score >= val_score - _uncertainty(val_score, n_val):
        return Finding("val_above_train", "note", title, _(
            "in {above} of {epochs} epochs Keras reported validation accuracy above training accuracy (epoch {epoch}: "
            "{keras_val:.1%} against {keras_train:.1%}). Keras' training number is an average over the epoch, while "
            "the weights were still changing, with dropout and augmentation on; validation is measured at the epoch's "
            "end with them off. Measured on the final model without them, training accuracy is {train:.1%} against "
            "{val:.1%} on validation: nothing to fix.").format(**numbers))
    return Finding("val_above_train", "problem", _("Validation above training, measured"), _(
        "in {above} of {epochs} epochs Keras reported validation accuracy above training accuracy (epoch {epoch}: "
        "{keras_val:.1%} against {keras_train:.1%}), and it stays so measured on the final model with dropout and "
        "augmentation off: {train:.1%} on training, {val:.1%} on validation.").format(**numbers),
        _("The validation images may be easier than the training images (look at both), near copies of some (the "
          "leakage check), or too few to trust; check the training labels (the hardest images)."))


def check_overconfident(history: dict, n_val: int) -> Finding:
    """Whether validation loss rose well above its lowest while validation accuracy did not clearly
    fall (by less than the uncertainty of an accuracy on `n_val` images)."""
    title = _("Validation loss after its lowest")
    losses, accs = list(history.get("val_loss", [])), list(history.get("val_accuracy", []))
    if len(losses) < 2 or len(accs) != len(losses):
        return Finding("overconfident", "skipped", title, _("fewer than two epochs with a validation loss and "
                                                            "accuracy."))
    best = int(np.argmin(losses))
    low, last = float(losses[best]), float(losses[-1])
    then, now = float(accs[best]), float(accs[-1])
    numbers = dict(low=_loss(low), best=best + 1, last=_loss(last), epochs=len(losses), then=then, now=now)
    if last - low >= max(LOSS_RISE, LOSS_RISE_SHARE * low) and now >= then - _uncertainty(then, n_val):
        return Finding("overconfident", "problem", _("Validation loss rises while accuracy holds"), _(
            "validation loss rose from {low} (epoch {best}) to {last} (epoch {epochs}) while validation accuracy went "
            "from {then:.1%} to {now:.1%}: the model grew surer of its answers, the wrong ones too, and a sure wrong "
            "answer costs much loss.").format(**numbers),
            _("Its probabilities are overconfident, not its accuracy worse. Keep the epoch with the lowest validation "
              "loss (tl_kit.early_stopping does) when you need probabilities you can trust; dropout in the head "
              "(build_head(dropout=0.3)) or a lower learning rate make it grow slower."))
    return Finding("overconfident", "ok", title, _(
        "lowest validation loss {low} in epoch {best} of {epochs}, {last} at the end (a problem from a rise by half); "
        "validation accuracy {then:.1%} then, {now:.1%} at the end.").format(**numbers))


def check_hardest(y_train: np.ndarray, probs: np.ndarray, class_names: Sequence[str]) -> tuple[Finding, np.ndarray]:
    """The training images in order of their loss; a problem when many are confidently in another class."""
    title = _("Hardest training images")
    given = probs[np.arange(len(y_train)), y_train]
    order = np.argsort(given, kind="stable")  # the lowest probability of its label: the highest loss
    pred = probs.argmax(axis=1)
    sure_wrong = np.flatnonzero((pred != y_train) & (probs.max(axis=1) >= SURE))
    share = len(sure_wrong) / len(y_train)
    numbers = dict(wrong=len(sure_wrong), total=len(y_train), share=share, sure=SURE, limit=MISLABEL_SHARE)
    if len(sure_wrong) < 2 or share < MISLABEL_SHARE:
        guessed_wrong = pred != y_train
        if guessed_wrong.any():
            quiet = _("{wrong} of {total} training images ({share:.1%}) get another class than their label with a "
                      "probability of at least {sure:.0%} (the surest wrong guess: {surest:.0%}); a problem from "
                      "{limit:.0%} of them. checkup.figure() shows the hardest.").format(
                surest=probs.max(axis=1)[guessed_wrong].max(), **numbers)
        else:
            quiet = _("{wrong} of {total} training images ({share:.1%}) get another class than their label with a "
                      "probability of at least {sure:.0%}; a problem from {limit:.0%} of them. checkup.figure() shows "
                      "the hardest.").format(**numbers)
        return Finding("hardest", "ok", title, quiet), order
    pairs: dict[tuple[str, str], int] = {}
    for i in sure_wrong:
        key = (class_names[y_train[i]], class_names[pred[i]])
        pairs[key] = pairs.get(key, 0) + 1
    # TRANSLATORS: how many training images of the class {label} the model confidently puts in the class {guess},
    # one item of the list {common} below: "12× sandal as sneaker".
    mistake = _("{n}× {label} as {guess}")
    numbers.update(common=comma_list([mistake.format(n=n, label=label, guess=guess)
                                      for (label, guess), n in sorted(pairs.items(), key=lambda kv: -kv[1])[:3]]))
    if share > FAILED_SHARE:
        return Finding("hardest", "problem", _("Many training images confidently in another class"), _(
            "{wrong} of {total} training images ({share:.1%}) get another class than their label with a probability "
            "of at least {sure:.0%} (most often: {common}): too many to be a few wrong labels.").format(**numbers),
            _("The model failed as a whole: fix the other problems of this check-up first.")), order
    return Finding("hardest", "problem", _("Training images confidently in another class"), _(
        "{wrong} of {total} training images ({share:.1%}) get another class than their label with a probability of at "
        "least {sure:.0%} (most often: {common}).").format(**numbers),
        _("Look at them (checkup.figure()): a wrong label, an image of two classes, or one that fits no class. Fix or "
          "remove the mislabelled ones and train again.")), order


# -- all of them -------------------------------------------------------------------------------------
def check_run(model, train, val=None, history=None, *, test: tuple | None = None,
              class_names: Sequence[str] | None = None, images: tuple | None = None) -> Checkup:
    """Run every check (`CHECKS`) on a trained model, its data and its training history.

    Args:
        model: a `TransferModel` (its data are uint8 images, which it prepares itself), any Keras
            classifier (its data are exactly what it was fitted on: images or features), or the
            `Result` of a fit (its model and history).
        train, val, test: (x, y) pairs; or a `Dataset` as `train`, which gives all three and the
            class names (the history may then come third: `check_run(model, dataset, history)`).
        history: the training history: `History.history` (a dict, as `report.json` keeps it), the
            `History`, or a `Result` (default: the Result's, when `model` is one).
        images: (x_train, x_val, x_test) uint8 pictures, when x are features: for the leakage
            check and the figure.
    """
    from .data import Dataset
    from .training import Result

    if isinstance(model, Result):
        history = model.history if history is None else history
        model = model.model
    if isinstance(train, Dataset):
        if val is not None and not isinstance(val, (tuple, list)):  # check_run(model, dataset, history)
            history, val = (val, None) if history is None else (history, val)
        if val is not None:
            raise ShapeError("With a Dataset, give the history third: check_run(model, dataset, history); the "
                             "Dataset holds the splits.")
        class_names = class_names or train.class_names
        train, val, test = train.split("train"), train.split("val"), train.split("test")
    history = dict(getattr(history, "history", history) or {})
    if val is None:
        raise ShapeError("check_run needs the validation split too: check_run(model, train, val, history), or a "
                         "Dataset as train.")
    (x_train, y_train), (x_val, y_val) = train, val
    y_train, y_val = np.asarray(y_train).astype(int), np.asarray(y_val).astype(int)
    train_probs, val_probs = _probabilities(model, x_train), _probabilities(model, x_val)
    num_classes = train_probs.shape[1]
    class_names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    if len(class_names) != num_classes:
        raise ShapeError(f"{len(class_names)} class names for a model with {num_classes} outputs.")
    pred_val = val_probs.argmax(axis=1)
    train_score = accuracy(y_train, train_probs.argmax(axis=1), balanced=True)
    val_score = accuracy(y_val, pred_val, balanced=True)

    splits = {"train": x_train, "val": x_val, **({"test": test[0]} if test is not None else {})}
    if images is not None:
        pictures = dict(zip(("train", "val", "test"), (_as_pictures(x) for x in images)))
    else:
        pictures = {split: _as_pictures(x) for split, x in splits.items()}
    labels = {"train": y_train, "val": y_val, **({"test": np.asarray(test[1]).astype(int)} if test is not None else {})}
    leakage, leaks = check_leakage(pictures, labels, class_names)
    hardest, order = check_hardest(y_train, train_probs, class_names)
    findings = [
        check_inputs(x_train, expected_input(model)),
        leakage,
        check_first_loss(history, num_classes),
        check_chance(y_val, pred_val, num_classes),
        check_collapse(y_val, pred_val, class_names),
        check_overfitting(train_score, val_score, len(y_val)),
        check_val_above_train(history, _plain(y_train, train_probs), _plain(y_val, val_probs), len(y_val)),
        check_overconfident(history, len(y_val)),
        hardest,
    ]
    return Checkup(findings, class_names, pictures.get("train"), y_train, train_probs, order, leaks)


def _plain(y: np.ndarray, probs: np.ndarray) -> float:
    """Plain accuracy: what Keras' `accuracy` metric reports, for comparing with it."""
    return float(np.mean(probs.argmax(axis=1) == y))

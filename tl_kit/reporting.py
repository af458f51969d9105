"""Putting measured numbers into words, so a lesson's summary says what *this* run found.

A difference between two methods is reported with its 95% interval over paired seeds (seed s
of both methods saw the same labelled images), and called a difference only when the interval
excludes zero, in whichever direction it falls:

    >>> difference_sentence("pretrained features", [0.72, 0.70, 0.74], "random features", [0.66, 0.65, 0.70])
    'pretrained features beat random features by 5.0 points (95% interval +2.5 to +7.5, 3 paired seeds; 72.0% vs 67.0%)'
    >>> difference_sentence("fine-tuning", [0.70, 0.74], "feature extraction", [0.71, 0.72])
    'no clear difference between fine-tuning and feature extraction: fine-tuning scored 0.5 points higher on average, but the 95% interval of that difference (-18.6 to +19.6, 2 paired seeds) includes zero (72.0% vs 71.5%)'

"No clear difference" is not "equal": the data cannot tell the two apart, and more seeds
(a narrower interval) might.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ShapeError
from .i18n import _, words_list


@dataclass(frozen=True)
class Interval:
    """The mean of paired differences a − b, in percentage points, and its 95% interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def varied(self) -> bool:
        """False when every seed gave the same difference: nothing random changed between them
        (e.g. every seed drew all the training images), so the seeds are one measurement."""
        return self.n >= 2 and self.high - self.low > 1e-6

    @property
    def clear(self) -> bool:
        """True when the interval excludes zero: a difference this data supports."""
        return self.varied and (self.low > 0 or self.high < 0)

    @property
    def sign(self) -> int:
        """+1 (a is better), -1 (b is better) or 0: no clear difference, or, when the seeds did not
        vary (see `varied`), nothing to tell one by; reports must say which of the two it was."""
        return int(np.sign(self.mean)) if self.clear else 0

    @property
    def half_width(self) -> float:
        """Half the interval's width, in points (0 with one seed, where there is no interval)."""
        return 0.0 if self.n < 2 else (self.high - self.low) / 2

    def as_list(self) -> list[float]:
        """[low, mean, high], the form benchmarks/results.json records."""
        return [round(self.low, 2), round(self.mean, 2), round(self.high, 2)]

    def __str__(self) -> str:
        if self.n < 2:
            return _("{mean:+.1f} points (one seed: no interval)").format(mean=self.mean)
        if not self.varied:
            if self.n == 2:
                return _("{mean:+.1f} points (the same in both seeds: nothing varied between them)").format(
                    mean=self.mean)
            return _("{mean:+.1f} points (the same in all {n} seeds: nothing varied between them)").format(
                mean=self.mean, n=self.n)
        return _("{mean:+.1f} points (95% interval {low:+.1f} to {high:+.1f}, {n} paired seeds)").format(
            mean=self.mean, low=self.low, high=self.high, n=self.n)


def paired_interval(a, b, confidence: float = 0.95) -> Interval:
    """Mean of a − b in points (a, b: accuracies in 0…1, one per seed) and its t-interval.

    With one seed the interval is undefined (nan): no claim can be made from it.
    """
    from scipy import stats

    diff = 100 * (np.asarray(a, float) - np.asarray(b, float))
    if diff.shape != np.shape(a) or diff.ndim != 1 or np.size(a) != np.size(b) or diff.size == 0:
        raise ShapeError(f"Give one accuracy per seed for both methods; got {np.shape(a)} and {np.shape(b)}.")
    mean, n = float(diff.mean()), int(diff.size)
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * diff.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)


def mean_interval(values, confidence: float = 0.95) -> Interval:
    """One method's mean over seeds (accuracies in 0…1, reported in points) and its t-interval:
    the unpaired spread of a single row, as a table or a figure's whiskers show it."""
    return paired_interval(values, np.zeros(np.shape(values)), confidence)


def unpaired_interval(a, b, confidence: float = 0.95) -> Interval:
    """mean(a) − mean(b) for two independent samples (values already in points), with Welch's
    t-interval: for comparing what was measured on two data sets, whose seeds share nothing.

    Computed here rather than by scipy's ttest_ind, which warns of precision loss on a sample
    whose seeds all agree (the fast profile's full label draws): such a sample adds no spread,
    and when both do, the interval is the mean alone (not `varied`).
    """
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.ndim != 1 or b.ndim != 1 or a.size == 0 or b.size == 0:
        raise ShapeError(f"Give one value per seed for each sample; got {np.shape(a)} and {np.shape(b)}.")
    mean, n = float(a.mean() - b.mean()), int(min(a.size, b.size))
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if va + vb == 0:
        return Interval(mean, mean, mean, n)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))  # Welch–Satterthwaite
    half = float(stats.t.ppf(0.5 + confidence / 2, df) * math.sqrt(va + vb))
    return Interval(mean, mean - half, mean + half, n)


def gain_contrast_sentence(gain: str, name_a: str, gains_a, name_b: str, gains_b) -> str:
    """Was a gain (per-seed differences, in points) larger on data set a than on b? Said from the
    side where it was larger, with Welch's interval; "no clear difference" when it contains zero.
    When the gains did not vary (or one data set has one seed) there is no interval to contain
    zero or not: that is one measurement, and "no clear difference" would claim too much.

    >>> print(gain_contrast_sentence("the gain over raw pixels", "emoji", [12, 15, 13], "Fashion-MNIST", [3, 4, 2]))
    the gain over raw pixels was 10.3 points larger on emoji than on Fashion-MNIST (95% interval +7.2 to +13.5, unpaired: the two data sets are separate experiments; mean gain 13.3 vs 3.0 points)
    >>> print(gain_contrast_sentence("the gain", "emoji", [30, 30], "Fashion-MNIST", [5, 5]))
    one measurement: cannot tell whether the gain differed between emoji (+30.0 points) and Fashion-MNIST (+5.0 points): +25.0 points (the same in both seeds: nothing varied between them)
    """
    interval = unpaired_interval(gains_a, gains_b)
    names = dict(gain=gain, name_a=name_a, name_b=name_b, gain_a=np.mean(gains_a), gain_b=np.mean(gains_b))
    if not interval.varied:
        # TRANSLATORS: {gain} is a phrase such as "the gain of pretrained features over raw pixels"; {interval} is
        # the difference in words, e.g. "+25.0 points (the same in all 3 seeds: nothing varied between them)".
        return _("one measurement: cannot tell whether {gain} differed between {name_a} ({gain_a:+.1f} points) and "
                 "{name_b} ({gain_b:+.1f} points): {interval}").format(interval=interval, **names)
    if not interval.clear:
        # TRANSLATORS: {gain} is a phrase such as "the gain of pretrained features over raw pixels".
        return _("no clear difference in {gain} between {name_a} ({gain_a:+.1f} points) and {name_b} ({gain_b:+.1f} "
                 "points): {mean:+.1f} points, 95% interval {low:+.1f} to {high:+.1f}").format(
            mean=interval.mean, low=interval.low, high=interval.high, **names)
    if interval.mean < 0:
        return gain_contrast_sentence(gain, name_b, gains_b, name_a, gains_a)
    # TRANSLATORS: {gain} is a phrase such as "the gain of pretrained features over raw pixels".
    return _("{gain} was {mean:.1f} points larger on {name_a} than on {name_b} (95% interval {low:+.1f} to "
             "{high:+.1f}, unpaired: the two data sets are separate experiments; mean gain {gain_a:.1f} vs "
             "{gain_b:.1f} points)").format(mean=interval.mean, low=interval.low, high=interval.high, **names)


def difference_sentence(name_a: str, a, name_b: str, b) -> str:
    """One sentence on a − b: who beat whom, by how much, with the interval; or no clear difference.
    One seed, or seeds that all gave the same difference, are one measurement: said as such, never
    as "no clear difference", which only an interval that varied and contains zero can support."""
    interval = paired_interval(a, b)
    scores = dict(name_a=name_a, name_b=name_b, score_a=np.mean(a), score_b=np.mean(b))
    if interval.n < 2:
        return _("{name_a} scored {score_a:.1%} and {name_b} {score_b:.1%} on one seed: too few runs to call a "
                 "difference").format(**scores)
    if not interval.varied:
        return _("{name_a} scored {score_a:.1%} and {name_b} {score_b:.1%}, the same in every seed (nothing random "
                 "varied between them): one measurement, too few to call a difference").format(**scores)
    if interval.sign != 0:  # said from the winner's side: when b won, b − a, a positive interval
        won = interval.sign > 0
        return _("{winner} beat {loser} by {gain:.1f} points (95% interval {low:+.1f} to {high:+.1f}, {n} paired "
                 "seeds; {winner_score:.1%} vs {loser_score:.1%})").format(
            winner=name_a if won else name_b, loser=name_b if won else name_a, gain=interval.sign * interval.mean,
            low=interval.low if won else -interval.high, high=interval.high if won else -interval.low, n=interval.n,
            winner_score=np.mean(a if won else b), loser_score=np.mean(b if won else a))
    if abs(interval.mean) < 0.05:
        return _("no clear difference between {name_a} and {name_b}: the two scored the same on average, and the 95% "
                 "interval ({low:+.1f} to {high:+.1f}, {n} paired seeds) includes zero ({score_a:.1%} vs "
                 "{score_b:.1%})").format(low=interval.low, high=interval.high, n=interval.n, **scores)
    # said from the side that scored higher, its interval of (higher − lower) too, so the numbers agree
    (lead, lead_scores), (other, other_scores) = sorted([(name_a, a), (name_b, b)], key=lambda s: -np.mean(s[1]))
    low, high = (interval.low, interval.high) if lead == name_a else (-interval.high, -interval.low)
    return _("no clear difference between {name_a} and {name_b}: {lead} scored {gap:.1f} points higher on average, "
             "but the 95% interval of that difference ({low:+.1f} to {high:+.1f}, {n} paired seeds) includes zero "
             "({lead_score:.1%} vs {other_score:.1%})").format(
        name_a=name_a, name_b=name_b, lead=lead, gap=abs(interval.mean), low=low, high=high, n=interval.n,
        lead_score=np.mean(lead_scores), other_score=np.mean(other_scores))


def transfer_verdict(dataset: str, intervals: dict[str, Interval]) -> str:
    """What the comparison on one data set says about transfer, from pretrained − baseline intervals.

    `intervals` maps each baseline's name to the interval of (pretrained − that baseline).
    Only intervals whose seeds varied can support a verdict. One that did not vary (every seed
    drew the same labels) or has one seed is one measurement: its sign 0 does not mean "no clear
    difference" but "cannot tell", so it is named apart with its number and left out of the
    verdict. When every interval varied, the wording is the classic one.
    """
    varied = {name: i for name, i in intervals.items() if i.varied}
    unvaried = {name: i for name, i in intervals.items() if not i.varied}
    if unvaried and not varied:
        # TRANSLATORS: {figures} is one or more clauses such as "pretrained features +30.0 points against random
        # features, the same in every seed: nothing random varied between them".
        return _("On {dataset}, one measurement: cannot tell whether transfer paid ({figures}).").format(
            dataset=dataset, figures=_one_measurement(unvaried))
    won = [name for name, i in varied.items() if i.sign > 0]
    lost = [name for name, i in varied.items() if i.sign < 0]
    tied = [name for name, i in varied.items() if i.sign == 0]
    # One clause per case, put into one of the sentences below.
    if won and not lost and not tied and unvaried:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}; one measurement against {names}: …".
        verdict = _("transfer paid against every baseline whose seeds varied: pretrained features beat {won}")
    elif won and not lost and not tied:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}.".
        verdict = _("transfer paid against every baseline: pretrained features beat {won}")
    elif won and not lost:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}.".
        verdict = _("transfer paid against {won}, but made no clear difference against {tied}")
    elif won and tied:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}.".
        verdict = _("the answer is mixed: pretrained features beat {won}, but {lost} beat them; no clear difference "
                    "from {tied}")
    elif won:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}.".
        verdict = _("the answer is mixed: pretrained features beat {won}, but {lost} beat them")
    elif lost and tied:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}.".
        verdict = _("transfer did not pay: {lost} beat the pretrained features; no clear difference from {tied}")
    elif lost:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}.".
        verdict = _("transfer did not pay: {lost} beat the pretrained features")
    elif unvaried:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}; one measurement against {names}: …".
        verdict = _("transfer made no clear difference against {tied} (where the seeds varied)")
    else:
        # TRANSLATORS: the {verdict} of "On {dataset}, {verdict}.".
        verdict = _("transfer made no clear difference against {tied}")
    verdict = verdict.format(won=words_list(won), lost=words_list(lost), tied=words_list(tied))
    if not unvaried:
        # TRANSLATORS: {verdict} is a clause such as "transfer paid against every baseline: pretrained features beat
        # random features and raw pixels".
        return _("On {dataset}, {verdict}.").format(dataset=dataset, verdict=verdict)
    # TRANSLATORS: {verdict} is a clause such as "transfer paid against every baseline whose seeds varied:
    # pretrained features beat random features"; {figures} as in "On {dataset}, one measurement: …".
    one = (_("On {dataset}, {verdict}; one measurement each against {names}: cannot tell ({figures}).")
           if len(unvaried) > 1 else
           _("On {dataset}, {verdict}; one measurement against {names}: cannot tell ({figures})."))
    return one.format(dataset=dataset, verdict=verdict, names=words_list(list(unvaried)),
                      figures=_one_measurement(unvaried))


def _one_measurement(intervals: dict[str, Interval]) -> str:
    """'pretrained features +30.0 points against random features, <why there is no interval>',
    baselines that share the reason joined, so the number is given without a claim."""
    groups: dict[bool, list[str]] = {}  # on one seed? → its differences
    for name, i in intervals.items():
        # TRANSLATORS: one of the {differences} (joined into a list) in "pretrained features {differences}, …".
        groups.setdefault(i.n < 2, []).append(_("{mean:+.1f} points against {name}").format(mean=i.mean, name=name))
    clauses = []
    for one_seed, differences in groups.items():
        if one_seed:
            # TRANSLATORS: the {figures} of "On {dataset}, one measurement: cannot tell whether transfer paid
            # ({figures})." and of "…: cannot tell ({figures}).", alone or before or after the clause below.
            clause = _("pretrained features {differences}, on one seed: no interval")
        else:
            # TRANSLATORS: the {figures} of "On {dataset}, one measurement: cannot tell whether transfer paid
            # ({figures})." and of "…: cannot tell ({figures}).", alone or before or after the clause above.
            clause = _("pretrained features {differences}, the same in every seed: nothing random varied between them")
        clauses.append(clause.format(differences=words_list(differences)))
    text = clauses[0]
    for clause in clauses[1:]:
        # TRANSLATORS: two clauses in a row, each "pretrained features … against …, <why there is no interval>".
        text = _("{clauses}; {clause}").format(clauses=text, clause=clause)
    return text


def balanced_step(labels) -> float:
    """How much one image of the smallest class, right or wrong, moves balanced accuracy on a set
    with these labels: 1 / (images in that class × classes). A difference of a step or two
    between two scores on the same set is one image or two.

    >>> balanced_step([0] * 6 + [1] * 6 + [2] * 12)
    0.05555555555555555
    """
    counts = np.bincount(np.asarray(labels))
    counts = counts[counts > 0]
    if counts.size == 0:
        raise ShapeError("The set is empty: there is no score to move.")
    return 1 / float(counts.min() * counts.size)


def caveat_for_test_set(y_test, difference: float, name: str) -> str:
    """What one run's difference in balanced accuracy (a fraction, e.g. fine-tuned − head alone)
    is worth on this test set, in images of its smallest class.

    Balanced accuracy moves in steps: one image of the smallest class more or less right moves
    it by 1 / (images in that class × classes). On a small test set a difference of a step or
    two is a single image, which the split alone can decide.

    >>> print(caveat_for_test_set([0] * 6 + [1] * 6 + [2] * 6, 0.056, "fine-tuning"))
    18 test images (6 in the smallest class): one image of that class more or less right moves balanced accuracy by 5.6 points, so fine-tuning's +5.6 points is worth one such image: within a few images, which one run on one split cannot tell from luck. More test images, or several seeds, can.
    """
    counts = np.bincount(np.asarray(y_test))
    counts = counts[counts > 0]
    step = 100 * balanced_step(y_test)
    steps = 100 * difference / step
    # TRANSLATORS: {images} is how many images of the smallest class the difference is worth, e.g. "one such image",
    # "3 such images", "about 2.5 such images".
    caveat = (_("{total} test images ({smallest} in the smallest class): one image of that class more or less right "
                "moves balanced accuracy by {step:.1f} points, so {name}'s {difference:+.1f} points is worth {images}: "
                "within a few images, which one run on one split cannot tell from luck. More test images, or several "
                "seeds, can.") if abs(steps) < 3 else
              _("{total} test images ({smallest} in the smallest class): one image of that class more or less right "
                "moves balanced accuracy by {step:.1f} points, so {name}'s {difference:+.1f} points is worth {images}: "
                "more than a few images, but from one run on one split: several seeds would give it an interval."))
    return caveat.format(total=counts.sum(), smallest=counts.min(), step=step, name=name, difference=100 * difference,
                         images=_images(abs(steps)))


def _images(count: float) -> str:
    """'less than one such image', 'one such image', '3 such images', 'about 2.5 such images'."""
    if round(count, 1) == 0:
        # TRANSLATORS: the {images} of "… so {name}'s {difference:+.1f} points is worth {images}: …".
        return _("less than one such image")
    if abs(count - round(count)) < 0.05 and round(count) == 1:
        # TRANSLATORS: the {images} of "… so {name}'s {difference:+.1f} points is worth {images}: …".
        return _("one such image")
    if abs(count - round(count)) < 0.05:
        # TRANSLATORS: the {images} of "… so {name}'s {difference:+.1f} points is worth {images}: …"; {count} ≥ 2.
        return _("{count} such images").format(count=round(count))
    # TRANSLATORS: the {images} of "… so {name}'s {difference:+.1f} points is worth {images}: …".
    return _("about {count:.1f} such images").format(count=count)

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
            return f"{self.mean:+.1f} points (one seed: no interval)"
        if not self.varied:
            seeds = "both seeds" if self.n == 2 else f"all {self.n} seeds"
            return f"{self.mean:+.1f} points (the same in {seeds}: nothing varied between them)"
        return f"{self.mean:+.1f} points (95% interval {self.low:+.1f} to {self.high:+.1f}, {self.n} paired seeds)"


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
    if not interval.varied:
        return (f"one measurement: cannot tell whether {gain} differed between {name_a} ({np.mean(gains_a):+.1f} "
                f"points) and {name_b} ({np.mean(gains_b):+.1f} points): {interval}")
    if not interval.clear:
        return (f"no clear difference in {gain} between {name_a} ({np.mean(gains_a):+.1f} points) and {name_b} "
                f"({np.mean(gains_b):+.1f} points): {interval.mean:+.1f} points, 95% interval {interval.low:+.1f} "
                f"to {interval.high:+.1f}")
    if interval.mean < 0:
        return gain_contrast_sentence(gain, name_b, gains_b, name_a, gains_a)
    return (f"{gain} was {interval.mean:.1f} points larger on {name_a} than on {name_b} (95% interval "
            f"{interval.low:+.1f} to {interval.high:+.1f}, unpaired: the two data sets are separate experiments; "
            f"mean gain {np.mean(gains_a):.1f} vs {np.mean(gains_b):.1f} points)")


def difference_sentence(name_a: str, a, name_b: str, b) -> str:
    """One sentence on a − b: who beat whom, by how much, with the interval; or no clear difference.
    One seed, or seeds that all gave the same difference, are one measurement: said as such, never
    as "no clear difference", which only an interval that varied and contains zero can support."""
    interval = paired_interval(a, b)
    scores = f"{np.mean(a):.1%} vs {np.mean(b):.1%}"
    details = f"(95% interval {interval.low:+.1f} to {interval.high:+.1f}, {interval.n} paired seeds; {scores})"
    if interval.n < 2:
        return f"{name_a} scored {np.mean(a):.1%} and {name_b} {np.mean(b):.1%} on one seed: too few runs to call a difference"
    if not interval.varied:
        return (f"{name_a} scored {np.mean(a):.1%} and {name_b} {np.mean(b):.1%}, the same in every seed (nothing "
                "random varied between them): one measurement, too few to call a difference")
    if interval.sign > 0:
        return f"{name_a} beat {name_b} by {interval.mean:.1f} points {details}"
    if interval.sign < 0:  # said from the winner's side: b − a, a positive interval
        details = f"(95% interval {-interval.high:+.1f} to {-interval.low:+.1f}, {interval.n} paired seeds; " \
                  f"{np.mean(b):.1%} vs {np.mean(a):.1%})"
        return f"{name_b} beat {name_a} by {-interval.mean:.1f} points {details}"
    if abs(interval.mean) < 0.05:
        return (f"no clear difference between {name_a} and {name_b}: the two scored the same on average, and the 95% "
                f"interval ({interval.low:+.1f} to {interval.high:+.1f}, {interval.n} paired seeds) includes zero "
                f"({scores})")
    # said from the side that scored higher, its interval of (higher − lower) too, so the numbers agree
    (lead, lead_scores), (other, other_scores) = sorted([(name_a, a), (name_b, b)], key=lambda s: -np.mean(s[1]))
    low, high = (interval.low, interval.high) if lead == name_a else (-interval.high, -interval.low)
    return (f"no clear difference between {name_a} and {name_b}: {lead} scored {abs(interval.mean):.1f} points higher "
            f"on average, but the 95% interval of that difference ({low:+.1f} to {high:+.1f}, {interval.n} paired "
            f"seeds) includes zero ({np.mean(lead_scores):.1%} vs {np.mean(other_scores):.1%})")


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
        return f"On {dataset}, one measurement: cannot tell whether transfer paid ({_one_measurement(unvaried)})."
    won = [name for name, i in varied.items() if i.sign > 0]
    lost = [name for name, i in varied.items() if i.sign < 0]
    tied = [name for name, i in varied.items() if i.sign == 0]
    not_clear = f"; no clear difference from {_join(tied)}" if tied else ""
    if won and not lost and not tied:
        verdict = (f"transfer paid against every baseline{' whose seeds varied' if unvaried else ''}: pretrained "
                   f"features beat {_join(won)}")
    elif won and not lost:
        verdict = f"transfer paid against {_join(won)}, but made no clear difference against {_join(tied)}"
    elif won:
        verdict = f"the answer is mixed: pretrained features beat {_join(won)}, but {_join(lost)} beat them{not_clear}"
    elif lost:
        verdict = f"transfer did not pay: {_join(lost)} beat the pretrained features{not_clear}"
    else:
        verdict = (f"transfer made no clear difference against {_join(tied)}"
                   + (" (where the seeds varied)" if unvaried else ""))
    sentence = f"On {dataset}, {verdict}"
    if unvaried:
        each = " each" if len(unvaried) > 1 else ""
        sentence += (f"; one measurement{each} against {_join(list(unvaried))}: cannot tell "
                     f"({_one_measurement(unvaried)})")
    return sentence + "."


def _one_measurement(intervals: dict[str, Interval]) -> str:
    """'pretrained features +30.0 points against random features, <why there is no interval>',
    baselines that share the reason joined, so the number is given without a claim."""
    groups: dict[str, list[str]] = {}
    for name, i in intervals.items():
        why = "on one seed: no interval" if i.n < 2 else "the same in every seed: nothing random varied between them"
        groups.setdefault(why, []).append(f"{i.mean:+.1f} points against {name}")
    return "; ".join(f"pretrained features {_join(figures)}, {why}" for why, figures in groups.items())


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


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
    where = ("within a few images, which one run on one split cannot tell from luck. More test images, or several "
             "seeds, can." if abs(steps) < 3 else
             "more than a few images, but from one run on one split: several seeds would give it an interval.")
    return (f"{counts.sum()} test images ({counts.min()} in the smallest class): one image of that class more or less "
            f"right moves balanced accuracy by {step:.1f} points, so {name}'s {100 * difference:+.1f} points is worth "
            f"{_images(abs(steps))}: {where}")


def _images(count: float) -> str:
    """'less than one such image', 'one such image', '3 such images', 'about 2.5 such images'."""
    if round(count, 1) == 0:
        return "less than one such image"
    if abs(count - round(count)) < 0.05:
        return "one such image" if round(count) == 1 else f"{round(count)} such images"
    return f"about {count:.1f} such images"

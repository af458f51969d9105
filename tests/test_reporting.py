"""Sentences that report a result are computed from it, in every direction, with their interval."""

import math

import numpy as np
import pytest

from tl_kit.errors import ShapeError
from tl_kit.reporting import (Interval, difference_sentence, gain_contrast_sentence, mean_interval, paired_interval,
                              transfer_verdict, unpaired_interval)

A_WINS = ([0.72, 0.70, 0.74, 0.71, 0.73], [0.66, 0.65, 0.70, 0.66, 0.67])


def test_the_interval_is_the_paired_t_interval_in_points():
    from scipy import stats

    a, b = A_WINS
    diff = 100 * (np.array(a) - np.array(b))
    low, high = stats.t.interval(0.95, len(diff) - 1, loc=diff.mean(), scale=stats.sem(diff))
    interval = paired_interval(a, b)
    assert (interval.mean, interval.low, interval.high, interval.n) == pytest.approx((diff.mean(), low, high, 5))
    assert interval.clear and interval.sign == 1 and interval.as_list() == [round(low, 2), round(diff.mean(), 2),
                                                                            round(high, 2)]


def test_pairing_matters_a_constant_gap_is_clear_even_when_seeds_vary_a_lot():
    a = [0.50, 0.80, 0.60, 0.90]
    b = [x - gap for x, gap in zip(a, (0.020, 0.021, 0.019, 0.020))]
    assert paired_interval(a, b).clear and paired_interval(a, b).low > 1.8
    assert not paired_interval(a, [0.52, 0.78, 0.62, 0.86]).clear  # the same scores, unpaired noise: unclear


@pytest.mark.parametrize("a, b, start", [
    (*A_WINS, "A beat B by 5.2 points (95% interval +4.2 to +6.2, 5 paired seeds; 72.0% vs 66.8%)"),
    (A_WINS[1], A_WINS[0], "B beat A by 5.2 points (95% interval +4.2 to +6.2, 5 paired seeds; 72.0% vs 66.8%)"),
    ([0.70, 0.74, 0.69, 0.73], [0.71, 0.72, 0.71, 0.72], "no clear difference between A and B: the two scored the same on average, and the 95% interval"),
])
def test_the_sentence_names_the_winner_in_either_direction_or_says_no_clear_difference(a, b, start):
    sentence = difference_sentence("A", a, "B", b)
    assert sentence.startswith(start), sentence
    assert f"{len(a)} paired seeds" in sentence


def test_one_seed_never_makes_a_claim():
    sentence = difference_sentence("A", [0.9], "B", [0.5])
    assert "too few runs" in sentence and "beat" not in sentence
    interval = paired_interval([0.9], [0.5])
    assert math.isnan(interval.low) and not interval.clear and interval.sign == 0 and "one seed" in str(interval)


def test_seeds_that_all_agree_are_one_measurement_not_a_clear_difference():
    interval = paired_interval([0.8, 0.8, 0.8], [0.7, 0.7, 0.7])  # e.g. every seed drew all the images
    assert not interval.varied and not interval.clear and "the same in all 3 seeds: nothing varied" in str(interval)
    assert "the same in both seeds" in str(paired_interval([0.8, 0.8], [0.7, 0.7]))
    assert "the same in every seed" in difference_sentence("A", [0.8] * 3, "B", [0.7] * 3)
    for sentence in (difference_sentence("A", [0.8] * 3, "B", [0.7] * 3), difference_sentence("A", [0.8], "B", [0.7])):
        assert "no clear difference" not in sentence and "beat" not in sentence


def test_unpaired_or_empty_results_are_refused():
    with pytest.raises(ShapeError, match="one accuracy per seed"):
        paired_interval([0.5, 0.6], [0.5])
    with pytest.raises(ShapeError):
        paired_interval([], [])


def won(): return Interval(5.0, 2.0, 8.0, 5)
def lost(): return Interval(-5.0, -8.0, -2.0, 5)
def tied(): return Interval(0.5, -1.0, 2.0, 5)


@pytest.mark.parametrize("intervals, expected", [
    ({"random features": won(), "raw pixels": won()}, "On emoji, transfer paid against every baseline: pretrained "
                                                       "features beat random features and raw pixels."),
    ({"random features": won(), "a small CNN": tied()}, "On emoji, transfer paid against random features, but made "
                                                        "no clear difference against a small CNN."),
    ({"random features": won(), "a small CNN": lost()}, "On emoji, the answer is mixed: pretrained features beat "
                                                        "random features, but a small CNN beat them."),
    ({"random features": tied(), "a small CNN": lost()}, "On emoji, transfer did not pay: a small CNN beat the "
                                                         "pretrained features; no clear difference from random "
                                                         "features."),
    ({"random features": tied(), "raw pixels": tied()}, "On emoji, transfer made no clear difference against random "
                                                        "features and raw pixels."),
])
def test_the_verdict_on_transfer_follows_the_intervals(intervals, expected):
    assert transfer_verdict("emoji", intervals) == expected


def same_every_seed(): return paired_interval([0.567] * 3, [0.267] * 3)  # the fast profile: all labels drawn
def one_seed(): return paired_interval([0.60], [0.50])


def test_a_verdict_from_seeds_that_all_agree_is_one_measurement_never_no_clear_difference():
    verdict = transfer_verdict("emoji", {"random features": same_every_seed()})
    assert verdict == ("On emoji, one measurement: cannot tell whether transfer paid (pretrained features +30.0 "
                       "points against random features, the same in every seed: nothing random varied between them).")
    both = transfer_verdict("emoji", {"random features": same_every_seed(), "raw pixels": one_seed()})
    assert both == ("On emoji, one measurement: cannot tell whether transfer paid (pretrained features +30.0 points "
                    "against random features, the same in every seed: nothing random varied between them; "
                    "pretrained features +10.0 points against raw pixels, on one seed: no interval).")
    assert "no clear difference" not in verdict + both


@pytest.mark.parametrize("intervals, expected", [
    ({"random features": won(), "raw pixels": same_every_seed()},
     "On emoji, transfer paid against every baseline whose seeds varied: pretrained features beat random features; "
     "one measurement against raw pixels: cannot tell (pretrained features +30.0 points against raw pixels, the same "
     "in every seed: nothing random varied between them)."),
    ({"random features": tied(), "raw pixels": same_every_seed(), "a small CNN": same_every_seed()},
     "On emoji, transfer made no clear difference against random features (where the seeds varied); "
     "one measurement each against raw pixels and a small CNN: cannot tell (pretrained features +30.0 points against "
     "raw pixels and +30.0 points against a small CNN, the same in every seed: nothing random varied between them)."),
    ({"random features": lost(), "raw pixels": one_seed()},
     "On emoji, transfer did not pay: random features beat the pretrained features; one "
     "measurement against raw pixels: cannot tell (pretrained features +10.0 points against raw pixels, on one seed: "
     "no interval)."),
])
def test_a_mixed_verdict_rests_on_the_varied_intervals_and_names_the_others_as_one_measurement(intervals, expected):
    assert transfer_verdict("emoji", intervals) == expected


def test_one_rows_mean_interval_is_the_t_interval_of_its_mean_in_points():
    from scipy import stats

    values = [0.70, 0.74, 0.69, 0.73, 0.71]
    low, high = stats.t.interval(0.95, 4, loc=100 * np.mean(values), scale=stats.sem(100 * np.array(values)))
    interval = mean_interval(values)
    assert (interval.low, interval.high) == pytest.approx((low, high))
    assert interval.half_width == pytest.approx((high - low) / 2) and mean_interval([0.7]).half_width == 0.0


def test_the_unpaired_interval_is_welchs_t_interval():
    from scipy import stats

    a, b = [12.0, 15.0, 13.0, 9.0], [3.0, 4.0, 2.0]
    i = unpaired_interval(a, b)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (i.mean, i.low, i.high) == pytest.approx((np.mean(a) - np.mean(b), ci.low, ci.high))
    assert i.clear and i.sign == 1
    assert unpaired_interval([1.0], [2.0, 3.0]).n == 1 and not unpaired_interval([1.0], [2.0, 3.0]).clear
    with pytest.raises(ShapeError):
        unpaired_interval([], [1.0, 2.0])


@pytest.mark.parametrize("a, b, start", [
    ([12, 15, 13], [3, 4, 2], "the gain was 10.3 points larger on emoji than on fashion"),
    ([3, 4, 2], [12, 15, 13], "the gain was 10.3 points larger on fashion than on emoji"),
    ([5, -4, 9], [3, 8, -2], "no clear difference in the gain between emoji (+3.3 points) and fashion (+3.0 points)"),
])
def test_the_gain_contrast_names_where_the_gain_was_larger_or_says_no_clear_difference(a, b, start):
    assert gain_contrast_sentence("the gain", "emoji", a, "fashion", b).startswith(start)


@pytest.mark.parametrize("a, b, why", [
    ([30, 30, 30], [5, 5, 5], "+25.0 points (the same in all 3 seeds: nothing varied between them)"),
    ([30], [5, 4, 6], "+25.0 points (one seed: no interval)"),
])
def test_a_gain_contrast_without_spread_is_one_measurement_never_no_clear_difference(a, b, why):
    sentence = gain_contrast_sentence("the gain", "emoji", a, "fashion", b)
    assert sentence == ("one measurement: cannot tell whether the gain differed between emoji (+30.0 points) and "
                        f"fashion (+5.0 points): {why}")


def test_the_unpaired_interval_of_samples_whose_seeds_all_agree_is_the_mean_alone_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's ttest_ind warns of precision loss here
        both, one = unpaired_interval([30.0] * 3, [5.0] * 3), unpaired_interval([30.0] * 3, [3.0, 4.0, 2.0])
    assert (both.low, both.mean, both.high) == (25.0, 25.0, 25.0) and not both.varied and not both.clear
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = stats.ttest_ind([30.0] * 3, [3.0, 4.0, 2.0], equal_var=False).confidence_interval(0.95)
    assert one.varied and one.clear and (one.low, one.high) == pytest.approx((ci.low, ci.high))


def test_an_unclear_difference_is_said_from_the_higher_side_with_its_own_interval():
    """The mean and the interval in one sentence must be of the same difference (higher − lower)."""
    sentence = difference_sentence("inference mode", [0.70, 0.66, 0.72, 0.69, 0.71],
                                   "training mode", [0.74, 0.70, 0.69, 0.75, 0.73])
    mean = float(sentence.split("scored ")[1].split(" points")[0])
    low, high = (float(v) for v in sentence.split("difference (")[1].split(",")[0].split(" to "))
    assert sentence.startswith("no clear difference between inference mode and training mode: training mode scored")
    assert low < mean < high and low < 0 < high

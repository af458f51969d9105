"""The figures the experiments draw show what the text says: paired differences, not only means."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from tl_kit.experiments import CNN, PIXELS, PRETRAINED, RANDOM, Comparison
from tl_kit.plots import plot_comparison


def comparison(name, pretrained, **others) -> Comparison:
    scores = {PRETRAINED: pretrained, **others}
    return Comparison(name, 10, list(range(len(pretrained))), scores, scores, {}, [12, 20, 15], 150, 1 / 6)


def test_the_comparison_figure_draws_each_paired_difference_where_the_text_puts_it():
    emoji = comparison("emoji", [0.50, 0.60, 0.40], **{RANDOM: [0.45, 0.55, 0.35], PIXELS: [0.30, 0.42, 0.20],
                                                      CNN: [0.52, 0.61, 0.41]})
    fashion = comparison("fashion", [0.70, 0.72, 0.71], **{RANDOM: [0.69, 0.70, 0.70], PIXELS: [0.66, 0.69, 0.70],
                                                          CNN: [0.70, 0.73, 0.71]})
    fig = plot_comparison([emoji, fashion])
    bars, diffs = fig.axes
    assert len(bars.patches) == 8  # 4 methods × 2 data sets
    labels = [t.get_text() for t in diffs.get_yticklabels()]
    assert labels == [f"{d}: − {m}" for d in ("emoji", "fashion") for m in (RANDOM, PIXELS, CNN)]
    centres = [line.get_xdata()[0] for line in diffs.lines if line.get_marker() == "o"]
    expected = [emoji.interval(PRETRAINED, m).mean for m in (RANDOM, PIXELS, CNN)] + \
               [fashion.interval(PRETRAINED, m).mean for m in (RANDOM, PIXELS, CNN)]
    assert centres == pytest.approx(expected)
    # the paired interval of a constant 5-point gap is a point, although each method's own spread is 10 points wide
    random_bar = emoji.interval(PRETRAINED, RANDOM)
    assert random_bar.high - random_bar.low < 1e-6 and np.std(emoji.scores[RANDOM]) > 0.05

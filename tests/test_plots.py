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


def test_the_network_diagram_draws_each_layer_as_tall_as_its_parameter_count():
    from tl_kit import TransferModel, build_head, load_vgg16
    from tl_kit.freezing import unit_layers
    from tl_kit.plots import plot_network

    base, _ = load_vgg16(None, input_shape=(32, 32, 3), verbose=False)
    tm = TransferModel(base, build_head((1, 1, 512), 10, name="head"))
    fig = plot_network(tm.model, {"block5_conv3", "head"})
    boxes = fig.axes[0].patches
    params = [sum(int(np.prod(w.shape)) for w in layer.weights) for layer in unit_layers(tm.model)]
    heights = [box.get_height() for box in boxes]
    weighted = [(h, p) for h, p in zip(heights, params) if p and h > 0.04]  # the tiniest are drawn at a visible minimum
    ratio = [h / p for h, p in weighted]
    assert max(ratio) == pytest.approx(min(ratio))  # linear in parameters, not in log2(channels)
    colours = {layer.name: box.get_facecolor() for layer, box in zip(unit_layers(tm.model), boxes)}
    assert colours["block5_conv3"] == colours["head"] != colours["block5_conv2"]

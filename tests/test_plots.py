"""The figures the experiments draw show what the text says: paired differences, not only means."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from tl_kit.experiments import CNN, PIXELS, PRETRAINED, RANDOM, Comparison
from tl_kit.plots import plot_comparison


@pytest.fixture(autouse=True)
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


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


def test_the_network_diagram_draws_blocks_cut_away_as_dashed_outlines_between_base_and_head():
    from tl_kit import TransferModel, build_head, load_vgg16
    from tl_kit.plots import plot_network

    base, _ = load_vgg16(None, input_shape=(32, 32, 3), verbose=False)
    tm = TransferModel(base, build_head((2, 2, 512), 10, name="head"), cut="block4_pool")
    fig = plot_network(tm.model, {"head"}, cut_away=tm.cut_away)
    boxes = fig.axes[0].patches
    hollow = [box for box in boxes if not box.get_fill()]
    assert len(hollow) == len(tm.cut_away) == 4 and all(box.get_linestyle() == "--" for box in hollow)
    assert boxes[-1].get_fill() and boxes[-5] is hollow[0]  # cut away after block 4, the head drawn last
    assert "cut away (not in the model)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def _factories():
    """One small call of every figure a lesson shows (the widgets' own drawings aside)."""
    from tl_kit import plots
    from tl_kit.inside import GradCAM

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(12, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(12) % 3
    names = ["a", "b", "c"]
    probs = rng.dirichlet(np.ones(3), size=12)
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.9], "accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6]}
    emoji = comparison("emoji", [0.5, 0.6, 0.4], **{RANDOM: [0.45, 0.56, 0.36]})
    heat = np.zeros((8, 8))
    heat[0, 7] = 1.0
    cam = GradCAM(heat, heat[::4, ::4], 1, 0.9, "block5_conv3")
    return {
        "plot_examples": lambda: plots.plot_examples(images, labels, names, per_class=2),
        "plot_history": lambda: plots.plot_history({"run": history}, before=history),
        "plot_confusion": lambda: plots.plot_confusion(labels, probs.argmax(axis=1), names),
        "plot_feature_maps": lambda: plots.plot_feature_maps(images[0, ..., 0], {"k": rng.normal(size=(6, 6))}),
        "plot_filters": lambda: plots.plot_filters(rng.normal(size=(3, 3, 3, 4)), "filters"),
        "plot_activations": lambda: plots.plot_activations({"block1": np.abs(rng.normal(size=(4, 4, 8)))}),
        "plot_projection": lambda: plots.plot_projection(rng.normal(size=(12, 5)), labels, names, "p", tsne=False),
        "plot_confused": lambda: plots.plot_confused(images, labels, probs, names),
        "plot_hardest": lambda: plots.plot_hardest(images, labels, probs, names, np.argsort(probs[np.arange(12), labels])),
        "plot_kernel_learning": lambda: plots.plot_kernel_learning([1.0, 0.1], np.eye(3), np.eye(3), "k"),
        "plot_block_shares": lambda: plots.plot_block_shares({"parameters": {"1": 1.0, "2": 3.0}}, "shares"),
        "plot_by_layer": lambda: plots.plot_by_layer({"w": {"block1": 0.5, "block2": 0.6}}, "by layer"),
        "plot_label_efficiency": lambda: plots.plot_label_efficiency({"m": {2: [0.4, 0.5], 5: [0.6, 0.7]}}, "le"),
        "plot_comparison": lambda: plots.plot_comparison([emoji]),
        "plot_predictions": lambda: plots.plot_predictions(images[:3], labels[:3], probs[:3], names),
        "plot_gradcam": lambda: plots.plot_gradcam(images[:2], {"predicted": [cam, cam]}, ["one", "two"], "cams"),
        "plot_weight_change": lambda: plots.plot_weight_change({"block1_conv1": 0.0, "block5_conv1": 0.01},
                                                               {"block5_conv1"}, "moved"),
        "plot_top_images": lambda: plots.plot_top_images(images, {"channel 3": np.array([0, 4, 2])}, "top"),
        "plot_top_classes": lambda: plots.plot_top_classes(
            images[:2], [[(285, "Egyptian cat", 0.4), (281, "tabby", 0.2)], [(985, "daisy", 0.2)]], ["cat", "flower"]),
    }


WIDGET_DRAWINGS = {"plot_conv_view", "plot_network", "plot_prediction"}  # shown inside widgets, with their own text


def test_every_lesson_figure_carries_a_text_alternative_that_names_what_it_shows():
    from tl_kit import plots

    factories = _factories()
    public = {name for name in dir(plots) if name.startswith("plot_")}
    assert public - WIDGET_DRAWINGS == set(factories)  # a new plot_* needs its alt text and an entry here
    import matplotlib.pyplot as plt

    for name, make in factories.items():
        fig = make()
        text = fig.alt_text
        plt.close(fig)
        assert len(text) > 40 and text.endswith("."), (name, text)
    assert "on the diagonal are right" in factories["plot_confusion"]().alt_text
    assert "1 of 1 exclude zero" in factories["plot_comparison"]().alt_text  # a steady gap: clear
    assert "strongest in the top right" in factories["plot_gradcam"]().alt_text
    assert "1 did not move at all (block1_conv1)" in factories["plot_weight_change"]().alt_text


def test_show_figure_prints_the_text_under_the_figure_and_refuses_a_figure_without_one(capsys):
    import matplotlib.pyplot as plt

    from tl_kit import TLKitError, show_figure

    show_figure(_factories()["plot_block_shares"]())
    assert capsys.readouterr().out.startswith("Figure: Bar charts of each block's share")
    with pytest.raises(TLKitError, match="no text alternative"):
        show_figure(plt.figure())


def test_every_figure_in_a_lesson_is_shown_with_its_text():
    import json
    import re
    from pathlib import Path

    for notebook in sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            source = "".join(cell["source"])
            if cell["cell_type"] != "code":
                continue
            for line in source.splitlines():
                bare = re.match(r"\s*(plot_\w+|\w+\.plot)\(", line)
                assert not bare, f"{notebook.name}: a figure shown without show_figure: {line.strip()}"


def test_label_efficiency_says_when_two_lines_coincide():
    from tl_kit.plots import plot_label_efficiency

    same = plot_label_efficiency({"a": {2: [0.4, 0.5], 5: [0.6, 0.7]}, "b": {2: [0.45, 0.451], 5: [0.65, 0.652]}}, "t")
    assert "a and b coincide" in same.alt_text
    assert any("lines coincide" in t.get_text() for t in same.axes[0].texts)
    apart = plot_label_efficiency({"a": {2: [0.4, 0.5], 5: [0.6, 0.7]}, "b": {2: [0.2, 0.3], 5: [0.6, 0.7]}}, "t")
    assert "coincide" not in apart.alt_text


def test_feature_maps_each_get_their_own_colour_scale_and_black_means_exactly_zero():
    from tl_kit.plots import plot_activations

    loud, quiet, silent = np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4))
    loud[0, 0], quiet[1:3, 1:3], silent[:] = 500.0, 2.0, -1.0  # one map near 500 must not darken the others
    fig = plot_activations({"block1_conv2": np.stack([loud, quiet, silent], axis=-1)}, channels=3)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert [im.norm.vmax for im in images[:2]] == [500.0, 2.0] and all(im.norm.vmin == 0 for im in images)
    drawn = images[1].get_array()
    assert drawn.mask.sum() == 12 and drawn[1, 1] == 2.0  # the 12 zeros are masked: drawn black
    assert tuple(images[1].cmap.get_bad()[:3]) == (0.0, 0.0, 0.0)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["max 500", "max 2", "silent"]
    text = fig.alt_text
    assert "each map on its own colour scale" in text and "black: exactly 0, no response" in text
    assert "block1_conv2: 1 of 3 maps silent, 90% of positions black, maxima 2 to 500" in text  # 43 of 48

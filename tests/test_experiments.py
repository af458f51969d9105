"""The fair-comparison protocol: paired label draws, choices on validation, honest summaries."""

import numpy as np
import pytest

from tl_kit import load_dataset, load_vgg16
from tests.conftest import BACKENDS, run_on_backend
from tl_kit.experiments import (CNN, PIXELS, PRETRAINED, RANDOM, Comparison, FeatureSource, StrategyTable,
                                compare_sources, contrast_gains, run_comparison, train_small_cnn)
from tl_kit.errors import DataError, OptionError
from tl_kit.profiles import PROFILES
from tl_kit.training import Result


def comparison(pretrained, **others) -> Comparison:
    scores = {PRETRAINED: pretrained, **others}
    return Comparison("emoji", 10, list(range(len(pretrained))), scores, scores, {PRETRAINED: "block4_pool"},
                      [12, 20, 15], 150, 1 / 6)


def test_a_comparison_says_who_won_and_gives_each_gain_as_low_mean_high():
    c = comparison([0.50, 0.52, 0.48], **{RANDOM: [0.40, 0.43, 0.38], PIXELS: [0.52, 0.50, 0.49]})
    lines = c.sentences()
    assert lines[0].startswith("pretrained features beat random features by 9.7 points")
    assert lines[1].startswith("no clear difference between pretrained features and raw pixels")
    assert lines[-1] == ("On emoji, transfer paid against random features, but made no clear difference against raw "
                         "pixels.")
    low, mean, high = c.to_json()["gain_points"][RANDOM]
    assert low < mean < high and mean == pytest.approx(9.67, abs=0.01)


def test_the_control_winning_is_reported_as_such():
    c = comparison([0.40, 0.42, 0.41], **{CNN: [0.50, 0.52, 0.49]})
    assert c.sentences()[0].startswith("small CNN from scratch beat pretrained features by 9.3 points")
    assert "transfer did not pay" in c.sentences()[-1]


def test_gains_are_contrasted_across_data_sets_baseline_by_baseline():
    emoji = comparison([0.50, 0.52, 0.48], **{RANDOM: [0.40, 0.43, 0.38], PIXELS: [0.35, 0.36, 0.33]})
    fashion = comparison([0.70, 0.72, 0.71], **{RANDOM: [0.69, 0.70, 0.70], PIXELS: [0.66, 0.69, 0.70]})
    fashion.dataset = "fashion_mnist"
    assert emoji.seed_gains(RANDOM) == pytest.approx([10.0, 9.0, 10.0])
    random_line, pixels_line = contrast_gains(emoji, fashion)
    assert random_line.startswith("the gain of pretrained features over random features was 8.3 points larger on "
                                  "emoji than on fashion_mnist")
    assert pixels_line.startswith("the gain of pretrained features over raw pixels was 12.7 points larger on emoji")
    assert contrast_gains(fashion, emoji)[0].startswith("the gain of pretrained features over random features was "
                                                        "8.3 points larger on emoji than on fashion_mnist")


def test_the_budget_sentence_says_whether_early_stopping_fired():
    assert "stopped early in 3 of 3 runs" in comparison([0.5, 0.5, 0.5]).budget()
    c = comparison([0.5, 0.5, 0.5])
    c.epochs = [150, 20, 150]
    assert "stopped early in 1 of 3 runs" in c.budget()


def fake(name, test, epochs=10, max_epochs=15, seconds=1.0, train=0.9, val=0.6):
    return Result(name, 100, seconds * epochs, val, test, epochs=epochs, epoch_seconds=[seconds] * epochs,
                  train_accuracy=train, max_epochs=max_epochs)


def test_the_best_strategy_is_chosen_on_validation_among_the_candidates_only():
    runs = {"feature extraction": [fake("fe", 0.50, val=v) for v in (0.60, 0.62)],
            "fine-tune": [fake("ft", 0.40, val=v) for v in (0.65, 0.66)],
            "random VGG16 (control)": [fake("rnd", 0.70, val=v) for v in (0.90, 0.91)]}
    table = StrategyTable(runs)
    assert table.best() == "random VGG16 (control)"  # every row
    assert table.best(["feature extraction", "fine-tune"]) == "fine-tune"  # by validation, though its test is lower
    line = table.sentences("feature extraction", candidates=["feature extraction", "fine-tune"])[-3]
    assert line.startswith("Chosen on validation, the best strategy is fine-tune (validation 65.5%)")


def test_strategy_table_sentences_budget_and_json():
    runs = {"feature extraction": [fake("fe", t, seconds=0.1) for t in (0.50, 0.52, 0.51)],
            "fine-tune block 5": [fake("ft5", t, seconds=1.0) for t in (0.55, 0.58, 0.56)],
            "train everything": [fake("all", t, seconds=6.0) for t in (0.45, 0.60, 0.50)]}
    table = StrategyTable(runs)
    lines = table.sentences(reference="feature extraction")
    assert lines[0].startswith("fine-tune block 5 beat feature extraction by 5.3 points")
    assert lines[1].startswith("no clear difference between train everything and feature extraction")
    assert "Chosen on validation, the best strategy is" in lines[2]
    assert "from 0.10 s to 6.00 s (60×)" in lines[3] and "the same stopping rule for every row, not the same cost" in lines[4]
    assert table.budget_equal and table.to_json()["budget_equal"] is True
    runs["train everything"][1] = fake("all", 0.6, epochs=15)  # hit its limit: not trained to convergence
    assert not table.budget_equal and "not equal" in table.sentences("feature extraction")[-1]
    assert "fine-tune block 5" in str(table) and "<table>" in table._repr_html_()
    fig = table.plot("title", reference="feature extraction")
    assert fig.axes[0].get_ylim() == (0, 1)
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels == ["fine-tune block 5", "train everything"]
    with pytest.raises(OptionError, match="'feature extractoin' is not a row of this table"):
        table.sentences(reference="feature extractoin")
    assert table.best() == "feature extraction"  # every validation score is 0.6: the first row among equals
    with pytest.raises(OptionError, match="not a row"):
        table.best(["a control"])
    centres = [line.get_xdata()[0] for line in fig.axes[1].lines if line.get_marker() == "o"]
    assert centres == pytest.approx([5.33, 0.67], abs=0.01)  # the paired means the sentences state


@pytest.fixture(scope="module")
def emoji():
    return load_dataset("emoji", profile=PROFILES["fast"], image_size=32)


def test_run_comparison_pairs_the_label_draws_and_chooses_blocks_on_validation(emoji, monkeypatch):
    import tl_kit.experiments as E

    draws = []
    real = E.take_per_class
    monkeypatch.setattr(E, "take_per_class", lambda y, n, seed: draws.append((n, seed)) or real(y, n, seed))
    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    random, _ = load_vgg16(None, input_shape=(32, 32, 3), verbose=False)
    c = run_comparison(emoji, base, random, labels_per_class=5, seeds=2, methods=(PRETRAINED, RANDOM, PIXELS))
    assert draws == [(5, 0), (5, 1)]  # one draw per seed, shared by every method
    assert set(c.scores) == {PRETRAINED, RANDOM, PIXELS} and all(len(s) == 2 for s in c.scores.values())
    fixed = run_comparison(emoji, base, random, labels_per_class=5, seeds=2, methods=(PRETRAINED,),
                           blocks={PRETRAINED: "block2_pool"})
    assert fixed.blocks == {PRETRAINED: "block2_pool"}
    from tl_kit.pretrained import load_pretrained

    raw, _ = load_pretrained("vgg16", input_shape=(32, 32, 3), verbose=False)  # the same weights, raw pixels in
    other = "another network"
    extra = run_comparison(emoji, base, random, labels_per_class=5, seeds=2, methods=(PRETRAINED, RANDOM),
                           others={other: FeatureSource(raw, ("block2_pool",), emoji)}, blocks={PRETRAINED: "block2_pool"})
    assert extra.blocks[other] == "block2_pool" and extra.scores[other] == pytest.approx(extra.scores[PRETRAINED], abs=1e-6)
    lines = extra.sentences()
    assert any(other in line for line in lines[:-1]) and other not in lines[-1]  # the verdict weighs the baselines
    assert c.chance == pytest.approx(1 / 6) and 0 <= min(min(s) for s in c.scores.values())


def test_compare_sources_probes_every_layer_of_each_network_at_its_own_size(emoji):
    from tl_kit.pretrained import load_pretrained

    bigger = load_dataset("emoji", profile=PROFILES["fast"], image_size=48)
    vgg, _ = load_vgg16("offline", input_shape=emoji.x_train.shape[1:], verbose=False)
    raw, _ = load_pretrained("vgg16", input_shape=(48, 48, 3), verbose=False)  # preprocesses its own input
    layers = ("block2_pool", "block4_pool")
    c = compare_sources({"vgg16": FeatureSource(vgg, layers, emoji), "vgg16 at 48 px": FeatureSource(raw, layers, bigger)},
                        labels_per_class=3, seeds=2)
    assert set(c.layer_val) == {"vgg16", "vgg16 at 48 px"} and list(c.layer_val["vgg16"]) == list(layers)
    for name, curve in c.layer_val.items():  # the chosen layer is the best on validation
        assert curve[c.blocks[name]] == max(curve.values())
    assert all(len(s) == 2 for s in c.scores.values()) and c.to_json()["layer_val"] == c.layer_val
    other = load_dataset("emoji", profile=PROFILES["fast"], seed=1)
    with pytest.raises(DataError, match="same profile and seed"):
        compare_sources({"a": FeatureSource(vgg, layers, emoji), "b": FeatureSource(vgg, layers, other)}, 3, 1)


def test_the_small_cnn_stops_early_and_reports_balanced_accuracy(emoji):
    result = train_small_cnn(emoji, np.arange(len(emoji.y_train)), seed=0, max_epochs=60, patience=2)
    assert result.stopped_early and result.epochs < 60
    assert 0 < result.test_accuracy <= 1 and result.train_accuracy is not None


REUSE = """
import json, keras, numpy as np
from tl_kit.data import load_dataset
from tl_kit.experiments import train_small_cnn
from tl_kit.profiles import PROFILES
data = load_dataset("emoji", profile=PROFILES["fast"])
idx = np.arange(60)
runs = {}
for reuse in (False, True):
    runs[reuse] = []
    for seed in (0, 1):  # with reuse: the first builds and compiles the model, the second reuses it
        keras.utils.set_random_seed(100 + seed)  # the same random numbers before each build
        r = train_small_cnn(data, idx, seed, max_epochs=2, patience=5, reuse=reuse)
        runs[reuse].append([r.history["loss"], r.val_accuracy, r.test_accuracy])
print(json.dumps({"backend": keras.backend.backend(), "fresh": runs[False], "reused": runs[True]}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reused_compiled_cnn_trains_exactly_as_a_new_one(backend):
    result = run_on_backend(REUSE, backend)
    for fresh, reused in zip(result["fresh"], result["reused"]):
        np.testing.assert_allclose(reused[0], fresh[0], rtol=1e-5)  # the same losses, epoch by epoch
        assert reused[1:] == pytest.approx(fresh[1:])
    assert result["fresh"][0][0] != result["fresh"][1][0]  # and two seeds are two different fits

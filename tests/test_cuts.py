"""Where to cut a base: the cut is chosen on validation, never on test, and its sentence says why."""

import json
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import tl_kit.cuts as cuts
from tl_kit import load_dataset, load_vgg16
from tl_kit.cuts import CutChoice, choose_cut
from tl_kit.errors import OptionError
from tl_kit.experiments import BLOCKS
from tl_kit.probe import ProbeResult, balanced_score
from tl_kit.profiles import PROFILES


@pytest.fixture(autouse=True)
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def probes(*scores: float) -> dict[str, ProbeResult]:
    """Fake probes, one per block from block1_pool, with these validation scores."""
    return {b: ProbeResult(C=1.0, val_score=s, test_score=None, train_score=1.0, model=None)
            for b, s in zip(BLOCKS, scores)}


def fake(scores, random=None, weights="offline") -> CutChoice:
    return CutChoice("emoji", weights, probes(*scores), probes(*random) if random else None,
                     labels={"val": np.arange(12) % 6})  # 6 classes: chance 1/6


# --- the choice and its words, on fake probes ------------------------------------------------------------------

def test_the_chosen_cut_is_the_block_with_the_best_validation_score():
    c = fake([0.40, 0.50, 0.60, 0.70, 0.55])
    assert c.chosen == "block4_pool" and c.top == "block5_pool"
    assert c.val_scores() == {"block1_pool": 0.40, "block2_pool": 0.50, "block3_pool": 0.60, "block4_pool": 0.70,
                              "block5_pool": 0.55}


def test_a_tie_goes_to_the_earlier_cheaper_cut():
    assert fake([0.40, 0.60, 0.60, 0.60, 0.60]).chosen == "block2_pool"
    assert fake([0.60, 0.60, 0.60, 0.60, 0.60]).chosen == "block1_pool"


def test_a_tie_that_only_float_rounding_separates_still_goes_to_the_earlier_cut():
    # Balanced accuracy is a mean of per-class recalls: the same score reached through different recalls can
    # differ in its last bit (a real run gave 0.6799999999999999 for one block and 0.68 for the next).
    c = fake([0.40, 0.50, 0.6799999999999999, 0.68, 0.50], random=[0.10, 0.30, 0.6799999999999999, 0.68, 0.20])
    assert c.chosen == "block3_pool"
    assert c.sentence().endswith("a random VGG16 reached 68.0% at its best block (block3_pool).")


def test_the_sentence_below_the_top_names_the_top_blocks_lower_score():
    c = fake([0.40, 0.50, 0.60, 0.70, 0.55])
    assert c.sentence() == ("Cut after block4_pool: its features scored best on validation (70.0% balanced accuracy, "
                            "against 55.0% for block5_pool, the top of the base). The block above it scored lower "
                            "here: deep layers may have specialised to what the offline weights were trained for, "
                            "and on small images they see a coarse grid; on a small validation set a gap of a few "
                            "images may also be luck.")
    assert "The 2 blocks above it scored lower" in fake([0.40, 0.50, 0.70, 0.60, 0.55]).sentence()


def test_the_sentence_at_the_top_says_so_and_gives_the_random_vgg16s_best():
    c = fake([0.40, 0.50, 0.60, 0.70, 0.80], random=[0.30, 0.45, 0.35, 0.20, 0.10], weights="ImageNet")
    assert c.chosen == c.top == "block5_pool"
    assert c.sentence() == ("Cut after block5_pool: its features scored best on validation (80.0% balanced accuracy), "
                            "at the top of the base: its most specialised features transfer best here; a random "
                            "VGG16 reached 45.0% at its best block (block2_pool).")
    below = fake([0.40, 0.90, 0.60, 0.70, 0.80], random=[0.30, 0.45, 0.35, 0.20, 0.95])
    assert below.sentence().startswith("Cut after block2_pool: its features scored best on validation (90.0% balanced "
                                       "accuracy, against 80.0% for block5_pool, the top of the base).")
    assert below.sentence().endswith("may also be luck; a random VGG16 reached 95.0% at its best block (block5_pool).")


def test_a_tie_with_the_top_is_not_described_as_the_top_being_worse():
    c = fake([0.40, 0.50, 0.60, 0.70, 0.70])
    assert c.chosen == "block4_pool"
    text = c.sentence()
    assert "tied with block5_pool" in text and "the earlier, cheaper cut" in text
    assert "against" not in text and "more specialised" not in text


def test_random_scores_without_a_random_base_raise_option_error_and_the_rest_leaves_them_out():
    c = fake([0.40, 0.50, 0.60, 0.70, 0.55])
    with pytest.raises(OptionError, match=r"No random base was probed: choose_cut\(base, dataset, random_base\)"):
        c.val_scores(random=True)
    assert "random" not in c.sentence() and "random_val" not in c.to_json()
    assert [line.get_label() for line in c.plot().axes[0].lines] == ["offline weights", "chance (17%)"]


def test_unknown_or_no_candidates_raise_option_error_naming_the_valid_cuts():
    valid = "block1_pool, block2_pool, block3_pool, block4_pool, block5_pool"
    with pytest.raises(OptionError, match=f"must be among {valid}; got \\['block4_pool', 'block6_pool'\\]"):
        choose_cut(None, None, candidates=("block4_pool", "block6_pool"))  # refused before any image is read
    with pytest.raises(OptionError, match=f"must be among {valid}; got \\[\\]"):
        choose_cut(None, None, candidates=())


def test_the_plot_draws_one_line_per_weights_source_and_chance_with_a_text_alternative():
    c = fake([0.40, 0.50, 0.60, 0.70, 0.55], random=[0.30, 0.45, 0.35, 0.20, 0.10])
    fig = c.plot()
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["offline weights", "random weights", "chance (17%)"]
    pretrained, random, chance = ax.lines
    assert list(pretrained.get_ydata()) == list(c.val_scores().values())
    assert list(random.get_ydata()) == list(c.val_scores(random=True).values())
    assert list(chance.get_ydata()) == pytest.approx([1 / 6, 1 / 6])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(BLOCKS)
    assert ax.get_title() == "How well each block transfers (emoji; linear probe)"
    assert fig.alt_text == ("Balanced validation accuracy of a linear probe on each layer's features, one line per "
                            "curve (offline weights: best block4_pool (70%); random weights: best block2_pool (45%)).")
    assert c.plot(title="mine").axes[0].get_title() == "mine"


def test_to_json_round_trips_through_json_with_every_validation_score():
    c = fake([0.40, 0.50, 0.6666666, 0.70, 0.55], random=[0.30, 0.45, 0.35, 0.20, 0.10])
    out = c.to_json()
    assert json.loads(json.dumps(out)) == out
    assert out["chosen"] == "block4_pool" and out["val"]["block3_pool"] == 0.6667
    assert list(out["random_val"].values()) == [0.30, 0.45, 0.35, 0.20, 0.10]


# --- one real choice: the offline weights and a random VGG16, on fast data at 48 px ------------------------------

@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """(data, base, choice, cache folder): choose_cut once, its features cached in a folder of the module's."""
    cache = tmp_path_factory.mktemp("cuts_cache")
    with pytest.MonkeyPatch.context() as mp:  # the function-scoped cache isolation of conftest does not reach here
        mp.setenv("TL_KIT_CACHE", str(cache))
        mp.delenv("TL_KIT_DATA", raising=False)
        mp.delenv("TL_KIT_SHARED_DIR", raising=False)
        data = load_dataset(profile=PROFILES["fast"], image_size=48)
        base, _ = load_vgg16("offline", input_shape=(48, 48, 3), verbose=False)
        random, _ = load_vgg16(None, input_shape=(48, 48, 3), verbose=False)
        choice = choose_cut(base, data, random, weights="offline")
    return data, base, choice, cache


def test_a_real_choice_probes_every_block_on_validation_and_picks_the_best(real):
    data, _, c, _ = real
    val = c.val_scores()
    assert list(val) == list(BLOCKS) and list(c.val_scores(random=True)) == list(BLOCKS)
    assert c.top == "block5_pool" and val[c.chosen] == max(val.values())
    assert all(val[b] < val[c.chosen] for b in BLOCKS[:BLOCKS.index(c.chosen)])  # earlier blocks: strictly worse
    for b, p in c.probes.items():  # each score is its probe's on the validation split's features
        assert p.val_score == balanced_score(p.model, c.features["val"][b], data.y_val)
        assert p.test_score is None  # the probes never saw the test split
    assert c.probe_test_score() == c.probe_test_score(c.chosen) == \
        balanced_score(c.probes[c.chosen].model, c.features["test"][c.chosen], data.y_test)
    assert c.sentence().startswith(f"Cut after {c.chosen}: ") and "a random VGG16 reached" in c.sentence()
    assert json.loads(json.dumps(c.to_json())) == c.to_json()
    assert len(c.plot().axes[0].lines) == 3 and f"(offline weights: best {c.chosen}" in c.plot().alt_text


def test_the_test_split_cannot_change_the_choice_only_the_probe_test_score(real, monkeypatch):
    data, base, c, cache = real
    monkeypatch.setenv("TL_KIT_CACHE", str(cache))  # train and val features come from the cache
    calls = []
    real_probe = cuts.linear_probe
    monkeypatch.setattr(cuts, "linear_probe", lambda *a, **k: calls.append((len(a), k)) or real_probe(*a, **k))
    y_test = np.random.default_rng(0).permutation(data.y_test)
    corrupted = replace(data, x_test=np.zeros_like(data.x_test), y_test=y_test)  # a copy: `data` is untouched
    other = choose_cut(base, corrupted, weights="offline")
    assert calls == [(4, {})] * len(BLOCKS)  # each probe is given train and val, never test
    assert other.chosen == c.chosen and other.val_scores() == c.val_scores()
    assert {b: p.C for b, p in other.probes.items()} == {b: p.C for b, p in c.probes.items()}
    # identical blank images: one prediction for all, so balanced accuracy is chance, whatever the labels
    assert other.probe_test_score() == pytest.approx(1 / data.num_classes)
    assert other.probe_test_score() != c.probe_test_score()
    assert data.x_test.any() and not np.array_equal(data.y_test, y_test)


def test_candidates_are_probed_in_depth_order_whatever_order_they_are_given(real, monkeypatch):
    data, base, c, cache = real
    monkeypatch.setenv("TL_KIT_CACHE", str(cache))
    some = choose_cut(base, data, candidates=("block5_pool", "block2_pool", "block5_pool"), weights="offline")
    assert list(some.val_scores()) == ["block2_pool", "block5_pool"] and some.top == "block5_pool"
    assert some.val_scores() == {b: c.val_scores()[b] for b in ("block2_pool", "block5_pool")}
    assert some.random_probes is None


def test_blocks_above_the_cut_that_tied_are_not_said_to_have_scored_lower():
    c = fake([0.40, 0.50, 0.70, 0.70, 0.60])
    assert c.chosen == "block3_pool"
    assert "1 block above it tied and 1 scored lower; the earlier, cheaper cut is kept" in c.sentence()

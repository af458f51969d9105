"""Lesson 04 and its data check-up, on a folder built from the shipped data with planted problems."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import copy_class_images
from tests.restarts import execute_with_restarts
from tl_kit import TransferModel
from tl_kit.data import load_dataset
from tl_kit.errors import DataWarning
from tl_kit.datacheck import check_folder, make_demo_folder
from tl_kit.pretrained import BACKBONES
from tl_kit.profiles import PROFILES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def messy_folder(tmp_path):
    root = copy_class_images(tmp_path / "shoes", {"sneaker": 12, "sandal": 12, "ankle_boot": 4})
    first = sorted((root / "sneaker").glob("*.png"))[0]
    shutil.copy(first, root / "sneaker" / "copy_of_first.png")  # exact duplicate, same class
    shutil.copy(first, root / "sandal" / "mislabelled.png")  # the same picture in another class
    (root / "sandal" / "broken.png").write_bytes(first.read_bytes()[:50])  # truncated
    (root / "sandal" / "notes.txt").write_text("not an image")
    return root


def test_check_folder_finds_every_planted_problem(messy_folder):
    report = check_folder(messy_folder)
    assert report.counts == {"ankle_boot": 4, "sandal": 13, "sneaker": 13}
    assert {p.name for p, _ in report.unreadable} == {"broken.png", "notes.txt"}
    assert report.small == [("ankle_boot", 4)]
    assert len(report.duplicates) == 1 and len(report.duplicates[0]) == 3 and len(report.conflicting) == 1
    text = "\n".join(report.problems)
    assert "different classes" in text and "small class: 'ankle_boot'" in text and "broken.png" in text
    assert "<table>" in report._repr_html_()


def test_demo_folder_is_a_clean_class_folder(tmp_path):
    folder = make_demo_folder(tmp_path / "demo", per_class=5)
    report = check_folder(folder, min_per_class=5)
    assert report.counts == {"ankle_boot": 5, "sandal": 5, "sneaker": 5} and report.problems == []


def test_lesson_04_runs_on_a_teachers_folder_and_leaves_model_and_report(messy_folder, tmp_path):
    env = {"TL_KIT_OWN_IMAGES": str(messy_folder), "TL_KIT_RUNS": str(tmp_path / "runs"), "TL_KIT_PROFILE": "fast",
           "TL_KIT_LIVE_PLOTS": "0"}
    # a fresh kernel from the cell that says it needs nothing from above (as after a restart)
    nb = execute_with_restarts(ROOT / "notebooks" / "04_your_own_images.ipynb", env, tmp_path)
    outputs = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "broken.png" in outputs and "different classes" in outputs
    run = next((tmp_path / "runs").iterdir())
    assert {"model.keras", "report.json", "confusion.png"} <= {p.name for p in run.iterdir()}
    report = json.loads((run / "report.json").read_text())
    assert report["classes"] == ["ankle_boot", "sandal", "sneaker"]
    assert any("broken.png" in p for p in report["check_problems"])
    # the reported accuracy is the saved model's on the same test images, recomputed here
    with pytest.warns(DataWarning):  # the planted broken files are skipped, as in the lesson
        data = load_dataset(report["data"], profile=PROFILES[report["profile"]], seed=report["seed"],
                            image_size=report["image_size"])  # the size the chosen network ran at
    model = TransferModel.load(run / "model.keras")
    assert model.score(data.x_test, data.y_test, cache=None, balanced=True) == pytest.approx(report["test_accuracy"],
                                                                                           abs=1e-9)
    recalls = [np.mean(model.predict(data.x_test).argmax(1)[data.y_test == c] == c) for c in np.unique(data.y_test)]
    assert report["balanced"] and report["test_accuracy"] == pytest.approx(float(np.mean(recalls)))  # balanced accuracy
    assert report["cut"] == model.cut and report["cut_choice"]["chosen"] == model.cut and report["cut_reason"]
    # the network was chosen on validation between both, and the report says which and why
    assert set(report["network_val"]) == {"vgg16", "efficientnet_lite0"}
    assert report["network"] == max(report["network_val"], key=report["network_val"].get)
    assert model.image_size == report["image_size"]  # what a student reloads the data at after a restart
    assert BACKBONES[report["network"]].title in report["network_reason"]


def test_the_folder_check_names_an_imbalance_and_what_the_lesson_does_about_it(tmp_path):
    folder = make_demo_folder(tmp_path / "demo", per_class={"ankle_boot": 40, "sandal": 10, "sneaker": 4})
    report = check_folder(folder, min_per_class=4)
    assert report.counts == {"ankle_boot": 40, "sandal": 10, "sneaker": 4} and report.imbalance == 10.0
    (line,) = [p for p in report.problems if p.startswith("imbalanced")]
    assert "'ankle_boot' has 10.0× the images of 'sneaker'" in line and "balanced accuracy" in line
    assert not [p for p in check_folder(make_demo_folder(tmp_path / "even", per_class=5), min_per_class=5).problems]
    assert "largest ÷ smallest: 10.0" in str(report)


def test_class_weights_count_every_class_the_same_and_keras_fit_takes_them():
    import keras

    from tl_kit import class_weights

    y = np.array([0] * 30 + [1] * 6 + [2] * 3)
    weights = class_weights(y)
    totals = [weights[c] * np.sum(y == c) for c in range(3)]
    assert np.allclose(totals, totals[0]) and weights[2] == pytest.approx(len(y) / (3 * 3))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.random.default_rng(0).normal(size=(len(y), 4)), y, class_weight=weights, epochs=1, verbose=0)


def test_an_imbalanced_subset_keeps_its_shares_in_every_split_and_at_least_two_images():
    data = load_dataset("fashion_mnist", profile=PROFILES["fast"])
    shoes = data.imbalanced(["sneaker", "sandal", "ankle_boot"], [1.0, 0.25, 0.1])
    assert shoes.class_names == ["sneaker", "sandal", "ankle_boot"]
    for split in ("train", "val", "test"):
        counts = np.bincount(shoes.split(split)[1], minlength=3)
        full = np.bincount(data.split(split)[1])[data.class_names.index("sneaker")]
        assert counts[0] == full and counts[1] >= 2 and counts[2] >= 2 and counts[0] >= counts[1] >= counts[2]
    with pytest.raises(Exception, match="one share per class"):
        data.imbalanced(["sneaker"], [1.0, 0.5])

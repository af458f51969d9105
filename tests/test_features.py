"""The feature cache: hits, never a stale hit when any key changes, and recovery from corrupt files."""

import numpy as np
import pytest

from tl_kit import features as F
from tl_kit.data import load_dataset
from tl_kit.errors import LayerError, OptionError, ShapeError
from tl_kit.features import FeatureCache, extract_features
from tl_kit.profiles import PROFILES
from tl_kit.weights import load_vgg16


@pytest.fixture(scope="module")
def images():
    return load_dataset(profile=PROFILES["fast"], image_size=32).x_train[:12]


@pytest.fixture(scope="module")
def base():
    model, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    return model


def test_features_equal_a_bare_predict_on_preprocessed_images(base, images, tmp_path):
    from tl_kit.preprocessing import preprocess

    ours = extract_features(base, images, "block5_pool", cache=FeatureCache(tmp_path), progress=False)
    bare = base.predict(preprocess(images), verbose=0)
    np.testing.assert_allclose(ours, bare, rtol=1e-5, atol=1e-5)


def test_second_call_hits_memory_then_disk_in_a_new_cache(base, images, tmp_path):
    cache = FeatureCache(tmp_path)
    first = extract_features(base, images, "block4_pool", cache=cache, progress=False)
    again = extract_features(base, images, "block4_pool", cache=cache, progress=False)
    assert cache.misses == 1 and cache.memory_hits == 1
    fresh = FeatureCache(tmp_path)  # a new kernel: memory is empty, the disk is not
    from_disk = extract_features(base, images, "block4_pool", cache=fresh, progress=False)
    assert fresh.disk_hits == 1 and fresh.misses == 0
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, from_disk)
    assert len(list(tmp_path.glob("block4_pool-*.npz"))) == 1


def test_every_key_change_recomputes(base, images, tmp_path):
    cache = FeatureCache(tmp_path)
    extract_features(base, images, "block3_pool", cache=cache, progress=False)
    assert cache.misses == 1
    # other layer
    extract_features(base, images, "block2_pool", cache=cache, progress=False)
    # other pooling
    extract_features(base, images, "block3_pool", pooling="avg", cache=cache, progress=False)
    # other images (one pixel changed)
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    extract_features(base, changed, "block3_pool", cache=cache, progress=False)
    # other image size
    big_base, _ = load_vgg16("offline", input_shape=(48, 48, 3), verbose=False)
    extract_features(big_base, np.repeat(np.repeat(images, 2, axis=1), 2, axis=2)[:, :48, :48], "block3_pool",
                     cache=cache, progress=False)
    assert cache.misses == 5 and cache.memory_hits == 0 and cache.disk_hits == 0


def test_other_weights_never_reuse_features(images, tmp_path):
    cache = FeatureCache(tmp_path)
    pretrained, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    random_a, _ = load_vgg16(None, input_shape=(32, 32, 3), verbose=False)
    a = extract_features(pretrained, images, "block2_pool", cache=cache, progress=False)
    b = extract_features(random_a, images, "block2_pool", cache=cache, progress=False)
    assert cache.misses == 2 and not np.allclose(a, b)
    # a weight changed in place (as fine-tuning does) is a new key too
    kernel, bias = pretrained.get_layer("block1_conv1").get_weights()
    pretrained.get_layer("block1_conv1").set_weights([kernel * 1.01, bias])
    extract_features(pretrained, images, "block2_pool", cache=cache, progress=False)
    assert cache.misses == 3


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_a_corrupt_cache_file_is_reported_and_recomputed(base, images, tmp_path, capsys, damage):
    cache = FeatureCache(tmp_path)
    good = extract_features(base, images, "block5_pool", cache=cache, progress=False)
    path = next(tmp_path.glob("block5_pool-*.npz"))
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    else:  # a flipped byte inside the stored features: only the checksum can tell
        import io
        import json

        with np.load(path) as npz:
            features, meta = npz["features"].copy(), str(npz["meta"])
        features.flat[0] += 1.0
        buffer = io.BytesIO()
        np.savez(buffer, features=features, meta=np.array(meta))
        path.write_bytes(buffer.getvalue())
        assert json.loads(meta)["checksum"]
    fresh = FeatureCache(tmp_path)
    capsys.readouterr()
    again = extract_features(base, images, "block5_pool", cache=fresh, progress=False, verbose=False)
    assert fresh.corrupt == 1 and fresh.misses == 1
    message = capsys.readouterr().out
    assert "unreadable" in message and "recomputing" in message and str(path) in message
    np.testing.assert_allclose(again, good)
    rewritten = FeatureCache(tmp_path)  # the recomputed features replaced the broken file
    extract_features(base, images, "block5_pool", cache=rewritten, progress=False, verbose=False)
    assert rewritten.disk_hits == 1


def test_several_layers_in_one_pass_and_only_missing_ones_computed(base, images, tmp_path, capsys):
    cache = FeatureCache(tmp_path)
    extract_features(base, images, "block5_pool", pooling="avg", cache=cache, progress=False)
    out = extract_features(base, images, ["block1_pool", "block5_pool"], pooling="avg", cache=cache, progress=False)
    assert set(out) == {"block1_pool", "block5_pool"}
    assert out["block1_pool"].shape == (12, 64) and out["block5_pool"].shape == (12, 512)
    assert "block1_pool: computed" in capsys.readouterr().out


def test_unwritable_cache_folder_falls_back_to_memory(base, images, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = FeatureCache(blocker / "features")
    extract_features(base, images, "block1_pool", cache=cache, progress=False)
    assert "memory only" in capsys.readouterr().out
    extract_features(base, images, "block1_pool", cache=cache, progress=False)
    assert cache.memory_hits == 1


def test_bad_input_is_a_clear_error(base, images):
    with pytest.raises(ShapeError, match="RGB images"):
        extract_features(base, images[..., 0], cache=None)
    with pytest.raises(LayerError, match="no layer 'block9_pool'"):
        extract_features(base, images, "block9_pool", cache=None)
    with pytest.raises(OptionError, match="pooling"):
        extract_features(base, images, pooling="max", cache=None)


def test_default_cache_lives_under_tl_kit_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TL_KIT_CACHE", str(tmp_path))
    assert F.default_cache().folder == tmp_path / "features"


def test_a_teachers_shared_features_are_read_never_written_and_readable_by_all(base, images, tmp_path, capsys):
    teacher = FeatureCache(tmp_path / "shared" / "features", memory=False)
    made = extract_features(base, images, "block5_pool", cache=teacher, progress=False)
    files = list((tmp_path / "shared" / "features").glob("*.npz"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o044 == 0o044  # others can read it
    student = FeatureCache(tmp_path / "mine", shared=tmp_path / "shared" / "features")
    capsys.readouterr()
    got = extract_features(base, images, "block5_pool", cache=student, progress=False)
    np.testing.assert_array_equal(got, made)
    assert student.shared_hits == 1 and student.misses == 0 and not (tmp_path / "mine").exists()
    assert "from the teacher's shared cache" in capsys.readouterr().out
    files[0].write_bytes(b"damaged")  # a broken shared file: reported, recomputed here, left alone there
    other = FeatureCache(tmp_path / "other", shared=tmp_path / "shared" / "features")
    again = extract_features(base, images, "block5_pool", cache=other, progress=False)
    np.testing.assert_allclose(again, made, rtol=1e-5, atol=1e-5)
    assert other.corrupt == 1 and files[0].read_bytes() == b"damaged" and "prefetch --features" in capsys.readouterr().out
    assert len(list((tmp_path / "other").glob("*.npz"))) == 1


def test_the_default_cache_follows_the_shared_folder_setting(monkeypatch, tmp_path):
    (tmp_path / "s").mkdir()
    monkeypatch.setenv("TL_KIT_SHARED_DIR", str(tmp_path / "s"))
    assert F.default_cache().shared == tmp_path / "s" / "features"
    monkeypatch.delenv("TL_KIT_SHARED_DIR")
    assert F.default_cache().shared is None


def test_a_feature_model_is_built_once_per_request_and_sees_the_current_weights(base, images):
    first = F.feature_model(base, ["block5_pool"], "avg")
    assert F.feature_model(base, ["block5_pool"], "avg") is first
    assert F.feature_model(base, ["block5_pool"]) is not first  # another request, another model
    kernel, bias = base.get_layer("block5_conv3").get_weights()
    try:
        base.get_layer("block5_conv3").set_weights([kernel, bias + 1.0])
        changed = first.predict(images[:2].astype("float32"), verbose=0)
    finally:
        base.get_layer("block5_conv3").set_weights([kernel, bias])
    assert not np.allclose(changed, first.predict(images[:2].astype("float32"), verbose=0))

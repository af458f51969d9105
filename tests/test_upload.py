"""Classifying an uploaded picture: bytes in memory, clear words for a file that is not an image."""

import io

import numpy as np
import pytest
from PIL import Image

from tl_kit.errors import ImageError
from tl_kit.uploads import classify_bytes
from tl_kit.widgets import UploadClassifier


@pytest.fixture
def classifier():
    import keras

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    return UploadClassifier(model, ["bag", "coat", "shirt"], 32)


def png_bytes(mode="RGB", size=(50, 40)):
    buffer = io.BytesIO()
    Image.new(mode, size, color=128 if mode == "L" else (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_uploaded_picture_is_classified_in_memory(classifier, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prediction = classifier.classify(png_bytes(), label="photo.png")
    assert prediction.image.shape == (32, 32, 3)
    assert np.isclose(prediction.probabilities.sum(), 1.0) and len(prediction.top(3)) == 3
    assert "photo.png" in classifier.message.value
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_upload_widget_value_drives_it_and_the_name_is_never_a_path(classifier, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "../../etc/<b>evil</b>.png"
    classifier._on_upload({"new": ({"name": name, "type": "image/png", "size": 10, "content": memoryview(png_bytes("L"))},)})
    assert classifier.last is not None
    assert "<b>evil</b>" not in classifier.message.value and "&lt;b&gt;" in classifier.message.value
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_an_image_gets_a_clear_message(classifier):
    assert classifier.classify(b"%PDF-1.4 not a picture", label="notes.pdf") is None
    assert "not an image" in classifier.error and "⚠" in classifier.message.value
    with pytest.raises(ImageError, match="PNG, JPEG"):
        classify_bytes(classifier.model, png_bytes()[:40], ["a", "b", "c"], 32)


def test_a_model_that_preprocesses_itself_gets_raw_pixels():
    import keras

    from tl_kit.preprocessing import preprocess

    seen = {}
    probe = keras.layers.Lambda(lambda x: x, name="preprocess")  # the convention of tl_kit.load_pretrained
    model = keras.Sequential([keras.Input((32, 32, 3)), probe, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    model.predict = lambda x, verbose=0: seen.setdefault("x", x) is not None and np.full((1, 3), 1 / 3)
    classify_bytes(model, png_bytes(), ["a", "b", "c"], 32)
    assert np.allclose(seen["x"][0, 0, 0], [10, 200, 30])  # RGB as uploaded, not VGG16's BGR minus the mean
    assert not np.allclose(seen["x"], preprocess(seen["x"].astype("uint8")))

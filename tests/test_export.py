"""A classifier exported from a run works without tl_kit: plain Keras, safe mode, any backend,
raw pictures of any size, the same predictions as the kit's."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import BACKENDS
from tl_kit import TransferModel, build_head, load_pretrained, load_vgg16
from tl_kit.errors import ModelFileError
from tl_kit.export import export_classifier, load_classifier, predict_files, write_usage

WITHOUT_KIT = r"""
import json, sys
import keras
import numpy as np
model = keras.saving.load_model(sys.argv[1])  # safe mode is Keras' default
images = np.load(sys.argv[2])
out = {"backend": keras.backend.backend(), "probabilities": model.predict(images, verbose=0).tolist(),
       "kit_imported": any(name == "tl_kit" or name.startswith("tl_kit.") for name in sys.modules)}
print(json.dumps(out))
"""


def model_on(kind: str, size: int = 48) -> TransferModel:
    """A small classifier on each kind of base the kit builds (random weights: the plumbing is the point)."""
    if kind == "preprocessed VGG16":  # load_vgg16's base: VGG16's preprocessing done outside the model
        base, _ = load_vgg16(None, input_shape=(size, size, 3), verbose=False)
    else:
        base, _ = load_pretrained(kind, input_shape=(size, size, 3), weights=None, verbose=False)
    cut = "block6_output" if kind == "efficientnet_lite0" else "block4_pool"
    rng = np.random.default_rng(0)
    head = build_head(base.get_layer(cut).output.shape[1:], 3, name="head")
    head.set_weights([rng.normal(0, 0.05, w.shape).astype("float32") for w in head.get_weights()])
    return TransferModel(base, head, cut=cut)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["vgg16", "preprocessed VGG16", "efficientnet_lite0"])
def test_the_exported_classifier_predicts_like_the_kit_in_a_process_without_tl_kit(kind, backend, tmp_path):
    tm = model_on(kind)
    images = np.random.default_rng(1).integers(0, 256, (3, 48, 48, 3)).astype("uint8")
    expected = tm.predict(images)
    path = export_classifier(tm.model, tmp_path / "classifier.keras")
    np.save(tmp_path / "images.npy", images)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"KERAS_BACKEND": backend}
    run = subprocess.run([sys.executable, "-c", WITHOUT_KIT, str(path), str(tmp_path / "images.npy")],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend and not out["kit_imported"]
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)


def test_pictures_of_another_size_are_resized_inside_and_a_bad_file_is_named(tmp_path):
    from PIL import Image

    tm = model_on("vgg16")
    export_classifier(tm.model, tmp_path / "classifier.keras")
    (tmp_path / "report.json").write_text(json.dumps({"classes": ["a", "b", "c"]}))
    model, names = load_classifier(tmp_path)
    assert names == ["a", "b", "c"]
    picture = np.random.default_rng(2).integers(0, 256, (48, 48, 3)).astype("uint8")
    Image.fromarray(picture).save(tmp_path / "same.png")
    Image.fromarray(np.kron(picture, np.ones((2, 3, 1), "uint8"))).save(tmp_path / "wide.png")  # 96×144
    (tmp_path / "notes.txt").write_text("not a picture")
    (same, p_same, _), (wide, p_wide, _), (bad, p_bad, error) = predict_files(
        model, [tmp_path / "same.png", tmp_path / "wide.png", tmp_path / "notes.txt"])
    np.testing.assert_allclose(p_same, tm.predict(picture[None])[0], atol=1e-5)
    assert p_wide.shape == (3,) and abs(p_wide.sum() - 1) < 1e-5
    assert p_bad is None and "cannot be read as a picture" in error


def test_export_refuses_other_files_and_missing_models_say_what_to_do(tmp_path):
    tm = model_on("vgg16")
    with pytest.raises(ModelFileError, match=".keras"):
        export_classifier(tm.model, tmp_path / "classifier.h5")
    assert not list(tmp_path.iterdir())  # nothing half-written
    with pytest.raises(ModelFileError, match="run lesson 04 to the end"):
        load_classifier(tmp_path)


def test_the_usage_note_names_the_classes_and_runs_as_written(tmp_path):
    tm = model_on("vgg16")
    export_classifier(tm.model, tmp_path / "classifier.keras")
    usage = write_usage(tmp_path, ["cat", "dog", "fox"], 48).read_text()
    assert '["cat", "dog", "fox"]' in usage and "48×48" in usage
    code = usage.split("```python\n")[1].split("```")[0]
    from PIL import Image

    Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(tmp_path / "my_picture.jpg")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[0] in ("cat", "dog", "fox")


def test_the_predict_command_prints_each_pictures_class_and_names_a_bad_file(tmp_path, capsys):
    from PIL import Image

    from tl_kit.__main__ import main

    tm = model_on("vgg16")
    export_classifier(tm.model, tmp_path / "classifier.keras")
    (tmp_path / "report.json").write_text(json.dumps({"classes": ["boot", "sandal", "sneaker"]}))
    picture = np.random.default_rng(3).integers(0, 256, (60, 50, 3)).astype("uint8")
    Image.fromarray(picture).save(tmp_path / "shoe.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    assert main(["predict", str(tmp_path), str(tmp_path / "shoe.png"), "--top", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{tmp_path / 'shoe.png'}: ") and line.count("%") == 2
    assert line.split(": ")[1].split()[0] in ("boot", "sandal", "sneaker")
    assert main(["predict", str(tmp_path), str(tmp_path / "broken.jpg"), str(tmp_path / "shoe.png")]) == 2
    out = capsys.readouterr()
    assert "broken.jpg: cannot be read as a picture" in out.err and "shoe.png: " in out.out
    assert main(["predict", str(tmp_path / "nowhere"), str(tmp_path / "shoe.png")]) == 2
    assert "error:" in capsys.readouterr().err

import os
import re
import subprocess
import sys

import pytest

from tl_kit import __main__ as cli
from tl_kit.profiles import PROFILES


def run_cli(*args, **env):
    return subprocess.run([sys.executable, "-m", "tl_kit", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_info_reports_versions_profile_weights_and_data():
    result = run_cli("info", "--no-measure", TL_KIT_PROFILE="fast")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Keras" in out and "Python" in out
    assert "profile fast (chosen by TL_KIT_PROFILE=fast)" in out
    assert "VGG16 weights:" in out and ("ImageNet" in out or "offline" in out)
    assert "data for the lessons: fashion_mnist (the default" in out
    fast = PROFILES["fast"]
    assert f"shipped data set fashion_mnist: 10 classes; this profile uses {10 * fast.train_per_class} train" in out
    assert re.search(r"shipped data set emoji: 6 classes; this profile uses \d+ train / \d+ val / \d+ test", out)


def test_info_measures_speed_and_estimates_each_lesson(capsys, monkeypatch):
    monkeypatch.setenv("TL_KIT_PROFILE", "fast")
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"images/s at {PROFILES['fast'].image_size} px" in out
    for lesson in ("00_start_here", "01_conv_pool_softmax", "02_feature_extraction", "03_fine_tuning",
                   "04_your_own_images", "05_look_inside"):
        assert lesson in out


def test_a_bad_profile_is_one_clear_line_and_exit_code_2():
    result = run_cli("info", "--no-measure", TL_KIT_PROFILE="huge")
    assert result.returncode == 2
    assert "error: Unknown profile" in result.stderr and "Traceback" not in result.stderr


def test_lesson_estimates_scale_with_speed_and_never_invent_a_missing_reference_time():
    from tl_kit.info import estimate_lessons
    from tl_kit.lessons import LESSONS, reference_images_per_s
    from tl_kit.profiles import PROFILES

    for name, profile in PROFILES.items():
        same = estimate_lessons(profile, reference_images_per_s(name))
        half = estimate_lessons(profile, reference_images_per_s(name) / 2)
        for lesson, at_reference, slower in zip(LESSONS, same, half):
            seconds = lesson.reference_seconds.get(name)
            if seconds is None:
                assert at_reference.minutes is None and "not timed" in at_reference.text
            else:
                assert at_reference.minutes == pytest.approx(seconds / 60)
                assert slower.minutes == pytest.approx(2 * seconds / 60)
                assert f"{at_reference.minutes:5.1f} min" in at_reference.text


def test_recorded_times_keep_the_other_lessons_and_name_the_device(tmp_path, monkeypatch):
    import json

    from tl_kit import lessons

    copy = tmp_path / "lesson_times.json"
    copy.write_text(lessons.TIMES_FILE.read_text())
    monkeypatch.setattr(lessons, "TIMES_FILE", copy)
    before = lessons.read_times()
    lessons.record_times("gpu", {"02_feature_extraction.ipynb": 301.4}, images_per_s=5000.04,
                         device="NVIDIA H200, Keras on jax, 4 notebooks at once")
    after = json.loads(copy.read_text())
    assert after["seconds"]["02_feature_extraction.ipynb"] == {**before["seconds"]["02_feature_extraction.ipynb"],
                                                               "gpu": 301}
    assert after["seconds"]["00_start_here.ipynb"] == before["seconds"]["00_start_here.ipynb"]
    assert after["images_per_s"] == {**before["images_per_s"], "gpu": 5000.0}
    assert after["devices"]["gpu"] == "NVIDIA H200, Keras on jax, 4 notebooks at once"


def test_measure_speed_times_any_model_at_its_own_input_size():
    import keras

    from tl_kit.info import measure_speed

    model = keras.Sequential([keras.Input((40, 30, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()])
    assert measure_speed(model, batch=4, repeats=1) > 0

import pytest

from tl_kit import profiles
from tl_kit.errors import ProfileError
from tl_kit.profiles import PROFILES, get_profile


def test_auto_choice_is_cpu_without_gpu_and_gpu_with_one(monkeypatch):
    monkeypatch.delenv("TL_KIT_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "gpu_available", lambda: False)
    assert get_profile().name == "cpu"
    assert "no GPU" in get_profile().reason
    monkeypatch.setattr(profiles, "gpu_available", lambda: True)
    assert get_profile().name == "gpu"
    assert "GPU is visible" in get_profile().reason


def test_environment_variable_overrides_hardware(monkeypatch):
    monkeypatch.setattr(profiles, "gpu_available", lambda: True)
    monkeypatch.setenv("TL_KIT_PROFILE", "Fast ")
    profile = get_profile()
    assert profile.name == "fast"
    assert profile.reason == "chosen by TL_KIT_PROFILE=fast"


def test_explicit_name_wins_over_environment(monkeypatch):
    monkeypatch.setenv("TL_KIT_PROFILE", "fast")
    assert get_profile("gpu").image_size == 224


def test_unknown_name_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("TL_KIT_PROFILE", "turbo")
    with pytest.raises(ProfileError) as err:
        get_profile()
    message = str(err.value)
    assert "TL_KIT_PROFILE='turbo'" in message
    for name in PROFILES:
        assert name in message


def test_profiles_scale_up_from_fast_to_gpu():
    fast, cpu, gpu = PROFILES["fast"], PROFILES["cpu"], PROFILES["gpu"]
    assert fast.image_size < cpu.image_size < gpu.image_size == 224
    assert fast.image_size >= 32  # VGG16's smallest input
    assert fast.train_per_class < cpu.train_per_class and gpu.train_per_class is None
    assert gpu.input_shape == (224, 224, 3)
    for p in PROFILES.values():
        assert max(p.label_counts) <= (p.train_per_class or 300)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_gpu_available_asks_the_active_backend_for_its_devices(monkeypatch, backend):
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    if backend == "tensorflow":
        import tensorflow as tf

        devices = [tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")]
        monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: devices if kind == "GPU" else [])
        assert profiles.gpu_available() is True
        monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    else:
        import jax

        class Device:
            def __init__(self, platform):
                self.platform = platform

        monkeypatch.setattr(jax, "devices", lambda: [Device("cpu"), Device("gpu")])
        assert profiles.gpu_available() is True
        monkeypatch.setattr(jax, "devices", lambda: [Device("cpu")])
    assert profiles.gpu_available() is False


def test_image_size_setting_changes_only_the_size_and_says_so(monkeypatch):
    monkeypatch.setenv("TL_KIT_PROFILE", "cpu")
    monkeypatch.setenv("TL_KIT_IMAGE_SIZE", " 96 ")
    profile = get_profile()
    assert profile.image_size == 96 and profile.input_shape == (96, 96, 3)
    assert profile.train_per_class == PROFILES["cpu"].train_per_class
    assert "96 px by TL_KIT_IMAGE_SIZE" in profile.reason and "own: 64" in profile.reason
    monkeypatch.setenv("TL_KIT_IMAGE_SIZE", "64")  # the profile's own size: nothing to say
    assert get_profile().reason == "chosen by TL_KIT_PROFILE=cpu"


@pytest.mark.parametrize("bad", ["big", "16", "1024", "96.5"])
def test_image_size_setting_refuses_what_vgg16_cannot_take(monkeypatch, bad):
    monkeypatch.setenv("TL_KIT_IMAGE_SIZE", bad)
    with pytest.raises(ProfileError, match=r"TL_KIT_IMAGE_SIZE=.* whole number of pixels from 32 to 512"):
        get_profile("cpu")

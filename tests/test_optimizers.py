"""A learning rate per part of the model: the head moves `multiplier` times as far as the base,
on both backends, and the choice survives save and load."""

import numpy as np
import pytest

from tests.conftest import BACKENDS, run_on_backend

from tl_kit.errors import TrainingError
from tl_kit.optimizers import LayerwiseAdam

# Adam's first step moves every weight with a non-zero gradient by (almost exactly) its learning
# rate, whatever the gradient's size: so after one step the head's largest change is 10× the base's.
ONE_STEP = r"""
import json
import keras
import numpy as np
from tl_kit.optimizers import LayerwiseAdam

keras.utils.set_random_seed(0)
first, second = keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)
model = keras.Sequential([keras.Input((5,)), first, second])
model.compile(optimizer=LayerwiseAdam(1e-3, multipliers={second.kernel.path: 10.0, second.bias.path: 10.0}),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
before = [w.copy() for w in model.get_weights()]
x, y = np.random.default_rng(0).normal(size=(16, 5)).astype("float32"), np.arange(16) % 3
model.train_on_batch(x, y)
moved = [float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), before)]
print(json.dumps({"backend": keras.backend.backend(), "moved": moved}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_head_moves_ten_times_as_far_as_the_base_in_adams_first_step(backend):
    result = run_on_backend(ONE_STEP, backend)
    base_kernel, base_bias, head_kernel, head_bias = result["moved"]
    assert base_kernel == pytest.approx(1e-3, rel=0.05) and base_bias == pytest.approx(1e-3, rel=0.05)
    assert head_kernel == pytest.approx(1e-2, rel=0.05) and head_bias == pytest.approx(1e-2, rel=0.05)


def test_multipliers_are_saved_in_the_config_and_must_be_positive():
    config = LayerwiseAdam(1e-5, multipliers={"dense/kernel": 10}).get_config()
    assert config["multipliers"] == {"dense/kernel": 10.0} and config["learning_rate"] == pytest.approx(1e-5)
    assert LayerwiseAdam.from_config(config).multipliers == {"dense/kernel": 10.0}
    with pytest.raises(TrainingError, match="must be positive"):
        LayerwiseAdam(1e-5, multipliers={"dense/kernel": 0.0})


def test_a_transfer_model_with_a_faster_head_keeps_it_through_save_and_load(tmp_path):
    from tl_kit import FINE_TUNE_LAST_BLOCK, TransferModel, build_head, load_vgg16
    from tl_kit.data import load_dataset
    from tl_kit.profiles import PROFILES

    data = load_dataset(profile=PROFILES["fast"], image_size=32)
    base, _ = load_vgg16("offline", input_shape=(32, 32, 3), verbose=False)
    tm = TransferModel(base, build_head((1, 1, 512), 10, name="head"))
    tm.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-5, head_multiplier=10)
    assert isinstance(tm.model.optimizer, LayerwiseAdam) and "head ×10" in repr(tm)
    assert set(tm.multipliers()) == {v.path for v in tm.model.get_layer("head").trainable_weights}
    head_before = tm.model.get_layer("head").get_weights()[-2].copy()
    block5_before = tm.model.get_layer("block5_conv3").get_weights()[0].copy()
    tm.fit(data.split("train"), data.split("val"), epochs=1, batch_size=64, cache=None)  # the cached-prefix path
    head_moved = np.abs(tm.model.get_layer("head").get_weights()[-2] - head_before).max()
    block5_moved = np.abs(tm.model.get_layer("block5_conv3").get_weights()[0] - block5_before).max()
    assert head_moved > 3 * block5_moved > 0  # several steps: not exactly 10×, but far beyond 1×
    again = TransferModel.load(tm.save(tmp_path / "model.keras"))
    assert again.head_multiplier == 10.0 and again.learning_rate == 1e-5
    tm.use_preset(FINE_TUNE_LAST_BLOCK, head_multiplier=1)
    assert tm.multipliers() == {} and not isinstance(tm.model.optimizer, LayerwiseAdam)
    with pytest.raises(TrainingError, match="head_multiplier must be a number above 0"):
        tm.use_preset(FINE_TUNE_LAST_BLOCK, head_multiplier=-1)

"""The two modes of a frozen BatchNormalization layer, as tl_kit.batchnorm sets them."""

import keras
import numpy as np
import pytest

from tl_kit.batchnorm import batchnorm_layers, moving_statistics, set_batchnorm_mode, statistics_shift
from tl_kit.errors import OptionError


def _model():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.BatchNormalization(name="inner_bn")],
                             name="inner")
    return keras.Sequential([keras.Input((4,)), inner, keras.layers.BatchNormalization(name="bn"),
                             keras.layers.Dense(2, activation="softmax")])


def _train(model, mode):
    set_batchnorm_mode(model, mode)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(64, 4)).astype("float32")  # far from mean 0, variance 1
    before = moving_statistics(model)
    gammas = [keras.ops.convert_to_numpy(layer.gamma).copy() for layer in batchnorm_layers(model)]
    model.fit(x, np.arange(64) % 2, epochs=2, batch_size=16, verbose=0)
    after = moving_statistics(model)
    same_gamma = all(np.array_equal(g, keras.ops.convert_to_numpy(layer.gamma))
                     for g, layer in zip(gammas, batchnorm_layers(model)))
    return statistics_shift(before, after), same_gamma


def test_batchnorm_layers_are_found_in_nested_models():
    assert [layer.name for layer in batchnorm_layers(_model())] == ["inner_bn", "bn"]


def test_inference_mode_keeps_the_stored_statistics_and_training_mode_moves_them():
    shift, same_gamma = _train(_model(), "inference")
    assert shift == 0.0 and same_gamma
    shift, same_gamma = _train(_model(), "training")
    assert shift > 0.01 and same_gamma  # gamma and beta frozen either way: only the mode differs


def test_in_inference_mode_training_and_inference_calls_agree():
    model = _model()
    set_batchnorm_mode(model, "inference")
    x = np.random.default_rng(1).normal(5.0, 3.0, size=(8, 4)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=True)),
                               keras.ops.convert_to_numpy(model(x, training=False)), atol=1e-6)


def test_an_unknown_mode_is_refused():
    with pytest.raises(OptionError, match="inference"):
        set_batchnorm_mode(_model(), "frozen")


@pytest.mark.jax
def test_the_two_modes_on_jax():
    test_inference_mode_keeps_the_stored_statistics_and_training_mode_moves_them()
    test_in_inference_mode_training_and_inference_calls_agree()

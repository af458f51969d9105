import numpy as np
import pytest

from tests.conftest import BACKENDS, run_on_backend
from tl_kit.callbacks import LiveCurves
from tl_kit.errors import ShapeError, TrainingError
from tl_kit.models import build_head, feature_statistics, small_cnn
from tl_kit.training import (Result, ResultsTable, batch_predict, compile_classifier, fit_and_score,
                             repeat_for_steps, trainable_params, typical_epoch_seconds)


def blobs(n=60, dim=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n // classes)
    x = rng.normal(size=(len(y), dim)) + 3 * np.eye(classes, dim)[y]
    return x.astype("float32"), y


def test_heads_have_the_lesson_parameter_counts():
    assert trainable_params(build_head((7, 7, 512), 10, "flatten")) == 25_701_386
    assert trainable_params(build_head((7, 7, 512), 10, "gap")) == 535_562
    assert trainable_params(build_head((512,), 3)) == 512 * 1024 + 1024 + 1024 * 3 + 3


def test_normalization_floors_dead_features():
    features = np.zeros((10, 3))
    features[:, 0] = np.arange(10)
    mean, variance = feature_statistics(features)
    assert variance[1] > 0 and variance[2] > 0 and np.isclose(variance[0], np.var(np.arange(10)))


def test_fit_and_score_learns_separable_data_and_records_it():
    x, y = blobs()
    result = fit_and_score("head", build_head((8,), 3, features=x), (x, y), (x, y), (x, y), epochs=20, batch_size=16)
    assert result.test_accuracy > 0.9 and result.epochs == 20
    assert len(result.history["loss"]) == len(result.epoch_seconds) == 20
    assert result.seconds_per_epoch == typical_epoch_seconds(result.epoch_seconds) > 0


def test_one_rule_for_seconds_per_epoch_the_median_after_the_compiling_first_epoch():
    assert typical_epoch_seconds([9.0, 1.0, 3.0, 2.0]) == 2.0
    assert typical_epoch_seconds([4.0]) == 4.0 and typical_epoch_seconds([]) is None
    assert Result("a", 1, 10.0, 0.5, epochs=5).seconds_per_epoch == 2.0  # no epoch times: the average
    assert Result("a", 1, 10.0, 0.5, epochs=3, epoch_seconds=[7.0, 1.0, 1.5]).seconds_per_epoch == 1.25


@pytest.mark.parametrize("rate", [0, -1e-3, float("nan"), None])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused(rate):
    with pytest.raises(TrainingError, match="positive number"):
        compile_classifier(build_head((4,), 2), learning_rate=rate)


def test_small_models_take_uint8_images():
    images = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    assert small_cnn((32, 32, 3), 5).predict(images, verbose=0).shape == (4, 5)
    # resized inside the model to the input size, at most 64 px: the same network for 96 and 64 px inputs
    assert small_cnn((96, 96, 3), 5).count_params() == small_cnn((64, 64, 3), 5).count_params()
    assert small_cnn((96, 96, 3), 5, resolution=32).count_params() == small_cnn((32, 32, 3), 5).count_params()


def test_steps_budget_is_exact_whatever_the_training_set_size():
    x, y = blobs(n=9)
    rx, ry = repeat_for_steps(x, y, steps=5, batch_size=4, seed=1)
    assert len(ry) == 20 and np.bincount(ry).min() >= 6  # every example seen about equally often
    result = fit_and_score("few", build_head((8,), 3, features=x), (x, y), (x, y), (x, y), steps=30, batch_size=4)
    assert result.history["loss"] and len(result.history["loss"]) == 1 and result.epochs == round(30 * 4 / 9)
    with pytest.raises(TrainingError, match="either epochs or steps, not both"):
        fit_and_score("both", build_head((8,), 3), (x, y), (x, y), (x, y), steps=3, epochs=3, batch_size=4)
    with pytest.raises(TrainingError, match="not neither"):
        fit_and_score("none", build_head((8,), 3), (x, y), (x, y), (x, y), batch_size=4)


def test_results_table_text_and_html():
    table = ResultsTable([Result("a", 10, 1.0, 0.5, 0.6, 2), Result("b", 20, 2.0, 0.7, 0.4, 2),
                          Result("c", 5, 1.0, 0.1)])
    text = str(table)
    assert "method" in text and "60.0%" in text and "0.50" in text and "—" in text  # c not scored on test
    assert "<table>" in table._repr_html_()
    assert table.best().method == "b" and table.by_method("a").trainable_params == 10
    with pytest.raises(KeyError, match="rows: 'a', 'b', 'c'"):
        table.by_method("d")


def test_live_curves_records_quietly_outside_a_notebook():
    x, y = blobs()
    model = compile_classifier(build_head((8,), 3, features=x))
    curves = LiveCurves()
    model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[curves])
    assert not curves.live and curves.draws == 0
    assert len(curves.history["loss"]) == 3 and len(curves.history["val_accuracy"]) == 3
    assert len(curves.figure().axes) == 2


def test_live_curves_continue_an_earlier_phase_on_one_time_axis():
    x, y = blobs()
    model = compile_classifier(build_head((8,), 3, features=x))
    phase1 = model.fit(x, y, validation_data=(x, y), epochs=4, verbose=0).history
    curves = LiveCurves(before=phase1, label="phase 2")
    model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, callbacks=[curves])
    loss_ax, accuracy_ax = curves.figure().axes
    lines = {line.get_label(): line for line in accuracy_ax.lines}
    assert list(lines["phase 1: head only train"].get_xdata()) == [1, 2, 3, 4]
    assert list(lines["phase 2 train"].get_xdata()) == [5, 6]  # after phase 1, not from 1 again
    assert any(line.get_xdata()[0] == 4.5 for line in loss_ax.lines)  # the marked start of phase 2
    assert accuracy_ax.get_ylim() == (0, 1) and loss_ax.get_ylim()[0] == 0


def test_live_curves_redraws_in_place_inside_a_notebook(monkeypatch):
    import IPython.display

    shown = []

    class Handle:
        def update(self, fig):
            shown.append("update")

    monkeypatch.setattr(IPython.display, "display", lambda fig, display_id=None: shown.append("display") or Handle())
    x, y = blobs()
    model = compile_classifier(build_head((8,), 3, features=x))
    curves = LiveCurves(min_interval=0)
    curves.live = True
    model.fit(x, y, epochs=3, verbose=0, callbacks=[curves])
    assert shown == ["display", "update", "update", "update"]  # one figure, redrawn in place


def test_live_curves_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("TL_KIT_LIVE_PLOTS", "0")
    assert LiveCurves().live is False



PADDED = """
import json, keras, numpy as np
from tl_kit.training import batch_predict
keras.utils.set_random_seed(0)
inputs = keras.Input((6,))
hidden = keras.layers.Dense(4)(inputs)
model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
x = np.random.default_rng(0).normal(size=(70, 6)).astype("float32")  # 2 whole batches of 32 and 6 more
whole = batch_predict(model, x, batch_size=32)
plain = model.predict(x, batch_size=32, verbose=0)
two = keras.Model(inputs, [model.output, hidden])
first, second = batch_predict(two, x, batch_size=32)
print(json.dumps({"backend": keras.backend.backend(), "shape": list(whole.shape),
                  "same": bool(np.allclose(whole, plain, atol=1e-6)), "outputs": [len(first), len(second)],
                  "small": list(batch_predict(model, x[:5], batch_size=32).shape),
                  "with_callbacks": bool(np.allclose(batch_predict(model, x, batch_size=32, callbacks=[keras.callbacks.Callback()]),
                                               plain, atol=1e-6))}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_predict_gives_predicts_outputs_on_every_backend(backend):
    result = run_on_backend(PADDED, backend)
    assert result["shape"] == [70, 3] and result["same"] and result["outputs"] == [70, 70] and result["small"] == [5, 3]
    assert result["with_callbacks"]  # with callbacks (a progress bar), through `predict`: the same outputs


def test_batch_predict_refuses_an_empty_input_with_advice():
    import keras

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    with pytest.raises(ShapeError, match="nothing to predict"):
        batch_predict(model, np.zeros((0, 6), "float32"))


def test_the_lessons_early_stopping_watches_validation_loss_and_keeps_the_best_epoch():
    from tl_kit import early_stopping

    stop, again = early_stopping(3), early_stopping(3)
    assert stop is not again  # a new callback each time: one remembers its best weights between fits
    assert (stop.monitor, stop.patience, stop.min_delta, stop.restore_best_weights) == ("val_loss", 3, 0.01, True)

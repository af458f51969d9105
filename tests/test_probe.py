"""The linear probe chooses C on validation only, and scores with balanced accuracy."""

import numpy as np
import pytest

from tl_kit.errors import ShapeError
from tl_kit.probe import C_GRID, linear_probe


def blobs(n_per_class, classes=3, dim=20, spread=1.0, seed=0):
    centres = np.random.default_rng(42).normal(0, 3, (classes, dim))  # the same classes in every split
    y = np.repeat(np.arange(classes), n_per_class)
    return centres[y] + np.random.default_rng(seed).normal(0, spread, (len(y), dim)), y


def test_the_probe_learns_separable_features_and_reports_balanced_accuracy():
    x, y = blobs(30)
    xv, yv = blobs(10, seed=1)
    result = linear_probe(x, y, xv, yv, xv, yv)
    assert result.val_score == result.test_score > 0.95 and result.train_score == 1.0


def test_c_is_chosen_on_validation_and_the_test_set_cannot_change_it():
    x, y = blobs(10, spread=4.0)
    xv, yv = blobs(20, spread=4.0, seed=1)
    with_test = linear_probe(x, y, xv, yv, *blobs(20, spread=4.0, seed=2))
    other_test = linear_probe(x, y, xv, yv, *blobs(20, spread=4.0, seed=3))
    assert with_test.C == other_test.C == max(with_test.val_by_C, key=with_test.val_by_C.get)
    assert set(with_test.val_by_C) == set(C_GRID)


def test_balanced_accuracy_does_not_reward_guessing_the_big_class():
    x, y = blobs(30, classes=2, spread=50.0)  # noise: nothing to learn
    test_x, test_y = np.zeros((100, 20)), np.r_[np.zeros(90, int), np.ones(10, int)]
    result = linear_probe(x, y, x, y, test_x, test_y)
    assert result.test_score == pytest.approx(0.5)  # one class always: 90% plain accuracy, 50% balanced


def test_images_are_flattened_and_a_vector_per_image_is_required():
    x, y = blobs(10)
    images = x.reshape(-1, 2, 2, 5)
    assert linear_probe(images, y, images, y).C == linear_probe(x, y, x, y).C
    with pytest.raises(ShapeError, match="one feature vector"):
        linear_probe(np.zeros(30), y, x, y)


def test_one_blas_thread_gives_the_same_probe_and_the_limit_is_lifted_afterwards():
    from threadpoolctl import threadpool_info

    x, y = blobs(40, classes=4, dim=300, spread=3.0)
    xv, yv = blobs(15, classes=4, dim=300, spread=3.0, seed=1)
    before = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    one = linear_probe(x, y, xv, yv, xv, yv)  # blas_threads=1, the default
    assert [(i["internal_api"], i["num_threads"]) for i in threadpool_info()] == before
    every = linear_probe(x, y, xv, yv, xv, yv, blas_threads=None)
    assert one.C == every.C and one.val_by_C == pytest.approx(every.val_by_C, abs=0.02)
    np.testing.assert_allclose(one.model[-1].coef_, every.model[-1].coef_, rtol=1e-3, atol=1e-4)

"""The reference implementations agree with keras.ops on random shapes, strides and paddings."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tl_kit import conv
from tl_kit.errors import OptionError, ShapeError

to_np = keras.ops.convert_to_numpy


@st.composite
def conv_case(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from(conv.PADDINGS))
    low_h, low_w = (1, 1) if padding == "same" else (kh, kw)
    h, w = draw(st.integers(low_h, 10)), draw(st.integers(low_w, 10))
    c_in, c_out, stride = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    return h, w, kh, kw, c_in, c_out, stride, padding, seed


@settings(max_examples=60, deadline=None)
@given(conv_case())
def test_conv2d_matches_keras_ops_conv(case):
    h, w, kh, kw, c_in, c_out, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(h, w, c_in)).astype("float32")
    k = rng.normal(size=(kh, kw, c_in, c_out)).astype("float32")
    b = rng.normal(size=c_out).astype("float32")
    ours = conv.conv2d(x, k, b, stride, padding)
    theirs = to_np(keras.ops.conv(x[None], k, strides=stride, padding=padding))[0] + b
    assert ours.shape == theirs.shape == (conv.output_size(h, kh, stride, padding),
                                          conv.output_size(w, kw, stride, padding), c_out)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.sampled_from(conv.PADDINGS), st.sampled_from(["max", "avg"]),
       st.integers(4, 11), st.integers(4, 11), st.integers(0, 2**16))
def test_pool2d_matches_keras_ops_pooling(size, stride, padding, mode, h, w, seed):
    x = np.random.default_rng(seed).normal(size=(h, w, 2)).astype("float32")
    op = keras.ops.max_pool if mode == "max" else keras.ops.average_pool
    theirs = to_np(op(x[None], size, stride, padding))[0]
    np.testing.assert_allclose(conv.pool2d(x, size, stride, padding, mode), theirs, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1000, 1000), min_size=2, max_size=12))
def test_softmax_is_stable_and_matches_keras(scores):
    z = np.array(scores)
    p = conv.softmax(z)
    assert np.isfinite(p).all() and np.isclose(p.sum(), 1.0)
    np.testing.assert_allclose(p, to_np(keras.ops.softmax(z.astype("float32"))), atol=1e-5)


def test_same_padding_puts_the_odd_zero_after():
    assert conv.same_padding(5, 2, 1) == (0, 1)
    assert conv.same_padding(6, 3, 2) == (0, 1)
    assert conv.same_padding(7, 3, 1) == (1, 1)


@pytest.mark.parametrize("call, error, match", [
    (lambda: conv.conv2d(np.ones((5, 5)), np.ones((3, 3, 1, 1))), ShapeError, "image \\(H, W, C_in\\)"),
    (lambda: conv.conv2d(np.ones((5, 5, 1)), np.ones((3, 3))), ShapeError, "k\\[:, :, None, None\\]"),
    (lambda: conv.conv2d(np.ones((5, 5, 3)), np.ones((3, 3, 1, 2))), ShapeError, "1 input channel"),
    (lambda: conv.conv2d(np.ones((5, 5, 1)), np.ones((3, 3, 1, 2)), b=np.ones(3)), ShapeError, "one bias per filter"),
    (lambda: conv.conv2d(np.ones((2, 2, 1)), np.ones((3, 3, 1, 1))), ShapeError, "does not fit"),
    (lambda: conv.conv2d(np.ones((5, 5, 1)), np.ones((3, 3, 1, 1)), stride=0), OptionError, "stride must be"),
    (lambda: conv.pool2d(np.ones((4, 4, 1)), padding="full"), OptionError, "'valid' or 'same'"),
    (lambda: conv.pool2d(np.ones((4, 4, 1)), mode="median"), OptionError, "'max' or 'avg'"),
])
def test_bad_input_is_a_short_clear_error_of_the_class_that_names_it(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_parameter_count_formulas_match_keras_layers():
    layer = keras.layers.Conv2D(7, (3, 2))
    layer.build((None, 9, 9, 5))
    assert layer.count_params() == conv.conv_param_count(3, 2, 5, 7)
    dense = keras.layers.Dense(11)
    dense.build((None, 13))
    assert dense.count_params() == conv.dense_param_count(13, 11)

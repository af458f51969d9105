"""The self-check exercises' checkers accept right answers and explain wrong ones."""

import math

import numpy as np

from tl_kit import checks, conv


def right_output_size(n, k, stride=1, padding="valid"):
    return math.ceil(n / stride) if padding == "same" else (n - k) // stride + 1


def test_output_size_checker_passes_a_right_answer_and_names_the_failing_case():
    assert checks.check_output_size(right_output_size)
    result = checks.check_output_size(lambda n, k, stride=1, padding="valid": (n - k) // stride)  # forgot +1
    assert not result
    assert "returned" in result.message and "expected" in result.message and "⌊" in result.message
    assert repr(result).startswith("✗")


def test_output_size_checker_wants_whole_numbers():
    result = checks.check_output_size(lambda n, k, stride=1, padding="valid": (n - k) / stride + 1)
    assert not result
    assert "whole number" in result.message and "//" in result.message and "float" in result.message


def single(image, kernel, stride=1):
    return conv.conv2d(image[..., None], kernel[..., None, None], stride=stride)[..., 0]


def test_conv_checker_reports_shape_position_and_the_flip_mistake():
    assert checks.check_conv2d(single)
    wrong_shape = checks.check_conv2d(lambda im, k, stride=1: single(im, k, 1))
    assert "should be" in wrong_shape.message and "shape" in wrong_shape.message
    flipped = checks.check_conv2d(lambda im, k, stride=1: single(im, k[::-1, ::-1], stride))
    assert "flipped-kernel" in flipped.message and "position" in flipped.message
    off = checks.check_conv2d(lambda im, k, stride=1: single(im, k, stride) + 0.5)
    assert "should be" in off.message and "window at" in off.message


def test_a_student_function_that_raises_is_one_line_not_a_traceback():
    def broken(image, kernel, stride=1):
        return image @ np.ones(99)

    result = checks.check_conv2d(broken)
    assert not result and "raised ValueError" in result.message and "\n" not in result.message


def test_an_unwritten_exercise_says_what_to_do():
    def todo(z):
        raise NotImplementedError("Exercise: write your code here")

    result = checks.check_softmax(todo)
    assert not result and "not answered yet" in result.message


def test_softmax_checker_catches_overflow():
    def naive(z):
        e = np.exp(z)
        return e / e.sum()

    result = checks.check_softmax(naive)
    assert not result and "overflow" in result.message
    assert checks.check_softmax(conv.softmax)


def test_max_pool_checker_names_the_window():
    assert checks.check_max_pool(lambda m, size=2, stride=2: conv.pool2d(m[..., None], size, stride)[..., 0])
    mean = checks.check_max_pool(lambda m, size=2, stride=2: conv.pool2d(m[..., None], size, stride, mode="avg")[..., 0])
    assert "largest value" in mean.message


def test_number_quiz():
    assert checks.check_number("params", 80, 80, "how")
    assert "not answered yet" in checks.check_number("params", ..., 80, "how").message
    assert "how" in checks.check_number("params", 72, 80, "how").message
    assert checks.check_number("ln 3", 1.1, 1.0986, "how", tolerance=0.01).message == "ln 3 = 1.099: right."
    assert not checks.check_number("ln 3", 1.1, 1.0986, "how")  # without a tolerance, exactly


def test_channel_weights_checker_accepts_the_mean_and_names_the_sum_and_the_wrong_axis():
    assert checks.check_channel_weights(lambda g: g.mean(axis=(0, 1)))
    summed = checks.check_channel_weights(lambda g: g.sum(axis=(0, 1)))
    assert not summed and "sum over height and width" in summed.message
    wrong_axis = checks.check_channel_weights(lambda g: g.mean(axis=2))
    assert not wrong_axis and "expected (" in wrong_axis.message

    def unanswered(g):
        raise NotImplementedError

    assert "not answered yet" in checks.check_channel_weights(unanswered).message

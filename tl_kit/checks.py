"""Checkers for the self-check exercises: they test a student's function on random cases and
say *what* is wrong (which case, which shape, which position, expected vs got), never just "no".

Each checker returns a `CheckResult`; a notebook shows it as one line starting with ✓ or ✗.
While a teacher's grader runs the notebook (TL_KIT_GRADING=1, see `tl_kit.grading`) a failed
check raises `CheckFailed` with the same message instead, so nbgrader scores the exercise 0:

    >>> check_output_size(lambda n, k, stride=1, padding="valid": 0)   # doctest: +ELLIPSIS
    ✗ output_size(n=..., k=..., stride=..., padding=...) returned 0, expected ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import config, conv
from .errors import CheckFailed
from .i18n import _


@dataclass
class CheckResult:
    """The outcome of one checker: passed or not, and a message that says why."""

    name: str
    passed: bool
    message: str

    def __post_init__(self) -> None:
        # Under a grader, a failure must be an error: nbgrader scores a test cell by whether it raises.
        if not self.passed and config.grading():
            raise CheckFailed(self.message)

    def __repr__(self) -> str:
        return ("✓ " if self.passed else "✗ ") + self.message

    def __bool__(self) -> bool:
        return self.passed


class _Failed(Exception):
    """Raised inside a checker to stop at the first wrong case with its explanation."""


def _call(name: str, fn: Callable, args: tuple, kwargs: dict, shown: str):
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise _Failed(_("{name}: not answered yet. Replace the `raise NotImplementedError` line in the "
                        "exercise cell with your code and run the cell again.").format(name=name)) from None
    except Exception as err:  # a student's bug: report it in one line, not a traceback
        raise _Failed(_("{name}({shown}) raised {error}: {message}").format(
            name=name, shown=shown, error=type(err).__name__, message=err)) from None


def _run(name: str, body: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, body())
    except _Failed as failure:
        return CheckResult(name, False, str(failure))


def check_output_size(fn: Callable, cases: int = 300, seed: int = 0) -> CheckResult:
    """Check fn(n, k, stride, padding) against ⌊(n−k)/s⌋+1 ('valid') and ⌈n/s⌉ ('same')."""
    rng = np.random.default_rng(seed)

    def body() -> str:
        for _case in range(cases):
            n, k, s = int(rng.integers(1, 64)), int(rng.integers(1, 8)), int(rng.integers(1, 5))
            padding = str(rng.choice(conv.PADDINGS))
            if padding == "valid" and k > n:
                continue
            shown = f"n={n}, k={k}, stride={s}, padding={padding!r}"
            got = _call("output_size", fn, (n, k, s, padding), {}, shown)
            expected = conv.output_size(n, k, s, padding)
            if not isinstance(got, (int, np.integer)):
                raise _Failed(_("output_size({shown}) returned {got!r} of type {type}; a size must be a whole number "
                                "(use // for floor division).").format(shown=shown, got=got, type=type(got).__name__))
            if got != expected:
                formula = f"⌊({n} − {k})/{s}⌋ + 1" if padding == "valid" else f"⌈{n}/{s}⌉"
                raise _Failed(_("output_size({shown}) returned {got}, expected {expected} = {formula}.").format(
                    shown=shown, got=got, expected=expected, formula=formula))
        return _("output_size agrees with the formula on {cases} random cases, both paddings.").format(cases=cases)

    return _run("output_size", body)


def check_conv2d(fn: Callable, cases: int = 60, seed: int = 0) -> CheckResult:
    """Check a single-channel fn(image (H, W), kernel (kh, kw), stride) with 'valid' padding."""
    rng = np.random.default_rng(seed)

    def body() -> str:
        for _case in range(cases):
            kh, kw, s = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
            h, w = int(rng.integers(kh, 12)), int(rng.integers(kw, 12))
            image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
            shown = _("a {h}×{w} image, a {kh}×{kw} kernel, stride={s}").format(h=h, w=w, kh=kh, kw=kw, s=s)
            got = np.asarray(_call("conv2d", fn, (image.copy(), kernel.copy(), s), {}, shown), dtype=float)
            expected = conv.conv2d(image[..., None], kernel[..., None, None], stride=s)[..., 0]
            if got.shape != expected.shape:
                raise _Failed(_("For {shown} the output should be {h}×{w} (output_size along each axis); yours has "
                                "shape {shape}.").format(shown=shown, h=expected.shape[0], w=expected.shape[1],
                                                         shape=got.shape))
            bad = np.argwhere(~np.isclose(got, expected, atol=1e-6))
            if len(bad):
                i, j = map(int, bad[0])
                flipped = conv.conv2d(image[..., None], kernel[::-1, ::-1, None, None], stride=s)[..., 0]
                hint = (_(" Your result is the *flipped-kernel* convolution of signal processing; deep learning's "
                          "conv does not flip the kernel.") if np.allclose(got, flipped, atol=1e-6) else
                        _(" The window at ({i}, {j}) covers rows {top}…{bottom} and columns {left}…{right} of the "
                          "image.").format(i=i, j=j, top=i * s, bottom=i * s + kh - 1, left=j * s, right=j * s + kw - 1))
                raise _Failed(_("For {shown}, position ({i}, {j}) should be {expected:.4f}; yours is {got:.4f}.").format(
                    shown=shown, i=i, j=j, expected=expected[i, j], got=got[i, j]) + hint)
        return _("conv2d matches the reference on {cases} random images, kernels and strides.").format(cases=cases)

    return _run("conv2d", body)


def check_softmax(fn: Callable, cases: int = 100, seed: int = 0) -> CheckResult:
    """Check fn(z) (a 1-D score vector) for correctness and for overflow on large scores."""
    rng = np.random.default_rng(seed)

    def body() -> str:
        tests = [rng.normal(scale=3, size=int(rng.integers(2, 12))) for _ in range(cases)]
        tests += [np.array([1000.0, 1001.0, 1002.0]), np.array([-1000.0, -1001.0]), np.full(4, 750.0)]
        for z in tests:
            shown = "z=[" + ", ".join(f"{v:.3g}" for v in z[:4]) + (", …]" if len(z) > 4 else "]")
            with np.errstate(all="ignore"):
                got = np.asarray(_call("softmax", fn, (z.copy(),), {}, shown), dtype=float)
            expected = conv.softmax(z)
            if got.shape != expected.shape:
                raise _Failed(_("softmax({shown}) returned shape {got}; expected {expected}, one probability per "
                                "score.").format(shown=shown, got=got.shape, expected=expected.shape))
            if not np.isfinite(got).all():
                raise _Failed(_("softmax({shown}) returned {got}: exp overflowed. Subtract the largest score before "
                                "exponentiating; the result does not change.").format(
                    shown=shown, got=np.round(got, 3).tolist()))
            if not np.allclose(got, expected, atol=1e-6):
                raise _Failed(_("softmax({shown}) returned {got}, expected {expected} (they should sum to 1: yours "
                                "sum to {total:.4f}).").format(shown=shown, got=np.round(got, 4).tolist(),
                                                               expected=np.round(expected, 4).tolist(), total=got.sum()))
        return _("softmax is right on {n} score vectors, including scores near ±1000.").format(n=len(tests))

    return _run("softmax", body)


def check_channel_weights(fn: Callable, cases: int = 50, seed: int = 0) -> CheckResult:
    """Check fn(grads (H, W, C)) → Grad-CAM's weight per channel: the mean over height and width."""
    rng = np.random.default_rng(seed)

    def body() -> str:
        for _case in range(cases):
            h, w, c = (int(v) for v in rng.integers(1, 9, size=3))
            grads = rng.normal(size=(h, w, c))
            shown = _("grads of shape ({h}, {w}, {c})").format(h=h, w=w, c=c)
            got = np.asarray(_call("channel_weights", fn, (grads.copy(),), {}, shown), dtype=float)
            expected = grads.mean(axis=(0, 1))
            if got.shape != expected.shape:
                raise _Failed(_("channel_weights({shown}) returned shape {got}; expected ({c},), one weight per "
                                "channel: average over the first two axes (height and width).").format(
                    shown=shown, got=got.shape, c=c))
            if np.allclose(got, grads.sum(axis=(0, 1))) and h * w > 1:
                raise _Failed(_("channel_weights({shown}) returned the sum over height and width; Grad-CAM uses the "
                                "mean (divide by H·W).").format(shown=shown))
            if not np.allclose(got, expected, atol=1e-9):
                raise _Failed(_("channel_weights({shown}) returned {got}…, expected {expected}… (the mean over "
                                "height and width).").format(shown=shown, got=np.round(got[:3], 4).tolist(),
                                                             expected=np.round(expected[:3], 4).tolist()))
        return _("channel_weights is right on {cases} random gradients.").format(cases=cases)

    return _run("channel_weights", body)


def check_max_pool(fn: Callable, cases: int = 60, seed: int = 0) -> CheckResult:
    """Check a single-channel fn(feature_map (H, W), size, stride) max pooling with 'valid' padding."""
    rng = np.random.default_rng(seed)

    def body() -> str:
        for _case in range(cases):
            size, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            h, w = int(rng.integers(size, 12)), int(rng.integers(size, 12))
            fmap = rng.normal(size=(h, w))
            shown = _("a {h}×{w} map, size={size}, stride={s}").format(h=h, w=w, size=size, s=s)
            got = np.asarray(_call("max_pool", fn, (fmap.copy(), size, s), {}, shown), dtype=float)
            expected = conv.pool2d(fmap[..., None], size, s, "valid", "max")[..., 0]
            if got.shape != expected.shape:
                raise _Failed(_("For {shown} the output should be {h}×{w}; yours has shape {shape}.").format(
                    shown=shown, h=expected.shape[0], w=expected.shape[1], shape=got.shape))
            bad = np.argwhere(~np.isclose(got, expected))
            if len(bad):
                i, j = map(int, bad[0])
                raise _Failed(_("For {shown}, position ({i}, {j}) should be {expected:.4f} (the largest value in "
                                "rows {top}…{bottom}, columns {left}…{right}); yours is {got:.4f}.").format(
                    shown=shown, i=i, j=j, expected=expected[i, j], top=i * s, bottom=i * s + size - 1, left=j * s,
                    right=j * s + size - 1, got=got[i, j]))
        return _("max_pool matches the reference on {cases} random maps, sizes and strides.").format(cases=cases)

    return _run("max_pool", body)


def check_number(name: str, answer, expected: int | float, how: str, tolerance: float = 0.0) -> CheckResult:
    """A quiz answer: `answer` should equal `expected` (within `tolerance`, for an answer worked out by
    hand to a few digits); `how` says how to work it out if not."""
    if answer is None or answer is ...:
        return CheckResult(name, False, _("{name}: not answered yet. Replace the `...` with your answer and run "
                                          "the cell again. {how}").format(name=name, how=how))
    if np.isclose(float(answer), float(expected), atol=tolerance):
        shown = f"{float(expected):.4g}" if not float(expected).is_integer() else expected
        return CheckResult(name, True, _("{name} = {shown}: right.").format(name=name, shown=shown))
    return CheckResult(name, False, _("{name}: {answer} is not right. {how}").format(name=name, answer=answer, how=how))

"""Putting measured numbers into words, so a lesson's summary says what *this* run found."""

from __future__ import annotations

import numpy as np


def margin(a, b) -> tuple[float, float]:
    """Mean and standard deviation, in percentage points, of a − b (paired, e.g. by seed)."""
    diff = 100 * (np.asarray(a, float) - np.asarray(b, float))
    return float(diff.mean()), float(diff.std())


def compare(name_a: str, a, name_b: str, b, tie: float = 0.5) -> str:
    """'A beat B by 3.1 ± 1.2 points (71.0% vs 67.9%)', or 'lost to', or 'matched'."""
    mean, spread = margin(a, b)
    score = f"({np.mean(a):.1%} vs {np.mean(b):.1%})"
    plus_minus = f" ± {spread:.1f}" if np.size(a) > 1 else ""
    if abs(mean) < tie:
        return f"{name_a} matched {name_b} {score}"
    verb = "beat" if mean > 0 else "lost to"
    return f"{name_a} {verb} {name_b} by {abs(mean):.1f}{plus_minus} points {score}"

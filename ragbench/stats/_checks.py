"""Argument checks shared by the statistics functions; each failure is an :class:`InputError`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError

#: Relative tolerance for "at least as extreme as observed" in the resampling tests. Resampled
#: statistics that equal the observed one in exact arithmetic can differ from it by rounding; a
#: permuted sum of n terms is off by at most about n * 2.2e-16 of ``sum(|d|)``, far below this.
EXTREME_RTOL = 1e-9


def paired_differences(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Return ``a - b`` as float64 after checking that ``a`` and ``b`` are paired score vectors.

    Raises:
        InputError: ``a`` or ``b`` is not one-dimensional, they differ in length, they are empty,
            or they hold a non-finite or non-numeric value.
    """
    x, y = as_scores(a, "a"), as_scores(b, "b")
    if x.shape != y.shape:
        raise InputError(
            f"a and b must be paired (same topics, same order): got {x.size} and {y.size} scores"
        )
    diff: np.ndarray = x - y
    return diff


def as_scores(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a non-empty, finite, one-dimensional float64 array.

    Raises:
        InputError: the values are not numbers, not one-dimensional, empty or not finite.
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a sequence of numbers: {exc}") from exc
    if array.ndim != 1:
        raise InputError(f"{name} must be one-dimensional (one score per topic), got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"{name} is empty: need at least one topic")
    if not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise InputError(f"{name}[{bad}] is {array[bad]}: scores must be finite")
    return array


def check_trials(trials: Any) -> int:
    """Return ``trials`` if it is a positive int (not a bool), else raise :class:`InputError`."""
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 1:
        raise InputError(f"trials must be a positive integer, got {trials!r}")
    return int(trials)


def check_seed(seed: Any) -> int:
    """Return ``seed`` if it is a non-negative int (not a bool), else raise :class:`InputError`."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_fraction(value: Any, name: str) -> float:
    """Return ``value`` as a float if it lies strictly between 0 and 1, else raise :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise InputError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return float(value)


def check_tolerance(value: Any) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"tolerance must be a finite number >= 0, got {value!r}")
    if not 0.0 <= float(value) < np.inf:
        raise InputError(f"tolerance must be a finite number >= 0, got {value!r}")
    return float(value)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise an :class:`InputError` listing them."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise InputError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, options))}")
    return value

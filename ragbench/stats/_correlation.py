"""Correlation between a metric and user ratings, with bootstrap confidence intervals.

This is how session metrics are validated (the NUM paper, Jiang & Allan CHIIR'16): per session,
a metric value and a user's rating (satisfaction, say); Pearson's r, Spearman's rho and Kendall's
tau-b between them. The intervals resample sessions with replacement, pairs kept together
(``scipy.stats.bootstrap(paired=True)``), BCa by default.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError

COEFFICIENTS = ("pearson", "spearman", "kendall")


@dataclass(frozen=True, slots=True)
class Correlation:
    """One coefficient: estimate, two-sided p-value, and bootstrap interval (NaN if undefined)."""

    coefficient: str
    estimate: float
    p_value: float
    low: float
    high: float
    n: int
    confidence: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pearson(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    x = x - x.mean(axis=axis, keepdims=True)
    y = y - y.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r: np.ndarray = (x * y).sum(axis=axis) / np.sqrt((x * x).sum(axis=axis) * (y * y).sum(axis=axis))
    return r


def _spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    from scipy.stats import rankdata

    return _pearson(rankdata(x, axis=axis), rankdata(y, axis=axis), axis=axis)


def _kendall_b(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b over all pairs, vectorised over resamples (O(n^2) memory per resample)."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    dx = np.sign(x[..., :, None] - x[..., None, :])
    dy = np.sign(y[..., :, None] - y[..., None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        tau: np.ndarray = (dx * dy).sum(axis=(-2, -1)) / np.sqrt(
            (dx * dx).sum(axis=(-2, -1)) * (dy * dy).sum(axis=(-2, -1))
        )
    return tau


# Bootstrap statistics vectorised over resamples (scipy passes a batch of them along the last axis);
# the p-values and point estimates come from scipy.stats itself.
_VECTORISED = {"pearson": _pearson, "spearman": _spearman, "kendall": _kendall_b}


class _Test(Protocol):
    """What scipy.stats' correlation tests return, as far as it is read here."""

    statistic: float
    pvalue: float


def _exact(name: str, x: np.ndarray, y: np.ndarray) -> _Test:
    from scipy import stats

    test: _Test  # scipy has no type annotations
    if name == "pearson":
        test = stats.pearsonr(x, y)
    elif name == "spearman":
        test = stats.spearmanr(x, y)
    else:
        test = stats.kendalltau(x, y, variant="b")
    return test


def correlate(
    metric: ArrayLike,
    ratings: ArrayLike,
    *,
    coefficients: tuple[str, ...] = COEFFICIENTS,
    confidence: float = 0.95,
    trials: int = 2000,
    seed: int = 0,
    method: str = "BCa",
) -> list[Correlation]:
    """Pearson, Spearman and Kendall (tau-b) correlation of ``metric`` with ``ratings``.

    Args:
        metric: one value per session.
        ratings: the rating of the same sessions, same order.
        coefficients: which of ``pearson spearman kendall``.
        confidence: interval coverage (default 0.95).
        trials: bootstrap resamples.
        seed: random seed (the same seed gives the same intervals).
        method: ``BCa`` (default) or ``percentile`` (``scipy.stats.bootstrap``'s methods).

    Raises:
        InputError: fewer than 3 pairs, different lengths, or an unknown coefficient.
    """
    from scipy import stats

    x = np.asarray(metric, np.float64)
    y = np.asarray(ratings, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError("metric and ratings must be two 1-D arrays of the same length")
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 3:
        raise InputError(
            f"correlation needs at least 3 sessions with both a value and a rating, got {x.size}"
        )
    unknown = set(coefficients) - set(COEFFICIENTS)
    if unknown:
        raise InputError(f"unknown coefficient(s) {sorted(unknown)}: use {', '.join(COEFFICIENTS)}")
    results = []
    constant = np.ptp(x) == 0 or np.ptp(y) == 0
    for name in coefficients:
        if constant:
            results.append(
                Correlation(
                    name,
                    float("nan"),
                    float("nan"),
                    float("nan"),
                    float("nan"),
                    int(x.size),
                    confidence,
                    method,
                )
            )
            continue
        found = _exact(name, x, y)
        low = high = float("nan")
        with warnings.catch_warnings():
            # A resample can be constant (its coefficient is NaN): scipy warns, and may give NaN bounds.
            warnings.simplefilter("ignore")
            try:
                boot = stats.bootstrap(
                    (x, y),
                    _VECTORISED[name],
                    paired=True,
                    vectorized=True,
                    batch=max(1, (1 << 22) // (x.size * x.size if name == "kendall" else x.size)),
                    n_resamples=trials,
                    confidence_level=confidence,
                    method=method,
                    random_state=np.random.default_rng(seed),
                )
                low, high = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
            except ValueError:  # BCa is undefined (e.g. too few distinct values)
                pass
        results.append(
            Correlation(
                name, float(found.statistic), float(found.pvalue), low, high, int(x.size), confidence, method
            )
        )
    return results

"""Paired bootstrap: confidence interval of the mean difference, and the bootstrap test.

Both resample topics with replacement: a resample draws ``n`` topic indices uniformly from the
``n`` topics and takes the mean of the per-topic differences ``d = a - b`` over them. With the same
``(n, trials, seed)`` the interval and the test see the same resamples, so they agree with each
other and :func:`ragbench.stats.compare` can compute them for many pairs at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ragbench.stats._checks import (
    EXTREME_RTOL,
    check_choice,
    check_fraction,
    check_seed,
    check_trials,
    paired_differences,
)

#: Elements (trials x topics) of resampling indices drawn per chunk.
CHUNK_ELEMENTS = 1 << 20

CIMethod = Literal["percentile", "bca"]
CI_METHODS: tuple[str, ...] = ("percentile", "bca")


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    """A two-sided confidence interval of the mean difference ``mean(a - b)``.

    Attributes:
        low: Lower bound.
        high: Upper bound.
        estimate: The observed mean difference.
        confidence: Coverage, e.g. 0.95.
        method: ``"percentile"`` or ``"bca"``.
    """

    low: float
    high: float
    estimate: float
    confidence: float
    method: str


def bootstrap_ci(
    a: ArrayLike,
    b: ArrayLike,
    *,
    confidence: float = 0.95,
    trials: int = 10_000,
    seed: int = 0,
    method: CIMethod = "percentile",
) -> ConfidenceInterval:
    """Paired bootstrap confidence interval of the mean difference ``mean(a - b)``.

    Draws ``trials`` resamples of the topics (with replacement) and their mean differences
    ``m*_1..m*_B``. With ``alpha = 1 - confidence``:

    - ``"percentile"`` (default): ``[q(alpha/2), q(1 - alpha/2)]``, the empirical quantiles of
      ``m*`` (linear interpolation, numpy's default).
    - ``"bca"``: bias-corrected and accelerated (Efron, 1987). With ``Phi`` the standard normal
      CDF, bias ``z0 = Phi^-1(#{m* < d̄} / B + #{m* = d̄} / 2B)``, acceleration
      ``acc = sum(u_i^3) / (6 * sum(u_i^2)^1.5)`` from the jackknife means ``u_i = d̄_(.) - d̄_(-i)``,
      the bounds are the quantiles at ``Phi(z0 + (z0 + z) / (1 - acc * (z0 + z)))`` for
      ``z = Phi^-1(alpha/2)`` and ``Phi^-1(1 - alpha/2)``.

    When every difference is equal the interval is the single point ``[d̄, d̄]``.

    Args:
        a: Per-topic scores of the first system.
        b: Per-topic scores of the second system, same topics in the same order.
        confidence: Coverage strictly between 0 and 1 (default 0.95).
        trials: Number of bootstrap resamples (default 10,000).
        seed: Seed of :func:`numpy.random.default_rng` (default 0).
        method: ``"percentile"`` (default) or ``"bca"``.

    Returns:
        The interval, with the observed mean difference as ``estimate``.

    Raises:
        InputError: bad scores, ``confidence`` outside (0, 1), bad ``trials``/``seed``/``method``.
    """
    diffs = paired_differences(a, b)
    confidence = check_fraction(confidence, "confidence")
    kind = check_choice(method, "confidence-interval method", CI_METHODS)
    means = bootstrap_means(diffs[None, :], check_trials(trials), check_seed(seed))[0]
    low, high = interval_from_means(diffs, means, confidence, kind)
    return ConfidenceInterval(low, high, float(diffs.mean()), confidence, kind)


def paired_bootstrap(a: ArrayLike, b: ArrayLike, *, trials: int = 10_000, seed: int = 0) -> float:
    """Two-sided paired bootstrap test of mean(a - b) = 0 (the shift method).

    The null distribution is the bootstrap distribution of the mean difference shifted to mean 0,
    i.e. the means of resamples of ``d - d̄`` (Efron & Tibshirani, 1993, §16.4)::

        p = (1 + #{k : |m*_k - d̄| >= |d̄|}) / (1 + trials)

    where ``m*_k`` is the mean of the k-th resample of ``d``. Centring the resampled means at the
    observed mean is the same as resampling the centred differences. The ``+1`` counts the observed
    sample, so p is never 0; ties are judged with a relative tolerance of 1e-9 of ``mean(|d|)``.
    Identical inputs give ``p = 1``; swapping ``a`` and ``b`` gives the same p. Unlike the
    randomization test this does not assume that each difference is symmetric about 0, but it is
    somewhat anti-conservative on few topics.

    Args:
        a: Per-topic scores of the first system.
        b: Per-topic scores of the second system, same topics in the same order.
        trials: Number of bootstrap resamples (default 10,000).
        seed: Seed of :func:`numpy.random.default_rng` (default 0).

    Returns:
        The two-sided p-value in ``(0, 1]``.

    Raises:
        InputError: bad scores, ``trials`` or ``seed``.
    """
    diffs = paired_differences(a, b)[None, :]
    return float(bootstrap_pvalues(diffs, check_trials(trials), check_seed(seed))[0])


def bootstrap_means(diffs: np.ndarray, trials: int, seed: int) -> np.ndarray:
    """Bootstrap means of each row of ``diffs`` (pairs x topics); returns pairs x trials.

    Every row is resampled with the same topic indices, which depend only on ``(n, trials, seed)``.
    """
    pairs, n = diffs.shape
    rng = np.random.default_rng(seed)
    # Small unsigned indices are drawn about twice as fast as int64 ones.
    dtype = np.uint16 if n <= 1 << 16 else np.int64
    rows = max(1, CHUNK_ELEMENTS // n)
    sums = np.empty((pairs, trials), dtype=np.float64)
    done = 0
    while done < trials:
        chunk = min(rows, trials - done)
        index = rng.integers(0, n, size=(chunk, n), dtype=dtype).astype(np.intp)
        for p in range(pairs):
            sums[p, done : done + chunk] = diffs[p].take(index).sum(axis=1)
        done += chunk
    means: np.ndarray = sums / n
    return means


def bootstrap_pvalues(diffs: np.ndarray, trials: int, seed: int) -> np.ndarray:
    """Shift-method bootstrap p-values for each row of ``diffs`` (see :func:`paired_bootstrap`)."""
    means = bootstrap_means(diffs, trials, seed)
    observed = diffs.mean(axis=1)
    thresholds = np.abs(observed) - EXTREME_RTOL * np.abs(diffs).mean(axis=1)
    extreme = np.count_nonzero(np.abs(means - observed[:, None]) >= thresholds[:, None], axis=1)
    pvalues: np.ndarray = (extreme + 1.0) / (trials + 1.0)
    return pvalues


def interval_from_means(
    diffs: np.ndarray, means: np.ndarray, confidence: float, method: str
) -> tuple[float, float]:
    """The ``confidence`` interval of ``mean(diffs)`` from its bootstrap ``means``."""
    alpha = 1.0 - confidence
    estimate = float(diffs.mean())
    if np.all(diffs == diffs[0]):
        return estimate, estimate
    levels = np.array([alpha / 2.0, 1.0 - alpha / 2.0])
    if method == "bca":
        levels = _bca_levels(diffs, means, estimate, levels)
    low, high = np.quantile(means, levels)
    return float(low), float(high)


def _bca_levels(diffs: np.ndarray, means: np.ndarray, estimate: float, levels: np.ndarray) -> np.ndarray:
    """Quantile levels adjusted for bias (z0) and acceleration (jackknife), Efron (1987)."""
    from scipy import special  # on first use: importing scipy costs a noticeable fraction of a second

    trials, n = means.size, diffs.size
    below: float = (np.count_nonzero(means < estimate) + 0.5 * np.count_nonzero(means == estimate)) / trials
    # Keep z0 finite when every resample falls on one side (possible only with very few trials).
    below = min(max(below, 0.5 / trials), 1.0 - 0.5 / trials)
    z0 = special.ndtri(below)
    jackknife = (diffs.sum() - diffs) / (n - 1)
    u = jackknife.mean() - jackknife
    spread = float(np.sum(u**2))
    acceleration = float(np.sum(u**3)) / (6.0 * spread**1.5) if spread > 0 else 0.0
    z = special.ndtri(levels)
    adjusted: np.ndarray = special.ndtr(z0 + (z0 + z) / (1.0 - acceleration * (z0 + z)))
    return adjusted

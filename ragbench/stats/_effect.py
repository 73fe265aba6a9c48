"""Effect size and per-topic win/tie/loss counts of paired score vectors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError
from ragbench.stats._checks import check_tolerance, paired_differences

#: Default tie tolerance of :func:`wins_ties_losses`: |a - b| <= 1e-12 counts as a tie.
TIE_TOLERANCE = 1e-12


def cohens_d(a: ArrayLike, b: ArrayLike) -> float:
    """Cohen's d for paired samples, the d_z variant: mean difference over the sd of differences.

    With ``d = a - b`` over ``n`` topics::

        d_z = mean(d) / sd(d),   sd with ddof = 1 (the sample standard deviation)

    This is the standardised mean of the *differences* (Cohen, 1988; Lakens, 2013), the
    effect size that the paired t-test's power depends on (``t = d_z * sqrt(n)``). It is not the
    between-groups d_av that divides by the average sd of ``a`` and ``b``; d_z is larger when the
    two systems' scores correlate across topics, as they usually do. Positive when ``a`` is better.
    When ``sd(d) = 0``: 0.0 if ``mean(d) = 0``, else ``±inf``.

    Raises:
        InputError: bad scores, or fewer than 2 topics.
    """
    diffs = paired_differences(a, b)
    return float(cohens_d_rows(diffs[None, :])[0])


def cohens_d_rows(diffs: np.ndarray) -> np.ndarray:
    """d_z of each row of ``diffs`` (pairs x topics); see :func:`cohens_d`."""
    n = diffs.shape[1]
    if n < 2:
        raise InputError(f"Cohen's d needs at least 2 topics, got {n}")
    mean = diffs.mean(axis=1)
    sd = diffs.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = mean / sd
    return np.where(sd == 0, np.where(mean == 0, 0.0, np.copysign(math.inf, mean)), d)


@dataclass(frozen=True, slots=True)
class WinsTiesLosses:
    """Per-topic outcome counts of ``a`` against ``b``; ``wins + ties + losses`` is the topic count."""

    wins: int
    ties: int
    losses: int


def wins_ties_losses(a: ArrayLike, b: ArrayLike, *, tolerance: float = TIE_TOLERANCE) -> WinsTiesLosses:
    """Count topics where ``a`` beats, ties or loses to ``b``.

    A topic is a win when ``a_i - b_i > tolerance``, a loss when ``a_i - b_i < -tolerance`` and a
    tie otherwise. The default tolerance 1e-12 means "equal up to float rounding"; pass e.g. 0.01
    to call near-equal scores ties.

    Raises:
        InputError: bad scores, or a negative or non-finite ``tolerance``.
    """
    return wins_ties_losses_rows(paired_differences(a, b)[None, :], tolerance)[0]


def wins_ties_losses_rows(diffs: np.ndarray, tolerance: float = TIE_TOLERANCE) -> list[WinsTiesLosses]:
    """:func:`wins_ties_losses` for each row of ``diffs`` (pairs x topics)."""
    tolerance = check_tolerance(tolerance)
    wins = np.count_nonzero(diffs > tolerance, axis=1)
    losses = np.count_nonzero(diffs < -tolerance, axis=1)
    n = diffs.shape[1]
    return [WinsTiesLosses(int(w), int(n - w - lo), int(lo)) for w, lo in zip(wins, losses, strict=True)]

"""Does the arena agree with offline measures? Two views.

**Rankings** (:func:`offline_agreement`): Kendall's tau-b between the arena's strengths and an
offline measure's means over the same systems, with a percentile bootstrap interval. Each round
pairs one bootstrap round of the arena (its strengths, from :func:`ragbench.stats.arena_ratings`)
with one resample of the topics for the offline means (drawn with the given seed), so the
interval carries the uncertainty of both sides.

**Battles** (:func:`vote_agreement`): per decisive vote (one side won), whether the offline
measure's per-topic difference between the two runs points the same way. Votes that were ties
(or both bad) and offline ties (equal per-topic values) are counted apart, not as agreement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError
from ragbench.stats._checks import check_fraction, check_seed
from ragbench.stats._correlation import _kendall_b as kendall_tau_b


@dataclass(frozen=True, slots=True)
class OfflineAgreement:
    """Kendall's tau-b between two rankings of the same systems, with a bootstrap interval.

    Attributes:
        n_systems: Systems ranked by both.
        tau: Kendall's tau-b of the point estimates.
        low: Lower bound of the bootstrap interval (NaN without rounds).
        high: Upper bound.
        rounds: Bootstrap rounds used.
        confidence: Interval coverage.
    """

    n_systems: int
    tau: float
    low: float
    high: float
    rounds: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()
        }


@dataclass(frozen=True, slots=True)
class VoteAgreement:
    """How often decisive votes and an offline measure's per-topic differences point the same way.

    Attributes:
        votes: Votes considered.
        decisive: Votes with a winner (not a tie, not both bad).
        agree: Decisive votes whose winner also scored higher offline on that topic.
        disagree: Decisive votes whose winner scored lower offline.
        offline_ties: Decisive votes on which the two runs scored the same offline.
        rate: ``agree / (agree + disagree)`` (NaN when both are 0).
    """

    votes: int
    decisive: int
    agree: int
    disagree: int
    offline_ties: int
    rate: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        return {
            k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()
        }


def offline_agreement(
    arena: ArrayLike,
    arena_draws: ArrayLike | None,
    per_topic: ArrayLike,
    *,
    seed: int = 0,
    confidence: float = 0.95,
) -> OfflineAgreement:
    """Kendall's tau-b between arena strengths and offline means, with a bootstrap interval.

    Args:
        arena: ``(K,)`` arena strengths.
        arena_draws: ``(B, K)`` bootstrap strengths of the arena (None: no interval).
        per_topic: ``(K, T)`` offline per-topic scores of the same systems, same order; the means
            over topics are the offline ranking.
        seed: Seed of the topic resamples.
        confidence: Interval coverage.

    Raises:
        InputError: fewer than two systems, shapes that do not match, no topics.
    """
    seed = check_seed(seed)
    confidence = check_fraction(confidence, "confidence")
    point = np.asarray(arena, dtype=np.float64)
    scores = np.asarray(per_topic, dtype=np.float64)
    if point.ndim != 1 or point.size < 2:
        raise InputError("ranking agreement needs at least two systems")
    if scores.ndim != 2 or scores.shape[0] != point.size or scores.shape[1] == 0:
        raise InputError(f"per_topic must be (systems={point.size}, topics>0), got shape {scores.shape}")
    tau = float(kendall_tau_b(point, scores.mean(axis=1)))
    if arena_draws is None:
        return OfflineAgreement(point.size, tau, float("nan"), float("nan"), 0, confidence)
    draws = np.asarray(arena_draws, dtype=np.float64)
    if draws.ndim != 2 or draws.shape[1] != point.size:
        raise InputError(f"arena_draws must be (rounds, {point.size}), got shape {draws.shape}")
    rng = np.random.default_rng(seed)
    topics = scores.shape[1]
    taus = np.empty(draws.shape[0])
    chunk = max(1, (1 << 22) // max(topics * point.size, 1))
    for start in range(0, draws.shape[0], chunk):
        size = min(chunk, draws.shape[0] - start)
        picked = rng.integers(0, topics, size=(size, topics))
        means = scores[:, picked].mean(axis=2).T  # (size, K)
        taus[start : start + size] = kendall_tau_b(draws[start : start + size], means)
    alpha = 1.0 - confidence
    finite = taus[np.isfinite(taus)]
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2]) if finite.size else (np.nan, np.nan)
    return OfflineAgreement(point.size, tau, float(low), float(high), int(draws.shape[0]), confidence)


def vote_agreement(outcome: ArrayLike, offline_difference: ArrayLike) -> VoteAgreement:
    """Agreement of votes with per-topic offline differences (module docstring).

    Args:
        outcome: 1 (side a won), 0 (side b won), 0.5 (tie or both bad) per vote.
        offline_difference: ``score_a − score_b`` on the vote's topic, per vote (NaN: unknown,
            the vote is not counted).

    Raises:
        InputError: lengths differ.
    """
    out = np.asarray(outcome, dtype=np.float64).ravel()
    diff = np.asarray(offline_difference, dtype=np.float64).ravel()
    if out.shape != diff.shape:
        raise InputError(f"outcome and offline_difference differ in length ({out.size}, {diff.size})")
    known = np.isfinite(diff)
    out, diff = out[known], diff[known]
    decisive = out != 0.5
    winner_sign = np.where(out == 1.0, 1.0, -1.0)
    agree = int((decisive & (np.sign(diff) == winner_sign)).sum())
    disagree = int((decisive & (np.sign(diff) == -winner_sign)).sum())
    ties = int((decisive & (diff == 0)).sum())
    rate = agree / (agree + disagree) if agree + disagree else float("nan")
    return VoteAgreement(int(out.size), int(decisive.sum()), agree, disagree, ties, rate)

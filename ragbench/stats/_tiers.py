"""Significance tiers for a leaderboard: groups of runs that the data cannot tell apart from a leader."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ragbench.errors import InputError
from ragbench.stats._checks import check_choice, check_fraction, check_seed, check_trials
from ragbench.stats._correction import CORRECTIONS, CorrectionMethod, correct
from ragbench.stats._scores import MissingPolicy, to_score_table
from ragbench.stats._tests import get_test

_MEASURE = "score"


@dataclass(frozen=True, slots=True)
class TierEntry:
    """One run's place on the leaderboard.

    Attributes:
        run: Run name.
        rank: 1-based position by mean score, best first (equal means keep input order).
        mean: Mean per-topic score.
        tier: 1-based significance tier (see :func:`significance_tiers`).
        leader: The best run of this run's tier (the run itself for a leader).
        p_value: Raw p-value of the test of this run against ``leader``; None for a leader.
        p_adjusted: ``p_value`` after correction over that round's comparisons; None for a leader.
    """

    run: str
    rank: int
    mean: float
    tier: int
    leader: str
    p_value: float | None
    p_adjusted: float | None


def significance_tiers(
    scores: Mapping[str, Mapping[str, float]],
    *,
    test: str = "randomization",
    correction: CorrectionMethod = "holm",
    alpha: float = 0.05,
    trials: int = 10_000,
    seed: int = 0,
    missing: MissingPolicy = "zero",
) -> list[TierEntry]:
    """Rank runs by mean score on one measure and group them into significance tiers.

    Algorithm (higher scores are better):

    1. Rank the runs by mean per-topic score, best first.
    2. The best run not yet placed is the leader of a new tier (tier 1 first). Test the leader
       against every other unplaced run with ``test`` and adjust those p-values together with
       ``correction`` (Holm by default: the family is this round's comparisons with the leader).
    3. The leader and every unplaced run *not* significantly different from it (adjusted p >
       ``alpha``) form the tier.
    4. Repeat from 2 with the runs still unplaced, the tier number one higher.

    So tier 1 is every run that the data cannot distinguish from the best one. A run joins a tier
    by its test against the tier's leader alone, so tiers need not be contiguous in rank: when
    run 2 differs significantly from run 1 but a noisier run 3 does not, run 3 is in tier 1 and
    run 2 in tier 2. Each round is a separate family; the tiers describe the ranking, they are not
    one simultaneous test of all pairs.

    Args:
        scores: ``{run: {query_id: value}}`` for one measure.
        test: A name from :data:`~ragbench.stats.STAT_TESTS` (default ``"randomization"``).
        correction: ``"holm"`` (default), ``"bonferroni"``, ``"bh"`` or ``"none"``.
        alpha: Significance level (default 0.05).
        trials: Resamples for a resampling test (default 10,000).
        seed: Random seed (default 0); every comparison uses it.
        missing: ``"zero"`` (default) scores a run 0 on a topic that another run has;
            ``"error"`` raises instead.

    Returns:
        One entry per run, in rank order.

    Raises:
        InputError: no runs, a run without scores, a bad value, an unknown test or correction
            (the message lists the valid names), or a bad number.
    """
    if not isinstance(scores, Mapping) or not scores:
        raise InputError("significance_tiers needs a non-empty mapping {run: {query_id: value}}")
    table = to_score_table({run: {_MEASURE: per_topic} for run, per_topic in scores.items()}, missing=missing)
    stat_test = get_test(test)
    check_choice(correction, "correction", CORRECTIONS)
    alpha = check_fraction(alpha, "alpha")
    trials, seed = check_trials(trials), check_seed(seed)
    values = table.values[_MEASURE]
    means = values.mean(axis=1)
    order = sorted(range(len(table.runs)), key=lambda r: (-means[r], r))
    rank = {r: i + 1 for i, r in enumerate(order)}

    placed: dict[int, TierEntry] = {}
    remaining, tier = order, 1
    while remaining:
        leader, others = remaining[0], remaining[1:]
        joined: dict[int, tuple[float | None, float | None]] = {leader: (None, None)}
        if others:
            p = stat_test.pvalues(values[others] - values[leader], trials, seed)
            corrected = correct(p, correction, alpha=alpha)
            for k, run in enumerate(others):
                if not corrected.reject[k]:
                    joined[run] = (float(p[k]), float(corrected.p_adjusted[k]))
        for run, (p_raw, p_adj) in joined.items():
            placed[run] = TierEntry(
                run=table.runs[run],
                rank=rank[run],
                mean=float(means[run]),
                tier=tier,
                leader=table.runs[leader],
                p_value=p_raw,
                p_adjusted=p_adj,
            )
        remaining = [run for run in remaining if run not in joined]
        tier += 1
    return [placed[run] for run in order]

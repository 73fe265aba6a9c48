"""``compare``: paired comparison of runs against baselines, topic by topic, with corrected tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ragbench.errors import InputError
from ragbench.stats._bootstrap import CI_METHODS, CIMethod, bootstrap_means, interval_from_means
from ragbench.stats._checks import check_choice, check_fraction, check_seed, check_tolerance, check_trials
from ragbench.stats._correction import CORRECTIONS, CorrectionMethod, correct
from ragbench.stats._effect import TIE_TOLERANCE, cohens_d_rows, wins_ties_losses_rows
from ragbench.stats._report import ComparisonReport
from ragbench.stats._scores import MissingPolicy, PerTopicScores, ScoreTable, to_score_table
from ragbench.stats._tests import STAT_TESTS, get_test


@dataclass(frozen=True, slots=True)
class PairComparison:
    """One run against one baseline on one measure. Differences are ``run - baseline``.

    Attributes:
        baseline: Name of the reference run.
        run: Name of the compared run.
        measure: Canonical measure name, e.g. ``nDCG@10``.
        n_topics: Number of topics compared (after the missing-topic policy).
        mean_baseline: Mean of the baseline's per-topic scores.
        mean_run: Mean of the run's per-topic scores.
        mean_diff: Mean of ``run - baseline`` (positive: the run is better).
        ci_low: Lower bound of the bootstrap confidence interval of ``mean_diff``.
        ci_high: Upper bound of that interval.
        wins: Topics where the run beats the baseline by more than the tie tolerance.
        ties: Topics within the tie tolerance.
        losses: Topics where the baseline beats the run by more than the tie tolerance.
        p_values: Raw two-sided p-value of every requested test, by test name, primary test first.
        p_adjusted: The primary test's p-value after correction over every comparison in the report.
        significant: ``p_adjusted <= alpha``.
        effect_size: Cohen's d_z of ``run - baseline`` (see :func:`ragbench.stats.cohens_d`).
        test: Name of the primary test, whose p-value ``p_adjusted`` corrects.
    """

    baseline: str
    run: str
    measure: str
    n_topics: int
    mean_baseline: float
    mean_run: float
    mean_diff: float
    ci_low: float
    ci_high: float
    wins: int
    ties: int
    losses: int
    p_values: dict[str, float]
    p_adjusted: float
    significant: bool
    effect_size: float
    test: str


def compare(
    scores: PerTopicScores,
    *,
    baselines: str | Sequence[str] | None = None,
    tests: str | Sequence[str] = ("randomization", "ttest"),
    correction: CorrectionMethod = "holm",
    alpha: float = 0.05,
    trials: int = 10_000,
    seed: int = 0,
    ci: float = 0.95,
    ci_method: CIMethod = "percentile",
    missing: MissingPolicy = "zero",
    tie_tolerance: float = TIE_TOLERANCE,
) -> ComparisonReport:
    """Compare runs with one or more baselines, topic by topic, on every measure.

    Each run is paired with each baseline (every unordered pair of runs once: with baselines A and
    B, B is compared with A under baseline A and not again under B) and compared on every measure
    over the same topics. For each (baseline, run, measure) the report holds the means, the
    bootstrap CI of the mean difference, per-topic wins/ties/losses, Cohen's d_z and the p-value
    of every test in ``tests``. The first test is the primary one: its p-values over **all**
    (baseline, run, measure) comparisons together are adjusted with ``correction``, and a
    comparison is significant when its adjusted p-value is ``<= alpha``.

    Resampling (randomization and bootstrap tests, the CI) uses ``seed`` for every comparison, so a
    comparison's numbers do not depend on which other runs or measures are in the report, and equal
    :func:`~ragbench.stats.paired_randomization`, :func:`~ragbench.stats.bootstrap_ci` etc. called
    on the same pair with the same seed.

    Args:
        scores: Per-topic scores, a DataFrame (run, measure, query_id, value) or
            ``{run: {measure: {query_id: value}}}``; see :data:`~ragbench.stats.PerTopicScores`.
            Run and measure order is kept in the report.
        baselines: One run name or several (default: the first run).
        tests: Names from :data:`~ragbench.stats.STAT_TESTS`; the first is primary (default
            ``("randomization", "ttest")``).
        correction: ``"holm"`` (default), ``"bonferroni"``, ``"bh"`` or ``"none"``.
        alpha: Significance level of the corrected family (default 0.05).
        trials: Resamples for the randomization/bootstrap tests and the CI (default 10,000).
        seed: Random seed (default 0).
        ci: Coverage of the bootstrap CI of the mean difference (default 0.95).
        ci_method: ``"percentile"`` (default) or ``"bca"``.
        missing: When a run lacks a topic that another run has for that measure: ``"zero"``
            (default) scores it 0, as trec_eval ``-c`` does; ``"common"`` compares on the topics
            every run has; ``"error"`` raises.
        tie_tolerance: ``|run - baseline| <= tie_tolerance`` on a topic is a tie (default 1e-12).

    Returns:
        A :class:`~ragbench.stats.ComparisonReport`: a sequence of :class:`PairComparison` ordered
        by baseline, then run, then measure, plus the parameters used, with renderers.

    Raises:
        InputError: malformed ``scores`` (see :func:`~ragbench.stats.to_score_table`), fewer
            than 2 runs, a measure with fewer than 2 topics, an unknown baseline, test, correction
            or CI method (each message lists the valid names), or a bad number.
    """
    table = to_score_table(scores, missing=missing)
    if len(table.runs) < 2:
        raise InputError(f"compare needs at least 2 runs, got {len(table.runs)}: {list(table.runs)}")
    names = _test_names(tests)
    check_choice(correction, "correction", CORRECTIONS)
    alpha = check_fraction(alpha, "alpha")
    trials, seed = check_trials(trials), check_seed(seed)
    ci = check_fraction(ci, "ci")
    check_choice(ci_method, "confidence-interval method", CI_METHODS)
    tie_tolerance = check_tolerance(tie_tolerance)
    pairs = _pairs(_baselines(baselines, table), table.runs)

    unadjusted: dict[tuple[str, str, str], PairComparison] = {}
    for measure in table.measures:
        for item in _compare_measure(
            table,
            measure,
            pairs,
            names=names,
            trials=trials,
            seed=seed,
            ci=ci,
            ci_method=ci_method,
            tie_tolerance=tie_tolerance,
        ):
            unadjusted[(item.baseline, item.run, item.measure)] = item
    ordered = [unadjusted[(baseline, run, measure)] for baseline, run in pairs for measure in table.measures]
    corrected = correct([item.p_values[names[0]] for item in ordered], correction, alpha=alpha)
    comparisons = tuple(
        replace(item, p_adjusted=float(corrected.p_adjusted[i]), significant=bool(corrected.reject[i]))
        for i, item in enumerate(ordered)
    )
    return ComparisonReport(
        comparisons=comparisons,
        tests=names,
        correction=correction,
        alpha=alpha,
        ci=ci,
        ci_method=ci_method,
        trials=trials,
        seed=seed,
        missing=missing,
        tie_tolerance=tie_tolerance,
    )


def _compare_measure(
    table: ScoreTable,
    measure: str,
    pairs: list[tuple[str, str]],
    *,
    names: tuple[str, ...],
    trials: int,
    seed: int,
    ci: float,
    ci_method: str,
    tie_tolerance: float,
) -> list[PairComparison]:
    """Every pair on one measure, vectorised over the pairs; p_adjusted is left to the caller."""
    values = table.values[measure]
    n = values.shape[1]
    if n < 2:
        raise InputError(f"measure {measure!r} has scores for {n} topic; comparisons need at least 2 topics")
    base = values[[table.run_index(b) for b, _ in pairs]]
    other = values[[table.run_index(r) for _, r in pairs]]
    diffs = other - base
    p_values = {name: get_test(name).pvalues(diffs, trials, seed) for name in names}
    means = bootstrap_means(diffs, trials, seed)
    outcomes = wins_ties_losses_rows(diffs, tie_tolerance)
    effects = cohens_d_rows(diffs)
    items = []
    for k, (baseline, run) in enumerate(pairs):
        low, high = interval_from_means(diffs[k], means[k], ci, ci_method)
        items.append(
            PairComparison(
                baseline=baseline,
                run=run,
                measure=measure,
                n_topics=n,
                mean_baseline=float(base[k].mean()),
                mean_run=float(other[k].mean()),
                mean_diff=float(diffs[k].mean()),
                ci_low=low,
                ci_high=high,
                wins=outcomes[k].wins,
                ties=outcomes[k].ties,
                losses=outcomes[k].losses,
                p_values={name: float(p_values[name][k]) for name in names},
                p_adjusted=math.nan,
                significant=False,
                effect_size=float(effects[k]),
                test=names[0],
            )
        )
    return items


def _test_names(tests: str | Sequence[str]) -> tuple[str, ...]:
    names = (tests,) if isinstance(tests, str) else tuple(tests)
    if not names:
        raise InputError(f"tests is empty; name at least one of {', '.join(map(repr, STAT_TESTS))}")
    for name in names:
        get_test(name)
    if len(set(names)) != len(names):
        raise InputError(f"tests names a test twice: {list(names)}")
    return names


def _baselines(baselines: str | Sequence[str] | None, table: ScoreTable) -> tuple[str, ...]:
    if baselines is None:
        return table.runs[:1]
    names = (baselines,) if isinstance(baselines, str) else tuple(baselines)
    if not names:
        raise InputError("baselines is empty; name at least one run, or pass None for the first run")
    for name in names:
        check_choice(name, "baseline run", table.runs)
    return tuple(dict.fromkeys(names))


def _pairs(baselines: tuple[str, ...], runs: tuple[str, ...]) -> list[tuple[str, str]]:
    """(baseline, run) pairs in baseline-then-run order, each unordered pair of runs once."""
    seen: set[frozenset[str]] = set()
    pairs = []
    for baseline in baselines:
        for run in runs:
            key = frozenset((baseline, run))
            if run != baseline and key not in seen:
                seen.add(key)
                pairs.append((baseline, run))
    return pairs

"""Aggregating a suite of benchmarks honestly: per-benchmark scores, then suite-level statistics.

:func:`aggregate_suite` takes every system's per-topic scores on every benchmark of a suite (one
measure) and returns:

- per benchmark (column): each system's mean with a bootstrap CI over topics and its significance
  tier among the suite's systems on that benchmark;
- the suite's *units*: each benchmark not in a group, and each group (CQADupStack's forums, say),
  whose score is the plain mean of its members' means, computed first;
- the suite mean over units, only for the systems that cover every benchmark, with a stratified
  bootstrap CI (topics resampled within each benchmark, the same resamples for every system); the
  others are listed apart with what they lack, never averaged over a subset. Ranks are shared where
  intervals overlap: a system's rank is 1 + the number of systems whose interval lies wholly above
  its own;
- Borda ranks over units with the missing-benchmark policy stated (:func:`~ragbench.stats.borda`);
- Friedman's test over units with a Nemenyi (or Holm-corrected Wilcoxon) post-hoc, for the critical
  difference diagram (:func:`~ragbench.stats.friedman`);
- a DerSimonian–Laird random-effects meta-analysis of each system's paired difference from a
  reference system (:func:`~ragbench.stats.random_effects`; a group's effect is the mean of its
  members' effects, its variance the variance of that mean).

Benchmarks named in ``withhold`` (hidden ones, for a viewer who may not see their per-topic
scores) contribute their means only: their CIs and tiers are not computed, and neither is any
suite-level statistic that would be derived from their per-topic values (the suite mean's CI, the
shared ranks and the meta-analysis); ``withheld`` then says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ragbench.errors import InputError
from ragbench.stats._bootstrap import bootstrap_means, interval_from_means
from ragbench.stats._borda import BordaResult, MissingBenchmarks, borda
from ragbench.stats._friedman import FriedmanResult, PostHoc, friedman
from ragbench.stats._meta import MetaAnalysis, paired_effect, random_effects
from ragbench.stats._tiers import significance_tiers

PerTopic = Mapping[str, float]
AGGREGATION_DEFAULTS: dict[str, Any] = {
    "reference": None,
    "missing": "exclude",
    "posthoc": "nemenyi",
    "alpha": 0.05,
}
"""A suite's aggregation settings: the meta-analyses' reference system, Borda's missing-benchmark
policy, the Friedman post-hoc and the level of tiers and post-hoc tests."""


def aggregation_problem(settings: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """``(key, message)`` of the first bad aggregation setting, or None when they are good."""
    from ragbench.stats._borda import BORDA_POLICIES
    from ragbench.stats._friedman import POSTHOCS

    given = dict(settings or {})
    for key in given:
        if key not in AGGREGATION_DEFAULTS:
            return key, f"unknown key; use {', '.join(sorted(AGGREGATION_DEFAULTS))}"
    merged = {**AGGREGATION_DEFAULTS, **given}
    reference = merged["reference"]
    if reference is not None and (not isinstance(reference, str) or not reference.strip()):
        return "reference", f"{reference!r}: a system name"
    if merged["missing"] not in BORDA_POLICIES:
        return "missing", f"{merged['missing']!r}; use {', '.join(BORDA_POLICIES)}"
    if merged["posthoc"] not in POSTHOCS:
        return "posthoc", f"{merged['posthoc']!r}; use {', '.join(POSTHOCS)}"
    alpha = merged["alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        return "alpha", f"{alpha!r}: a number between 0 and 1"
    return None


def aggregation_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The aggregation settings with the defaults of :data:`AGGREGATION_DEFAULTS` filled in.

    Raises:
        InputError: an unknown key or a bad value (``aggregation.KEY: ...``).
    """
    problem = aggregation_problem(settings)
    if problem is not None:
        raise InputError(f"aggregation.{problem[0]}: {problem[1]}")
    merged = {**AGGREGATION_DEFAULTS, **dict(settings or {})}
    merged["alpha"] = float(merged["alpha"])
    return merged


@dataclass(frozen=True, slots=True)
class SuiteCell:
    """One system on one benchmark: mean, bootstrap CI over topics, tier (None when withheld)."""

    mean: float
    low: float | None = None
    high: float | None = None
    tier: int | None = None
    topics: int = 0


@dataclass(frozen=True, slots=True)
class SuiteRow:
    """One system of the suite.

    Attributes:
        system: Its name.
        cells: Benchmark -> its cell (benchmarks it lacks are absent).
        units: Unit (benchmark or group) -> its score there (units it lacks are absent).
        mean: The suite mean over units (None for a system that lacks a benchmark).
        low: Lower bound of the mean's CI (None when withheld or incomplete).
        high: Upper bound.
        rank: Rank by mean, shared where CIs overlap (by mean alone when the CIs are withheld).
        missing: The benchmarks it lacks.
        meta: Its meta-analysis against the reference (None for the reference, or when withheld).
    """

    system: str
    cells: dict[str, SuiteCell]
    units: dict[str, float]
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    rank: int | None = None
    missing: tuple[str, ...] = ()
    meta: MetaAnalysis | None = None


@dataclass(frozen=True, slots=True)
class SuiteAggregate:
    """Everything the suite leaderboard shows for one measure.

    Attributes:
        measure: The measure.
        benchmarks: Every benchmark, in suite order.
        units: The units the suite-level statistics run over (ungrouped benchmarks and groups).
        groups: Group -> its member benchmarks.
        complete: The rows of the systems covering every benchmark, ranked by mean.
        incomplete: The rows of the others, by name, with what they lack.
        borda: Borda ranks over units.
        friedman: Friedman's test and post-hoc over units (None with fewer than 2 units or systems).
        reference: The reference system of the meta-analyses (None: none chosen or usable).
        withheld: Benchmarks whose per-topic statistics are withheld.
        notes: Why something could not be computed.
        confidence: Coverage of the CIs.
    """

    measure: str
    benchmarks: tuple[str, ...]
    units: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]
    complete: tuple[SuiteRow, ...]
    incomplete: tuple[SuiteRow, ...]
    borda: BordaResult | None
    friedman: FriedmanResult | None
    reference: str | None
    withheld: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    confidence: float = 0.95
    meta_method: str = field(default="DerSimonian-Laird random effects over units")

    @property
    def rows(self) -> tuple[SuiteRow, ...]:
        """Complete rows, then incomplete ones."""
        return self.complete + self.incomplete

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""

        def row(r: SuiteRow) -> dict[str, Any]:
            data = asdict(r)
            data["missing"] = list(r.missing)
            data["meta"] = None if r.meta is None else r.meta.to_dict()
            return data

        return {
            "measure": self.measure,
            "benchmarks": list(self.benchmarks),
            "units": list(self.units),
            "groups": {g: list(m) for g, m in self.groups.items()},
            "complete": [row(r) for r in self.complete],
            "incomplete": [row(r) for r in self.incomplete],
            "borda": None if self.borda is None else self.borda.to_dict(),
            "friedman": None if self.friedman is None else self.friedman.to_dict(),
            "reference": self.reference,
            "withheld": list(self.withheld),
            "notes": list(self.notes),
            "confidence": self.confidence,
        }


def _units(
    benchmarks: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> list[tuple[str, tuple[str, ...]]]:
    """(unit, its member benchmarks) in suite order: a group stands where its first member is."""
    member_of = {b: g for g, members in groups.items() for b in members}
    for g, members in groups.items():
        unknown = [b for b in members if b not in benchmarks]
        if unknown or not members:
            raise InputError(f"group {g!r} names no benchmark of the suite: {unknown or 'empty'}")
    units: list[tuple[str, tuple[str, ...]]] = []
    for b in benchmarks:
        group = member_of.get(b)
        if group is None:
            units.append((b, (b,)))
        elif all(u != group for u, _ in units):
            units.append((group, tuple(groups[group])))
    return units


def _aligned(values: Mapping[str, PerTopic], systems: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Topics (every topic any system has, sorted) and a systems x topics array (a topic a system
    lacks: 0); the bootstrap resamples topics in this order."""
    topics = sorted({q for s in systems for q in values[s]})
    table = np.array([[values[s].get(q, 0.0) for q in topics] for s in systems], dtype=np.float64)
    return topics, table


def aggregate_suite(
    scores: Mapping[str, Mapping[str, PerTopic]],
    *,
    measure: str,
    benchmarks: Sequence[str],
    groups: Mapping[str, Sequence[str]] | None = None,
    reference: str | None = None,
    missing: MissingBenchmarks = "exclude",
    posthoc: PostHoc = "nemenyi",
    alpha: float = 0.05,
    confidence: float = 0.95,
    trials: int = 2000,
    seed: int = 0,
    withhold: Sequence[str] = (),
    tiers: bool = True,
) -> SuiteAggregate:
    """Aggregate a suite for one measure (see the module docstring).

    Args:
        scores: ``{benchmark: {system: {topic: value}}}``: per-topic scores of each system's run on
            each benchmark (over every judged topic of the benchmark).
        measure: The measure's name (reported).
        benchmarks: The suite's benchmarks, in order (a benchmark no system has is still a column).
        groups: ``{group: [benchmark, ...]}``: sub-groups averaged first.
        reference: The system the meta-analyses compare against (must cover every benchmark).
        missing: Borda's missing-benchmark policy.
        posthoc: ``nemenyi`` or ``wilcoxon-holm``.
        alpha: Level of the tiers and post-hoc tests.
        confidence: Coverage of the CIs.
        trials: Bootstrap resamples for the CIs.
        seed: Seed of every resampling.
        withhold: Benchmarks whose per-topic statistics must not be shown.
        tiers: Compute the per-benchmark significance tiers (randomization tests).

    Raises:
        InputError: a benchmark of ``scores`` or of a group not in ``benchmarks``, bad values.
    """
    group_members = {g: tuple(m) for g, m in (groups or {}).items()}
    unknown = set(scores) - set(benchmarks)
    if unknown:
        raise InputError(f"scores for a benchmark not in the suite: {sorted(unknown)[0]!r}")
    units = _units(benchmarks, group_members)
    hidden = tuple(b for b in benchmarks if b in set(withhold))
    systems = sorted({s for per in scores.values() for s in per})
    notes: list[str] = []
    cells: dict[str, dict[str, SuiteCell]] = {s: {} for s in systems}
    arrays: dict[str, tuple[list[str], np.ndarray, list[str]]] = {}
    resampled: dict[str, np.ndarray] = {}
    for index, b in enumerate(benchmarks):
        present = sorted(scores.get(b, {}))
        if not present:
            continue
        topics, table = _aligned(scores[b], present)
        arrays[b] = (topics, table, present)
        if b not in hidden and len(topics) > 1:
            # one set of resampled topics per benchmark (seed + its index), shared by its systems:
            # each cell's CI is bootstrap_ci(values, 0, seed=seed + index), and the suite mean's
            # stratified bootstrap reuses the same resamples
            resampled[b] = bootstrap_means(table, trials, seed + index)
        tier_of: dict[str, int] = {}
        if tiers and b not in hidden and len(present) > 1 and len(topics) > 1:
            entries = significance_tiers(
                {s: dict(zip(topics, table[i].tolist(), strict=True)) for i, s in enumerate(present)},
                alpha=alpha,
                seed=seed,
            )
            tier_of = {e.run: e.tier for e in entries}
        for i, s in enumerate(present):
            mean = float(table[i].mean())
            if b in hidden or len(topics) < 2:
                cells[s][b] = SuiteCell(mean, topics=len(topics))
                continue
            low, high = interval_from_means(table[i], resampled[b][i], confidence, "percentile")
            cells[s][b] = SuiteCell(mean, low, high, tier_of.get(s), len(topics))

    unit_scores = {
        s: {
            u: float(np.mean([cells[s][b].mean for b in members]))
            for u, members in units
            if all(b in cells[s] for b in members)
        }
        for s in systems
    }
    lacks = {s: tuple(b for b in benchmarks if b not in cells[s]) for s in systems}
    complete = [s for s in systems if not lacks[s]]
    unit_names = [u for u, _ in units]

    intervals: dict[str, tuple[float, float]] = {}
    if hidden:
        notes.append("the CI of the suite mean, shared ranks and meta-analyses are withheld: "
                     f"{', '.join(hidden)} {'is' if len(hidden) == 1 else 'are'} hidden")  # fmt: skip
    elif complete and all(b in resampled for b in benchmarks):
        intervals = _suite_intervals(arrays, resampled, units, complete, confidence)

    metas: dict[str, MetaAnalysis] = {}
    used_reference = None
    if reference is not None and not hidden:
        if reference not in complete:
            notes.append(
                f"no meta-analysis: the reference system {reference!r} does not cover every benchmark"
            )
        else:
            used_reference = reference
            for s in complete:
                if s == reference:
                    continue
                try:
                    metas[s] = _meta(arrays, units, s, reference, confidence)
                except InputError as exc:
                    notes.append(f"no meta-analysis for {s!r}: {exc}")

    means = {s: float(np.mean([unit_scores[s][u] for u in unit_names])) for s in complete}
    ranked = sorted(complete, key=lambda s: (-means[s], s))
    rows = []
    for s in ranked:
        bounds: tuple[float | None, float | None] = intervals.get(s, (None, None))
        if intervals:
            rank = 1 + sum(1 for t in ranked if intervals[t][0] > intervals[s][1])
        else:
            rank = 1 + sum(1 for t in ranked if means[t] > means[s])
        rows.append(SuiteRow(s, cells[s], unit_scores[s], means[s], *bounds, rank, (), metas.get(s)))
    apart = tuple(SuiteRow(s, cells[s], unit_scores[s], missing=lacks[s]) for s in systems if lacks[s])

    borda_result = (
        borda({s: unit_scores[s] for s in systems}, unit_names, missing=missing) if systems else None
    )
    friedman_result = None
    if len(complete) >= 2 and len(unit_names) >= 2:
        friedman_result = friedman({s: unit_scores[s] for s in complete}, posthoc=posthoc, alpha=alpha)
    else:
        notes.append(
            "no Friedman test: it needs two or more systems covering two or more benchmarks (or groups)"
        )
    return SuiteAggregate(
        measure=measure,
        benchmarks=tuple(benchmarks),
        units=tuple(unit_names),
        groups=group_members,
        complete=tuple(rows),
        incomplete=apart,
        borda=borda_result,
        friedman=friedman_result,
        reference=used_reference,
        withheld=hidden,
        notes=tuple(notes),
        confidence=confidence,
    )


def _suite_intervals(
    arrays: Mapping[str, tuple[list[str], np.ndarray, list[str]]],
    resampled: Mapping[str, np.ndarray],
    units: Sequence[tuple[str, tuple[str, ...]]],
    systems: Sequence[str],
    confidence: float,
) -> dict[str, tuple[float, float]]:
    """Stratified bootstrap CIs of each system's suite mean: every benchmark's topics resampled on
    their own (the same resamples for every system), each unit the mean of its members."""
    per_unit = []
    for _, members in units:
        member_means = []
        for b in members:
            present = arrays[b][2]
            member_means.append(resampled[b][[present.index(s) for s in systems]])
        per_unit.append(np.mean(member_means, axis=0))
    means = np.mean(per_unit, axis=0)  # systems x trials
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=1)
    return {s: (float(low[i]), float(high[i])) for i, s in enumerate(systems)}


def _meta(
    arrays: Mapping[str, tuple[list[str], np.ndarray, list[str]]],
    units: Sequence[tuple[str, tuple[str, ...]]],
    system: str,
    reference: str,
    confidence: float,
) -> MetaAnalysis:
    effects, variances, sizes = [], [], []
    for _, members in units:
        parts = []
        for b in members:
            _, table, present = arrays[b]
            parts.append(paired_effect(table[present.index(system)], table[present.index(reference)]))
        effects.append(float(np.mean([p[0] for p in parts])))
        variances.append(float(np.sum([p[1] for p in parts]) / len(parts) ** 2))
        sizes.append(int(np.sum([p[2] for p in parts])))
    return random_effects(effects, variances, names=[u for u, _ in units], sizes=sizes, confidence=confidence)

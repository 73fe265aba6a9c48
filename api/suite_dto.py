"""Response and request shapes of the suite endpoints (msgspec Structs; never ORM objects)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from api.dto import finite


class SuiteCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/suites``: a suite of registered benchmarks (admin only). ``groups``: sub-groups
    averaged first (``{"cqadupstack": ["cqa-android", ...]}``); ``aggregation``: ``reference``,
    ``missing`` (exclude | last | covered), ``posthoc`` (nemenyi | wilcoxon-holm), ``alpha``."""

    slug: str
    benchmarks: list[str]
    title: str = ""
    description: str = ""
    groups: dict[str, list[str]] | None = None
    measures: list[str] | None = None
    aggregation: dict[str, Any] | None = None


class SuiteMemberRead(msgspec.Struct, frozen=True):
    """A benchmark of a suite (``group``: the sub-group it is averaged in first)."""

    slug: str
    title: str
    hidden: bool
    group: str | None = None


class SuiteRead(msgspec.Struct, frozen=True):
    """A suite: its benchmarks in order, measures and aggregation settings."""

    slug: str
    title: str
    description: str
    measures: list[str]
    aggregation: dict[str, Any]
    benchmarks: list[SuiteMemberRead]
    created_at: datetime

    @classmethod
    def from_model(cls, suite: Any) -> SuiteRead:
        """Copy a ``Suite`` with its members."""
        return cls(
            slug=suite.slug,
            title=suite.title or "",
            description=suite.description or "",
            measures=list(suite.measures),
            aggregation=dict(suite.aggregation or {}),
            benchmarks=[
                SuiteMemberRead(
                    m.benchmark.slug, m.benchmark.title or "", bool(m.benchmark.hidden), m.subgroup
                )
                for m in suite.members
            ],
            created_at=suite.created_at,
        )


class SuiteCellRead(msgspec.Struct, frozen=True):
    """A system on one benchmark: mean, CI over topics and tier (null when withheld)."""

    mean: float | None
    low: float | None
    high: float | None
    tier: int | None
    topics: int


class MetaStudyRead(msgspec.Struct, frozen=True):
    """One benchmark (or group) of a meta-analysis."""

    name: str
    effect: float | None
    variance: float | None
    weight: float | None
    n: int


class MetaAnalysisRead(msgspec.Struct, frozen=True):
    """DerSimonian–Laird random effects of ``system - reference`` over the suite's benchmarks."""

    effect: float | None
    se: float | None
    low: float | None
    high: float | None
    confidence: float
    p_value: float | None
    tau2: float | None
    i2: float | None
    q: float | None
    q_df: int
    q_p: float | None
    fixed_effect: float | None
    fixed_se: float | None
    studies: list[MetaStudyRead]
    method: str
    k: int


class SuiteRowRead(msgspec.Struct, frozen=True):
    """A system of the suite (``mean`` and ``rank`` null when it lacks a benchmark: see ``missing``)."""

    system: str
    cells: dict[str, SuiteCellRead]
    units: dict[str, float | None]
    mean: float | None
    low: float | None
    high: float | None
    rank: int | None
    missing: list[str]
    meta: MetaAnalysisRead | None


class BordaEntryRead(msgspec.Struct, frozen=True):
    """A system's Borda rank."""

    system: str
    rank: int
    score: float
    benchmarks: int
    missing: list[str]


class BordaRead(msgspec.Struct, frozen=True):
    """Borda ranks; ``policy`` says how a missing benchmark counts; ``excluded`` lists those left out."""

    policy: str
    entries: list[BordaEntryRead]
    excluded: dict[str, list[str]]


class PairRead(msgspec.Struct, frozen=True):
    """A pair of the post-hoc test (``a`` has the better average rank)."""

    a: str
    b: str
    rank_difference: float
    p_value: float | None
    p_adjusted: float | None
    significant: bool


class FriedmanRead(msgspec.Struct, frozen=True):
    """Friedman's test over the suite's benchmarks with its post-hoc and the CD diagram's cliques."""

    systems: list[str]
    blocks: int
    average_ranks: dict[str, float]
    statistic: float | None
    p_value: float | None
    posthoc: str
    alpha: float
    critical_difference: float | None
    pairs: list[PairRead]
    cliques: list[list[str]]


class SuiteLeaderboardRead(msgspec.Struct, frozen=True):
    """``GET /api/v1/suites/{slug}/leaderboard``: the suite's systems on one measure. ``complete``:
    systems with a run on every benchmark, ranked by the mean (ranks shared where CIs overlap);
    ``incomplete``: the others, never averaged, with what they lack; ``withheld``: hidden
    benchmarks whose per-topic statistics are not shown to this caller."""

    suite: str
    measure: str
    measures: list[str]
    benchmarks: list[str]
    units: list[str]
    groups: dict[str, list[str]]
    complete: list[SuiteRowRead]
    incomplete: list[SuiteRowRead]
    borda: BordaRead | None
    friedman: FriedmanRead | None
    reference: str | None
    withheld: list[str]
    notes: list[str]
    confidence: float
    runs: dict[str, dict[str, int]]

    @classmethod
    def from_board(cls, board: Any) -> SuiteLeaderboardRead:
        """Convert a :class:`ragbench.store.service.SuiteBoard` (non-finite numbers become null)."""
        data = _finite_tree(board.aggregate.to_dict())
        data.pop("measure")
        return msgspec.convert(
            {
                "suite": board.slug,
                "measure": board.measure,
                "measures": list(board.measures),
                "runs": board.runs,
                **data,
            },
            cls,
        )


def _finite_tree(value: Any) -> Any:
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dict):
        return {k: _finite_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_tree(v) for v in value]
    return value


class ReproductionCellRead(msgspec.Struct, frozen=True):
    """One cell of a reproduction matrix: ``green`` (within tolerance), ``red`` or ``unchecked``."""

    condition: str
    benchmark: str
    measure: str
    observed: float | None
    expected: float | None
    tolerance: float
    status: str
    run_id: int | None = None


class ReproductionRead(msgspec.Struct, frozen=True):
    """``GET /api/v1/suites/{slug}/reproduction``: the newest reproduction matrix of a suite."""

    suite: str
    source: str
    passed: bool
    created_at: datetime
    cells: list[ReproductionCellRead]
    environment: dict[str, Any]

    @classmethod
    def from_model(cls, suite: str, reproduction: Any) -> ReproductionRead:
        """Copy a ``Reproduction``."""
        return cls(
            suite=suite,
            source=reproduction.source,
            passed=bool(reproduction.passed),
            created_at=reproduction.created_at,
            cells=msgspec.convert(_finite_tree(list(reproduction.cells)), list[ReproductionCellRead]),
            environment=dict(reproduction.environment or {}),
        )

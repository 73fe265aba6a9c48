"""Response and request shapes of the REST API (msgspec Structs; never ORM objects).

Each read shape has a ``from_model`` constructor that copies what it shows out of a store object
while the session is still open; nothing lazy leaves a handler.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from ragbench.store.service import public_ref


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with a request or an uploaded file (``line`` 0: the whole file or field)."""

    file: str
    line: int
    message: str
    column: int = 0
    severity: Literal["error", "warning"] = "error"


class ErrorBody(msgspec.Struct, frozen=True):
    """The body of every 4xx/5xx answer of the API."""

    detail: str
    problems: list[Problem]


SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"
"""A benchmark's slug (the store checks it too: ``ragbench.store._benchmarks.SLUG``)."""
Slug = Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN, description="1 to 100 characters a-z 0-9 . _ -")]


class BenchmarkCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks``: a new benchmark with its first qrels version (admin only);
    optionally with its sessions, their first session qrels version and the session measures."""

    slug: Slug
    qrels: str
    title: str = ""
    description: str = ""
    topics: str | None = None
    corpus_ref: str | None = None
    hidden: bool = False
    measures: list[str] | None = None
    sessions: str | None = None
    session_qrels: str | None = None
    session_measures: list[str] | None = None


class SessionsCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/sessions``: a benchmark's sessions (the sessions file:
    ``session_id query_index query``), their first session qrels version and the session measures
    (default ``NUM U sessDCG@10 nsessDCG@10 esNDCG@10``); admin only, once per benchmark."""

    sessions: str
    qrels: str
    measures: list[str] | None = None
    label_source: Literal["human", "llm"] = "human"


class NuggetsCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/nuggets``: a nugget set (the JSON ``ragbench rag nuggets
    create`` writes: ``{"topics": {topic_id: {"query", "nuggets": [{"text", "importance",
    "source"}]}}}``) becomes the benchmark's next nugget set version (admin only); the first one
    makes it take RAG runs, scored on ``measures`` (default: the ``rag`` defaults)."""

    nuggets: dict[str, Any]
    measures: list[str] | None = None


class QrelsCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/qrels``: a new qrels version; every run is re-scored.
    ``POST /api/v1/benchmarks/{slug}/session-qrels``: a new session qrels version; every session
    run is re-scored."""

    qrels: str
    label_source: Literal["human", "llm"] = "human"


class BenchmarkRead(msgspec.Struct, frozen=True):
    """A benchmark as listed (no qrels: they are never served). ``has_sessions``: it takes session
    runs, scored on ``session_measures``."""

    slug: str
    title: str
    description: str
    hidden: bool
    measures: list[str]
    corpus_ref: str | None
    created_at: datetime
    has_sessions: bool = False
    session_measures: list[str] = msgspec.field(default_factory=list)
    provenance: dict[str, Any] = msgspec.field(default_factory=dict)
    """Where the files came from and how they were read (source files and sha256, SMART grade
    mapping, query numbering, ir_datasets id and version); empty for TREC files taken as they are."""
    has_rag: bool = False
    rag_measures: list[str] = msgspec.field(default_factory=list)

    @classmethod
    def from_model(cls, benchmark: Any) -> BenchmarkRead:
        """Copy the public fields of a ``Benchmark`` (a local corpus path only by its file name)."""
        return cls(
            slug=benchmark.slug,
            title=benchmark.title or "",
            description=benchmark.description or "",
            hidden=bool(benchmark.hidden),
            measures=list(benchmark.measures or []),
            corpus_ref=public_ref(benchmark.corpus_ref),
            created_at=benchmark.created_at,
            has_sessions=benchmark.has_sessions,
            session_measures=list(benchmark.session_measures or []),
            provenance=dict(benchmark.provenance or {}),
            has_rag=benchmark.has_rag,
            rag_measures=list(benchmark.rag_measures or []),
        )


class QrelsVersionRead(msgspec.Struct, frozen=True):
    """A qrels version's metadata (its content is never served); ``kind`` ``session`` for session
    qrels (numbered on their own)."""

    version: int
    label_source: str
    sha256: str
    num_judgments: int
    created_at: datetime
    kind: str = "adhoc"

    @classmethod
    def from_model(cls, qv: Any) -> QrelsVersionRead:
        """Copy a ``QrelsVersion``'s metadata."""
        return cls(
            version=qv.version,
            label_source=qv.label_source,
            sha256=qv.sha256,
            num_judgments=qv.num_judgments,
            created_at=qv.created_at,
            kind=qv.kind,
        )


def finite(value: float | None) -> float | None:
    """A float for JSON: None for missing, NaN or infinite values."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


class RunRead(msgspec.Struct, frozen=True):
    """A stored run: its system, status and aggregate scores (``scores`` is empty until scored).
    ``kind`` ``session``: a session run (``num_topics`` counts its sessions; scores are on the
    benchmark's session measures)."""

    id: int
    benchmark: str
    system: str
    description: str
    url: str | None
    metadata: dict[str, Any]
    owner: str
    status: str
    error: str | None
    num_lines: int
    num_topics: int
    sha256: str
    created_at: datetime
    scored_at: datetime | None
    scores: dict[str, float | None] = msgspec.field(default_factory=dict)
    kind: str = "adhoc"
    warnings: list[Problem] = msgspec.field(default_factory=list)
    """How the file was read, when it needs saying (lines ended by a lone CR); only in the answer
    to the submission."""
    ir_metadata: dict[str, Any] | None = None
    """The run file's ir_metadata header (what ran, on what software), null without one."""

    @classmethod
    def from_model(cls, run: Any, scores: dict[str, dict[str, float]] | None = None) -> RunRead:
        """Copy a ``Run`` (with its system, owner and benchmark) and its aggregate scores."""
        system = run.system
        return cls(
            id=run.id,
            benchmark=run.benchmark.slug,
            system=system.name,
            description=system.description or "",
            url=system.url,
            metadata=dict(system.metadata_ or {}),
            owner=run.owner.name,
            status=run.status,
            error=run.error,
            num_lines=run.num_lines,
            num_topics=run.num_topics,
            sha256=run.sha256,
            created_at=run.created_at,
            scored_at=run.scored_at,
            scores=aggregate_of(scores or {}),
            kind=run.kind,
            ir_metadata=run.ir_metadata,
        )


def aggregate_of(scores: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """``{measure: mean}`` out of ``run_scores``' ``{measure: {query_id | "all": value}}``."""
    return {m: finite(values["all"]) for m, values in scores.items() if "all" in values}


def per_topic_of(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """``{measure: {query_id: value}}`` without the ``"all"`` mean."""
    return {m: {q: finite(v) for q, v in values.items() if q != "all"} for m, values in scores.items()}


class ScoresRead(msgspec.Struct, frozen=True):
    """``GET /api/v1/runs/{id}/scores``: means, and per-topic values when asked and allowed
    (``per_topic_withheld``: asked for on a hidden benchmark by a non-admin). For a session run
    (``kind`` ``session``) ``per_topic`` holds one value per session of the benchmark."""

    run_id: int
    status: str
    aggregate: dict[str, float | None]
    per_topic: dict[str, dict[str, float | None]] | None = None
    per_topic_withheld: bool = False
    kind: str = "adhoc"

    @classmethod
    def from_scores(
        cls, run: Any, scores: dict[str, dict[str, float]], *, per_topic: bool, withheld: bool
    ) -> ScoresRead:
        """Split ``run_scores``' answer into means and (when ``per_topic``) per-topic values."""
        return cls(
            run_id=run.id,
            status=run.status,
            aggregate=aggregate_of(scores),
            per_topic=per_topic_of(scores) if per_topic else None,
            per_topic_withheld=withheld,
            kind=run.kind,
        )


class LeaderboardRow(msgspec.Struct, frozen=True):
    """One ranked run."""

    rank: int
    run_id: int
    system: str
    owner: str
    created_at: datetime
    value: float | None
    judged_at_10: float | None
    tier: int | None
    """Significance tier (1: not significantly worse than the best run); null when not computable."""
    values: dict[str, float | None] = msgspec.field(default_factory=dict)
    """The run's mean on every measure of the leaderboard (``measures``)."""
    human_judged_at_10: float | None = None
    """Judged@10 under the latest human qrels."""
    llm_share_at_10: float | None = None
    """Share of its top 10 labelled by an LM in the qrels shown (null under human qrels)."""
    llm_badge: bool = False
    """The LLM share is above the service's threshold (``badge_threshold``)."""
    failed: int | None = None
    """RAG runs: answers whose judging failed (not scored on the failed part, not counted 0)."""


class LeaderboardRead(msgspec.Struct, frozen=True):
    """``GET /api/v1/benchmarks/{slug}/leaderboard``: one page of runs ranked on one measure;
    ``kind`` ``session``: session runs ranked on a session measure (``qrels_version`` is then the
    session qrels version)."""

    benchmark: str
    measure: str
    measures: list[str]
    qrels_version: int
    tier_test: str
    offset: int
    limit: int
    total: int
    rows: list[LeaderboardRow]
    kind: str = "adhoc"
    per_topic_withheld: bool = False
    """The benchmark is hidden and the reader not an admin: tiers (derived from per-topic scores)
    are null."""
    qrels: str = "human"
    """The qrels view: human (holes non-relevant), filled (LLM-filled holes) or llm (LLM only)."""
    views: list[str] = msgspec.field(default_factory=lambda: ["human"])
    badge_threshold: float = 0.2
    topics: str = ""
    """Which topics (sessions) every mean is over: all judged ones, a missing one counting 0."""


class ComparisonRow(msgspec.Struct, frozen=True):
    """One (baseline, run, measure) comparison; differences are ``run - baseline``."""

    baseline: str
    run: str
    measure: str
    n_topics: int
    mean_baseline: float | None
    mean_run: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    wins: int | None
    ties: int | None
    losses: int | None
    p_values: dict[str, float | None]
    p_adjusted: float | None
    significant: bool | None
    effect_size: float | None
    test: str | None


class ComparisonRead(msgspec.Struct, frozen=True):
    """``GET /api/v1/compare``: paired comparisons with corrected tests. On a hidden benchmark a
    non-admin gets the means only (``per_topic_withheld``: CIs, W/T/L, p-values, effect sizes and
    significance are null; they are functions of the per-topic scores)."""

    runs: list[int]
    parameters: dict[str, Any]
    comparisons: list[ComparisonRow]
    per_topic_withheld: bool = False

    @classmethod
    def from_report(cls, run_ids: list[int], report: Any) -> ComparisonRead:
        """Copy a :class:`~ragbench.stats.ComparisonReport`, or the means of a
        :class:`~ragbench.store.service.BlindComparison` (infinite numbers become null)."""
        from ragbench.store.service import BlindComparison

        if isinstance(report, BlindComparison):
            blind = [
                ComparisonRow(
                    baseline=c.baseline,
                    run=c.run,
                    measure=c.measure,
                    n_topics=c.n_topics,
                    mean_baseline=finite(c.mean_baseline),
                    mean_run=finite(c.mean_run),
                    mean_diff=finite(c.mean_diff),
                    ci_low=None,
                    ci_high=None,
                    wins=None,
                    ties=None,
                    losses=None,
                    p_values={},
                    p_adjusted=None,
                    significant=None,
                    effect_size=None,
                    test=None,
                )
                for c in report
            ]
            return cls(
                runs=run_ids, parameters=report.parameters(), comparisons=blind, per_topic_withheld=True
            )
        rows = [
            ComparisonRow(
                baseline=c.baseline,
                run=c.run,
                measure=c.measure,
                n_topics=c.n_topics,
                mean_baseline=finite(c.mean_baseline),
                mean_run=finite(c.mean_run),
                mean_diff=finite(c.mean_diff),
                ci_low=finite(c.ci_low),
                ci_high=finite(c.ci_high),
                wins=c.wins,
                ties=c.ties,
                losses=c.losses,
                p_values={k: finite(v) for k, v in c.p_values.items()},
                p_adjusted=finite(c.p_adjusted),
                significant=bool(c.significant),
                effect_size=finite(c.effect_size),
                test=c.test,
            )
            for c in report
        ]
        return cls(runs=run_ids, parameters=report.parameters(), comparisons=rows)


class TokenRead(msgspec.Struct, frozen=True):
    """An API token as listed (never the token or its hash): ``prefix`` is its first 8 characters."""

    id: int
    user: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool
    active: bool

    @classmethod
    def from_info(cls, info: Any) -> TokenRead:
        """Copy a :class:`~ragbench.store.service.TokenInfo`."""
        return cls(
            id=info.id,
            user=info.user,
            prefix=info.prefix,
            created_at=info.created_at,
            last_used_at=info.last_used_at,
            expires_at=info.expires_at,
            revoked=info.revoked,
            active=info.active,
        )


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/tokens`` (admin): a new token for ``user``, valid ``days`` days (default
    ``RAGBENCH_TOKEN_DAYS``; 0: no expiry)."""

    user: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    days: Annotated[int, msgspec.Meta(ge=0, le=36_500)] | None = None


class TokenCreated(msgspec.Struct, frozen=True):
    """The new token, shown this once (only its hash is stored)."""

    token: str
    info: TokenRead

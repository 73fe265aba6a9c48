"""Leaderboards and run comparisons, read from stored scores.

The ranking reads only the ``all`` rows of (latest qrels version, measure), through the index
on ``score (qrels_version_id, measure, query_id)``. Significance tiers need every run's per-topic
scores and a randomization test per round, so they are computed once and cached in memory, per
process, keyed by (database, qrels version id, measure, number of scored runs, largest run id):
any run scored, re-scored under a new version or deleted changes the key (run ids are never
reused), so a cached entry is never stale. Concurrent requests for the same key wait for one
computation rather than repeating it. The cache holds :data:`TIER_CACHE_SIZE` keys (LRU).

A benchmark with sessions has a second leaderboard (``kind="session"``): its session runs ranked
on a session measure against the latest session qrels version, with tiers over per-session scores.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from ragbench.errors import InputError, NotFoundError
from ragbench.store._common import benchmark_by_slug, check_kind, latest_version
from ragbench.store.models import (
    ALL_TOPICS,
    JUDGED_MEASURE,
    Benchmark,
    QrelsVersion,
    Run,
    Score,
    System,
    User,
)

if TYPE_CHECKING:
    from ragbench.stats import ComparisonReport

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
TIER_CACHE_SIZE = 256
TIER_TEST = "randomization"
TIER_CORRECTION: Final = "holm"


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One run on a leaderboard.

    Attributes:
        rank: 1-based position by ``value`` (ties: older run first).
        run_id: The run.
        system_name: Its system's name.
        owner_name: Who submitted it.
        created_at: When it was submitted (UTC).
        value: Its mean on the leaderboard's measure (the ``all`` score).
        judged_at_10: Its mean ``Judged@10``: the share of its top 10 that is judged.
        tier: Its significance tier (1: not significantly worse than the best run); None when
            the tiers could not be computed.
        values: Its mean on every measure of the leaderboard (``Leaderboard.measures``) that it
            has a score for, for a table with one column per measure.
    """

    rank: int
    run_id: int
    system_name: str
    owner_name: str
    created_at: datetime
    value: float
    judged_at_10: float | None
    tier: int | None
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """A page of a benchmark's ranking on one measure, against its latest qrels version.

    Attributes:
        slug: The benchmark.
        title: Its title.
        hidden: Whether it is blind (per-topic scores withheld).
        measure: Canonical name of the ranking measure.
        measures: Every measure it can be ranked by (for a selector).
        qrels_version: The qrels version number the scores are against (a session qrels version
            for ``kind="session"``).
        total: Number of ranked runs (all pages).
        offset: Rows skipped before this page.
        limit: Page size asked for.
        rows: This page, best first.
        tier_test: How tiers were computed (test, correction, alpha).
        kind: ``adhoc`` (runs, per-topic scores) or ``session`` (session runs, per-session scores).
    """

    slug: str
    title: str
    hidden: bool
    measure: str
    measures: tuple[str, ...]
    qrels_version: int
    total: int
    offset: int
    limit: int
    rows: tuple[LeaderboardRow, ...]
    tier_test: str = f"{TIER_TEST}, {TIER_CORRECTION}, alpha 0.05"
    kind: str = "adhoc"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (datetimes as ISO 8601 strings)."""
        data = asdict(self)
        data["measures"] = list(self.measures)
        data["rows"] = [{**asdict(r), "created_at": r.created_at.isoformat()} for r in self.rows]
        return data


def canonical_measure(benchmark: Benchmark, measure: str, kind: str = "adhoc") -> str:
    """``measure`` in canonical form, checked against what the benchmark scores runs of ``kind`` on
    (session measures for ``kind="session"``).

    Raises:
        MeasureError: it does not parse.
        InputError: the benchmark does not score it (the message lists what it scores), or has no
            sessions when ``kind`` is ``session``.
    """
    from ragbench.evaluation.registry import canonical

    if kind == "session":
        if not benchmark.has_sessions:
            raise InputError(f"benchmark {benchmark.slug!r} has no sessions")
        name = canonical(measure, "session")
        what = "session runs are not scored"
    elif kind == "rag":
        if not benchmark.has_rag:
            raise InputError(f"benchmark {benchmark.slug!r} has no nugget set (no RAG runs)")
        name = canonical(measure, "rag")
        what = "RAG runs are not scored"
    else:
        name = canonical(measure, "adhoc")
        what = "is not scored"
    scored = benchmark.measures_of(kind)
    if name not in scored:
        raise InputError(f"benchmark {benchmark.slug!r} {what} on {name}; choose one of " + ", ".join(scored))
    return name


def leaderboard(
    s: Session,
    slug: str,
    measure: str,
    *,
    offset: int = 0,
    limit: int = 50,
    actor: User | None = None,
    kind: str = "adhoc",
) -> Leaderboard:
    """A page of the benchmark's runs ranked by their mean on ``measure``, best first.

    Each row has the run's Judged@10, significance tier (:func:`ragbench.stats.significance_tiers`
    over per-topic scores: randomization test, Holm correction, alpha 0.05, seed 0) and its means
    on every measure of the benchmark. Aggregates are public, on hidden benchmarks too.
    ``kind="session"`` ranks the session runs on a session measure (tiers over per-session scores,
    no Judged@10) against the latest session qrels version.

    Raises:
        NotFoundError: no such benchmark.
        MeasureError, InputError: a bad measure or kind; a negative offset or a limit outside
            1..1000; ``kind="session"`` on a benchmark without sessions.
    """
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"offset must be >= 0 and limit within 1..{MAX_LIMIT}")
    check_kind(kind)
    benchmark = benchmark_by_slug(s, slug)
    name = canonical_measure(benchmark, measure, kind)
    version = latest_version(s, benchmark.id, kind)
    total, max_run = s.execute(
        select(func.count(), func.max(Score.run_id)).where(
            Score.qrels_version_id == version.id, Score.measure == name, Score.query_id == ALL_TOPICS
        )
    ).one()
    judged = aliased(Score)
    rows = s.execute(
        select(Score.run_id, Score.value, System.name, User.name, Run.created_at, judged.value)
        .join(Run, Run.id == Score.run_id)
        .join(System, System.id == Run.system_id)
        .join(User, User.id == Run.owner_id)
        .outerjoin(
            judged,
            and_(
                judged.run_id == Score.run_id,
                judged.qrels_version_id == Score.qrels_version_id,
                judged.measure == JUDGED_MEASURE,
                judged.query_id == ALL_TOPICS,
            ),
        )
        .where(Score.qrels_version_id == version.id, Score.measure == name, Score.query_id == ALL_TOPICS)
        .order_by(Score.value.desc(), Score.run_id)
        .offset(offset)
        .limit(limit)
    ).all()
    tiers = _tiers(s, version.id, name, total, max_run) if rows else {}
    means: dict[int, dict[str, float]] = {run_id: {} for run_id, *_ in rows}
    if rows:
        for run_id, measure_name, value in s.execute(
            select(Score.run_id, Score.measure, Score.value).where(
                Score.run_id.in_(list(means)),
                Score.qrels_version_id == version.id,
                Score.query_id == ALL_TOPICS,
            )
        ):
            means[run_id][measure_name] = value
    measures = benchmark.measures_of(kind)
    order = {m: i for i, m in enumerate(measures)}
    return Leaderboard(
        slug=benchmark.slug,
        title=benchmark.title,
        hidden=benchmark.hidden,
        measure=name,
        measures=tuple(measures),
        qrels_version=version.version,
        total=total,
        offset=offset,
        limit=limit,
        kind=kind,
        rows=tuple(
            LeaderboardRow(
                rank=offset + i + 1,
                run_id=run_id,
                system_name=system_name,
                owner_name=owner_name,
                created_at=created_at,
                value=value,
                judged_at_10=judged_value if kind == "adhoc" else None,
                tier=tiers.get(run_id) if tiers is not None else None,
                values=dict(
                    sorted(means[run_id].items(), key=lambda mv: (order.get(mv[0], len(order)), mv[0]))
                ),
            )
            for i, (run_id, value, system_name, owner_name, created_at, judged_value) in enumerate(rows)
        ),
    )


_TierKey = tuple[str, int, str, int, int | None]
_tier_cache: OrderedDict[_TierKey, dict[int, int] | None] = OrderedDict()
_tier_locks: dict[_TierKey, threading.Lock] = {}
_cache_lock = threading.Lock()


def clear_tier_cache() -> None:
    """Forget every cached tier assignment (tests; after restoring a database)."""
    with _cache_lock:
        _tier_cache.clear()
        _tier_locks.clear()


def _tiers(
    s: Session, version_id: int, measure: str, total: int, max_run: int | None
) -> dict[int, int] | None:
    """run id -> tier for every run scored on (version, measure); cached, see the module docstring."""
    key = (str(s.get_bind().engine.url), version_id, measure, total, max_run)
    with _cache_lock:
        if key in _tier_cache:
            _tier_cache.move_to_end(key)
            return _tier_cache[key]
        lock = _tier_locks.setdefault(key, threading.Lock())
    with lock:
        with _cache_lock:
            if key in _tier_cache:
                return _tier_cache[key]
        tiers = _compute_tiers(s, version_id, measure)
        with _cache_lock:
            _tier_cache[key] = tiers
            while len(_tier_cache) > TIER_CACHE_SIZE:
                _tier_cache.popitem(last=False)
            _tier_locks.pop(key, None)
    return tiers


def _compute_tiers(s: Session, version_id: int, measure: str) -> dict[int, int] | None:
    from ragbench.stats import significance_tiers

    per_run: dict[str, dict[str, float]] = {}
    for run_id, query_id, value in s.execute(
        select(Score.run_id, Score.query_id, Score.value).where(
            Score.qrels_version_id == version_id, Score.measure == measure, Score.query_id != ALL_TOPICS
        )
    ):
        per_run.setdefault(str(run_id), {})[query_id] = value
    if not per_run:
        return {}
    per_run = _common_topics(per_run)
    try:
        entries = significance_tiers(per_run, test=TIER_TEST, correction=TIER_CORRECTION)
    except InputError:
        log.warning("no significance tiers for qrels version %s, %s", version_id, measure, exc_info=True)
        return None
    return {int(e.run): e.tier for e in entries}


def _common_topics(per_run: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each run's scores on the topics every run has. Ad hoc and session runs are scored on every
    topic (a missing one counts 0), so this changes nothing for them; a RAG answer whose judging
    failed, or a topic whose measure is undefined, has no score, and is left out for every run
    rather than counted 0 for one."""
    shared = set.intersection(*(set(v) for v in per_run.values())) if per_run else set()
    return {run: {q: v for q, v in values.items() if q in shared} for run, values in per_run.items()}


def compare_runs(
    s: Session, run_ids: Sequence[int], measures: Sequence[str] | None, actor: User | None
) -> ComparisonReport:
    """Compare runs of one benchmark topic by topic (:func:`ragbench.stats.compare`).

    The first run is the baseline; each other run is compared with it on every measure, with
    randomization and t tests (Holm-corrected over the report), bootstrap CIs and wins/ties/losses,
    on the per-topic scores of the latest qrels version. Runs are named ``"#<id> <system>"``. The
    report holds no per-topic values, so it is available on hidden benchmarks too.

    Args:
        s: The session.
        run_ids: Two or more runs of one benchmark.
        measures: Measures to compare on (default: the benchmark's measures).
        actor: Who asks.

    Session runs compare the same way, session by session, on session measures (against the
    latest session qrels version); a session run is not compared with an ad hoc run.

    Raises:
        NotFoundError: a run does not exist.
        InputError: fewer than two runs, runs of different benchmarks or kinds, a run not scored
            yet, a measure the benchmark does not score, fewer than two topics.
    """
    from ragbench.stats import compare

    ids = list(dict.fromkeys(int(r) for r in run_ids))
    if len(ids) < 2:
        raise InputError("compare needs at least two different runs")
    runs = {r.id: r for r in s.scalars(select(Run).where(Run.id.in_(ids)))}
    missing = [i for i in ids if i not in runs]
    if missing:
        raise NotFoundError(f"no run {', '.join(map(str, missing))}")
    benchmarks = {r.benchmark_id for r in runs.values()}
    if len(benchmarks) > 1:
        raise InputError("compare runs of one benchmark at a time")
    kinds = {r.kind for r in runs.values()}
    if len(kinds) > 1:
        raise InputError("compare session runs with session runs, and runs with runs")
    kind = kinds.pop()
    benchmark = runs[ids[0]].benchmark
    defaults = benchmark.measures_of(kind) if kind != "adhoc" else list(benchmark.measures)
    names = [canonical_measure(benchmark, m, kind) for m in measures] if measures else defaults
    version: QrelsVersion = latest_version(s, benchmark.id, kind)
    labels = {i: f"#{i} {runs[i].system.name}" for i in ids}
    scores: dict[str, dict[str, dict[str, float]]] = {labels[i]: {} for i in ids}
    for run_id, measure, query_id, value in s.execute(
        select(Score.run_id, Score.measure, Score.query_id, Score.value).where(
            Score.run_id.in_(ids),
            Score.qrels_version_id == version.id,
            Score.measure.in_(names),
            Score.query_id != ALL_TOPICS,
        )
    ):
        scores[labels[run_id]].setdefault(measure, {})[query_id] = value
    for i in ids:
        if not scores[labels[i]]:
            raise InputError(
                f"run {i} has no scores for qrels version {version.version} yet (status {runs[i].status})"
            )
    for measure in names:  # RAG: topics failed or undefined for one run are left out for all
        shared = _common_topics({run: found.get(measure, {}) for run, found in scores.items()})
        for run, found in shared.items():
            scores[run][measure] = found
    return compare(scores, baselines=labels[ids[0]])

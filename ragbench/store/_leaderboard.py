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
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from ragbench.errors import InputError
from ragbench.settings import get_settings
from ragbench.store._blinding import per_topic_visible
from ragbench.store._common import (
    benchmark_by_slug,
    check_kind,
    latest_version,
    view_version,
    views_of,
)
from ragbench.store.models import (
    ALL_TOPICS,
    JUDGED_MEASURE,
    Benchmark,
    QrelsOrigin,
    QrelsVersion,
    Run,
    Score,
    System,
    User,
)

if TYPE_CHECKING:
    pass

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
    human_judged_at_10: float | None = None
    """Its mean Judged@10 under the latest human qrels: how much of its top 10 people judged."""
    llm_share_at_10: float | None = None
    """The mean share of its top 10 labelled by an LM in the qrels shown (None: human view)."""
    llm_badge: bool = False
    """``llm_share_at_10`` is above ``RAGBENCH_LLM_SHARE_BADGE``: its score leans on LLM labels."""


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
        per_topic_withheld: The benchmark is hidden and the reader not an admin: no tiers (they are
            derived from per-topic scores; see :mod:`ragbench.store._blinding`).
        qrels_view: ``human`` (human labels only, holes non-relevant), ``filled`` (LLM-filled holes)
            or ``llm`` (LLM labels only): what the scores are against, never a silent mix.
        views: the views this benchmark can be read under.
        badge_threshold: the LLM share of a top 10 above which a row has a badge.
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
    per_topic_withheld: bool = False
    qrels_view: str = "human"
    views: tuple[str, ...] = ("human",)
    badge_threshold: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (datetimes as ISO 8601 strings)."""
        data = asdict(self)
        data["measures"] = list(self.measures)
        data["views"] = list(self.views)
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
    qrels: str = "human",
) -> Leaderboard:
    """A page of the benchmark's runs ranked by their mean on ``measure``, best first.

    Each row has the run's Judged@10, significance tier (:func:`ragbench.stats.significance_tiers`
    over per-topic scores: randomization test, Holm correction, alpha 0.05, seed 0) and its means
    on every measure of the benchmark. Aggregates are public, on hidden benchmarks too; tiers there
    only for admins (:func:`~ragbench.store._blinding.per_topic_visible`).
    ``kind="session"`` ranks the session runs on a session measure (tiers over per-session scores,
    no Judged@10) against the latest session qrels version.

    Ad hoc runs are ranked under one qrels view (``qrels``): ``human`` (the latest all-human
    version, holes non-relevant; the default), ``filled`` (the latest LLM-filled version) or
    ``llm`` (the latest LLM-only version). Each row also has the run's Judged@10 under the human
    qrels and the share of its top 10 the LM labelled in the view, with a badge above
    ``RAGBENCH_LLM_SHARE_BADGE``.

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
    if kind == "adhoc":
        found_version = view_version(s, benchmark.id, qrels)
        if found_version is None:
            raise InputError(
                f"benchmark {slug!r} has no {qrels} qrels (views: {', '.join(views_of(s, benchmark.id))})"
            )
        version = found_version
    else:
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
    visible = per_topic_visible(benchmark, actor)
    tiers = _tiers(s, version.id, name, total, max_run) if rows and visible else {}
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
    threshold = get_settings().llm_share_badge
    human_judged, shares = (
        _label_shares(s, benchmark.id, version, qrels, [r[0] for r in rows]) if kind == "adhoc" else ({}, {})
    )
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
        per_topic_withheld=not visible,
        qrels_view=qrels if kind == "adhoc" else "human",
        views=tuple(views_of(s, benchmark.id)) if kind == "adhoc" else ("human",),
        badge_threshold=threshold,
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
                human_judged_at_10=human_judged.get(run_id),
                llm_share_at_10=shares.get(run_id),
                llm_badge=(shares.get(run_id) or 0.0) > threshold,
            )
            for i, (run_id, value, system_name, owner_name, created_at, judged_value) in enumerate(rows)
        ),
    )


def _judged(s: Session, version_id: int, run_ids: list[int]) -> dict[int, float]:
    return {
        run_id: value
        for run_id, value in s.execute(
            select(Score.run_id, Score.value).where(
                Score.qrels_version_id == version_id,
                Score.measure == JUDGED_MEASURE,
                Score.query_id == ALL_TOPICS,
                Score.run_id.in_(run_ids),
            )
        )
    }


def _label_shares(
    s: Session, benchmark_id: int, version: QrelsVersion, view: str, run_ids: list[int]
) -> tuple[dict[int, float], dict[int, float]]:
    """Per run: Judged@10 under the latest human qrels, and the share of its top 10 that the LM
    labelled in ``version`` (filled: Judged@10 of the filled version minus that of the human
    version it filled, as the two label sets are disjoint; LLM-only: its Judged@10)."""
    if not run_ids:
        return {}, {}
    human = view_version(s, benchmark_id, "human")
    human_judged = _judged(s, human.id, run_ids) if human is not None else {}
    if view == "human":
        return human_judged, {}
    judged = _judged(s, version.id, run_ids)
    if view == "llm":
        return human_judged, judged
    origin = s.get(QrelsOrigin, version.id)
    base_id = origin.based_on_id if origin is not None and origin.based_on_id is not None else None
    base = _judged(s, base_id, run_ids) if base_id is not None else human_judged
    return human_judged, {r: max(0.0, v - base.get(r, 0.0)) for r, v in judged.items() if r in base}


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

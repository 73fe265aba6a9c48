"""Suites: groups of benchmarks ranked together, their leaderboards and their reproductions.

A suite's *systems* are names: the runs submitted under one system name to the suite's benchmarks.
On each benchmark a system's newest scored run counts. The leaderboard reads those runs' per-topic
scores (latest qrels version of each benchmark) and hands them to
:func:`ragbench.stats.aggregate_suite`; hidden benchmarks contribute their means only for anyone
but an admin (the one blinding rule, :func:`per_topic_visible`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragbench.errors import ConflictError, InputError, NotFoundError
from ragbench.stats import aggregation_settings
from ragbench.store._blinding import per_topic_visible
from ragbench.store._common import latest_version, now, require_admin
from ragbench.store.models import (
    ALL_TOPICS,
    Benchmark,
    Reproduction,
    Run,
    Score,
    Suite,
    SuiteBenchmark,
    System,
    User,
)

if TYPE_CHECKING:
    from ragbench.stats import SuiteAggregate

SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,99}")
DEFAULT_SUITE_MEASURES = ("nDCG@10", "R@100")
"""A suite's measures when none are named (BEIR's leaderboard reports these two)."""
STATUSES = ("green", "red", "unchecked")


def suite_measures(measures: Sequence[str] | None) -> list[str]:
    """Canonical suite measures (default nDCG@10 and R@100), each once.

    Raises:
        MeasureError: a name does not parse.
        InputError: none, or two names for the same measure.
    """
    from ragbench.evaluation.registry import canonical

    names = list(DEFAULT_SUITE_MEASURES if measures is None else measures)
    if not names:
        raise InputError("a suite needs at least one measure")
    seen: dict[str, str] = {}
    for name in names:
        key = canonical(name, "adhoc")
        if key in seen:
            raise InputError(f"measures: {name!r} and {seen[key]!r} are the same measure ({key})")
        seen[key] = name
    return list(seen)


def create_suite(
    s: Session,
    actor: User | None,
    slug: str,
    *,
    benchmarks: Sequence[str],
    groups: Mapping[str, Sequence[str]] | None = None,
    title: str = "",
    description: str = "",
    measures: Sequence[str] | None = None,
    aggregation: Mapping[str, Any] | None = None,
) -> Suite:
    """Register a suite of existing benchmarks (admin only).

    Args:
        s: The session; the caller commits.
        actor: The admin.
        slug: URL name, ``a-z 0-9 . _ -``.
        benchmarks: Benchmark slugs, in display order.
        groups: ``{group: [benchmark, ...]}``: sub-groups averaged first (each benchmark in at most one).
        title: Display title.
        description: Free text.
        measures: ir-measures names (default nDCG@10, R@100); every benchmark must score each.
        aggregation: ``reference``, ``missing``, ``posthoc``, ``alpha`` (see :class:`Suite`).

    Raises:
        AuthError, PermissionDenied: not an admin.
        InputError: a bad slug, no benchmark, a benchmark listed twice or unknown (all named), a
            group naming a benchmark outside the suite or one in two groups, a measure a benchmark
            does not score (conflicting measures), bad aggregation settings.
        MeasureError: a measure does not parse.
        ConflictError: the slug is taken.
    """
    require_admin(actor, "create a suite")
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise InputError(f"suite slug {slug!r} must be 1 to 100 characters a-z 0-9 . _ -")
    names = list(benchmarks)
    if not names:
        raise InputError("a suite needs at least one benchmark")
    twice = sorted({b for b in names if names.count(b) > 1})
    if twice:
        raise InputError(f"benchmarks listed twice: {', '.join(twice)}")
    found = {b.slug: b for b in s.scalars(select(Benchmark).where(Benchmark.slug.in_(names)))}
    unknown = [b for b in names if b not in found]
    if unknown:
        raise InputError(f"unknown benchmarks: {', '.join(unknown)} (register them first)")
    group_of: dict[str, str] = {}
    for group, members in (groups or {}).items():
        if not isinstance(group, str) or not GROUP.fullmatch(group) or group in found:
            raise InputError(f"group name {group!r}: 1 to 100 characters, not a benchmark's slug")
        for member in members:
            if member not in found:
                raise InputError(f"group {group!r} names {member!r}, which is not a benchmark of the suite")
            if member in group_of:
                raise InputError(f"benchmark {member!r} is in two groups: {group_of[member]!r} and {group!r}")
            group_of[member] = group
    wanted = suite_measures(measures)
    for b in names:
        lacking = [m for m in wanted if m not in found[b].scored_measures]
        if lacking:
            raise InputError(
                f"benchmark {b!r} is not scored on {', '.join(lacking)} (it is scored on "
                f"{', '.join(found[b].scored_measures)}): the suite's measures must be every benchmark's"
            )
    settings = aggregation_settings(aggregation)
    if s.scalar(select(Suite.id).where(Suite.slug == slug)) is not None:
        raise ConflictError(f"suite {slug!r} exists")
    suite = Suite(
        slug=slug,
        title=title or "",
        description=description or "",
        measures=wanted,
        aggregation=settings,
        created_at=now(),
    )
    suite.members = [
        SuiteBenchmark(benchmark=found[b], position=i, subgroup=group_of.get(b)) for i, b in enumerate(names)
    ]
    s.add(suite)
    try:
        s.flush()
    except IntegrityError:
        raise ConflictError(f"suite {slug!r} exists") from None
    return suite


def get_suite(s: Session, slug: str) -> Suite:
    """The suite called ``slug``.

    Raises:
        NotFoundError: there is none.
    """
    suite = s.scalar(select(Suite).where(Suite.slug == slug))
    if suite is None:
        raise NotFoundError(f"no suite {slug!r}")
    return suite


def list_suites(s: Session) -> list[Suite]:
    """Every suite, by slug."""
    return list(s.scalars(select(Suite).order_by(Suite.slug)))


def suite_groups(suite: Suite) -> dict[str, list[str]]:
    """``{group: [benchmark slug, ...]}`` of a suite, in suite order."""
    groups: dict[str, list[str]] = {}
    for member in suite.members:
        if member.subgroup is not None:
            groups.setdefault(member.subgroup, []).append(member.benchmark.slug)
    return groups


@dataclass(frozen=True, slots=True)
class SuiteBoard:
    """A suite's leaderboard on one measure.

    Attributes:
        slug, title, description: The suite.
        measure: The measure ranked on; ``measures`` every measure of the suite.
        benchmarks: ``(slug, title, hidden, group)`` of each benchmark, in order.
        aggregate: The statistics (:class:`ragbench.stats.SuiteAggregate`).
        runs: System -> benchmark -> the run id that counts there.
        settings: The aggregation settings used.
    """

    slug: str
    title: str
    description: str
    measure: str
    measures: tuple[str, ...]
    benchmarks: tuple[tuple[str, str, bool, str | None], ...]
    aggregate: SuiteAggregate
    runs: dict[str, dict[str, int]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def suite_runs(s: Session, suite: Suite) -> dict[str, dict[str, int]]:
    """System name -> benchmark slug -> the system's newest scored run there (ad hoc runs only)."""
    ids = [m.benchmark_id for m in suite.members]
    slug_of = {m.benchmark_id: m.benchmark.slug for m in suite.members}
    newest = (
        select(System.name, Run.benchmark_id, func.max(Run.id))
        .join(System, System.id == Run.system_id)
        .where(Run.benchmark_id.in_(ids), Run.status == "scored", Run.kind == "adhoc")
        .group_by(System.name, Run.benchmark_id)
    )
    runs: dict[str, dict[str, int]] = {}
    for name, benchmark_id, run_id in s.execute(newest):
        runs.setdefault(name, {})[slug_of[benchmark_id]] = int(run_id)
    return {name: dict(sorted(per.items())) for name, per in sorted(runs.items())}


def suite_leaderboard(
    s: Session, slug: str, measure: str | None = None, actor: User | None = None, *, trials: int = 2000
) -> SuiteBoard:
    """A suite's systems aggregated over its benchmarks on ``measure`` (default: its first).

    Raises:
        NotFoundError: no such suite.
        InputError, MeasureError: a measure the suite does not rank on.
    """
    from ragbench.evaluation.registry import canonical
    from ragbench.stats import aggregate_suite

    suite = get_suite(s, slug)
    name = suite.measures[0] if not measure else canonical(measure, "adhoc")
    if name not in suite.measures:
        raise InputError(f"suite {slug!r} is not ranked on {name}; choose one of {', '.join(suite.measures)}")
    runs = suite_runs(s, suite)
    scores: dict[str, dict[str, dict[str, float]]] = {}
    withhold = []
    for member in suite.members:
        benchmark = member.benchmark
        if not per_topic_visible(benchmark, actor):
            withhold.append(benchmark.slug)
        chosen = {
            run_ids[benchmark.slug]: system for system, run_ids in runs.items() if benchmark.slug in run_ids
        }
        if not chosen:
            continue
        version = latest_version(s, benchmark.id)
        per: dict[str, dict[str, float]] = {}
        for run_id, query_id, value in s.execute(
            select(Score.run_id, Score.query_id, Score.value).where(
                Score.run_id.in_(list(chosen)),
                Score.qrels_version_id == version.id,
                Score.measure == name,
                Score.query_id != ALL_TOPICS,
            )
        ):
            per.setdefault(chosen[run_id], {})[query_id] = value if math.isfinite(value) else 0.0
        scores[benchmark.slug] = per
    settings = aggregation_settings(suite.aggregation)
    aggregate = aggregate_suite(
        scores,
        measure=name,
        benchmarks=[m.benchmark.slug for m in suite.members],
        groups=suite_groups(suite),
        reference=settings["reference"],
        missing=settings["missing"],
        posthoc=settings["posthoc"],
        alpha=settings["alpha"],
        trials=trials,
        withhold=withhold,
    )
    return SuiteBoard(
        slug=suite.slug,
        title=suite.title,
        description=suite.description,
        measure=name,
        measures=tuple(suite.measures),
        benchmarks=tuple(
            (m.benchmark.slug, m.benchmark.title, bool(m.benchmark.hidden), m.subgroup) for m in suite.members
        ),
        aggregate=aggregate,
        runs=runs,
        settings=settings,
    )


def add_reproduction(
    s: Session,
    actor: User | None,
    slug: str,
    *,
    cells: Sequence[Mapping[str, Any]],
    source: str = "",
    environment: Mapping[str, Any] | None = None,
) -> Reproduction:
    """Store the matrix of one reproduction of a suite (admin only).

    Raises:
        AuthError, PermissionDenied: not an admin.
        NotFoundError: no such suite.
        InputError: a cell without condition, benchmark, measure or a known status.
    """
    require_admin(actor, "store a reproduction")
    suite = get_suite(s, slug)
    rows = []
    for cell in cells:
        if not all(isinstance(cell.get(k), str) for k in ("condition", "benchmark", "measure")):
            raise InputError("every cell names its condition, benchmark and measure")
        if cell.get("status") not in STATUSES:
            raise InputError(f"cell status {cell.get('status')!r}: use {', '.join(STATUSES)}")
        rows.append(dict(cell))
    reproduction = Reproduction(
        suite_id=suite.id,
        source=source,
        passed=all(c["status"] != "red" for c in rows),
        cells=rows,
        environment=dict(environment or {}),
        created_at=now(),
    )
    s.add(reproduction)
    s.flush()
    return reproduction


def latest_reproduction(s: Session, slug: str) -> Reproduction | None:
    """The suite's newest reproduction, or None.

    Raises:
        NotFoundError: no such suite.
    """
    suite = get_suite(s, slug)
    return s.scalar(
        select(Reproduction)
        .where(Reproduction.suite_id == suite.id)
        .order_by(Reproduction.id.desc())
        .limit(1)
    )


def run_by_file(s: Session, benchmark: str, sha256: str) -> int | None:
    """The id of the run of ``benchmark`` whose file has this sha256, if any."""
    return s.scalar(
        select(Run.id)
        .join(Benchmark, Benchmark.id == Run.benchmark_id)
        .where(Benchmark.slug == benchmark, Run.sha256 == sha256)
    )

"""What the leaderboard page shows beyond the ranking: the 95 % bootstrap CI of every run's mean
on every measure, the significance matrix of every pair, per-topic score distributions, and the
statistics of the qrels (with a note where Judged@k cannot tell judged from relevant).

Everything here is derived from per-topic scores, so a hidden benchmark withholds it from everyone
but admins (:func:`ragbench.store.service.per_topic_visible`); :func:`qrels_statistics` holds
only counts of the judgments and is shown to everyone. Results are cached per process, keyed by
(database, qrels version, number of scored runs, largest run id), as the tiers are.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragbench.errors import PermissionDenied
from ragbench.store._blinding import per_topic_visible
from ragbench.store._common import benchmark_by_slug, latest_version, unpack
from ragbench.store._scoring import read_qrels_bytes
from ragbench.store.models import ALL_TOPICS, Benchmark, QrelsVersion, Run, Score, System, User

CI_TRIALS = 10_000
MATRIX_TRIALS = 10_000
CACHE_SIZE = 64
_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class QrelsStatistics:
    """Counts of a qrels version (no per-topic scores: shown on hidden benchmarks too).

    Attributes:
        version: the qrels version number.
        topics: judged topics.
        judgments: judgments in all.
        per_topic_min, per_topic_median, per_topic_max: judgments per topic.
        grades: ``{grade: count}``.
        relevant_per_topic_mean: mean number of relevant (grade > 0) judgments per topic.
        judges_non_relevant: whether any judgment has grade <= 0; when not, every judged document
            is relevant and Judged@k equals P@k (``judged_note`` says so).
    """

    version: int
    topics: int
    judgments: int
    per_topic_min: int
    per_topic_median: float
    per_topic_max: int
    grades: dict[int, int]
    relevant_per_topic_mean: float
    judges_non_relevant: bool

    @property
    def judged_note(self) -> str | None:
        if self.judges_non_relevant:
            return None
        return (
            "These qrels list relevant documents only (no judgment of grade 0 or below), so Judged@k "
            "cannot tell a judged document from a relevant one: it equals P@k here and says nothing "
            "about how complete the judgments are."
        )


def qrels_statistics(s: Session, slug: str) -> QrelsStatistics:
    """Statistics of the benchmark's latest qrels version."""
    benchmark = benchmark_by_slug(s, slug)
    version = latest_version(s, benchmark.id)
    key = ("qrels", str(s.get_bind().engine.url), version.id)
    return _cached(key, lambda: _qrels_statistics(version))  # type: ignore[no-any-return]


def _qrels_statistics(version: QrelsVersion) -> QrelsStatistics:
    table = read_qrels_bytes(unpack(version.content, "qrels"))
    per_topic = np.bincount(table.query)
    per_topic = per_topic[per_topic > 0]
    grades, counts = np.unique(table.relevance, return_counts=True)
    relevant = np.bincount(table.query[table.relevance > 0], minlength=table.query.max() + 1)
    return QrelsStatistics(
        version=version.version,
        topics=int(per_topic.size),
        judgments=len(table),
        per_topic_min=int(per_topic.min()),
        per_topic_median=float(np.median(per_topic)),
        per_topic_max=int(per_topic.max()),
        grades={int(g): int(c) for g, c in zip(grades.tolist(), counts.tolist(), strict=True)},
        relevant_per_topic_mean=float(relevant.sum() / per_topic.size),
        judges_non_relevant=bool((table.relevance <= 0).any()),
    )


@dataclass(frozen=True, slots=True)
class RunScores:
    """A run's per-topic scores on every measure of the benchmark (topics in a shared order)."""

    run_id: int
    system: str
    values: dict[str, np.ndarray]


@dataclass(frozen=True, slots=True)
class BoardDetail:
    """Per run and measure: the 95 % percentile bootstrap CI of the mean over topics, and the
    per-topic values (for the distribution plot)."""

    topics: tuple[str, ...]
    runs: tuple[RunScores, ...]
    ci: dict[tuple[int, str], tuple[float, float]]


def _require_visible(benchmark: Benchmark, actor: User | None) -> None:
    if not per_topic_visible(benchmark, actor):
        raise PermissionDenied(
            f"benchmark {benchmark.slug!r} is hidden: statistics over per-topic scores are withheld"
        )


def _key(s: Session, what: str, version_id: int, *extra: Any) -> tuple[Any, ...]:
    total, max_run = s.execute(
        select(func.count(func.distinct(Score.run_id)), func.max(Score.run_id)).where(
            Score.qrels_version_id == version_id, Score.query_id == ALL_TOPICS
        )
    ).one()
    return (what, str(s.get_bind().engine.url), version_id, total, max_run, *extra)


def _cached(key: tuple[Any, ...], compute: Any) -> Any:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = compute()
    with _lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def clear_board_cache() -> None:
    """Forget every cached statistic (tests)."""
    with _lock:
        _cache.clear()


def _per_topic(s: Session, benchmark: Benchmark, version_id: int) -> tuple[tuple[str, ...], list[RunScores]]:
    rows = s.execute(
        select(Score.run_id, System.name, Score.measure, Score.query_id, Score.value)
        .join(Run, Run.id == Score.run_id)
        .join(System, System.id == Run.system_id)
        .where(Score.qrels_version_id == version_id, Score.query_id != ALL_TOPICS, Run.kind == "adhoc")
    ).all()
    topics = tuple(sorted({r.query_id for r in rows}))
    at = {t: i for i, t in enumerate(topics)}
    runs: dict[int, RunScores] = {}
    for run_id, system, measure, query_id, value in rows:
        entry = runs.setdefault(run_id, RunScores(run_id, system, {}))
        array = entry.values.setdefault(measure, np.zeros(len(topics)))
        array[at[query_id]] = value  # a topic the run lacks stays 0, as it was scored (complete)
    return topics, [runs[r] for r in sorted(runs)]


def board_detail(s: Session, slug: str, actor: User | None) -> BoardDetail:
    """CIs of every run's means and its per-topic values, on the latest qrels version.

    Raises:
        NotFoundError: no such benchmark.
        PermissionDenied: the benchmark is hidden and ``actor`` is not an admin.
    """
    from ragbench.stats import bootstrap_ci

    benchmark = benchmark_by_slug(s, slug)
    _require_visible(benchmark, actor)
    version = latest_version(s, benchmark.id)

    def compute() -> BoardDetail:
        topics, runs = _per_topic(s, benchmark, version.id)
        ci = {}
        for run in runs:
            for measure, values in run.values.items():
                interval = bootstrap_ci(values, np.zeros_like(values), trials=CI_TRIALS, seed=0)
                ci[(run.run_id, measure)] = (float(interval.low), float(interval.high))
        return BoardDetail(topics, tuple(runs), ci)

    return _cached(_key(s, "detail", version.id), compute)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """Row run minus column run: mean difference, Holm-adjusted p-value, significance."""

    difference: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass(frozen=True, slots=True)
class SignificanceMatrix:
    """Every pair of runs on one measure: a randomization test (10,000 sign flips, seed 0) per
    pair, Holm-corrected over all pairs of the measure."""

    measure: str
    runs: tuple[tuple[int, str, float], ...]  # (run id, system, mean), best first
    cells: dict[tuple[int, int], MatrixCell]
    topics: int
    alpha: float = 0.05


def significance_matrix(s: Session, slug: str, measure: str, actor: User | None) -> SignificanceMatrix:
    """The significance matrix of the benchmark's runs on ``measure``.

    Raises:
        NotFoundError: no such benchmark.
        MeasureError, InputError: a measure the benchmark does not score.
        PermissionDenied: the benchmark is hidden and ``actor`` is not an admin.
    """
    from ragbench.stats import correct, paired_randomization
    from ragbench.store._leaderboard import canonical_measure

    benchmark = benchmark_by_slug(s, slug)
    _require_visible(benchmark, actor)
    name = canonical_measure(benchmark, measure)
    version = latest_version(s, benchmark.id)

    def compute() -> SignificanceMatrix:
        topics, runs = _per_topic(s, benchmark, version.id)
        scored = [r for r in runs if name in r.values]
        scored.sort(key=lambda r: (-float(r.values[name].mean()), r.run_id))
        pairs = [(a, b) for i, a in enumerate(scored) for b in scored[i + 1 :]]
        raw = [
            paired_randomization(a.values[name], b.values[name], trials=MATRIX_TRIALS, seed=0)
            for a, b in pairs
        ]
        cells: dict[tuple[int, int], MatrixCell] = {}
        if pairs:
            adjusted = correct(raw, "holm", alpha=0.05)
            for k, (a, b) in enumerate(pairs):
                diff = float(a.values[name].mean() - b.values[name].mean())
                p, q, sig = raw[k], float(adjusted.p_adjusted[k]), bool(adjusted.reject[k])
                cells[(a.run_id, b.run_id)] = MatrixCell(diff, p, q, sig)
                cells[(b.run_id, a.run_id)] = MatrixCell(-diff, p, q, sig)
        return SignificanceMatrix(
            name,
            tuple((r.run_id, r.system, float(r.values[name].mean())) for r in scored),
            cells,
            len(topics),
        )

    return _cached(_key(s, "matrix", version.id, name), compute)  # type: ignore[no-any-return]

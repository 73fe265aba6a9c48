"""Comparing runs of one benchmark topic by topic (the API's ``/compare``), or their means only
on a hidden benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragbench.errors import InputError, NotFoundError
from ragbench.store._blinding import BlindComparison, blind_comparison, per_topic_visible
from ragbench.store._common import check_id, latest_version
from ragbench.store._leaderboard import _common_topics, canonical_measure
from ragbench.store.models import ALL_TOPICS, QrelsVersion, Run, Score, User

if TYPE_CHECKING:
    from ragbench.stats import ComparisonReport


def compare_runs(
    s: Session, run_ids: Sequence[int], measures: Sequence[str] | None, actor: User | None
) -> ComparisonReport | BlindComparison:
    """Compare runs of one benchmark topic by topic (:func:`ragbench.stats.compare`).

    The first run is the baseline; each other run is compared with it on every measure, with
    randomization and t tests (Holm-corrected over the report), bootstrap CIs and wins/ties/losses,
    on the per-topic scores of the latest qrels version. Runs are named ``"#<id> <system>"``. On a
    hidden benchmark a non-admin gets a :class:`~ragbench.store._blinding.BlindComparison`
    instead: the means only (CIs, W/T/L, p-values and effect sizes are functions of the per-topic
    values and would give them away; see :mod:`ragbench.store._blinding`).

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

    ids = list(dict.fromkeys(check_id(int(r), "run") for r in run_ids))
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
    if not per_topic_visible(benchmark, actor):
        return _blind(s, ids, labels, names, version, runs)
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


def _blind(
    s: Session,
    ids: list[int],
    labels: dict[int, str],
    names: list[str],
    version: QrelsVersion,
    runs: dict[int, Run],
) -> BlindComparison:
    """The means of the runs (their ``all`` rows) and the number of judged topics: no per-topic
    value is read."""
    means: dict[str, dict[str, float]] = {labels[i]: {} for i in ids}
    for run_id, measure, value in s.execute(
        select(Score.run_id, Score.measure, Score.value).where(
            Score.run_id.in_(ids),
            Score.qrels_version_id == version.id,
            Score.measure.in_(names),
            Score.query_id == ALL_TOPICS,
        )
    ):
        means[labels[run_id]][measure] = value
    for i in ids:
        if not means[labels[i]]:
            raise InputError(
                f"run {i} has no scores for qrels version {version.version} yet (status {runs[i].status})"
            )
    n_topics = s.scalar(
        select(func.count()).where(
            Score.run_id == ids[0],
            Score.qrels_version_id == version.id,
            Score.measure == names[0],
            Score.query_id != ALL_TOPICS,
        )
    )
    return blind_comparison([labels[i] for i in ids], names, means, int(n_topics or 0))

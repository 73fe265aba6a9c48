"""Executing a pipeline config: rewrite → retrieve → fuse → rerank → run file → store and score.

:func:`run_pipeline` is what ``ragbench run CONFIG.yaml`` and ``ragbench demo`` call. Stages run
on Ray actors by default (``ray: false`` in the config, or ``use_ray=False``, runs them in this
process); the run file is identical either way.
"""

from __future__ import annotations

import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ragbench.errors import ConflictError, InputError, NotFoundError
from ragbench.formats.topics import read_topics
from ragbench.jobs import registry
from ragbench.jobs.config import PipelineConfig, StageSpec
from ragbench.jobs.execute import run_batches, split
from ragbench.jobs.ranking import Ranking, sort_hits
from ragbench.jobs.runfile import format_run, write_run

Progress = Callable[[str, int, int], None]
"""``(label, done, total)``: how far a step is (the CLI draws rich progress bars from it)."""


@dataclass
class PipelineResult:
    """What a pipeline run produced."""

    config: PipelineConfig
    ranking: Ranking
    run_path: str
    run_bytes: bytes
    seconds: dict[str, float]
    scores: dict[str, float] = field(default_factory=dict)
    per_topic: dict[str, dict[str, float]] = field(default_factory=dict)
    """measure -> {query_id: value} over the qrels' topics (empty without qrels)."""
    nodes: dict[str, set[str]] = field(default_factory=dict)
    stage_stats: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    """step label -> {query_id: {"seconds": .., "prompt_tokens": .., ...}} from stages that keep
    per-query stats (LM rerankers and rewriters)."""
    run_id: int | None = None
    stored_note: str = ""
    answers_path: str | None = None
    answers_bytes: bytes | None = None
    rag_run_id: int | None = None


def _queries(config: PipelineConfig) -> dict[str, str]:
    topics = read_topics(config.topics)
    queries = {}
    for topic in topics:
        text = topic.title if config.topic_field == "title" else topic.description
        queries[topic.query_id] = " ".join(text.split())
    if not queries:
        raise InputError(f"{config.topics}: no topics")
    return queries


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("ragbench", "pyserini", "faiss-cpu", "sentence-transformers", "torch", "ray"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _stage_meta(spec: StageSpec) -> dict[str, Any]:
    return {"name": spec.name, "method": spec.type, **{k: v for k, v in spec.options.items() if k != "index"}}


def ir_metadata(config: PipelineConfig) -> dict[str, Any]:
    """The run file's header: what ran, on what software (deterministic: no times, no hosts)."""
    method: dict[str, Any] = {}
    if config.rewriter is not None:
        method["query rewriting"] = _stage_meta(config.rewriter)
    method["retrieval"] = [_stage_meta(spec) for spec in config.retrievers]
    if config.fusion is not None:
        fusion = dict(config.fusion)
        if fusion.get("weights") is not None:
            fusion["weights"] = list(fusion["weights"])
        method["fusion"] = fusion
    if config.reranker is not None:
        method["reranking"] = _stage_meta(config.reranker)
    implementation: dict[str, Any] = {"source": {"lang": ["python"], "repository": "ragbench"}}
    commit = _commit()
    if commit:
        implementation["source"]["commit"] = commit
    header: dict[str, Any] = {"tag": config.name}
    if config.description:
        header["research goal"] = {"description": config.description}
    return header | {
        "platform": {"software": {"libraries": _versions()}},
        "implementation": implementation,
        "method": method,
        "data": {
            "test collection": {
                "name": config.benchmark or Path(config.topics).stem,
                "topics": Path(config.topics).name,
                "corpus": Path(config.corpus).name if config.corpus else None,
            }
        },
        "depth": config.depth,
    }


def _stage_over_queries(
    spec: StageSpec,
    method: str,
    queries: dict[str, str],
    extra: Callable[[list[str]], tuple[Any, ...]],
    config: PipelineConfig,
    use_ray: bool,
    progress: Progress | None,
    label: str,
    nodes: dict[str, set[str]],
    stats: dict[str, dict[str, dict[str, float]]],
) -> list[Any]:
    batches = split(list(queries), config.ray.batch_size)
    total, done = len(queries), 0
    if progress is not None:
        progress(label, 0, total)

    def tick(size: int) -> None:
        nonlocal done
        done += size
        if progress is not None:
            progress(label, done, total)

    return run_batches(
        spec,
        method,
        [({q: queries[q] for q in batch}, *extra(batch)) for batch in batches],
        [len(batch) for batch in batches],
        use_ray=use_ray,
        parallelism=config.ray.parallelism,
        on_done=tick,
        nodes=nodes.setdefault(label, set()) if use_ray else None,
        stats=stats.setdefault(label, {}),
    )


def _merge(parts: list[dict[str, Any]], order: list[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return {q: merged[q] for q in order if q in merged}


def _merge_ranking(parts: list[Ranking], order: list[str]) -> Ranking:
    """The stage's rankings in query order, each list put in the tie rule's order (a stage that
    returns another order cannot break the rule)."""
    return {q: sort_hits(hits) for q, hits in _merge(parts, order).items()}


def rank(
    config: PipelineConfig,
    *,
    use_ray: bool | None = None,
    progress: Progress | None = None,
    nodes: dict[str, set[str]] | None = None,
    stats: dict[str, dict[str, dict[str, float]]] | None = None,
) -> tuple[Ranking, dict[str, float]]:
    """Run the stages of ``config`` over its topics; returns the final ranking and seconds per step.

    ``nodes``, if given, gets the Ray node ids each step's actors ran on; ``stats`` the per-query
    stats of the steps whose stages keep them.
    """
    nodes = {} if nodes is None else nodes
    stats = {} if stats is None else stats
    use_ray = config.ray.enabled if use_ray is None else use_ray
    if use_ray:
        from ragbench.jobs.cluster import ensure_ray

        ensure_ray()
    seconds: dict[str, float] = {}
    queries = original = _queries(config)
    order = list(queries)

    started = time.perf_counter()
    for spec in (*([config.rewriter] if config.rewriter else []), *config.retrievers,
                 *([config.reranker] if config.reranker else [])):  # fmt: skip
        registry.prepare(spec, progress, use_ray)
    seconds["prepare"] = time.perf_counter() - started

    if config.rewriter is not None:
        started = time.perf_counter()
        parts = _stage_over_queries(
            config.rewriter, "rewrite", queries, lambda batch: (), config, use_ray, progress,
            f"rewrite {config.rewriter.name}", nodes, stats,
        )  # fmt: skip
        queries = _merge(parts, order)
        seconds[f"rewrite {config.rewriter.name}"] = time.perf_counter() - started

    rankings = []
    for spec in config.retrievers:
        started = time.perf_counter()
        parts = _stage_over_queries(
            spec, "search", queries, lambda batch: (config.depth,), config, use_ray, progress,
            f"retrieve {spec.name}", nodes, stats,
        )  # fmt: skip
        rankings.append(_merge_ranking(parts, order))
        seconds[f"retrieve {spec.name}"] = time.perf_counter() - started

    if config.fusion is not None:
        from ragbench.jobs.fusion import Fusion

        started = time.perf_counter()
        ranking = Fusion(**config.fusion).fuse(rankings, config.depth)
        seconds["fusion"] = time.perf_counter() - started
    else:
        ranking = rankings[0]

    if config.reranker is not None:
        started = time.perf_counter()
        current = ranking
        parts = _stage_over_queries(  # a reranker judges against what the user asked, not the rewrite
            config.reranker, "rerank", original,
            lambda batch: ({q: current.get(q, []) for q in batch}, config.depth), config, use_ray, progress,
            f"rerank {config.reranker.name}", nodes, stats,
        )  # fmt: skip
        ranking = _merge_ranking(parts, order)
        seconds[f"rerank {config.reranker.name}"] = time.perf_counter() - started

    for label in [label for label, kept in stats.items() if not kept]:
        del stats[label]
    return {q: ranking.get(q, [])[: config.depth] for q in order}, seconds


def run_pipeline(
    config: PipelineConfig,
    *,
    use_ray: bool | None = None,
    store: bool = True,
    progress: Progress | None = None,
    measures: tuple[str, ...] | None = None,
) -> PipelineResult:
    """Rank, write the run file, store it under the benchmark and score it (once).

    A stored run is scored by the store, on its benchmark's measures, and those stored scores are
    what the result reports; measures asked for that the benchmark does not keep are computed
    for the report only. A run that is not stored (no benchmark, ``store=False``, or the same
    file stored before) is scored here against the config's qrels. Either way every topic of the
    qrels counts (a topic the run lacks scores 0, trec_eval ``-c``).

    Args:
        config: from :func:`ragbench.jobs.config.load_pipeline`.
        use_ray: overrides the config's ``ray.enabled``.
        store: store the run (when the config names a benchmark) in the database of the settings
            (``RAGBENCH_DATABASE_URL``; SQLite under ``RAGBENCH_HOME`` by default).
        progress: ``(label, done, total)`` callback.
        measures: what to report (default: the config's ``measures``, else the pipeline defaults
            of :func:`ragbench.evaluation.registry.default_measures`).
    """
    from ragbench.evaluation.registry import canonical_measures, default_measures

    total_started = time.perf_counter()
    storing = store and config.benchmark is not None
    if storing:
        _check_database()  # an unmigrated or unreachable database fails now, not after the work
    nodes: dict[str, set[str]] = {}
    stats: dict[str, dict[str, dict[str, float]]] = {}
    ranking, seconds = rank(config, use_ray=use_ray, progress=progress, nodes=nodes, stats=stats)
    data = format_run(ranking, config.name, ir_metadata(config))
    write_run(config.output, data)
    result = PipelineResult(config, ranking, config.output, data, seconds, nodes=nodes, stage_stats=stats)
    if config.generator is not None:
        from ragbench.jobs.generation import generate_answers

        started = time.perf_counter()
        ray_on = config.ray.enabled if use_ray is None else use_ray
        registry.prepare(config.generator, progress, ray_on)
        answers, _ = generate_answers(
            config, _queries(config), ranking, use_ray=ray_on, progress=progress, nodes=nodes, stats=stats
        )
        write_run(config.answers or "", answers)
        result.answers_path, result.answers_bytes = config.answers, answers
        seconds[f"generate {config.generator.name}"] = time.perf_counter() - started
    wanted = canonical_measures(list(measures or config.measures or default_measures("pipeline")))
    stored: dict[str, dict[str, float]] = {}
    if storing:
        result.run_id, result.stored_note, stored = _store(config, data, seconds, stats)
        if result.answers_bytes is not None:
            result.rag_run_id, note = _store_answers(config, result.answers_bytes)
            result.stored_note += f"; answers: {note}"
    for measure in wanted:
        if measure in stored:
            values = dict(stored[measure])
            result.scores[measure] = values.pop("all")
            result.per_topic[measure] = values
    missing = [m for m in wanted if m not in result.scores]
    if missing and config.qrels is not None:
        from ragbench.evaluation.engine import evaluate

        evaluated = evaluate(config.qrels, data, missing, complete=True, name=config.name)
        for measure in evaluated.measures:
            result.scores[measure] = evaluated.aggregate[measure]
            result.per_topic[measure] = dict(
                zip(evaluated.query_ids, evaluated.per_query[measure].tolist(), strict=True)
            )
    result.scores = {m: result.scores[m] for m in wanted if m in result.scores}
    result.seconds["total"] = time.perf_counter() - total_started
    return result


def _check_database() -> None:
    from ragbench.store.db import open_database

    engine, _ = open_database()
    engine.dispose()


def summarize_stats(per_query: dict[str, dict[str, float]]) -> dict[str, float]:
    """Totals and per-query means of a step's stats (``seconds`` also as the median and p95)."""
    import numpy as np

    summary: dict[str, float] = {"queries": len(per_query)}
    keys = sorted({key for row in per_query.values() for key in row})
    for key in keys:
        values = np.array([row[key] for row in per_query.values() if key in row], dtype=float)
        summary[f"{key}_total"] = round(float(values.sum()), 6)
        summary[f"{key}_mean"] = round(float(values.mean()), 6)
        if key == "seconds":
            summary["seconds_median"] = round(float(np.median(values)), 6)
            summary["seconds_p95"] = round(float(np.percentile(values, 95)), 6)
    return summary


def _store(
    config: PipelineConfig,
    data: bytes,
    seconds: dict[str, float],
    stats: dict[str, dict[str, dict[str, float]]],
) -> tuple[int | None, str, dict[str, dict[str, float]]]:
    """Store (registering the benchmark when new) and score the run in one transaction.

    Returns the run id (None when not stored), a note for the user, and the stored scores
    (``{measure: {"all": mean, topic: value}}``; empty when not stored).
    """
    from ragbench.settings import get_settings
    from ragbench.store import service
    from ragbench.store.db import database_errors, open_database

    assert config.benchmark is not None
    engine, factory = open_database()
    try:
        with database_errors(get_settings().database_url), factory() as s, s.begin():
            admin = service.local_admin(s)
            try:
                service.get_benchmark(s, config.benchmark, admin)
                note = ""
            except NotFoundError:
                if config.qrels is None:
                    raise InputError(
                        f"{config.path}: benchmark {config.benchmark!r} does not exist and the config "
                        "has no qrels: to register it"
                    ) from None
                service.create_benchmark(
                    s,
                    admin,
                    config.benchmark,
                    title=config.benchmark,
                    topics_text=Path(config.topics).read_text(encoding="utf-8"),
                    qrels_text=Path(config.qrels).read_text(encoding="utf-8"),
                    corpus_ref=config.corpus,
                    measures=config.measures,
                )
                note = f"registered benchmark {config.benchmark!r}; "
            metadata: dict[str, Any] = {
                "pipeline": config.raw,
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
            }
            if stats:
                metadata["stages"] = {
                    label: {"summary": summarize_stats(rows), "per_query": rows}
                    for label, rows in stats.items()
                }
            try:
                with s.begin_nested():
                    run = service.submit_run(
                        s,
                        admin,
                        config.benchmark,
                        data,
                        name=config.name,
                        description=config.description,
                        metadata=metadata,
                        filename=Path(config.output).name,
                    )
            except ConflictError as exc:
                return None, f"{note}not stored again: {exc}", {}
            if run.status == "pending":  # too large to score inline: this command is the worker
                run = service.score_run(s, run.id)
            scores = service.run_scores(s, run.id, admin, per_topic=True)
            return run.id, f"{note}stored as run {run.id} ({run.status})", scores
    finally:
        engine.dispose()


def _store_answers(config: PipelineConfig, answers: bytes) -> tuple[int | None, str]:
    """Store the answers as a RAG run of the benchmark (evaluated by the worker, or by
    ``ragbench rag eval``); (run id or None, a note)."""
    from ragbench.settings import get_settings
    from ragbench.store import service
    from ragbench.store.db import database_errors, open_database

    assert config.benchmark is not None
    engine, factory = open_database()
    try:
        with database_errors(get_settings().database_url), factory() as s, s.begin():
            admin = service.local_admin(s)
            try:
                with s.begin_nested():
                    run = service.submit_run(
                        s, admin, config.benchmark, answers, name=config.name, description=config.description,
                        metadata={"pipeline": config.raw}, filename=Path(config.answers or "answers").name,
                        kind="rag",
                    )  # fmt: skip
            except (ConflictError, InputError) as exc:
                return None, f"not stored: {exc}"
            return run.id, f"stored as RAG run {run.id} ({run.status})"
    finally:
        engine.dispose()

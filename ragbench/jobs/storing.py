"""Storing a pipeline's run under its benchmark, registering the benchmark when it is new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragbench.errors import ConflictError, InputError, NotFoundError
from ragbench.jobs.config import PipelineConfig, public_config


def store_run(
    config: PipelineConfig,
    data: bytes,
    seconds: dict[str, float],
    stats: dict[str, dict[str, dict[str, float]]],
) -> tuple[int | None, str, dict[str, dict[str, float]]]:
    """Store (registering the benchmark when new) and score the run in one transaction.

    Returns the run id (None when not stored), a note for the user (what was registered, where
    the run went), and the stored scores (``{measure: {"all": mean, topic: value}}``; empty when
    not stored).

    Raises:
        ConflictError: the benchmark exists with other topics or qrels than the config's (the
            message says what differs).
    """
    from ragbench.settings import get_settings
    from ragbench.store import service
    from ragbench.store.db import database_errors, open_database

    assert config.benchmark is not None
    engine, factory = open_database()
    try:
        with database_errors(get_settings().database_url), factory() as s, s.begin():
            admin = service.local_admin(s)
            note = _register(s, admin, config)
            metadata: dict[str, Any] = {
                "pipeline": public_config(config.raw),
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
            where = f"stored as run {run.id} ({run.status}) of system {config.name!r} on {config.benchmark!r}"
            return run.id, f"{note}{where}", scores
    finally:
        engine.dispose()


def _register(s: Any, admin: Any, config: PipelineConfig) -> str:
    """Register the config's benchmark when new (a note saying what was registered), check it
    against the config's files when it exists."""
    from ragbench.store import service

    assert config.benchmark is not None
    if config.qrels is None:
        try:
            service.get_benchmark(s, config.benchmark, admin)
        except NotFoundError:
            raise InputError(
                f"{config.path}: benchmark {config.benchmark!r} does not exist and the config "
                "has no qrels: to register it"
            ) from None
        return ""
    benchmark, created = service.register_benchmark(
        s,
        admin,
        config.benchmark,
        title=config.benchmark,
        topics_text=Path(config.topics).read_text(encoding="utf-8"),
        qrels_text=Path(config.qrels).read_text(encoding="utf-8"),
        corpus_ref=config.corpus,
        measures=config.measures,
        compare_measures=False,
    )
    if not created:
        return ""
    from ragbench.formats.topics import read_topics
    from ragbench.formats.trec import read_qrels

    qrels = read_qrels(config.qrels)
    return (
        f"registered benchmark {benchmark.slug!r} (owner {admin.name}, public): "
        f"{len(read_topics(config.topics))} topics from {Path(config.topics).name}, "
        f"{len(qrels):,} judgments of {len(qrels.query_ids())} topics from {Path(config.qrels).name}, "
        f"measures {', '.join(benchmark.scored_measures)}"
        + (f", corpus {Path(config.corpus).name}" if config.corpus else "")
        + "; `ragbench benchmark add` with the same files changes nothing\n"
    )


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


def store_answers(config: PipelineConfig, answers: bytes) -> tuple[int | None, str]:
    """Store a pipeline's generated answers as a RAG run of its benchmark (evaluated by the
    worker, or by ``ragbench rag eval``); (run id or None, a note for the user)."""
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
                        metadata={"pipeline": public_config(config.raw)},
                        filename=Path(config.answers or "answers").name, kind="rag",
                    )  # fmt: skip
            except (ConflictError, InputError) as exc:
                return None, f"not stored: {exc}"
            return run.id, f"stored as RAG run {run.id} ({run.status})"
    finally:
        engine.dispose()

"""Storing a pipeline's run under its benchmark, registering the benchmark when it is new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragbench.errors import ConflictError, InputError, NotFoundError
from ragbench.jobs.config import PipelineConfig

PATH_KEYS = frozenset({"corpus", "topics", "qrels", "output", "index", "model", "checkpoint", "cache"})


def public_config(raw: Any) -> Any:
    """The config as stored with the run: every path-valued option by its file name only, so no
    local path reaches a page or the API."""
    if isinstance(raw, dict):
        return {
            k: (
                Path(str(v)).name
                if k in PATH_KEYS and isinstance(v, str) and ("/" in v or "\\" in v)
                else public_config(v)
            )
            for k, v in raw.items()
        }
    if isinstance(raw, list):
        return [public_config(v) for v in raw]
    return raw


def _public_value(key: str, value: Any) -> Any:
    if key in PATH_KEYS and isinstance(value, str) and ("/" in value or "\\" in value):
        return Path(value.replace("\\", "/")).name
    return public_config(value)


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
    from ragbench.jobs.pipeline import summarize_stats
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

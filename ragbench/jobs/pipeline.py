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

from ragbench.errors import InputError
from ragbench.formats.topics import query_text, read_topics
from ragbench.jobs import registry
from ragbench.jobs.config import PipelineConfig, StageSpec, public_config
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
    notes: list[str] = field(default_factory=list)
    """What the user should know: the database created, where the stages ran and why."""
    answers_path: str | None = None
    answers_bytes: bytes | None = None
    rag_run_id: int | None = None


def _queries(config: PipelineConfig) -> dict[str, str]:
    """The config's topics as queries, made of its ``topic_field`` (a topic with no text there is
    an error naming it: it could only be searched as an empty query)."""
    queries = {topic.query_id: query_text(topic, config.topic_field) for topic in read_topics(config.topics)}
    empty = [q for q, text in queries.items() if not text]
    if empty:
        raise InputError(
            f"{config.topics}: {len(empty)} topic(s) have no {config.topic_field} text "
            f"(first: {empty[0]!r}); choose another topic_field"
        )
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
    """A stage in the header: its options, with a local path (a model, a cache) by file name only,
    since the header travels with the run to the service's pages."""
    options = {k: v for k, v in spec.options.items() if k != "index"}
    return {"name": spec.name, "method": spec.type, **public_config(options)}


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
    queries: dict[str, str] | None = None,
) -> tuple[Ranking, dict[str, float]]:
    """Run the stages of ``config`` over its topics; returns the final ranking and seconds per step.

    The topics are read and every stage prepared (options checked, missing indexes built from
    the corpus, which checks it) before Ray starts. ``use_ray`` None decides by
    :func:`ray_decision`. ``nodes``, if given, gets the Ray node ids each step's actors ran on;
    ``stats`` the per-query stats of the steps whose stages keep them; ``queries`` the topics
    already read.
    """
    nodes = {} if nodes is None else nodes
    stats = {} if stats is None else stats
    seconds: dict[str, float] = {}
    queries = original = _queries(config) if queries is None else queries
    order = list(queries)
    if use_ray is None:
        use_ray = ray_decision(config, len(queries))[0]

    started = time.perf_counter()
    for spec in (*([config.rewriter] if config.rewriter else []), *config.retrievers,
                 *([config.reranker] if config.reranker else [])):  # fmt: skip
        registry.prepare(spec, progress, use_ray)
    seconds["prepare"] = time.perf_counter() - started
    if use_ray:
        from ragbench.jobs.cluster import ensure_ray

        ensure_ray()

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


def ray_decision(config: PipelineConfig, topics: int, requested: bool | None = None) -> tuple[bool, str]:
    """Whether a pipeline runs its stages on Ray, and why (for the user).

    Asked for (``requested``, the config's ``ray.enabled``, or ``RAY_ADDRESS`` naming a cluster):
    as asked. Otherwise Ray only when it pays for its start-up (seconds, and a process per
    worker): with an LM stage (a stage type marked ``gpu``: a reranker or LM rewriter, seconds per
    query, in parallel actors),
    when topics x depth reaches ``RAGBENCH_RAY_MIN_HITS`` (default 1,000,000), or when an index
    must be built from a corpus of at least ``RAGBENCH_RAY_MIN_CORPUS_BYTES`` (default 1 GiB).
    """
    import os

    from ragbench.settings import get_settings

    if requested is not None:
        return requested, "asked for" if requested else "--no-ray"
    if config.ray.enabled is not None:
        return config.ray.enabled, f"the config's ray.enabled: {str(config.ray.enabled).lower()}"
    if os.environ.get("RAY_ADDRESS"):
        return True, "RAY_ADDRESS names a cluster"
    settings = get_settings()
    heavy = [spec for spec in (config.rewriter, config.reranker, config.generator) if spec is not None]
    lm = [spec for spec in heavy if registry.stage_type(spec).gpu]  # a model per worker
    if lm:
        return True, f"an LM stage ({lm[0].kind} {lm[0].type}) runs per query"
    hits = topics * config.depth
    if hits >= settings.ray_min_hits:
        return (
            True,
            f"{topics} topics x depth {config.depth} >= {settings.ray_min_hits:,} (RAGBENCH_RAY_MIN_HITS)",
        )
    corpus_bytes = 0
    if config.corpus is not None and any(
        not os.path.isdir(spec.path(str(spec.options.get("index", "")))) for spec in config.retrievers
    ):
        corpus_bytes = os.path.getsize(config.corpus)
    if corpus_bytes >= settings.ray_min_corpus_bytes:
        return True, f"indexing a corpus of {corpus_bytes:,} bytes (RAGBENCH_RAY_MIN_CORPUS_BYTES)"
    return False, (
        f"{topics} topics x depth {config.depth} = {hits:,} < {settings.ray_min_hits:,} "
        "(RAGBENCH_RAY_MIN_HITS); --ray runs it on Ray"
    )


def run_pipeline(
    config: PipelineConfig,
    *,
    use_ray: bool | None = None,
    store: bool = True,
    progress: Progress | None = None,
    measures: tuple[str, ...] | None = None,
    plain: bool = False,
) -> PipelineResult:
    """Rank, write the run file, store it under the benchmark and score it (once).

    A stored run is scored by the store, on its benchmark's measures, and those stored scores are
    what the result reports; measures asked for that the benchmark does not keep are computed
    for the report only. A run that is not stored (no benchmark, ``store=False``, or the same
    file stored before) is scored here against the config's qrels. Either way every topic of the
    qrels counts (a topic the run lacks scores 0, trec_eval ``-c``).

    Args:
        config: from :func:`ragbench.jobs.config.load_pipeline`.
        use_ray: overrides the config's ``ray.enabled`` (None: :func:`ray_decision`).
        store: store the run (when the config names a benchmark) in the database of the settings
            (``RAGBENCH_DATABASE_URL``; SQLite under ``RAGBENCH_HOME`` by default).
        progress: ``(label, done, total)`` callback.
        measures: what to report (default: the config's ``measures``, else the pipeline defaults
            of :func:`ragbench.evaluation.registry.default_measures`).
        plain: write the run file without its ir_metadata header (for tools that cannot skip
            ``#`` lines); what is stored keeps it.

    Every input is checked before any work (and before Ray starts): the database (the default
    SQLite one is created on first use), the topics, the qrels, the measures; the corpus is
    checked as the missing indexes are built from it.
    """
    from ragbench.evaluation.registry import canonical_measures, default_measures

    total_started = time.perf_counter()
    storing = store and config.benchmark is not None
    notes: list[str] = []
    if storing:
        notes += _check_database()  # an unmigrated or unreachable database fails now, not after the work
    queries = _queries(config)
    if config.qrels is not None:
        from ragbench.formats.trec import read_qrels

        read_qrels(config.qrels)
    wanted = canonical_measures(list(measures or config.measures or default_measures("pipeline")))
    ray_used, why = ray_decision(config, len(queries), use_ray)
    notes.append(f"stages ran {'on Ray' if ray_used else 'in this process'}: {why}")
    nodes: dict[str, set[str]] = {}
    stats: dict[str, dict[str, dict[str, float]]] = {}
    ranking, seconds = rank(
        config, use_ray=ray_used, progress=progress, nodes=nodes, stats=stats, queries=queries
    )
    data = format_run(ranking, config.name, ir_metadata(config))
    write_run(config.output, format_run(ranking, config.name) if plain else data)
    result = PipelineResult(config, ranking, config.output, data, seconds, nodes=nodes, stage_stats=stats)
    result.notes = notes
    if config.generator is not None:
        from ragbench.jobs.generation import generate_answers

        started = time.perf_counter()
        registry.prepare(config.generator, progress, ray_used)
        answers, _ = generate_answers(
            config, queries, ranking, use_ray=ray_used, progress=progress, nodes=nodes, stats=stats
        )
        write_run(config.answers or "", answers)
        result.answers_path, result.answers_bytes = config.answers, answers
        seconds[f"generate {config.generator.name}"] = time.perf_counter() - started
    stored: dict[str, dict[str, float]] = {}
    if storing:
        from ragbench.jobs.storing import store_answers, store_run

        result.run_id, result.stored_note, stored = store_run(config, data, seconds, stats)
        if result.answers_bytes is not None:
            result.rag_run_id, note = store_answers(config, result.answers_bytes)
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


def _check_database() -> list[str]:
    from ragbench.store.db import ensure_default_database, open_database

    note = ensure_default_database()
    engine, _ = open_database()
    engine.dispose()
    return [note] if note else []

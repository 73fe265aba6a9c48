"""``ragbench demo``: the main job end to end on CACM.

Registers CACM as benchmark ``cacm``, builds its BM25 (Lucene) and dense (all-MiniLM-L6-v2 +
FAISS) indexes, runs four pipelines (BM25, BM25+RM3, dense, BM25+dense fused with RRF) on Ray,
scores and stores each run, then prints the scores beside Anserini's published CACM numbers, the
leaderboard, and a paired comparison against BM25. The pipeline configs are written to the work
folder, so ``ragbench run WORKDIR/bm25.yaml`` repeats any one of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ragbench.cli.console import err, out, print_scores, progress_bars, user_errors
from ragbench.errors import InputError


def register(app: typer.Typer) -> None:
    """Add ``demo`` to ``app``."""
    app.command("demo")(demo_command)


BENCHMARK = "cacm"
# Anserini's regression numbers for CACM (../shared/data/cacm/SOURCE.txt): Lucene BM25 k1=0.9
# b=0.4, Porter stemming, Lucene English stopwords, from the HTML files.
ANSERINI = {"bm25": {"AP": 0.3123, "P@30": 0.1942}, "bm25-rm3": {"AP": 0.3643, "P@30": 0.2237}}
FILES = ("cacm.jsonl", "topics.cacm.txt", "qrels.cacm.txt")

COMMON = """benchmark: cacm
corpus: {data}/cacm.jsonl
topics: {data}/topics.cacm.txt
qrels: {data}/qrels.cacm.txt
measures: [AP, P@30, nDCG@10, R@1000, P@10, RR]
depth: 1000
"""
BM25 = """  - type: bm25
    name: bm25
    index: indexes/cacm-bm25
    k1: 0.9
    b: 0.4
    build: {{stemmer: porter, stopwords: true}}
"""
DENSE = """  - type: dense
    name: dense
    index: indexes/cacm-dense
    model: all-MiniLM-L6-v2
    build: {{index_type: flat}}
"""
CONFIGS = {
    "bm25": "name: bm25\ndescription: Lucene BM25 (k1=0.9, b=0.4), Porter, stopwords removed\n"
    + COMMON + "retrievers:\n" + BM25,
    "bm25-rm3": "name: bm25-rm3\ndescription: BM25 + RM3 (10 terms, 10 docs, weight 0.5)\n"
    + COMMON + "retrievers:\n" + BM25 + "    rm3: {{fb_terms: 10, fb_docs: 10, original_weight: 0.5}}\n",
    "dense": "name: dense\ndescription: all-MiniLM-L6-v2, FAISS flat inner product\n"
    + COMMON + "retrievers:\n" + DENSE,
    "hybrid": "name: hybrid\ndescription: BM25 and dense fused by reciprocal rank fusion (k=60)\n"
    + COMMON + "retrievers:\n" + BM25 + DENSE + "fusion: {{method: rrf, k: 60}}\n",
}  # fmt: skip


def default_data() -> Path | None:
    """../shared/data/cacm beside the checkout (or the working directory), when present."""
    for shared in (Path(__file__).resolve().parents[3] / "shared", Path.cwd().parent / "shared"):
        if all((shared / "data" / "cacm" / name).is_file() for name in FILES):
            return shared / "data" / "cacm"
    return None


def write_configs(data: Path, workdir: Path) -> dict[str, Path]:
    """The demo's pipeline configs, written to ``workdir`` (indexes go under ``workdir/indexes``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, template in CONFIGS.items():
        path = workdir / f"{name}.yaml"
        path.write_text(template.format(data=data.resolve()), encoding="utf-8")
        paths[name] = path
    return paths


def _prefixed(progress: Callable[[str, int, int], None], name: str) -> Callable[[str, int, int], None]:
    """The ``(label, done, total)`` callback ``progress``, with each label prefixed by ``name``."""
    return lambda label, done, total: progress(f"{name}: {label}", done, total)


def run_demo(data: Path | None, workdir: Path | None, *, use_ray: bool = True) -> None:
    """Index CACM, run the four pipelines, store and score them, print scores, leaderboard, comparison."""
    from ragbench.jobs.config import load_pipeline
    from ragbench.jobs.pipeline import run_pipeline
    from ragbench.settings import get_settings
    from ragbench.stats import compare
    from ragbench.store.db import display_url, upgrade

    data = data or default_data()
    if data is None or not all((data / name).is_file() for name in FILES):
        raise InputError(f"no CACM data found: pass --data PATH (a folder with {', '.join(FILES)})")
    workdir = workdir or get_settings().home / "demo"
    url = get_settings().database_url
    upgrade(url)
    err.print(f"database: {display_url(url)}; work folder: {workdir}")

    results = {}
    with progress_bars() as progress:
        for name, path in write_configs(data, workdir).items():
            results[name] = run_pipeline(
                load_pipeline(path),
                use_ray=use_ray,
                progress=_prefixed(progress, name),
            )
    for name, result in results.items():
        err.print(f"{name}: {result.run_path} - {result.stored_note}")

    out.rule(Text("1. CACM, all 64 topics (52 judged), trec_eval -c semantics", style="bold"))
    rows = [(name, result.scores) for name, result in results.items()]
    rows += [(f"Anserini {name} (reference)", scores) for name, scores in ANSERINI.items()]
    print_scores(rows)

    out.rule(Text("2. The leaderboard of benchmark 'cacm' (as the service shows it)", style="bold"))
    _print_leaderboard()

    out.rule(
        Text(
            "3. Paired comparison against BM25 (randomization test and t-test, Holm-corrected)", style="bold"
        )
    )
    per_topic = {
        name: {m: result.per_topic[m] for m in ("AP", "nDCG@10")} for name, result in results.items()
    }
    report = compare(per_topic, baselines="bm25", tests=("randomization", "ttest"))
    out.print(report.to_markdown())
    out.print(
        f"Configs in {workdir}: repeat one with `ragbench run {workdir / 'hybrid.yaml'}`; "
        "see the leaderboard with `ragbench demo --serve` or `ragbench serve`.",
        style="dim",
    )


def _print_leaderboard() -> None:
    from rich.table import Table

    from ragbench.cli.db import transaction
    from ragbench.store import service

    with transaction() as s:
        board = service.leaderboard(s, BENCHMARK, "AP")
    table = Table(show_edge=False)
    for column in ("#", "system", "run", "AP", "Judged@10", "tier", "submitted"):
        table.add_column(column, justify="right" if column not in ("system", "submitted") else "left")
    for row in board.rows:
        table.add_row(
            str(row.rank),
            row.system_name,
            str(row.run_id),
            f"{row.value:.4f}",
            "" if row.judged_at_10 is None else f"{row.judged_at_10:.3f}",
            "" if row.tier is None else str(row.tier),
            row.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)
    out.print(f"tiers: {board.tier_test}", style="dim")


@user_errors
def demo_command(
    data: Annotated[
        Path | None, typer.Option("--data", help="The CACM folder (default ../shared/data/cacm).")
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option("--workdir", help="Where configs, indexes and runs go (default ~/.ragbench/demo)."),
    ] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the leaderboard and API.")] = False,
    port: Annotated[int, typer.Option("--port", help="Port for --serve.")] = 8000,
    ray: Annotated[bool, typer.Option("--ray/--no-ray", help="Run the pipelines on Ray.")] = True,
) -> None:
    """The main job: CACM indexed (BM25 + dense), four pipelines run, scored, stored, compared."""
    run_demo(data, workdir, use_ray=ray)
    if serve:
        if "ray" in sys.modules:  # the pipelines are done: give the workers' memory back
            sys.modules["ray"].shutdown()
        from ragbench.cli.service import serve_command

        serve_command(host="127.0.0.1", port=port)

"""Effectiveness on CACM: BM25 top-50 reranked by in-context rankers, and query rewriters before BM25.

Every system is a pipeline config (written to ``--workdir``, so ``ragbench run WORKDIR/<name>.yaml``
repeats one) run in this process over CACM's 52 judged topics (the 12 topics without judgments
score nothing under trec_eval, so they are left out of the LM's work; the numbers equal an
all-64-topic run). Systems:

- ``bm25``: Lucene BM25 (k1 0.9, b 0.4), the first stage of every reranker below.
- ``blockrank-zs``: BlockRank, packaged SmolLM2-135M-Instruct, zero-shot, top 50 reranked.
- ``blockrank-ft``: BlockRank with a checkpoint from ``ragbench train blockrank --synthetic``
  (``--checkpoint DIR``; skipped without one).
- ``full-attention``: the full-attention in-context baseline, same prompt and readout.
- ``rm3+bm25``, ``llm+bm25``, ``context+bm25``: the query rewriters, then BM25.

    python benchmarks/cacm_rerank.py [--systems bm25,blockrank-zs,...] [--checkpoint DIR]
        [--candidates 50] [--chunk 48] [--workdir benchmarks/data/cacm-rerank]

Results are merged into benchmarks/results/cacm_rerank.json (one entry per system, so systems can
be run one at a time): nDCG@10, AP, P@10, and the rerank/rewrite step's per-query latency.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results" / "cacm_rerank.json"
CACM = HERE.parent.parent / "shared" / "data" / "cacm"
MEASURES = ["nDCG@10", "AP", "P@10"]

HEAD = """name: {name}
description: {description}
corpus: {data}/cacm.jsonl
topics: {workdir}/topics.judged.tsv
qrels: {data}/qrels.cacm.txt
measures: [nDCG@10, AP, P@10]
depth: 1000
output: {workdir}/runs/{name}.run
ray: {{enabled: false, batch_size: 4}}
retrievers:
  - type: bm25
    name: bm25
    index: {workdir}/indexes/cacm-bm25
    build: {{stemmer: porter, stopwords: true}}
"""


def systems(args: argparse.Namespace) -> dict[str, tuple[str, str]]:
    rerank = f"  candidates: {args.candidates}\n  chunk: {args.chunk}\n"
    index = f"{args.workdir}/indexes/cacm-bm25"
    found = {
        "bm25": ("Lucene BM25 k1=0.9 b=0.4", ""),
        "blockrank-zs": (
            "BM25 top-50, BlockRank zero-shot (SmolLM2-135M-Instruct)",
            "reranker:\n  type: blockrank\n" + rerank,
        ),
        "full-attention": (
            "BM25 top-50, full-attention in-context baseline (same prompt and readout)",
            "reranker:\n  type: full-attention\n" + rerank,
        ),
        "rm3+bm25": ("RM3 rewriter (Pyserini), then BM25", f"rewriter:\n  type: rm3\n  index: {index}\n"),
        "llm+bm25": ("LLM query rewriting (SmolLM2), then BM25", "rewriter:\n  type: llm\n"),
        "context+bm25": (
            "context-aware rewriting (SmolLM2, BM25 top-3 as context), then BM25",
            f"rewriter:\n  type: context\n  index: {index}\n",
        ),
    }
    if args.checkpoint:
        found["blockrank-ft"] = (
            "BM25 top-50, BlockRank fine-tuned on synthetic CACM queries",
            f"reranker:\n  type: blockrank\n  model: {Path(args.checkpoint).resolve()}\n" + rerank,
        )
    return found


def judged_topics(data: Path, out: Path) -> int:
    from ragbench.formats.topics import read_topics

    judged = {line.split()[0] for line in (data / "qrels.cacm.txt").read_text().splitlines() if line.strip()}
    topics = [t for t in read_topics(data / "topics.cacm.txt") if t.query_id in judged]
    out.write_text("".join(f"{t.query_id}\t{' '.join(t.title.split())}\n" for t in topics))
    return len(topics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--systems", default="bm25,blockrank-zs,full-attention,rm3+bm25,llm+bm25,context+bm25"
    )
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=48)
    parser.add_argument("--data", type=Path, default=CACM)
    parser.add_argument("--workdir", type=Path, default=HERE / "data" / "cacm-rerank")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)

    from ragbench.jobs.config import load_pipeline
    from ragbench.jobs.pipeline import run_pipeline, summarize_stats

    n_topics = judged_topics(args.data, args.workdir / "topics.judged.tsv")
    known = systems(args)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"systems": {}}
    for name in args.systems.split(","):
        if name not in known:
            raise SystemExit(f"unknown system {name!r}: {', '.join(known)}")
        description, stage = known[name]
        config = args.workdir / f"{name}.yaml"
        config.write_text(
            HEAD.format(name=name, description=description, data=args.data.resolve(), workdir=args.workdir)
            + stage
        )
        started = time.perf_counter()
        result = run_pipeline(load_pipeline(config), use_ray=False, store=False, measures=tuple(MEASURES))
        entry: dict[str, Any] = {
            "description": description,
            "config": config.read_text(),
            "scores": {m: round(result.scores[m], 4) for m in MEASURES},
            "seconds": round(time.perf_counter() - started, 1),
            "steps": {label: summarize_stats(rows) for label, rows in result.stage_stats.items()},
            "topics": n_topics,
            "machine": base_machine(),
        }
        results["systems"][name] = entry
        print(json.dumps({name: entry["scores"], "seconds": entry["seconds"]}), flush=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

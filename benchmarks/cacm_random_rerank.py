"""The chance line for the CACM rerankers: BM25's top 50 shuffled at random, scored as they are.

A reranker whose nDCG@10 falls inside this range has learnt nothing about relevance.

    python benchmarks/cacm_random_rerank.py [--run benchmarks/data/cacm-rerank/runs/bm25.run]
        [--candidates 50] [--seeds 50]

Needs the BM25 run that ``cacm_rerank.py --systems bm25`` writes. Writes
benchmarks/results/cacm_random_rerank.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
QRELS = HERE.parent.parent / "shared" / "data" / "cacm" / "qrels.cacm.txt"
MEASURES = ["nDCG@10", "AP", "P@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=HERE / "data" / "cacm-rerank" / "runs" / "bm25.run")
    parser.add_argument("--qrels", type=Path, default=QRELS)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=50)
    args = parser.parse_args()

    from ragbench.evaluation.engine import evaluate
    from ragbench.formats.trec import read_run
    from ragbench.jobs.runfile import format_run

    table = read_run(args.run)  # checked line by line like any run
    hits: dict[str, list[tuple[str, float]]] = {}
    for q, d, score in zip(table.query.tolist(), table.doc.tolist(), table.score.tolist(), strict=True):
        hits.setdefault(table.strings[q], []).append((table.strings[d], score))
    ranked = {}  # trec_eval's order: score descending, ties by doc id descending
    for query, rows in hits.items():
        rows.sort(key=lambda row: row[0], reverse=True)
        rows.sort(key=lambda row: row[1], reverse=True)
        ranked[query] = [doc for doc, _ in rows]
    per_seed: dict[str, list[float]] = {m: [] for m in MEASURES}
    for seed in range(args.seeds):
        rng = random.Random(seed)
        shuffled = {}
        for query, docs in ranked.items():
            head = docs[: args.candidates]
            rng.shuffle(head)
            order = head + docs[args.candidates :]
            shuffled[query] = [(doc, float(len(order) - i)) for i, doc in enumerate(order)]
        scores = evaluate(args.qrels, format_run(shuffled, "random"), MEASURES, complete=True).aggregate
        for m in MEASURES:
            per_seed[m].append(scores[m])
    result = {
        "run": str(args.run),
        "candidates": args.candidates,
        "seeds": args.seeds,
        "scores": {
            m: {"mean": round(statistics.mean(v), 4), "min": round(min(v), 4), "max": round(max(v), 4)}
            for m, v in per_seed.items()
        },
        "machine": base_machine(),
    }
    out = HERE / "results" / "cacm_random_rerank.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["scores"]))


if __name__ == "__main__":
    main()

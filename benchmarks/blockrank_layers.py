"""Choosing BlockRank's readout layer l* on a development set that never touches test qrels.

Spec §6.6: sweep the layers of the untuned model on a small dev set. The dev set here is
synthetic: the LM writes a query for each of ``--queries`` sampled CACM documents (seeded; cached
in the work folder), BM25 retrieves ``--candidates`` documents for it, and the source document is
the one positive (lists whose source BM25 does not retrieve are dropped). BlockRank's scores at
every layer come from one linear-route pass per list (``score_linear_layers``); the table gives
P@1 and MRR of the positive per layer, and the same for a random order.

    python benchmarks/blockrank_layers.py [--queries 40] [--candidates 20] [--chunk 48] [--seed 1234]

Writes benchmarks/results/blockrank_layers.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
CACM = HERE.parent.parent / "shared" / "data" / "cacm"


def rank_of(scores: list[float], positive: int) -> int:
    return 1 + sum(1 for s in scores if s > scores[positive])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--corpus", type=Path, default=CACM / "cacm.jsonl")
    parser.add_argument("--workdir", type=Path, default=HERE / "data" / "blockrank-layers")
    args = parser.parse_args()

    from indexers.bm25 import build_bm25_index
    from ragbench.formats.corpus import iter_corpus
    from rankers.blockrank.lists import synthetic_lists
    from rankers.blockrank.prompt import PromptBuilder
    from rankers.blockrank.scoring import score_linear_layers
    from rankers.lm import load_lm

    lm = load_lm(args.model, device="cpu")
    corpus = {doc.doc_id: doc.contents for doc in iter_corpus(args.corpus, empty="warning")}
    index = args.workdir / "bm25"
    if not (index / "manifest.json").is_file():
        build_bm25_index(str(args.corpus), str(index))
    lists, stats = synthetic_lists(
        corpus, index, lm, args.queries, args.candidates, args.seed, out_dir=args.workdir
    )
    builder = PromptBuilder(lm.tokenizer, chunk=args.chunk)
    layers = list(range(lm.config.num_hidden_layers))
    ranks: dict[str, list[int]] = {str(layer): [] for layer in layers}
    ranks["random"] = []
    rng = random.Random(args.seed)
    started = time.perf_counter()
    for item in lists:
        ordered = item.candidates  # shuffled; with docid ids the scores do not depend on the order
        positive = next(i for i, (doc, _) in enumerate(ordered) if doc in item.positives)
        swept = score_linear_layers(lm.model, [builder.build(item.query, ordered)], layers)
        for layer in layers:
            ranks[str(layer)].append(rank_of(swept[layer][0], positive))
        ranks["random"].append(rng.randrange(len(ordered)) + 1)
    seconds = time.perf_counter() - started
    table = {
        name: {
            "P@1": sum(r == 1 for r in found) / len(found),
            "MRR": sum(1 / r for r in found) / len(found),
        }
        for name, found in ranks.items()
        if found
    }
    best = max(layers, key=lambda layer: (table[str(layer)]["MRR"], -layer))
    result = {
        "benchmark": "blockrank_layers",
        "machine": base_machine(),
        "model": lm.name,
        "lists": len(lists),
        "synthetic": stats.as_dict(),
        "candidates": args.candidates,
        "chunk": args.chunk,
        "seconds": round(seconds, 1),
        "per_layer": table,
        "best_layer_by_mrr": best,
    }
    out = HERE / "results" / "blockrank_layers.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, row in table.items():
        print(f"{name:>7}  P@1 {row['P@1']:.3f}  MRR {row['MRR']:.3f}")
    print(f"best layer by MRR: {best}; wrote {out}")


if __name__ == "__main__":
    main()

"""Benchmark: BM25 indexing throughput (documents per second) and search queries per second.

Indexes a corpus made by repeating CACM's 3,204 documents under fresh ids (``--copies``, default
30: 96,120 documents, 66 MB), in one invocation: one Lucene index in this process, and the same
corpus split into ``--shards`` slices indexed as Ray tasks then joined. Also times BM25 and
BM25+RM3 search of CACM's 64 topics (depth 1000) on the joined index, and checks that the joined
index ranks exactly as the single one. Wall time includes checking the corpus and writing the
shard inputs, not starting Ray (a cluster is up before the timer starts).

    python benchmarks/bm25_index.py [--cacm ../shared/data/cacm] [--copies 30] [--shards 2]

Writes benchmarks/results/bm25_index.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def machine() -> dict[str, object]:
    return {
        **base_machine(),
    }


def make_corpus(cacm: Path, copies: int, out: Path) -> int:
    docs = [json.loads(line) for line in (cacm / "cacm.jsonl").read_text().splitlines() if line.strip()]
    with open(out, "w", encoding="utf-8") as handle:
        for copy in range(copies):
            for doc in docs:
                handle.write(json.dumps({"id": f"{doc['id']}-{copy}", "contents": doc["contents"]}) + "\n")
    return len(docs) * copies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cacm", type=Path, default=HERE.parent.parent / "shared" / "data" / "cacm")
    parser.add_argument("--copies", type=int, default=30)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args()

    from indexers.bm25 import RM3, BM25Retriever, build_bm25_index
    from ragbench.formats.topics import read_topics
    from ragbench.jobs.cluster import ensure_ray

    ensure_ray()  # before the JVM starts in this process (see ragbench/jobs/__init__.py)
    work = Path(tempfile.mkdtemp(prefix="bm25-bench-"))
    try:
        corpus = work / "corpus.jsonl"
        count = make_corpus(args.cacm, args.copies, corpus)
        started = time.perf_counter()
        single = build_bm25_index(corpus, work / "single")
        single_s = time.perf_counter() - started
        started = time.perf_counter()
        build_bm25_index(corpus, work / "sharded", shards=args.shards, use_ray=True)
        sharded_s = time.perf_counter() - started

        topics = {t.query_id: t.title for t in read_topics(args.cacm / "topics.cacm.txt")}
        search = {}
        for name, rm3 in (("bm25", None), ("bm25+rm3", RM3())):
            retriever = BM25Retriever(str(work / "sharded"), rm3=rm3)
            retriever.search(topics, 1000)  # JVM warm-up: class loading and JIT
            started = time.perf_counter()
            ranking = retriever.search(topics, 1000)
            search[name] = len(topics) / (time.perf_counter() - started)
            same = ranking == BM25Retriever(str(work / "single"), rm3=rm3).search(topics, 1000)
            search[f"{name} joined == single"] = same
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "benchmark": "bm25_index",
        "machine": machine(),
        "documents": count,
        "single": {"seconds": round(single_s, 2), "docs_per_s": round(count / single_s)},
        "sharded": {
            "shards": args.shards,
            "seconds": round(sharded_s, 2),
            "docs_per_s": round(count / sharded_s),
            "speedup": round(single_s / sharded_s, 2),
        },
        "index": {"unique_terms": single.unique_terms, "total_terms": single.total_terms},
        "search_queries_per_s": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in search.items()},
        "anserini": single.anserini,
    }
    out = HERE / "results" / "bm25_index.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

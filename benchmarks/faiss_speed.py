"""Benchmark: FAISS Flat against HNSW, queries/s and recall@10 relative to Flat.

Two collections, both of all-MiniLM-L6-v2 vectors (normalised, inner product):

- ``cacm``: the 3,204 CACM documents encoded by ragbench (cached in benchmarks/data/), queried
  with CACM's 64 topics plus 936 documents' own first sentence-sized prefixes (1,000 queries).
- ``synthetic_noise_X``: ``--synthetic`` vectors (default 100,000) made from the CACM vectors:
  each a random CACM vector plus Gaussian noise of norm ~X times its own, renormalised, for each X
  of ``--noise`` (default 1 and 2). They are plainly not real documents, and bracket them: with
  noise 1 they form clusters around the 3,204 CACM vectors that HNSW finds easily; with noise 2
  the noise dominates and they approach uniform random vectors in 384 dimensions, the worst case
  for any graph index. Queries: 1,000 further such vectors.

Indexes are built the way ``build_dense_index`` builds them (``indexers.dense_faiss.build_shard``:
one thread, HNSW M=32, efConstruction=200); searches use every thread, all queries in one call,
k=10. HNSW efSearch is swept; the result names the fastest setting with recall@10 ≥ 0.95.
GPU: Flat on the GPU when FAISS sees one (null otherwise).

    python benchmarks/faiss_speed.py [--corpus ../shared/data/cacm/cacm.jsonl] [--synthetic 100000] [--noise 1 2]

Writes benchmarks/results/faiss_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine_info import base_machine

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
CACM = HERE.parent.parent / "shared" / "data" / "cacm"
EF_SEARCH = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
K = 10


def machine() -> dict[str, Any]:
    import faiss

    return {
        **base_machine(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "faiss_threads": faiss.omp_get_max_threads(),
        "faiss_gpus": faiss.get_num_gpus(),
    }


def cacm_vectors(corpus: Path, topics: Path) -> tuple[np.ndarray, np.ndarray]:
    """CACM document vectors and 1,000 query vectors (cached: encoding takes minutes on 2 cores)."""
    from indexers.dense_encode import encode_texts, read_corpus
    from ragbench.formats.topics import read_topics

    cache = DATA / "faiss_speed_cacm.npz"
    if cache.exists():
        stored = np.load(cache)
        return stored["docs"], stored["queries"]
    _, texts = read_corpus(corpus)
    rng = np.random.default_rng(0)
    picked = rng.choice(len(texts), size=1000 - 64, replace=False)
    queries = [t.title for t in read_topics(topics)] + [" ".join(texts[i].split()[:12]) for i in picked]
    docs, _ = encode_texts(texts, use_ray=True)
    qvecs, _ = encode_texts(queries, use_ray=False)
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez(cache, docs=docs, queries=qvecs)
    return docs, qvecs


def synthetic(base: np.ndarray, n: int, noise: float, seed: int) -> np.ndarray:
    """``n`` vectors: random (unit) rows of ``base`` plus Gaussian noise of norm ~``noise``, renormalised."""
    rng = np.random.default_rng(seed)
    rows = base[rng.integers(0, len(base), size=n)]
    scale = noise / np.sqrt(base.shape[1])
    noisy = rows + rng.normal(0.0, scale, size=rows.shape).astype(np.float32)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def qps(index: Any, queries: np.ndarray, repeats: int) -> tuple[float, np.ndarray]:
    """Best-of-``repeats`` queries/s for searching all queries at once, and the result ids."""
    best, ids = 0.0, np.empty(0)
    for _ in range(repeats):
        started = time.perf_counter()
        _, ids = index.search(queries, K)
        best = max(best, len(queries) / (time.perf_counter() - started))
    return best, ids


def recall(ids: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(ids, truth, strict=True)]))


def compare(name: str, docs: np.ndarray, queries: np.ndarray, repeats: int) -> dict[str, Any]:
    import faiss

    from indexers.dense_faiss import build_shard

    started = time.perf_counter()
    flat = build_shard(docs, "flat", {}, 0)
    flat_build = time.perf_counter() - started
    flat_qps, truth = qps(flat, queries, repeats)
    started = time.perf_counter()
    hnsw = build_shard(docs, "hnsw", {"hnsw_m": 32, "ef_construction": 200}, 0)
    hnsw_build = time.perf_counter() - started
    sweep = []
    for ef in EF_SEARCH:
        hnsw.hnsw.efSearch = ef
        speed, ids = qps(hnsw, queries, repeats)
        sweep.append(
            {"ef_search": ef, "qps": speed, "recall_at_10": recall(ids, truth), "x_flat": speed / flat_qps}
        )
        print(
            f"{name}: HNSW efSearch {ef:4d}: {speed:9.0f} q/s  recall@10 {sweep[-1]['recall_at_10']:.4f}",
            flush=True,
        )
    good = [s for s in sweep if s["recall_at_10"] >= 0.95]
    gpu = None
    if faiss.get_num_gpus() > 0:
        gpu = {"flat_qps": qps(faiss.index_cpu_to_all_gpus(flat), queries, repeats)[0]}
    print(f"{name}: Flat {flat_qps:9.0f} q/s over {len(docs)} vectors", flush=True)
    return {
        "vectors": len(docs),
        "queries": len(queries),
        "flat": {"qps": flat_qps, "build_s": flat_build},
        "hnsw": {"m": 32, "ef_construction": 200, "build_s": hnsw_build, "sweep": sweep},
        "fastest_hnsw_at_recall_0_95": max(good, key=lambda s: s["qps"]) if good else None,
        "gpu": gpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CACM / "cacm.jsonl")
    parser.add_argument("--topics", type=Path, default=CACM / "topics.cacm.txt")
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--noise", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    docs, queries = cacm_vectors(args.corpus, args.topics)
    results = {"cacm": compare("cacm", docs, queries, args.repeats)}
    for noise in args.noise if args.synthetic else []:
        base = synthetic(docs, args.synthetic, noise, seed=1)
        queries = synthetic(docs, 1000, noise, seed=2)
        results[f"synthetic_noise_{noise:g}"] = compare(f"noise {noise:g}", base, queries, args.repeats)
    doc = {
        "benchmark": "faiss_speed",
        "k": K,
        "synthetic_vectors": "CACM all-MiniLM-L6-v2 vectors + N(0, noise^2/d) noise, renormalised",
        "load_average_1min_start_end": [load, os.getloadavg()[0]],
        "machine": machine(),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "faiss_speed.json").write_text(json.dumps(doc, indent=2) + "\n")
    for name, r in results.items():
        best = r["fastest_hnsw_at_recall_0_95"]
        where = (
            f"HNSW efSearch {best['ef_search']} {best['qps']:.0f} q/s (x{best['x_flat']:.1f}), "
            f"recall@10 {best['recall_at_10']:.3f}"
            if best
            else "no HNSW setting reached recall@10 0.95"
        )
        print(f"{name}: Flat {r['flat']['qps']:.0f} q/s; {where}")


if __name__ == "__main__":
    main()

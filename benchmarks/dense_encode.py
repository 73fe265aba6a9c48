"""Benchmark: dense encoding docs/s, ragbench's encode path against plain SentenceTransformer.encode.

On the same texts (the first ``--docs`` documents of a JSONL corpus, CACM by default) and the same
packaged all-MiniLM-L6-v2, in one process, in interleaved rounds (so a change in machine load
hits every contender alike):

- ``plain``: ``SentenceTransformer(model).encode(texts)``, default arguments (batches of 32,
  sorted by length within the call).
- ``ragbench``: ``indexers.dense_encode.encode_texts(use_ray=False)``, the default backend
  (``auto``: bfloat16 torch where the CPU has native bfloat16, else float32 ONNX Runtime), with
  token-budget batches of length-sorted texts: what ``encode_corpus`` does by default.
- ``ragbench_onnx``, ``ragbench_torch``: the same batching in float32 on ONNX Runtime and on
  torch, to separate the effects of batching, runtime and precision.
- ``ragbench_ray``: ``encode_texts(use_ray=True)``, default backend, on a local Ray cluster with
  every CPU (one single-threaded task per CPU); workers are warmed up (model loaded) before timing.

Ratios are medians of the per-round ratios to ``plain``. Also records the agreement of the vectors
with plain encode (cosine per document) and, when torch sees a GPU, the same on the GPU (null
otherwise).

    python benchmarks/dense_encode.py [--corpus ../shared/data/cacm/cacm.jsonl] [--docs 800] [--repeats 3]

Writes benchmarks/results/dense_encode.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from machine_info import base_machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACM = HERE.parent.parent / "shared" / "data" / "cacm" / "cacm.jsonl"


def machine() -> dict[str, Any]:
    import faiss
    import onnxruntime
    import sentence_transformers
    import torch

    from indexers.dense_model import native_bf16

    return {
        **base_machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sentence_transformers": sentence_transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "faiss": faiss.__version__,
        "cpu_native_bf16": native_bf16(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def timed(fn: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[float, np.ndarray]:
    """Docs/s of one call, and its vectors."""
    started = time.perf_counter()
    out = fn(texts)
    return len(texts) / (time.perf_counter() - started), out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CACM)
    parser.add_argument("--docs", type=int, default=800, help="first N documents (0: all)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from indexers.dense_encode import encode_texts, read_corpus
    from indexers.dense_model import offline, resolve_model
    from ragbench.jobs.cluster import ensure_ray

    offline()
    import torch
    from sentence_transformers import SentenceTransformer

    _, texts = read_corpus(args.corpus)
    texts = texts[: args.docs or None]
    n = len(texts)
    model_path = resolve_model(None)
    st = SentenceTransformer(str(model_path), device="cpu")
    ensure_ray()
    contenders: dict[str, Callable[[list[str]], np.ndarray]] = {
        "plain": st.encode,
        "ragbench": lambda t: encode_texts(t, model=model_path, use_ray=False)[0],
        "ragbench_onnx": lambda t: encode_texts(t, model=model_path, backend="onnx", use_ray=False)[0],
        "ragbench_torch": lambda t: encode_texts(t, model=model_path, backend="torch", use_ray=False)[0],
        "ragbench_ray": lambda t: encode_texts(t, model=model_path, use_ray=True)[0],
    }
    # First calls pay for loading models (and the ONNX export), not for encoding: warm up each
    # contender, and every Ray worker (small chunks spread over all of them).
    for fn in contenders.values():
        fn(texts[:16])
    encode_texts(texts[:64], model=model_path, use_ray=True, chunk_size=4)

    rounds: list[dict[str, float]] = []
    vectors: dict[str, np.ndarray] = {}
    load = [os.getloadavg()[0]]
    for r in range(args.repeats):
        speeds = {}
        for name, fn in contenders.items():
            speeds[name], vectors[name] = timed(fn, texts)
        rounds.append(speeds)
        load.append(os.getloadavg()[0])
        print(f"round {r + 1}: " + "  ".join(f"{k} {v:6.1f} docs/s" for k, v in speeds.items()), flush=True)

    plain = vectors["plain"] / np.linalg.norm(vectors["plain"], axis=1, keepdims=True)
    summary: dict[str, Any] = {}
    for name in contenders:
        cosine = (vectors[name] * plain).sum(axis=1)
        summary[name] = {
            "docs_per_s_median": statistics.median(s[name] for s in rounds),
            "ratio_to_plain_median": statistics.median(s[name] / s["plain"] for s in rounds),
            "cosine_to_plain_min": float(cosine.min()),
            "cosine_to_plain_mean": float(cosine.mean()),
        }
    gpu = None
    if torch.cuda.is_available():
        st_gpu = SentenceTransformer(str(model_path), device="cuda")
        st_gpu.encode(texts[:64])
        gpu = {
            "plain_docs_per_s": timed(st_gpu.encode, texts)[0],
            "ragbench_torch_docs_per_s": timed(contenders["ragbench_torch"], texts)[0],
        }
    doc = {
        "benchmark": "dense_encode",
        "corpus": str(args.corpus),
        "docs": n,
        "model": str(model_path),
        "repeats": args.repeats,
        "load_average_1min_per_round": load,
        "machine": machine(),
        "summary": summary,
        "rounds": rounds,
        "gpu": gpu,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dense_encode.json").write_text(json.dumps(doc, indent=2) + "\n")
    for name, s in summary.items():
        print(
            f"{name:15s} {s['docs_per_s_median']:7.1f} docs/s  x{s['ratio_to_plain_median']:.2f} of plain  "
            f"cosine to plain: min {s['cosine_to_plain_min']:.7f}"
        )


if __name__ == "__main__":
    main()

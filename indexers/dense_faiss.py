"""FAISS indexes for dense retrieval: Flat, HNSW and IVF-PQ over inner products, one per shard.

Builds run on one FAISS thread: HNSW inserts points in parallel in whatever order threads get to
them, and k-means sums in thread order, so a multi-threaded build can differ from run to run; the
same corpus and settings must give the same index and so the same run file. Searches use every
thread (each query is independent, so the results do not depend on the thread count).

GPU: Flat and IVF-PQ shards are copied to every GPU FAISS sees (``index_cpu_to_all_gpus``) for
search; FAISS has no GPU HNSW, so HNSW shards stay on the CPU. Builds stay on the CPU, where they
are reproducible.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ragbench.errors import InputError

INDEX_TYPES = ("flat", "hnsw", "ivfpq")
DEFAULT_EF_SEARCH = 128
"""HNSW efSearch unless told otherwise; see docs/dense.md for the recall/speed sweep behind it."""


@contextlib.contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` OpenMP threads in FAISS, then restore the previous count."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def ivfpq_params(n: int, d: int, nlist: int | None, pq_m: int | None) -> dict[str, int]:
    """IVF-PQ settings that this many vectors can train.

    Defaults: ``nlist`` about 4·√n but at most n/39 lists (FAISS wants 39 training points per
    centroid); ``pq_m`` the largest divisor of ``d`` giving sub-vectors of at least 8 dimensions;
    8 bits per code, fewer when there are under 256 vectors to train the codebooks on.

    Raises:
        InputError: too few vectors, or a ``pq_m`` that does not divide ``d``.
    """
    if n < 16:
        raise InputError(f"IVF-PQ needs at least 16 documents to train on, this corpus has {n}: use flat")
    if nlist is None:
        nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    if not 1 <= nlist <= n:
        raise InputError(f"IVF-PQ nlist must be between 1 and the number of documents ({n}), not {nlist}")
    if pq_m is None:
        pq_m = max(m for m in range(1, d + 1) if d % m == 0 and d // m >= 8) if d >= 8 else 1
    if pq_m < 1 or d % pq_m:
        raise InputError(f"IVF-PQ pq_m must divide the embedding dimension {d}, not {pq_m}")
    nbits = min(8, int(math.log2(n)))
    return {"nlist": nlist, "pq_m": pq_m, "nbits": nbits, "nprobe": min(nlist, 16)}


def build_shard(vectors: np.ndarray, index_type: str, params: dict[str, Any], seed: int) -> Any:
    """One CPU index over ``vectors`` (float32, unit rows), built on one thread."""
    import faiss

    d = vectors.shape[1]
    with faiss_threads(1):
        index: faiss.Index
        if index_type == "flat":
            index = faiss.IndexFlatIP(d)
        elif index_type == "hnsw":
            index = faiss.IndexHNSWFlat(d, params["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = params["ef_construction"]
        elif index_type == "ivfpq":
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFPQ(
                quantizer, d, params["nlist"], params["pq_m"], params["nbits"], faiss.METRIC_INNER_PRODUCT
            )
            index.cp.seed = seed
            index.pq.cp.seed = seed
            index.train(vectors)
        else:
            raise InputError(f"unknown index type {index_type!r}: expected one of {', '.join(INDEX_TYPES)}")
        index.add(vectors)
    return index


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """Contiguous ``[start, end)`` slices of ``n`` documents, sizes differing by at most one."""
    return [(n * i // shards, n * (i + 1) // shards) for i in range(shards)]


def save_shard(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_shard(
    path: Path, index_type: str, *, ef_search: int | None, nprobe: int | None, use_gpu: bool
) -> Any:
    """Read a shard, set its search-time knobs, and move it to the GPUs when asked and possible."""
    import faiss

    index = faiss.read_index(str(path))
    # read_index gives the concrete class of the index written (IndexHNSWFlat, IndexIVFPQ...).
    if index_type == "hnsw":
        assert isinstance(index, faiss.IndexHNSW)
        index.hnsw.efSearch = ef_search or DEFAULT_EF_SEARCH
    elif index_type == "ivfpq" and nprobe is not None:
        assert isinstance(index, faiss.IndexIVF)
        index.nprobe = nprobe
    if use_gpu and index_type != "hnsw":
        index = faiss.index_cpu_to_all_gpus(index)
        if index_type == "ivfpq" and nprobe is not None:
            faiss.GpuParameterSpace().set_index_parameter(index, "nprobe", nprobe)
    return index


def search_shard(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``min(k, shard size)`` scores and row numbers per query (-1 rows: nothing found)."""
    found: tuple[np.ndarray, np.ndarray] = index.search(
        np.ascontiguousarray(queries, dtype=np.float32), min(k, index.ntotal)
    )
    return found

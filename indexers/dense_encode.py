"""Encoding a corpus: fixed chunks of documents, each encoded by a Ray task or in this process.

The corpus is read (and so checked) in full with :func:`ragbench.formats.corpus.iter_corpus` before
any model is loaded. Its texts are cut into chunks of ``chunk_size`` documents in corpus order;
the chunk boundaries depend only on the corpus and ``chunk_size``, and a chunk's batches only on
its texts (:func:`indexers.dense_model.plan_batches`), so the vectors are the same bits whether a
chunk ran here, on any Ray worker, or a second time after its worker died (Ray re-runs a task
whose worker was lost, up to ``max_retries`` times).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexers.dense_model import DEFAULT_MODEL, MAX_BATCH, MAX_TOKENS, Backend, cached_encoder, resolve_model
from ragbench.formats.corpus import CorpusPath, iter_corpus

CHUNK_SIZE = 256
"""Documents per task: small enough that progress moves and a lost worker costs little."""
MAX_RETRIES = 3
"""Re-runs of a chunk whose worker died (Ray's own retry of system failures)."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Encoded:
    """A corpus's vectors and how they were made."""

    doc_ids: list[str]
    vectors: np.ndarray
    backend: str
    seconds: float
    model_path: Path


def read_corpus(corpus: CorpusPath) -> tuple[list[str], list[str]]:
    """Ids and texts of every document, in file order (raises FormatError with file and line)."""
    ids: list[str] = []
    texts: list[str] = []
    for doc in iter_corpus(corpus):
        ids.append(doc.doc_id)
        texts.append(doc.contents)
    return ids, texts


def encode_chunk(
    model_path: str, backend: Backend, texts: list[str], threads: int, max_tokens: int, max_batch: int
) -> tuple[np.ndarray, str]:
    """One chunk's vectors and the backend that made them (the body of the Ray task)."""
    encoder = cached_encoder(Path(model_path), backend, threads=threads)
    return encoder.encode(texts, max_tokens, max_batch), encoder.backend


def encode_texts(
    texts: Sequence[str],
    *,
    model: str | os.PathLike[str] | None = DEFAULT_MODEL,
    backend: Backend = "auto",
    batch_size: int = MAX_BATCH,
    max_tokens: int = MAX_TOKENS,
    chunk_size: int = CHUNK_SIZE,
    use_ray: bool = True,
    on_progress: Progress | None = None,
) -> tuple[np.ndarray, str]:
    """Vectors of ``texts`` (float32, unit length, in order) and the backend used."""
    model_path = resolve_model(model)
    bounds = [(start, min(start + chunk_size, len(texts))) for start in range(0, len(texts), chunk_size)]
    chunks = [list(texts[a:b]) for a, b in bounds]
    if use_ray:
        parts, backends = _run_on_ray(model_path, backend, chunks, max_tokens, batch_size, on_progress)
    else:
        import torch

        parts, backends, done = [], [], 0
        for chunk in chunks:
            vectors, used = encode_chunk(
                str(model_path), backend, chunk, torch.get_num_threads(), max_tokens, batch_size
            )
            parts.append(vectors)
            backends.append(used)
            done += len(chunk)
            if on_progress is not None:
                on_progress(done, len(texts))
    if not parts:
        raise ValueError("no texts to encode")
    return np.concatenate(parts), "+".join(sorted(set(backends)))


def encode_documents(
    corpus: CorpusPath,
    *,
    model: str | os.PathLike[str] | None = DEFAULT_MODEL,
    backend: Backend = "auto",
    batch_size: int = MAX_BATCH,
    max_tokens: int = MAX_TOKENS,
    chunk_size: int = CHUNK_SIZE,
    use_ray: bool = True,
    on_progress: Progress | None = None,
) -> Encoded:
    """Check and read the corpus, then encode it (see :func:`encode_texts`)."""
    ids, texts = read_corpus(corpus)
    model_path = resolve_model(model)
    started = time.perf_counter()
    vectors, used = encode_texts(
        texts,
        model=model_path,
        backend=backend,
        batch_size=batch_size,
        max_tokens=max_tokens,
        chunk_size=chunk_size,
        use_ray=use_ray,
        on_progress=on_progress,
    )
    return Encoded(ids, vectors, used, time.perf_counter() - started, model_path)


def _run_on_ray(
    model_path: Path,
    backend: Backend,
    chunks: list[list[str]],
    max_tokens: int,
    max_batch: int,
    on_progress: Progress | None,
) -> tuple[list[np.ndarray], list[str]]:
    """Submit one task per chunk; collect the results in chunk order, reporting as they finish."""
    from ragbench.jobs.cluster import ensure_ray, gpu_count

    ray = ensure_ray()
    gpus = gpu_count()
    task = ray.remote(encode_chunk).options(
        name="encode_chunk", num_cpus=1, num_gpus=1 if gpus else 0, max_retries=MAX_RETRIES
    )
    # One thread per task, the CPU Ray reserved for it (the vectors do not depend on the count).
    refs = [task.remote(str(model_path), backend, chunk, 1, max_tokens, max_batch) for chunk in chunks]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(refs)
    total, done = sum(map(len, chunks)), 0
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            i = index[ref]
            results[i] = ray.get(ref)
            done += len(chunks[i])
            if on_progress is not None:
                on_progress(done, total)
    return [r[0] for r in results], [r[1] for r in results]

"""Dense retrieval: a corpus encoded with a sentence-transformers model into FAISS shards, and a
retriever that searches them.

An index is a directory::

    manifest.json       DenseManifest: model, corpus hash, dimension, index type, shards, timings
    doc_ids.txt         one document id per line, in corpus order (ids never hold whitespace)
    shard-000.faiss     FAISS index over a contiguous slice of doc_ids.txt; more when shards > 1

The manifest is written last, so a build that died half-way leaves a directory that does not
load. Loading checks it: a corpus whose bytes differ from the ones indexed, or a different model,
is an :class:`~ragbench.errors.InputError` naming both files, never a silently wrong run.

Vectors are L2-normalised and searched by inner product, so scores are cosine similarities
(all-MiniLM-L6-v2 is trained for cosine). Encoding: :mod:`indexers.dense_encode`; the model and its
ONNX fast path: :mod:`indexers.dense_model`; FAISS: :mod:`indexers.dense_faiss`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from indexers.dense_encode import CHUNK_SIZE, Progress, encode_documents
from indexers.dense_faiss import (
    INDEX_TYPES,
    build_shard,
    ivfpq_params,
    load_shard,
    save_shard,
    search_shard,
    shard_bounds,
)
from indexers.dense_model import DEFAULT_MODEL, MAX_BATCH, Backend, cached_encoder, resolve_model
from ragbench.errors import InputError
from ragbench.formats.corpus import CorpusPath, corpus_hash
from ragbench.jobs.ranking import Ranking, sort_hits

__all__ = [
    "DEFAULT_MODEL",
    "DenseManifest",
    "DenseRetriever",
    "build_dense_index",
    "encode_corpus",
    "resolve_model",
]

MANIFEST = "manifest.json"
DOC_IDS = "doc_ids.txt"
FORMAT = 1


def shard_file(i: int) -> str:
    return f"shard-{i:03d}.faiss"


@dataclass(frozen=True)
class DenseManifest:
    """What an index was built from and how; ``<index_dir>/manifest.json``."""

    model: str
    """The model as given to the build (a name or a path)."""
    model_path: str
    """The directory it resolved to."""
    corpus: str
    corpus_hash: str
    """SHA-256 of the corpus file's bytes (:func:`ragbench.formats.corpus.corpus_hash`)."""
    doc_count: int
    dimension: int
    index_type: str
    index_params: dict[str, Any]
    shards: int
    shard_sizes: list[int]
    normalized: bool
    metric: str
    encode_backend: str
    """``bf16``, ``onnx`` or ``torch``: what made the document vectors (queries: always float32)."""
    build_seconds: float
    encode_seconds: float
    created: str
    ragbench_version: str
    faiss_version: str
    sentence_transformers_version: str
    torch_version: str
    format: int = FORMAT

    def save(self, index_dir: Path) -> None:
        (index_dir / MANIFEST).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, index_dir: str | os.PathLike[str]) -> DenseManifest:
        """Read ``<index_dir>/manifest.json``.

        Raises:
            InputError: no manifest (not a dense index, or a build that did not finish), bad JSON,
                missing keys, or a format this version does not read.
        """
        path = Path(index_dir) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"{path}: no such file: {index_dir} is not a dense index (or its build did not finish)"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: cannot read the index manifest: {exc}") from None
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict):
            raise InputError(f"{path}: not a dense index manifest (a JSON object is expected)")
        missing = sorted(names - set(data) - {"format"})
        if missing:
            raise InputError(f"{path}: not a dense index manifest (missing {', '.join(missing)})")
        if data.get("format", FORMAT) != FORMAT:
            raise InputError(f"{path}: index format {data['format']} is not {FORMAT}: rebuild the index")
        return cls(**{k: v for k, v in data.items() if k in names})

    def check_corpus(self, index_dir: str | os.PathLike[str], corpus: CorpusPath) -> None:
        """Raise InputError naming both files when ``corpus`` is not the one indexed."""
        actual = corpus_hash(corpus)
        if actual != self.corpus_hash:
            raise InputError(
                f"{Path(index_dir) / MANIFEST}: corpus hash {self.corpus_hash[:12]}… does not match "
                f"{corpus} ({actual[:12]}…): the index was built from {self.corpus}; rebuild the index"
            )


def encode_corpus(
    corpus: CorpusPath,
    *,
    model: str | os.PathLike[str] | None = DEFAULT_MODEL,
    batch_size: int = MAX_BATCH,
    chunk_size: int = CHUNK_SIZE,
    use_ray: bool = True,
    on_progress: Progress | None = None,
    backend: Backend = "auto",
) -> tuple[list[str], np.ndarray]:
    """Doc ids in corpus order and their unit-length float32 vectors ``[n, d]``.

    The corpus is checked in full first (FormatError with file and line). With ``use_ray`` each
    chunk of ``chunk_size`` documents is a Ray task (one CPU, or one GPU when the cluster has
    them, re-run if its worker dies); the vectors are the same either way. ``batch_size`` caps the
    documents per batch; batches are otherwise cut by tokens (see :mod:`indexers.dense_model`).
    ``on_progress(done, total)`` is called in this process as chunks finish.
    """
    encoded = encode_documents(
        corpus,
        model=model,
        backend=backend,
        batch_size=batch_size,
        chunk_size=chunk_size,
        use_ray=use_ray,
        on_progress=on_progress,
    )
    return encoded.doc_ids, encoded.vectors


def build_dense_index(
    corpus: CorpusPath,
    index_dir: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = DEFAULT_MODEL,
    index_type: str = "flat",
    shards: int = 1,
    use_ray: bool = True,
    batch_size: int = MAX_BATCH,
    chunk_size: int = CHUNK_SIZE,
    hnsw_m: int = 32,
    ef_construction: int = 200,
    nlist: int | None = None,
    pq_m: int | None = None,
    seed: int = 0,
    backend: Backend = "auto",
    on_progress: Progress | None = None,
    overwrite: bool = False,
) -> DenseManifest:
    """Encode ``corpus`` and write a FAISS index of ``shards`` contiguous slices to ``index_dir``.

    Args:
        index_type: ``flat`` (exact), ``hnsw`` (graph; ``hnsw_m``, ``ef_construction``) or
            ``ivfpq`` (``nlist`` lists, ``pq_m`` sub-quantisers; defaults in
            :func:`indexers.dense_faiss.ivfpq_params`, trained with ``seed``).
        shards: how many indexes the vectors are split into; a search merges them, and for Flat
            the merged ranking is the one of a single index.
        overwrite: replace an index already in ``index_dir``.

    Raises:
        InputError: an unknown index type, a bad shard count, an index already there.
        FormatError: the corpus is missing or bad (file and line), before any encoding.
    """
    started = time.perf_counter()
    if index_type not in INDEX_TYPES:
        raise InputError(f"unknown index type {index_type!r}: expected one of {', '.join(INDEX_TYPES)}")
    if shards < 1:
        raise InputError(f"shards must be at least 1, not {shards}")
    out = Path(index_dir)
    if (out / MANIFEST).exists() and not overwrite:
        raise InputError(f"{out / MANIFEST}: an index is already there (pass overwrite to replace it)")
    model_path = resolve_model(model)
    encoded = encode_documents(
        corpus,
        model=model_path,
        backend=backend,
        batch_size=batch_size,
        chunk_size=chunk_size,
        use_ray=use_ray,
        on_progress=on_progress,
    )
    n, d = encoded.vectors.shape
    if shards > n:
        raise InputError(f"{corpus}: {shards} shards for {n} documents: at most one shard per document")
    bounds = shard_bounds(n, shards)
    params: dict[str, Any] = {}
    if index_type == "hnsw":
        params = {"hnsw_m": hnsw_m, "ef_construction": ef_construction}
    elif index_type == "ivfpq":
        params = ivfpq_params(min(b - a for a, b in bounds), d, nlist, pq_m)
    out.mkdir(parents=True, exist_ok=True)
    for old in [out / MANIFEST, *out.glob("shard-*.faiss")]:  # only our files: index_dir may hold others
        old.unlink(missing_ok=True)
    (out / DOC_IDS).write_text("".join(f"{doc_id}\n" for doc_id in encoded.doc_ids), encoding="utf-8")
    for i, (a, b) in enumerate(bounds):
        save_shard(build_shard(encoded.vectors[a:b], index_type, params, seed), out / shard_file(i))
    manifest = DenseManifest(
        model=str(model if model is not None else DEFAULT_MODEL),
        model_path=str(encoded.model_path),
        corpus=str(corpus),
        corpus_hash=corpus_hash(corpus),
        doc_count=n,
        dimension=d,
        index_type=index_type,
        index_params={**params, "seed": seed} if index_type == "ivfpq" else params,
        shards=shards,
        shard_sizes=[b - a for a, b in bounds],
        normalized=True,
        metric="ip",
        encode_backend=encoded.backend,
        build_seconds=time.perf_counter() - started,
        encode_seconds=encoded.seconds,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        **_versions(),
    )
    manifest.save(out)
    return manifest


class DenseRetriever:
    """Search a dense index (implements :class:`ragbench.jobs.protocols.Retriever`).

    Args:
        index_dir: a directory written by :func:`build_dense_index`.
        corpus: when given, its hash must match the manifest's.
        model: when given, must be the model the index was built with (name or directory).
        ef_search: HNSW search breadth (default :data:`indexers.dense_faiss.DEFAULT_EF_SEARCH`).
        nprobe: IVF lists visited per query (default: the manifest's).
        device: ``cpu`` keeps everything on the CPU; otherwise FAISS uses its GPUs when it sees
            any, and the query encoder the torch device given (CUDA when torch sees one).

    Raises:
        InputError: no or a bad manifest, another corpus, another model, missing shard files.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        *,
        corpus: CorpusPath | None = None,
        model: str | os.PathLike[str] | None = None,
        ef_search: int | None = None,
        nprobe: int | None = None,
        device: str | None = None,
        name: str = "dense",
    ) -> None:
        import faiss

        self.name = name
        self.index_dir = Path(index_dir)
        self.manifest = manifest = DenseManifest.load(index_dir)
        if corpus is not None:
            manifest.check_corpus(index_dir, corpus)
        self.model_path = self._model_path(model)
        self.device = device
        ids_path = self.index_dir / DOC_IDS
        try:
            self.doc_ids = ids_path.read_text(encoding="utf-8").split("\n")[:-1]
        except OSError as exc:
            raise InputError(f"{ids_path}: cannot read the index's document ids: {exc}") from None
        if len(self.doc_ids) != manifest.doc_count:
            raise InputError(
                f"{ids_path}: {len(self.doc_ids)} ids, the manifest says {manifest.doc_count}: "
                "rebuild the index"
            )
        use_gpu = device != "cpu" and faiss.get_num_gpus() > 0
        self.offsets = [a for a, _ in shard_bounds(manifest.doc_count, manifest.shards)]
        self.shards = []
        for i in range(manifest.shards):
            path = self.index_dir / shard_file(i)
            if not path.is_file():
                raise InputError(f"{path}: shard {i} of {manifest.shards} is missing: rebuild the index")
            self.shards.append(
                load_shard(
                    path,
                    manifest.index_type,
                    ef_search=ef_search,
                    nprobe=nprobe or manifest.index_params.get("nprobe"),
                    use_gpu=use_gpu,
                )
            )

    def _model_path(self, model: str | os.PathLike[str] | None) -> Path:
        """The index's model directory, after checking that ``model`` (if given) is that model."""
        m = self.manifest
        built = Path(m.model_path) if Path(m.model_path).is_dir() else resolve_model(m.model)
        if model is not None and str(model) != m.model and resolve_model(model) != built.resolve():
            raise InputError(
                f"{self.index_dir / MANIFEST}: the index was built with model {m.model} ({m.model_path}), "
                f"not {model}: rebuild the index or use its model"
            )
        return built

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Unit-length query vectors, made in this process by the index's model.

        Float32, in batches of queries of equal token length (no padding), so that a query's
        vector is the same bits whichever other queries are encoded with it: a pipeline may
        split its topics over tasks and still write the run of the single-process path.
        """
        if not texts:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        encoder = cached_encoder(self.model_path, "float32", device=self.device)
        return encoder.encode(texts, same_length=True)

    def search(self, queries: Mapping[str, str], k: int) -> Ranking:
        """The top ``k`` documents per query, sorted by score then doc id (:func:`sort_hits`)."""
        if k < 1:
            raise InputError(f"k must be at least 1, not {k}")
        qids = list(queries)
        vectors = self.encode_queries([queries[q] for q in qids])
        hits: list[list[tuple[str, float]]] = [[] for _ in qids]
        for offset, shard in zip(self.offsets, self.shards, strict=True):
            if not qids:
                break
            scores, rows = search_shard(shard, vectors, k)
            for qi in range(len(qids)):
                hits[qi].extend(
                    (self.doc_ids[offset + int(r)], float(s))
                    for s, r in zip(scores[qi], rows[qi], strict=True)
                    if r >= 0
                )
        return {qid: sort_hits(h, k) for qid, h in zip(qids, hits, strict=True)}


class _Versions(TypedDict):
    """The library versions a manifest records (its ``*_version`` fields)."""

    ragbench_version: str
    faiss_version: str
    sentence_transformers_version: str
    torch_version: str


def _versions() -> _Versions:
    import faiss
    import sentence_transformers
    import torch

    import ragbench

    return {
        "ragbench_version": ragbench.__version__,
        "faiss_version": faiss.__version__,
        "sentence_transformers_version": sentence_transformers.__version__,
        "torch_version": torch.__version__,
    }

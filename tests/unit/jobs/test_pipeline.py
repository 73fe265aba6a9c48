"""ray_decision: Ray only when it pays (an LM stage, topics x depth, a corpus to index), or when asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragbench.jobs.config import load_pipeline
from ragbench.jobs.pipeline import ray_decision
from ragbench.settings import get_settings

BASE = """name: bm25
corpus: corpus.jsonl
topics: topics.tsv
depth: {depth}
retrievers:
  - type: bm25
    index: idx/bm25
"""


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("RAY_ADDRESS", "RAGBENCH_RAY_MIN_HITS", "RAGBENCH_RAY_MIN_CORPUS_BYTES"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def config(tmp_path: Path, extra: str = "", depth: int = 1000, index: bool = True):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "topics.tsv").write_text("1\tx\n2\ty\n")
    (tmp_path / "corpus.jsonl").write_text('{"id": "d1", "contents": "x"}\n')
    if index:
        (tmp_path / "idx" / "bm25").mkdir(parents=True, exist_ok=True)
    (tmp_path / "p.yaml").write_text(BASE.format(depth=depth) + extra)
    return load_pipeline(tmp_path / "p.yaml")


def test_small_pipelines_run_in_process(tmp_path: Path) -> None:
    assert ray_decision(config(tmp_path), 2) == (
        False,
        "2 topics x depth 1000 = 2,000 < 1,000,000 (RAGBENCH_RAY_MIN_HITS); --ray runs it on Ray",
    )
    assert ray_decision(config(tmp_path), 999)[0] is False  # 999,000 hits


def test_from_the_hits_threshold_ray_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ray_decision(config(tmp_path), 1000) == (
        True,
        "1000 topics x depth 1000 >= 1,000,000 (RAGBENCH_RAY_MIN_HITS)",
    )
    monkeypatch.setenv("RAGBENCH_RAY_MIN_HITS", "200")
    get_settings.cache_clear()
    assert ray_decision(config(tmp_path, depth=100), 2)[0] is True
    assert ray_decision(config(tmp_path, depth=99), 2)[0] is False


def test_a_corpus_to_index_counts_only_when_an_index_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = len('{"id": "d1", "contents": "x"}\n')
    monkeypatch.setenv("RAGBENCH_RAY_MIN_CORPUS_BYTES", str(size))
    get_settings.cache_clear()
    assert ray_decision(config(tmp_path / "a", index=False), 2) == (
        True,
        f"indexing a corpus of {size:,} bytes (RAGBENCH_RAY_MIN_CORPUS_BYTES)",
    )
    assert ray_decision(config(tmp_path / "b", index=True), 2)[0] is False  # the index exists
    monkeypatch.setenv("RAGBENCH_RAY_MIN_CORPUS_BYTES", str(size + 1))
    get_settings.cache_clear()
    assert ray_decision(config(tmp_path / "c", index=False), 2)[0] is False


def test_an_lm_stage_uses_ray_and_rm3_does_not(tmp_path: Path) -> None:
    lm = "reranker: {type: blockrank, model: m}\n"
    assert ray_decision(config(tmp_path / "a", lm), 2) == (
        True,
        "an LM stage (reranker blockrank) runs per query",
    )
    rm3 = "rewriter: {type: rm3, index: idx/bm25}\n"
    assert ray_decision(config(tmp_path / "b", rm3), 2)[0] is False


def test_asking_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = config(tmp_path / "a")
    assert ray_decision(small, 2, requested=True) == (True, "asked for")
    lm = config(tmp_path / "b", "reranker: {type: blockrank, model: m}\n")
    assert ray_decision(lm, 2, requested=False) == (False, "--no-ray")
    assert ray_decision(config(tmp_path / "c", "ray: {enabled: true}\n"), 2) == (
        True,
        "the config's ray.enabled: true",
    )
    assert ray_decision(config(tmp_path / "d", "ray: {enabled: false}\n", depth=10**6), 2)[0] is False
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    assert ray_decision(small, 2) == (True, "RAY_ADDRESS names a cluster")
    assert ray_decision(small, 2, requested=False) == (False, "--no-ray")

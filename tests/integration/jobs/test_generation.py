"""A RAG pipeline end to end: BM25 (Lucene in a JVM) -> top 5 -> the packaged SmolLM2 writes cited
answers, in this process (JVM and torch side by side) and on Ray actors; the answers are a valid
TREC RAG file citing the top 5 documents of the stored ranking, the same bytes either way, and
stored as a RAG run of the benchmark."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")

from ragbench.formats.rag import read_rag
from ragbench.jobs.config import load_pipeline
from ragbench.jobs.pipeline import run_pipeline
from ragbench.settings import get_settings
from ragbench.store import service
from ragbench.store.db import make_engine, session_factory, upgrade
from ragbench.store.models import Run

TOPICS = {"10": "parallel languages", "19": "parallel algorithms"}
CONFIG = """name: {name}
benchmark: cacm
corpus: {data}/cacm.jsonl
topics: {topics}
qrels: {data}/qrels.cacm.txt
measures: [nDCG@10]
depth: 20
retrievers:
  - type: bm25
    index: {index}
generator: {{type: llm, backend: local, k: 5, max_words: 60, max_tokens: 24, doc_words: 30, cache: false}}
ray: {ray}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rag-pipeline")
    (path / "topics.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in TOPICS.items()))
    return path


def write(workdir: Path, cacm_data: Path, name: str, ray: str) -> Path:
    path = workdir / f"{name}.yaml"
    path.write_text(
        CONFIG.format(
            name=name, data=cacm_data, topics=workdir / "topics.tsv", index=workdir / "bm25", ray=ray
        )
    )
    return path


@pytest.fixture
def database(tmp_path: Path, cacm_data: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SQLite store with benchmark ``cacm`` (the two topics) and a one-nugget-per-topic set."""
    url = f"sqlite:///{tmp_path / 'ragbench.db'}"
    upgrade(url)
    monkeypatch.setenv("RAGBENCH_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s, s.begin():
            admin = service.local_admin(s)
            service.create_benchmark(
                s, admin, "cacm", qrels_text=(cacm_data / "qrels.cacm.txt").read_text(),
                topics_text="".join(f"{q}\t{t}\n" for q, t in TOPICS.items()),
            )  # fmt: skip
            nuggets = {"topics": {q: [{"text": t, "importance": "vital"}] for q, t in TOPICS.items()}}
            service.add_nugget_set(s, admin, "cacm", json.dumps(nuggets))
    finally:
        engine.dispose()
    yield url
    get_settings.cache_clear()


def test_bm25_top5_generator_in_process_and_on_ray(workdir: Path, cacm_data: Path, database: str) -> None:
    local = run_pipeline(load_pipeline(write(workdir, cacm_data, "rag-local", "false")), use_ray=False)
    assert local.answers_bytes is not None and local.rag_run_id is not None, local.stored_note
    answers = read_rag(local.answers_bytes, name="answers.jsonl", topics=TOPICS)
    assert set(answers.answers) == set(TOPICS)
    for topic, answer in answers.answers.items():
        # the references are the top 5 of the ranking the pipeline stored, in rank order
        assert list(answer.references) == [doc for doc, _ in local.ranking[topic][:5]]
        assert answer.sentences, f"topic {topic}: no sentence"
        assert all(0 <= c < 5 for sentence in answer.sentences for c in sentence.citations)
    assert Path(local.answers_path or "").read_bytes() == local.answers_bytes
    stats = local.stage_stats["generate llm"]
    assert set(stats) == set(TOPICS) and all(row["lm_calls"] == 1 for row in stats.values())
    engine = make_engine(database)
    try:
        with session_factory(engine)() as s:
            stored = s.get(Run, local.rag_run_id)
            assert stored is not None and stored.kind == "rag" and stored.status == "pending"
            assert service.get_run(s, local.rag_run_id).num_topics == len(TOPICS)
    finally:
        engine.dispose()

    on_ray = run_pipeline(
        load_pipeline(
            write(workdir, cacm_data, "rag-local", "{enabled: true, parallelism: 1, batch_size: 1}")
        ),
        use_ray=True,
        store=False,
    )
    assert on_ray.answers_bytes == local.answers_bytes  # greedy: the same answers on an actor
    assert sum(row["lm_calls"] for row in on_ray.stage_stats["generate llm"].values()) == len(TOPICS)

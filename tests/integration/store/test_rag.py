"""RAG runs in the store, judged by the worker with the packaged SmolLM2: every citation judged and
stored with its provenance, the per-topic scores computed from those labels; then new ad hoc
qrels re-score the runs' reference measures from the stored judgments, with no LM call."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from ragbench.settings import get_settings
from ragbench.store import service
from ragbench.store.models import RagJudgment, Run, Score, User

pytest.importorskip("torch")

TOPICS = "t1\ttime sharing systems\nt2\tcompilers for parallel machines\n"
CORPUS = {
    "d1": "Time sharing lets many users share one computer at the same time.",
    "d2": "A compiler translates a program into machine code.",
    "d3": "Parallel machines run many instructions at once; their compilers must schedule them.",
}
QRELS_1 = "t1 0 d1 2\nt1 0 d2 0\nt2 0 d3 1\n"
QRELS_2 = "t1 0 d1 0\nt1 0 d2 2\nt2 0 d3 1\nt2 0 d1 3\n"
NUGGETS = {
    "topics": {
        "t1": [{"text": "many users share one computer", "importance": "vital"}, "it is interactive"],
        "t2": [{"text": "compilers schedule instructions", "importance": "vital"}],
    }
}
ANSWERS = [
    {"run_id": "r", "topic_id": "t1", "topic": "time sharing systems", "references": ["d1", "d2"],
     "answer": [{"text": "Many users share one computer.", "citations": [0, 1]}]},
    {"run_id": "r", "topic_id": "t2", "topic": "compilers for parallel machines", "references": ["d3", "d1"],
     "answer": [{"text": "Compilers schedule instructions.", "citations": [0]},
                {"text": "Time sharing is old.", "citations": [1]}]},
]  # fmt: skip
MEASURES = ["NuggetWeighted", "SupportPrecision", "SupportRecall", "RefnDCG@3"]
WEIGHT = {"full": 1.0, "partial": 0.5, "no": 0.0}
SCORE = {"support": 1.0, "partial_support": 0.5, "not_support": 0.0}


def ndcg(grades: list[int], judged: list[int]) -> float:
    """trec_eval's ndcg_cut (gain = grade, log2(rank + 1) discount), by hand."""
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(grades[:3]))
    ideal = sorted(judged, reverse=True)[:3]
    return dcg / sum(g / math.log2(i + 2) for i, g in enumerate(ideal))


@pytest.fixture(scope="module")
def lm_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("lm") / "lm.sqlite")  # shared by the SQLite and PostgreSQL cases


def judge_with(monkeypatch: pytest.MonkeyPatch, config: dict) -> None:
    monkeypatch.setenv("RAGBENCH_RAG_JUDGE", json.dumps(config))
    get_settings.cache_clear()


def scores(factory, run_id: int) -> dict[tuple[str, str], float]:
    with factory() as s:
        return {
            (r.measure, r.query_id): r.value for r in s.scalars(select(Score).where(Score.run_id == run_id))
        }


def test_worker_judges_a_rag_run_then_new_qrels_rescore_references(
    factory, users: dict[str, User], run_in: Callable[..., object], tmp_path: Path, lm_cache: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "contents": v}) + "\n" for k, v in CORPUS.items()))
    judge_with(monkeypatch, {"backend": "local", "device": "cpu", "cache": lm_cache, "answer_words": 40})
    run_in(service.create_benchmark, users["root"], "rb", qrels_text=QRELS_1, topics_text=TOPICS,
           corpus_ref=str(corpus))  # fmt: skip
    run_in(service.add_nugget_set, users["root"], "rb", json.dumps(NUGGETS), measures=MEASURES)
    data = "".join(json.dumps(a) + "\n" for a in ANSWERS).encode()
    run_id = run_in(service.submit_run, users["alice"], "rb", data, name="r", kind="rag").id
    assert service.process_pending(factory) == 1
    with factory() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "scored", run.error
        stored = {j.topic_id: j for j in s.scalars(select(RagJudgment).where(RagJudgment.run_id == run_id))}
        first_ids = {t: j.id for t, j in stored.items()}
    assert set(stored) == {"t1", "t2"}
    got = scores(factory, run_id)
    for answer in ANSWERS:
        topic = answer["topic_id"]
        judged = stored[topic].judgments
        support = [r for r in judged["records"] if r["task"] == "support"]
        pairs = {(si, ci) for si, s in enumerate(answer["answer"]) for ci in range(len(s["citations"]))}
        assert {(r["sentence"], r["citation"]) for r in support} == pairs  # every citation judged
        for record in judged["records"]:
            prov = record["provenance"]
            assert (
                prov["backend"] == "local"
                and prov["model"] == "SmolLM2-135M-Instruct"
                and prov["prompt_hash"]
            )
        if judged["support"] is not None:  # by hand from the stored labels
            w = [[WEIGHT[label] for label in row] for row in judged["support"]]
            assert got[("SupportPrecision", topic)] == pytest.approx(sum(map(sum, w)) / sum(map(len, w)))
            assert got[("SupportRecall", topic)] == pytest.approx(sum(max(r) for r in w) / len(w))
        else:
            assert stored[topic].failed and ("SupportPrecision", topic) not in got
        if judged["nuggets"] is not None:
            important = [n if isinstance(n, str) else n["importance"] for n in NUGGETS["topics"][topic]]
            vital = [SCORE[a] for a, i in zip(judged["nuggets"], important, strict=True) if i == "vital"]
            okay = [SCORE[a] for a, i in zip(judged["nuggets"], important, strict=True) if i != "vital"]
            expected = (sum(vital) + 0.5 * sum(okay)) / (len(vital) + 0.5 * len(okay))
            assert got[("NuggetWeighted", topic)] == pytest.approx(expected)
    assert got[("RefnDCG@3", "t1")] == pytest.approx(ndcg([2, 0], [2, 0]))
    assert got[("RefnDCG@3", "t2")] == pytest.approx(ndcg([1, 0], [1]))

    # New ad hoc qrels: RefnDCG re-scored now from the stored judgments; the judge is unreachable,
    # so any LM call would fail the run.
    judge_with(
        monkeypatch, {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "retries": 0}
    )
    run_in(service.add_qrels_version, users["root"], "rb", QRELS_2)
    with factory() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "scored", run.error
        again = {j.topic_id: j.id for j in s.scalars(select(RagJudgment).where(RagJudgment.run_id == run_id))}
    assert again == first_ids  # the same judgment rows: nothing was judged again
    rescored = scores(factory, run_id)
    assert rescored[("RefnDCG@3", "t1")] == pytest.approx(ndcg([0, 2], [0, 2]))
    assert rescored[("RefnDCG@3", "t2")] == pytest.approx(ndcg([1, 3], [1, 3]))
    for key, value in got.items():
        if not key[0].startswith("Ref"):
            assert rescored[key] == pytest.approx(value)

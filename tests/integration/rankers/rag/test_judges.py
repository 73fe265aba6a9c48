"""Every LM path of the RAG judges end to end, with the packaged SmolLM2 in this process and through
a real ``transformers serve`` of it: nugget creation from a topic's relevant CACM documents,
importance, assignment, support for every citation of every sentence, claim extraction and
checking. At temperature 0 the served model says what the local one says, so both give the same
judgments (the served model assigns the local run's nuggets and judges every citation's support;
nugget creation and claims go through the same client call, so they are left to the local run to
keep CI short); a
rerun on the same cache asks no model and gives the same numbers; an unreadable reply is a counted
failure, never a 0. Replies are kept short (few nuggets and claims, 24-token lists)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from support.lm_server import completion, scripted_server

from ragbench.evaluation.rag import evaluate_rag
from ragbench.formats.corpus import iter_corpus
from ragbench.formats.rag import read_rag
from ragbench.formats.trec import read_qrels
from rankers.lm import open_client
from rankers.rag.judges import RagJudge

TOPIC, QUERY = "10", "parallel languages"
SIZES = {"doc_words": 30, "answer_words": 60, "max_nuggets": 2, "max_claims": 2, "list_tokens": 24}
WEIGHT = {"full": 1.0, "partial": 0.5, "no": 0.0}
HASH = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def texts(cacm_data: Path) -> dict[str, str]:
    return {d.doc_id: d.contents for d in iter_corpus(cacm_data / "cacm.jsonl")}


@pytest.fixture(scope="module")
def relevant(cacm_data: Path) -> list[str]:
    qrels = read_qrels(cacm_data / "qrels.cacm.txt")
    found = sorted(
        qrels.strings[d]
        for q, d, g in zip(qrels.query.tolist(), qrels.doc.tolist(), qrels.relevance.tolist(), strict=True)
        if qrels.strings[q] == TOPIC and g >= 1
    )
    return found[:2]


def answers(relevant: list[str]) -> Any:
    """Two sentences: the first cites [0], the second [0] and [1] (three citations to judge)."""
    line = {
        "run_id": "hand", "topic_id": TOPIC, "topic": QUERY, "references": relevant,
        "answer": [{"text": "Parallel languages express concurrent computation.", "citations": [0]},
                   {"text": "Several such languages have been designed.", "citations": [0, 1]}],
    }  # fmt: skip
    return read_rag(json.dumps(line).encode() + b"\n", name="hand.jsonl")


def qa_run() -> Any:
    line = {
        "query_id": TOPIC, "query": QUERY, "response": "Parallel languages let programs run tasks at once.",
        "gt_answer": "Parallel languages describe computations that run concurrently on many processors.",
    }  # fmt: skip
    return read_rag(json.dumps(line).encode() + b"\n", name="qa.jsonl")


def judge_everything(
    client: Any, texts: dict[str, str], relevant: list[str], claims: bool = True, nuggets: Any = None
) -> dict[str, Any]:
    """Create nuggets (unless given), judge the answers against them, extract and check claims."""
    judge = RagJudge(client, **SIZES)
    if nuggets is None:
        nuggets = judge.create_nuggets({TOPIC: QUERY}, {TOPIC: [texts[d] for d in relevant]})
    run = answers(relevant)
    judged = judge.judge(run, nuggets=nuggets, passages={d: texts[d] for d in relevant})
    found = {"nuggets": nuggets, "run": run, "judged": judged[TOPIC]}
    if claims:
        found["claims"] = judge.judge(qa_run(), parts=("claims",))[TOPIC]
    return found


def labels(found: dict[str, Any]) -> dict[str, Any]:
    """What the judges decided (not when or whether from the cache)."""
    decided = {
        "nuggets": [(n.text, n.importance) for n in found["nuggets"].topics[TOPIC]],
        "importance_failures": found["nuggets"].meta["importance_failures"],
        "assigned": found["judged"].nuggets,
        "support": found["judged"].support,
        "errors": dict(found["judged"].errors),
        "replies": [r["reply"] for r in found["judged"].records],
    }
    if "claims" in found:
        decided["claims"] = (found["claims"].response_claims, found["claims"].reference_claims)
        decided["claim_errors"] = dict(found["claims"].errors)
        decided["claim_replies"] = [r["reply"] for r in found["claims"].records]
    return decided


@pytest.fixture(scope="module")
def local(
    texts: dict[str, str], relevant: list[str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    cache = tmp_path_factory.mktemp("lm") / "lm.sqlite"
    client = open_client({"backend": "local", "device": "cpu", "cache": str(cache)})
    found = judge_everything(client, texts, relevant)
    found["usage"] = client.pop_usage()
    found["rerun"] = judge_everything(client, texts, relevant)
    found["rerun_usage"] = client.pop_usage()
    return found


def check_provenance(record: dict[str, Any], backend: str) -> None:
    prov = record["provenance"]
    assert prov["backend"] == backend and prov["model"] and HASH.match(prov["prompt_hash"])
    assert prov["params"]["temperature"] == 0.0 and prov["params"]["max_tokens"] in (8, SIZES["list_tokens"])


def test_every_judgment_of_the_local_backend(local: dict[str, Any]) -> None:
    nuggets, judged, claims = local["nuggets"], local["judged"], local["claims"]
    made = nuggets.topics[TOPIC]
    assert len(made) + nuggets.meta["importance_failures"] <= SIZES["max_nuggets"]
    for nugget in made:  # created from the relevant documents, labelled, with both provenances
        assert nugget.importance in ("vital", "okay") and nugget.source == "llm"
        assert nugget.provenance["text"]["backend"] == nugget.provenance["importance"]["backend"] == "local"
    assign = [r for r in judged.records if r["task"] == "assign"]
    assert [r["nugget"] for r in assign] == list(range(len(made)))
    if "nuggets" in judged.errors:  # an unreadable reply: the part failed, no label invented
        assert judged.nuggets is None and any(r["label"] is None for r in assign)
    else:
        assert judged.nuggets == tuple(r["label"] for r in assign)
    # every citation of every sentence was judged, not only the first
    support = [r for r in judged.records if r["task"] == "support"]
    assert {(r["sentence"], r["citation"]) for r in support} == {(0, 0), (1, 0), (1, 1)}
    for record in judged.records + claims.records:
        check_provenance(record, "local")
    scores = evaluate_rag(local["run"], ["SupportPrecision", "SupportRecall"], judgments={TOPIC: judged})
    if judged.support is None:
        assert (
            math.isnan(scores.per_query["SupportPrecision"][0])
            and "failed" in scores.notes["SupportPrecision"]
        )
    else:  # by hand from the labels: precision over the 3 citations, recall over the 2 sentences
        w = [[WEIGHT[label] for label in row] for row in judged.support]
        assert scores.aggregate["SupportPrecision"] == pytest.approx((w[0][0] + w[1][0] + w[1][1]) / 3)
        assert scores.aggregate["SupportRecall"] == pytest.approx((w[0][0] + max(w[1])) / 2)
    tasks = {r["task"] for r in claims.records}
    assert {"claims: answer", "claims: reference"} <= tasks
    if "claims" not in claims.errors:
        assert claims.response_claims is not None and claims.reference_claims is not None
        assert tasks >= {"check: response_claims", "check: reference_claims"}


def test_a_rerun_on_the_same_cache_asks_no_model(local: dict[str, Any]) -> None:
    assert local["usage"].calls > 0 and local["usage"].failures == 0
    assert (local["rerun_usage"].calls, local["rerun_usage"].cached) == (0, local["usage"].calls)
    assert labels(local["rerun"]) == labels(local)


def test_the_served_model_judges_the_same(
    local: dict[str, Any],
    served_smollm2: tuple[str, str],
    texts: dict[str, str],
    relevant: list[str],
    tmp_path: Path,
) -> None:
    url, model = served_smollm2
    client = open_client(
        {"backend": "openai", "base_url": url, "model": model, "cache": str(tmp_path / "c.sqlite")}
    )
    served = judge_everything(client, texts, relevant, claims=False, nuggets=local["nuggets"])
    assert client.pop_usage().calls == len(local["judged"].records)  # one call per assignment and citation
    for record in served["judged"].records:
        check_provenance(record, "openai")
    expected = {k: v for k, v in labels(local).items() if not k.startswith("claim")}
    assert labels(served) == expected


def test_unreadable_replies_are_counted_failures(
    relevant: list[str], texts: dict[str, str], tmp_path: Path
) -> None:
    def nonsense(body: dict) -> tuple[int, bytes, float]:
        return 200, completion("Banana."), 0.0

    with scripted_server(nonsense) as (url, received):
        client = open_client({"backend": "openai", "base_url": url, "model": "m", "cache": False})
        judge = RagJudge(client, **SIZES)
        nuggets = judge.create_nuggets({TOPIC: QUERY}, {TOPIC: [texts[d] for d in relevant]})
        assert nuggets.count == 0 and nuggets.meta["topics_without_nuggets"] == [TOPIC]
        from ragbench.evaluation.rag import Nugget, NuggetSet

        given = NuggetSet({TOPIC: (Nugget("parallel languages exist", "vital"),)}, {TOPIC: QUERY})
        run = answers(relevant)
        judged = judge.judge(run, nuggets=given, passages={d: texts[d] for d in relevant})[TOPIC]
        claims = judge.judge(qa_run(), parts=("claims",))[TOPIC]
    assert set(judged.errors) == {"nuggets", "support"} and judged.nuggets is None and judged.support is None
    assert "claims" in claims.errors
    assert len(received) == 1 + 1 + 3 + 2  # create; assign; 3 citations; 2 claim lists
    scores = evaluate_rag(
        run, ["NuggetWeighted", "SupportPrecision"], judgments={TOPIC: judged}, nuggets=given
    )
    for measure in ("NuggetWeighted", "SupportPrecision"):
        assert math.isnan(scores.per_query[measure][0])  # not a 0
        assert "1 answer(s) failed" in scores.notes[measure]

"""evaluate_rag: per-topic values, failures and undefined topics left out and counted, missing
answers 0, reference measures equal to the engine's on the same ranking."""

from __future__ import annotations

import json
import math

import pytest

import ragbench
from ragbench.errors import MeasureError
from ragbench.evaluation.rag import AnswerJudgments, Nugget, NuggetSet, evaluate_rag
from ragbench.evaluation.registry import canonical, kind_of
from ragbench.formats.rag import read_rag

LINES = [
    {"run_id": "r", "topic_id": "1", "topic": "a", "references": ["d1", "d2", "d3"],
     "answer": [{"text": "One two three.", "citations": [0, 1]}, {"text": "Four.", "citations": [2]}]},
    {"run_id": "r", "topic_id": "2", "topic": "b", "references": ["d4"], "answer": [{"text": "Five six.", "citations": [0]}]},
    {"run_id": "r", "topic_id": "3", "topic": "c", "references": [], "answer": [{"text": "Seven.", "citations": []}]},
]  # fmt: skip
RUN = read_rag("\n".join(json.dumps(x) for x in LINES).encode())
NUGGETS = NuggetSet({
    "1": (Nugget("x", "vital"), Nugget("y", "okay")),
    "2": (Nugget("z", "okay"),),                       # no vital nugget
    "3": (Nugget("w", "vital"),),
    "4": (Nugget("v", "vital"),),                      # not answered: 0
})  # fmt: skip
JUDGED = {
    "1": AnswerJudgments(nuggets=("support", "partial_support"), support=(("full", "partial"), ("no",))),
    "2": AnswerJudgments(nuggets=("support",), support=(("full",),)),
    "3": AnswerJudgments(errors={"nuggets": "unreadable"}, support=()),
}
QRELS = {"1": {"d1": 1, "d3": 2, "d9": 1}, "2": {"d4": 0}, "3": {"d8": 1}, "4": {"d7": 1}}


def test_values_per_topic_by_hand() -> None:
    names = [
        "NuggetAll",
        "NuggetVital",
        "NuggetWeighted",
        "SupportPrecision",
        "SupportRecall",
        "AnswerWords",
        "Citations",
    ]
    r = evaluate_rag(RUN, names, judgments=JUDGED, nuggets=NUGGETS)
    assert r.query_ids == ("1", "2", "3", "4")
    v = {m: r.per_query[m].tolist() for m in names}
    assert (
        v["NuggetAll"][0] == 0.75
        and v["NuggetAll"][1] == 1.0
        and math.isnan(v["NuggetAll"][2])
        and v["NuggetAll"][3] == 0
    )
    assert v["NuggetVital"][0] == 1.0 and math.isnan(v["NuggetVital"][1]) and v["NuggetVital"][3] == 0
    assert v["NuggetWeighted"][0] == pytest.approx(1.25 / 1.5)
    assert r.aggregate["NuggetAll"] == pytest.approx((0.75 + 1 + 0) / 3)  # the failed answer is left out
    assert "1 answer(s) failed to be judged and are not scored: 3" in r.notes["NuggetAll"]
    assert "have no vital nugget and are left out: 2" in r.notes["NuggetVital"]
    assert v["SupportPrecision"] == [pytest.approx(0.5), 1.0, 0.0, 0.0]
    assert v["SupportRecall"] == [pytest.approx(0.5), 1.0, 0.0, 0.0]
    assert v["AnswerWords"] == [4, 2, 1, 0] and v["Citations"] == [3, 1, 0, 0]


def test_reference_measures_equal_the_engine_on_the_same_ranking() -> None:
    from ragbench.formats.tables import QrelsTable

    r = evaluate_rag(RUN, ["RefnDCG@10", "RefJudged@2"], nuggets=NUGGETS, qrels=QrelsTable.from_dict(QRELS))
    ranking = {"1": {"d1": 3.0, "d2": 2.0, "d3": 1.0}, "2": {"d4": 1.0}}
    expected = ragbench.evaluate(QRELS, ranking, ["nDCG@10", "Judged@2"], complete=True)
    by_topic = dict(zip(expected.query_ids, expected.per_query["nDCG@10"].tolist(), strict=True))
    assert r.per_query["RefnDCG@10"].tolist() == [by_topic[t] for t in ("1", "2", "3", "4")]
    assert r.per_query["RefJudged@2"].tolist() == [0.5, 1.0, 0.0, 0.0]


def test_names_route_to_the_rag_kind() -> None:
    assert (
        kind_of("NuggetWeighted") == "rag" and kind_of("ClaimF1") == "rag" and kind_of("nDCG@10") == "adhoc"
    )
    assert canonical("RefnDCG@10") == "RefnDCG@10"
    with pytest.raises(MeasureError, match="needs a cutoff"):
        canonical("RefnDCG")
    with pytest.raises(MeasureError, match="takes no cutoff"):
        canonical("NuggetAll@5")

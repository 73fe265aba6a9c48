"""The nugget, support and claim formulas on hand-built answers, with hand-computed values."""

from __future__ import annotations

import math

import pytest

from ragbench.errors import FormatError, InputError
from ragbench.evaluation.rag import Nugget, NuggetSet, claim_scores, nugget_scores, support_scores


def test_nugget_scores_by_hand() -> None:
    # vital: support (1), partial (0.5); okay: partial (0.5), not (0)
    found = nugget_scores(
        ["vital", "vital", "okay", "okay"], ["support", "partial_support", "partial_support", "not_support"]
    )
    assert found["NuggetAll"] == pytest.approx((1 + 0.5 + 0.5 + 0) / 4)  # 0.5
    assert found["NuggetAllStrict"] == pytest.approx(1 / 4)
    assert found["NuggetVital"] == pytest.approx(0.75)
    assert found["NuggetVitalStrict"] == pytest.approx(0.5)
    # W = (1 + 0.5 + 0.5 * (0.5 + 0)) / (2 + 0.5 * 2) = 1.75 / 3
    assert found["NuggetWeighted"] == pytest.approx(1.75 / 3)


def test_a_topic_without_vital_nuggets_has_no_vital_score_not_zero() -> None:
    found = nugget_scores(["okay", "okay"], ["support", "not_support"])
    assert math.isnan(found["NuggetVital"]) and math.isnan(found["NuggetVitalStrict"])
    assert found["NuggetAll"] == 0.5 and found["NuggetWeighted"] == pytest.approx(0.5 / 1.0)


def test_a_failed_assignment_is_nan_everywhere_and_bad_labels_are_errors() -> None:
    assert all(math.isnan(v) for v in nugget_scores(["vital"], None).values())
    with pytest.raises(InputError):
        nugget_scores(["vital"], ["maybe"])
    with pytest.raises(InputError):
        nugget_scores(["vital", "okay"], ["support"])


def test_support_precision_over_citations_and_recall_over_sentences() -> None:
    # sentence 1 cites two segments: full, no; sentence 2 one: partial; sentence 3 none
    found = support_scores([["full", "no"], ["partial"], []])
    assert found["SupportPrecision"] == pytest.approx((1 + 0 + 0.5) / 3)
    assert found["SupportRecall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert support_scores([[], []]) == {"SupportPrecision": 0.0, "SupportRecall": 0.0}
    assert all(math.isnan(v) for v in support_scores(None).values())


def test_claim_scores() -> None:
    found = claim_scores([True, False, True, True], [True, False])
    assert found["ClaimPrecision"] == 0.75 and found["ClaimRecall"] == 0.5
    assert found["ClaimF1"] == pytest.approx(2 * 0.75 * 0.5 / 1.25)
    assert claim_scores([], [False])["ClaimF1"] == 0.0
    assert math.isnan(claim_scores(None, [True])["ClaimRecall"])


def test_nugget_sets_round_trip_and_reject_bad_input() -> None:
    made = NuggetSet(
        {"1": (Nugget("a fact", "vital", "llm", {"model": "m"}), Nugget("b", "okay"))}, {"1": "q"}, {"x": 1}
    )
    back = NuggetSet.from_json(made.to_json())
    assert back == made and back.source == "mixed" and back.count == 2
    plain = NuggetSet.from_json('{"topics": {"7": ["just text"]}}')
    assert plain.topics["7"][0] == Nugget("just text", "okay", "human")
    with pytest.raises(FormatError, match="importance 'big'"):
        NuggetSet.from_json('{"topics": {"1": [{"text": "t", "importance": "big"}]}}')
    with pytest.raises(FormatError, match="topics"):
        NuggetSet.from_json("[]")

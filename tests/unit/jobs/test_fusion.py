"""Fusion against hand-worked examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ragbench.errors import InputError
from ragbench.jobs.fusion import Fusion, combsum, normalize, rrf
from ragbench.jobs.ranking import tie_key

A = {"q": [("d1", 9.0), ("d2", 5.0), ("d3", 1.0)]}
B = {"q": [("d3", 0.9), ("d1", 0.8)], "r": [("d9", 1.0)]}


def test_rrf_hand_worked() -> None:
    # d1: 1/(60+1) + 1/(60+2); d3: 1/(60+3) + 1/(60+1); d2: 1/(60+2)
    fused = rrf([A, B], k=60)
    expected = {"d1": 1 / 61 + 1 / 62, "d3": 1 / 63 + 1 / 61, "d2": 1 / 62}
    assert [doc for doc, _ in fused["q"]] == ["d1", "d3", "d2"]
    assert dict(fused["q"]) == pytest.approx(expected, abs=1e-15)
    assert fused["r"] == [("d9", pytest.approx(1 / 61))]


def test_rrf_depth_and_weights() -> None:
    fused = rrf([A, B], k=0, depth=1, weights=[1.0, 2.0])
    # only each list's first document counts: d1 from A (1/1), d3 from B (2/1)
    assert fused["q"] == [("d3", 2.0)]  # depth 1 also cuts the fused list
    with pytest.raises(InputError, match="weight"):
        rrf([A, B], weights=[1.0])


def test_combsum_minmax_hand_worked() -> None:
    # A normalised: d1 1, d2 0.5, d3 0; B: d3 1, d1 0 -> d1 1, d3 1, d2 0.5; the tie d1 = d3 goes
    # to the larger doc id (trec_eval's rule: score descending, then doc id descending)
    fused = combsum([A, B], normalization="minmax")
    assert fused["q"] == [("d3", 1.0), ("d1", 1.0), ("d2", 0.5)]


def test_normalize() -> None:
    assert normalize([("a", 3.0), ("b", 3.0)], "minmax") == [("a", 1.0), ("b", 1.0)]
    z = normalize([("a", 1.0), ("b", 3.0)], "zscore")
    assert z == [("a", -1.0), ("b", 1.0)]
    assert normalize([("a", 2.0)], "none") == [("a", 2.0)]


def test_fusion_stage_rejects_unknown_method() -> None:
    with pytest.raises(InputError, match="unknown fusion"):
        Fusion(method="borda").fuse([A], 10)  # type: ignore[arg-type]


rankings = st.dictionaries(
    st.sampled_from(["q1", "q2"]),
    st.lists(
        st.tuples(st.sampled_from([f"d{i}" for i in range(8)]), st.floats(-5, 5)), unique_by=lambda h: h[0]
    ),
    min_size=1,
).map(lambda r: {q: sorted(h, key=tie_key, reverse=True) for q, h in r.items()})


@given(rankings)
def test_rrf_of_one_ranking_keeps_its_order(ranking: dict) -> None:
    fused = rrf([ranking], k=60)
    assert {q: [d for d, _ in hits] for q, hits in fused.items()} == {
        q: [d for d, _ in hits] for q, hits in ranking.items()
    }


@given(rankings, rankings)
def test_zero_weight_removes_a_retriever(a: dict, b: dict) -> None:
    alone = combsum([a], normalization="minmax")
    weighted = combsum([a, b], normalization="minmax", weights=[1.0, 0.0])
    for query, hits in alone.items():
        kept = [(d, s) for d, s in weighted[query] if d in dict(hits)]
        assert kept == hits

"""Pools and holes by the tie rule."""

from __future__ import annotations

import pytest

from ragbench.errors import InputError
from ragbench.evaluation.pooling import common_topics, holes, pool, top_k


def test_top_k_uses_the_tie_rule_and_pools_union_in_order() -> None:
    run_a = {"1": {"d1": 1.0, "d2": 2.0, "d3": 2.0, "d4": 0.5}, "2": {"x": 1.0}}
    run_b = {"1": {"d9": 3.0, "d1": 2.5}, "3": {"y": 1.0}}
    # ties on 2.0: document id descending, so d3 before d2
    assert top_k(run_a, 2) == {"1": ["d3", "d2"], "2": ["x"]}
    assert pool([run_a, run_b], 2) == {"1": ["d3", "d2", "d9", "d1"], "2": ["x"], "3": ["y"]}
    assert pool([run_a, run_b], 2, topics=["1"]) == {"1": ["d3", "d2", "d9", "d1"]}
    qrels = {"1": {"d3": 1, "d9": 0, "d1": -1}, "2": {"x": 2}}
    assert holes(pool([run_a, run_b], 2), qrels) == {"1": ["d2", "d1"], "3": ["y"]}
    with pytest.raises(InputError):
        pool([run_a], 0)


def test_no_common_topic_is_a_clear_error() -> None:
    assert common_topics({"2": {}, "10": {}}, [{"10": {}, "2": {}, "7": {}}]) == ["2", "10"]
    with pytest.raises(InputError, match=r"no topic in common \(qrels topics: 1, 2\.\.\.; run topics: 9"):
        common_topics({"1": {"a": 1}, "2": {}}, [{"9": {"a": 1.0}}], ["run.txt"])

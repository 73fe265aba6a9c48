"""Borda ranks with missing benchmarks, worked by hand for each policy."""

from __future__ import annotations

import pytest

from ragbench.errors import InputError
from ragbench.stats import borda

BENCHES = ["b1", "b2", "b3"]
# b1: A .9 > B .8 > C .7 > D .6 ; b2: B .7 > A .6 = C .6 (D lacks it) ; b3: C .5 > A .4 > B .3 > D .2
SCORES = {
    "A": {"b1": 0.9, "b2": 0.6, "b3": 0.4},
    "B": {"b1": 0.8, "b2": 0.7, "b3": 0.3},
    "C": {"b1": 0.7, "b2": 0.6, "b3": 0.5},
    "D": {"b1": 0.6, "b3": 0.2},
}


def test_exclude_ranks_only_complete_systems() -> None:
    result = borda(SCORES, BENCHES, missing="exclude")
    # among A, B, C: A 2 + 0.5 + 1 = 3.5; B 1 + 2 + 0 = 3; C 0 + 0.5 + 2 = 2.5
    assert [(e.system, e.score, e.rank) for e in result.entries] == [
        ("A", 3.5, 1),
        ("B", 3.0, 2),
        ("C", 2.5, 3),
    ]
    assert result.excluded == {"D": ("b2",)}
    assert result.policy == "exclude"


def test_last_counts_a_missing_benchmark_as_a_loss_to_everyone() -> None:
    result = borda(SCORES, BENCHES, missing="last")
    # b1: A 3, B 2, C 1, D 0; b2 (D last): B 3, A 1.5, C 1.5, D 0; b3: C 3, A 2, B 1, D 0
    assert {e.system: e.score for e in result.entries} == {"A": 6.5, "B": 6.0, "C": 5.5, "D": 0.0}
    assert [e.rank for e in result.entries] == [1, 2, 3, 4]
    assert result.entries[-1].missing == ("b2",) and not result.excluded


def test_covered_averages_point_shares_over_the_benchmarks_a_system_has() -> None:
    result = borda(SCORES, BENCHES, missing="covered")
    # shares: b1 (4 systems, /3): A 1, B 2/3, C 1/3, D 0; b2 (3 systems, /2): B 1, A .25, C .25;
    # b3 (/3): C 1, A 2/3, B 1/3, D 0
    expected = {
        "A": (1 + 0.25 + 2 / 3) / 3,
        "B": (2 / 3 + 1 + 1 / 3) / 3,
        "C": (1 / 3 + 0.25 + 1) / 3,
        "D": 0.0,
    }
    got = {e.system: e.score for e in result.entries}
    assert got == pytest.approx(expected)
    assert [e.system for e in result.entries] == ["B", "A", "C", "D"]
    assert next(e for e in result.entries if e.system == "D").benchmarks == 2


def test_equal_scores_share_a_rank() -> None:
    result = borda({"x": {"b": 0.5}, "y": {"b": 0.5}, "z": {"b": 0.1}}, ["b"])
    assert [(e.system, e.rank) for e in result.entries] == [("x", 1), ("y", 1), ("z", 3)]


def test_bad_input() -> None:
    with pytest.raises(InputError, match="policy"):
        borda(SCORES, BENCHES, missing="zero")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown benchmark"):
        borda({"x": {"nope": 1.0}}, BENCHES)
    with pytest.raises(InputError, match="finite"):
        borda({"x": {"b1": float("nan")}}, BENCHES)

"""Leaderboard significance tiers."""

from __future__ import annotations

import numpy as np
import pytest

from ragbench.errors import InputError
from ragbench.stats import TierEntry, correct, paired_randomization, significance_tiers

# FIXTURES

TOPICS = [f"q{i}" for i in range(60)]


def run(values: np.ndarray) -> dict[str, float]:
    return dict(zip(TOPICS, values.tolist(), strict=True))


@pytest.fixture
def base() -> np.ndarray:
    return np.random.default_rng(0).uniform(0.2, 0.6, 60)


# TEST


def test_clearly_separated_runs_get_one_tier_each(base: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    scores = {
        name: run(base + shift + rng.normal(0, 0.01, 60))
        for name, shift in [("c", 0.0), ("a", 0.2), ("b", 0.1)]
    }
    entries = significance_tiers(scores)
    assert [(e.run, e.rank, e.tier, e.leader) for e in entries] == [
        ("a", 1, 1, "a"),
        ("b", 2, 2, "b"),
        ("c", 3, 3, "c"),
    ]
    assert all(e.p_value is None and e.p_adjusted is None for e in entries)
    assert entries[0].mean == pytest.approx(np.mean(list(scores["a"].values())))


def test_indistinguishable_runs_share_tier_one(base: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    scores = {name: run(base + rng.normal(0, 0.05, 60)) for name in ("x", "y", "z")}
    entries = significance_tiers(scores)
    assert {e.tier for e in entries} == {1}
    leader = entries[0].run
    # the followers' p-values are the randomization test against the leader, Holm-adjusted together
    others = [e for e in entries if e.run != leader]
    vector = {name: np.array([s[q] for q in sorted(s)]) for name, s in scores.items()}  # topics are sorted
    raw = [paired_randomization(vector[e.run], vector[leader]) for e in others]
    assert [e.p_value for e in others] == raw
    assert [e.p_adjusted for e in others] == pytest.approx(correct(raw, "holm").p_adjusted.tolist())


def test_tiers_need_not_be_contiguous(base: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    scores = {
        "best": run(base + 0.10),
        "steady": run(base + 0.08 - np.abs(rng.normal(0, 0.002, 60))),  # always just below best: significant
        "noisy": run(base + 0.07 + rng.normal(0, 0.3, 60)),  # lower mean, too noisy to separate
    }
    by_run = {e.run: e for e in significance_tiers(scores)}
    assert by_run["best"].tier == 1 and by_run["noisy"].tier == 1 and by_run["noisy"].leader == "best"
    assert by_run["steady"].tier == 2 and by_run["steady"].rank == 2


def test_identical_runs_and_single_run(base: np.ndarray) -> None:
    entries = significance_tiers({"a": run(base), "b": run(base)})
    # equal means keep input order
    assert [(e.run, e.rank, e.tier) for e in entries] == [("a", 1, 1), ("b", 2, 1)]
    assert entries[1].p_value == 1.0
    (solo,) = significance_tiers({"solo": run(base)})
    assert solo == TierEntry(
        "solo", rank=1, mean=solo.mean, tier=1, leader="solo", p_value=None, p_adjusted=None
    )
    assert solo.mean == pytest.approx(base.mean())


def test_other_test_and_correction(base: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    scores = {n: run(base + s + rng.normal(0, 0.02, 60)) for n, s in [("a", 0.0), ("b", 0.05)]}
    entries = significance_tiers(scores, test="ttest", correction="none")
    assert [(e.run, e.tier) for e in entries] == [("b", 1), ("a", 2)]


@pytest.mark.parametrize(
    ("scores", "kwargs", "message"),
    [
        ({}, {}, "non-empty mapping"),
        ({"a": {"q1": 0.1}}, {"test": "sign"}, "unknown test 'sign'"),
        ({"a": {"q1": 0.1}}, {"correction": "fdr"}, "unknown correction"),
        ({"a": {"q1": 0.1}, "b": {"q2": 0.1}}, {"missing": "error"}, "lacks 1 of the 2 topics"),
        ({"a": {"q1": 0.1}, "b": {}}, {}, "run 'b' has no scores"),
    ],
)
def test_bad_arguments(scores: dict, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        significance_tiers(scores, **kwargs)  # type: ignore[arg-type]

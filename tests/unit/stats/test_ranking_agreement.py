"""Arena vs offline: Kendall's tau with a bootstrap interval, and per-battle agreement by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from ragbench.errors import InputError
from ragbench.stats import offline_agreement, vote_agreement


def test_tau_is_scipys_and_the_interval_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    arena = np.array([1.2, 0.8, 0.1, -0.5, -1.6])
    per_topic = np.clip(arena[:, None] * 0.1 + 0.5 + rng.normal(0, 0.15, (5, 40)), 0, 1)
    draws = arena + rng.normal(0, 0.3, (500, 5))
    result = offline_agreement(arena, draws, per_topic, seed=3)
    assert result.tau == pytest.approx(kendalltau(arena, per_topic.mean(axis=1)).statistic)
    assert result.low <= result.tau <= result.high and result.rounds == 500
    assert offline_agreement(arena, draws, per_topic, seed=3) == result
    no_interval = offline_agreement(arena, None, per_topic)
    assert math.isnan(no_interval.low) and no_interval.to_dict()["low"] is None


def test_vote_agreement_by_hand() -> None:
    # Four decisive votes: a won (+0.2: agree), b won (+0.1: disagree), a won (0: offline tie),
    # b won (-0.3: agree); a tie vote; a vote with an unknown offline value.
    result = vote_agreement([1, 0, 1, 0, 0.5, 1], [0.2, 0.1, 0.0, -0.3, 0.5, float("nan")])
    assert (result.votes, result.decisive, result.agree, result.disagree, result.offline_ties) == (
        5,
        4,
        2,
        1,
        1,
    )
    assert result.rate == pytest.approx(2 / 3)


def test_bad_shapes() -> None:
    with pytest.raises(InputError, match="two systems"):
        offline_agreement([1.0], None, [[0.5]])
    with pytest.raises(InputError, match="per_topic"):
        offline_agreement([1.0, 0.0], None, [[0.5, 0.2]])
    with pytest.raises(InputError, match="length"):
        vote_agreement([1, 0], [0.1])

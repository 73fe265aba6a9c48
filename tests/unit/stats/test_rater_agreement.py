"""Percent agreement and Cohen's (weighted) kappa: by hand and against scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ragbench.errors import InputError
from ragbench.stats import rater_agreement


def test_by_hand() -> None:
    # Table (rows rater 1, columns rater 2) over categories x, y:  [[2, 1], [1, 0]] / 4.
    result = rater_agreement(["x", "x", "x", "y"], ["x", "x", "y", "x"])
    # p_o = 2/4; margins (3/4, 1/4) both ways: p_e = 9/16 + 1/16 = 10/16; kappa = (8/16 - 10/16) / (6/16).
    assert result.n == 4 and result.percent == pytest.approx(0.5)
    assert result.kappa == pytest.approx(-1 / 3)
    # Two categories: linear weights are 0/1 disagreement, so weighted kappa equals kappa.
    assert result.weighted_kappa == pytest.approx(-1 / 3)


def test_weighted_by_hand() -> None:
    # Labels 0..2; rater pairs (0,0), (0,1), (2,1), (2,2): p_o = 1/2.
    result = rater_agreement([0, 0, 2, 2], [0, 1, 1, 2], categories=(0, 1, 2))
    assert result.percent == pytest.approx(0.5)
    # Observed weighted disagreement: two pairs at distance 1/2 -> (1/2 + 1/2) / 4 = 1/4.
    # Margins r = (1/2, 0, 1/2), c = (1/4, 1/2, 1/4); expected: sum_ij r_i c_j |i-j|/2 = 1/2.
    assert result.weighted_kappa == pytest.approx(1 - (1 / 4) / (1 / 2))


def test_against_scikit_learn() -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, 300)
    y = np.clip(x + rng.integers(-1, 2, 300), -2, 2)
    for weights in ("linear", "quadratic"):
        result = rater_agreement(x.tolist(), y.tolist(), categories=(-2, -1, 0, 1, 2), weights=weights)
        assert result.kappa == pytest.approx(cohen_kappa_score(x, y), abs=1e-12)
        assert result.weighted_kappa == pytest.approx(cohen_kappa_score(x, y, weights=weights), abs=1e-12)
    assert result.percent == pytest.approx(float(np.mean(x == y)))


def test_undefined_and_bad_input() -> None:
    assert math.isnan(rater_agreement(["a", "a"], ["a", "a"]).kappa)
    assert rater_agreement(["a", "a"], ["a", "a"]).to_dict()["kappa"] is None
    with pytest.raises(InputError, match="different numbers"):
        rater_agreement([1, 2], [1])
    with pytest.raises(InputError, match="outside the categories"):
        rater_agreement([3], [1], categories=(1, 2))
    with pytest.raises(InputError, match="no items"):
        rater_agreement([], [])

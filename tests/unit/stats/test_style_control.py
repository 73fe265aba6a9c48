"""Style control: the covariate model against scikit-learn, and a planted length bias recovered."""

from __future__ import annotations

import numpy as np
import pytest

from ragbench.errors import InputError
from ragbench.stats import style_control
from ragbench.stats._style_control import comparisons

NAMES = ["s0", "s1", "s2", "s3"]


def simulate(n: int, beta: float, seed: int, ties: float = 0.1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    truth = np.array([0.6, 0.2, -0.2, -0.6])
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    length_a, length_b = rng.integers(20, 400, n).astype(float), rng.integers(20, 400, n).astype(float)
    z = comparisons(length_a, length_b, "count")
    p = 1 / (1 + np.exp(-(truth[a] - truth[b] + beta * z / z.std())))
    out = np.where(rng.random(n) < ties, 0.5, (rng.random(n) < p).astype(float))
    cites_a, cites_b = rng.integers(0, 6, n).astype(float), rng.integers(0, 6, n).astype(float)
    return a, b, out, np.c_[length_a, cites_a], np.c_[length_b, cites_b]


def test_point_fit_equals_scikit_learn() -> None:
    from sklearn.linear_model import LogisticRegression

    a, b, out, xa, xb = simulate(600, beta=0.8, seed=1)
    result = style_control(a, b, out, NAMES, xa, xb, [("length", "count"), ("citations", "count")], rounds=20)
    z = np.c_[comparisons(xa[:, 0], xb[:, 0], "count"), comparisons(xa[:, 1], xb[:, 1], "count")]
    z /= z.std(axis=0)
    x = np.zeros((a.size, 4))
    x[np.arange(a.size), a] += 1
    x[np.arange(a.size), b] -= 1
    design = np.c_[x, z]
    keep = np.r_[out, 1 - out] > 0
    model = LogisticRegression(fit_intercept=False, C=1e6, tol=1e-12, max_iter=100_000)
    model.fit(
        np.r_[design, design][keep],
        np.r_[np.ones(a.size), np.zeros(a.size)][keep],
        sample_weight=np.r_[out, 1 - out][keep],
    )
    theta = model.coef_[0][:4] - model.coef_[0][:4].mean()
    assert np.abs(np.array(result.strength) - theta).max() < 1e-5
    assert [c.estimate for c in result.coefficients] == pytest.approx(model.coef_[0][4:], abs=1e-5)


def test_planted_length_bias_is_recovered_and_noise_is_not() -> None:
    a, b, out, xa, xb = simulate(3000, beta=0.7, seed=2, ties=0.0)  # random ties would dilute beta
    result = style_control(
        a, b, out, NAMES, xa, xb, [("length", "count"), ("citations", "count")], rounds=200, seed=0
    )
    length, cites = result.coefficients
    assert length.low < 0.7 < length.high and length.low > 0.4
    assert cites.low < 0 < cites.high  # the citations played no part
    again = style_control(
        a, b, out, NAMES, xa, xb, [("length", "count"), ("citations", "count")], rounds=200, seed=0
    )
    assert again.to_dict() == result.to_dict()


def test_constant_covariates_are_dropped_or_refused() -> None:
    a, b, out, xa, xb = simulate(200, beta=0.0, seed=3)
    same = np.c_[xa[:, :1], np.full(a.size, 0.5)], np.c_[xb[:, :1], np.full(a.size, 0.5)]
    result = style_control(a, b, out, NAMES, *same, [("length", "count"), ("supported", "share")], rounds=10)
    assert result.dropped == ("supported",) and [c.feature for c in result.coefficients] == ["length"]
    with pytest.raises(InputError, match="no covariate varies"):
        style_control(a, b, out, NAMES, np.ones((a.size, 1)), np.ones((a.size, 1)), [("length", "count")])

"""Bradley–Terry fits: hand-worked cases, an independent logistic regression, scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ragbench.errors import InputError
from ragbench.stats import fit_bradley_terry, mle_exists, pair_table, to_rating
from ragbench.stats._bradley_terry import fit_strengths


def logistic_regression(a: np.ndarray, b: np.ndarray, outcome: np.ndarray, k: int) -> np.ndarray:
    """An independent maximum likelihood fit: one row per vote (x = e_a - e_b, y = outcome, a tie
    as y = 1/2), Newton's method on the full design with the last strength pinned to 0."""
    x = np.zeros((a.size, k))
    x[np.arange(a.size), a] += 1.0
    x[np.arange(a.size), b] -= 1.0
    x = x[:, :-1]
    w = np.zeros(k - 1)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x, x.T @ (outcome - p))
        w += step
        if np.abs(step).max() < 1e-13:
            break
    theta = np.append(w, 0.0)
    return theta - theta.mean()


def random_votes(k: int, n: int, seed: int, tie_share: float = 0.2) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, 1, k)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p = 1 / (1 + np.exp(-(truth[a] - truth[b])))
    out = np.where(rng.random(n) < tie_share, 0.5, (rng.random(n) < p).astype(float))
    return a, b, out


def test_two_systems_by_hand() -> None:
    # A beat B three times and lost once: P(A beats B) = 3/4, so theta_A - theta_B = log 3.
    theta = fit_bradley_terry([0, 0, 0, 1], [1, 1, 1, 0], [1, 1, 1, 1], 2, ridge=0.0)
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-12)
    assert theta.sum() == pytest.approx(0.0, abs=1e-12)
    # Ties are half a win: two wins and two ties of A are 3 of 4 points again.
    tied = fit_bradley_terry([0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0.5, 0.5], 2, ridge=0.0)
    assert tied == pytest.approx(theta, abs=1e-12)
    # The Elo scale: 400 points per factor 10 in odds.
    assert to_rating([math.log(10) / 2, -math.log(10) / 2]).tolist() == pytest.approx([1200.0, 800.0])


def test_equals_an_independent_logistic_regression() -> None:
    a, b, out = random_votes(k=8, n=600, seed=3)
    assert mle_exists(pair_table(a, b, out, 8))
    mine = fit_bradley_terry(a, b, out, 8, ridge=0.0)
    assert np.abs(mine - logistic_regression(a, b, out, 8)).max() < 1e-6


def test_equals_scikit_learn_with_the_same_ridge() -> None:
    from sklearn.linear_model import LogisticRegression

    k, ridge = 10, 1e-6
    a, b, out = random_votes(k=k, n=2000, seed=5)
    x = np.zeros((a.size, k))
    x[np.arange(a.size), a] += 1.0
    x[np.arange(a.size), b] -= 1.0
    # Each vote twice: y = 1 with weight `out`, y = 0 with weight 1 - out (ties as half a win).
    keep = np.r_[out, 1 - out] > 0
    model = LogisticRegression(fit_intercept=False, C=1 / ridge, tol=1e-12, max_iter=100_000)
    model.fit(
        np.r_[x, x][keep],
        np.r_[np.ones(a.size), np.zeros(a.size)][keep],
        sample_weight=np.r_[out, 1 - out][keep],
    )
    theirs = model.coef_[0] - model.coef_[0].mean()
    assert np.abs(fit_bradley_terry(a, b, out, k, ridge=ridge) - theirs).max() < 1e-6


def test_batched_fits_equal_single_fits() -> None:
    a, b, out = random_votes(k=6, n=300, seed=8)
    table = pair_table(a, b, out, 6)
    rng = np.random.default_rng(0)
    scale = rng.integers(1, 4, size=(3, table.i.size)).astype(float)
    batch, converged = fit_strengths(table.i, table.j, table.score * scale, table.total * scale, 6)
    assert converged.all()
    for r in range(3):
        single, _ = fit_strengths(table.i, table.j, table.score * scale[r], table.total * scale[r], 6)
        assert batch[r] == pytest.approx(single, abs=1e-9)


def test_a_system_that_never_lost_has_no_finite_mle() -> None:
    # 0 beats 1 and 2 every time; 1 and 2 split their games.
    a, b, out = [0, 0, 0, 1, 2], [1, 2, 1, 2, 1], [1, 1, 1, 1, 1]
    assert not mle_exists(pair_table(a, b, out, 3))
    with pytest.raises(InputError, match="no finite maximum likelihood"):
        fit_bradley_terry(a, b, out, 3, ridge=0.0)
    theta = fit_bradley_terry(a, b, out, 3)  # the default ridge keeps it finite, and large
    assert np.isfinite(theta).all() and theta[0] - max(theta[1], theta[2]) > 5


def test_disconnected_graph_and_bad_votes_are_refused() -> None:
    with pytest.raises(InputError, match="not connected"):
        fit_bradley_terry([0, 2], [1, 3], [1, 0], 4)
    with pytest.raises(InputError, match="against itself"):
        fit_bradley_terry([0, 1], [0, 0], [1, 1], 2)
    with pytest.raises(InputError, match="use 1"):
        fit_bradley_terry([0], [1], [0.7], 2)
    with pytest.raises(InputError, match="outside"):
        fit_bradley_terry([0], [5], [1], 2)

"""Arena ratings: reproducible clustered bootstrap, interval ranks, win matrix, disconnected graphs."""

from __future__ import annotations

import numpy as np
import pytest

from ragbench.errors import InputError
from ragbench.stats import arena_ratings, fit_bradley_terry, interval_ranks, to_rating

NAMES = ["alpha", "beta", "gamma", "delta", "eps"]


def votes(n: int, seed: int, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.linspace(1.0, -1.0, k)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p = 1 / (1 + np.exp(-(truth[a] - truth[b])))
    out = np.where(rng.random(n) < 0.15, 0.5, (rng.random(n) < p).astype(float))
    topic = rng.integers(0, 12, n)
    return a, b, out, topic


def test_point_ratings_are_the_bradley_terry_fit_and_rows_add_up() -> None:
    a, b, out, _ = votes(400, seed=1)
    result = arena_ratings(a, b, out, NAMES, rounds=200, seed=0)
    theta = fit_bradley_terry(a, b, out, 5)
    by_name = {r.system: r for r in result.systems}
    for i, name in enumerate(NAMES):
        row = by_name[name]
        assert row.strength == pytest.approx(theta[i], abs=1e-9)
        assert row.rating == pytest.approx(float(to_rating(theta[i])))
        assert row.low <= row.rating <= row.high
        played = (a == i) | (b == i)
        won = ((a == i) & (out == 1)) | ((b == i) & (out == 0))
        tied = played & (out == 0.5)
        assert (row.votes, row.wins, row.ties) == (played.sum(), won.sum(), tied.sum())
        assert row.win_rate == pytest.approx((row.wins + row.ties / 2) / row.votes)
    assert [r.rating for r in result.systems] == sorted((r.rating for r in result.systems), reverse=True)
    assert result.rated and result.finite_mle and result.n_votes == 400


def test_same_seed_same_intervals_other_seed_other_intervals() -> None:
    a, b, out, topic = votes(300, seed=2)
    voter = np.random.default_rng(9).integers(0, 30, a.size)
    for clusters, label in ((None, "battle"), (topic, "topic"), (voter, "voter")):
        first = arena_ratings(a, b, out, NAMES, clusters=clusters, cluster=label, rounds=300, seed=7)
        again = arena_ratings(a, b, out, NAMES, clusters=clusters, cluster=label, rounds=300, seed=7)
        other = arena_ratings(a, b, out, NAMES, clusters=clusters, cluster=label, rounds=300, seed=8)
        assert [(r.low, r.high) for r in first.systems] == [(r.low, r.high) for r in again.systems]
        assert np.array_equal(first.draws, again.draws)
        assert [(r.low, r.high) for r in first.systems] != [(r.low, r.high) for r in other.systems]
        assert first.cluster == label


def test_single_vote_clusters_are_the_per_vote_bootstrap() -> None:
    a, b, out, _ = votes(200, seed=4)
    labels = np.random.default_rng(0).permutation(200) * 3 + 11  # any distinct labels
    plain = arena_ratings(a, b, out, NAMES, rounds=100, seed=3)
    relabelled = arena_ratings(a, b, out, NAMES, clusters=labels, rounds=100, seed=3)
    assert np.array_equal(plain.draws, relabelled.draws)


def test_clustered_bootstrap_matches_naive_cluster_resampling() -> None:
    """Drawing a multinomial over distinct cluster types is resampling clusters: the spread of the
    bootstrap strengths agrees with a naive loop that resamples topics and refits each round."""
    a, b, out, topic = votes(240, seed=5)
    fast = arena_ratings(a, b, out, NAMES, clusters=topic, rounds=1500, seed=1)
    rng = np.random.default_rng(99)
    topics = np.unique(topic)
    naive = []
    for _ in range(400):
        picked = rng.choice(topics, size=topics.size)
        rows = np.concatenate([np.flatnonzero(topic == t) for t in picked])
        naive.append(fit_bradley_terry(a[rows], b[rows], out[rows], 5))
    naive_sd = np.std(naive, axis=0)
    fast_sd = fast.draws.std(axis=0)
    assert fast_sd == pytest.approx(naive_sd, rel=0.2)
    # Clustering by topic widens the intervals here: topics are shared by many votes.
    per_vote = arena_ratings(a, b, out, NAMES, rounds=1500, seed=1)
    assert per_vote.n_clusters == 240 and fast.n_clusters == topics.size


def test_interval_ranks_by_hand() -> None:
    # Intervals: A [10, 20], B [12, 18], C [0, 9], D [-5, 1]: C is below A and B; D below A, B (C overlaps D).
    ranks = interval_ranks([10, 12, 0, -5], [20, 18, 9, 1])
    assert ranks.tolist() == [1, 1, 3, 3]


def test_win_matrix_by_hand() -> None:
    # alpha-beta: alpha won 2, lost 1, tied 1; beta-gamma: beta won 1; alpha-gamma: a tie.
    a = [0, 0, 1, 0, 1, 2]
    b = [1, 1, 0, 1, 2, 0]
    out = [1, 1, 1, 0.5, 1, 0.5]
    result = arena_ratings(a, b, out, NAMES[:3], rounds=50, seed=0)
    m = result.matrix
    at = {name: i for i, name in enumerate(m.systems)}
    assert m.votes[at["alpha"]][at["beta"]] == 4 and m.score[at["alpha"]][at["beta"]] == 2.5
    assert m.rate(at["beta"], at["alpha"]) == pytest.approx(1.5 / 4)
    assert m.rate(at["gamma"], at["alpha"]) == pytest.approx(0.5)
    assert m.rate(at["alpha"], at["alpha"]) is None


def test_disconnected_graph_is_reported_not_rated() -> None:
    result = arena_ratings([0, 1, 2, 3], [1, 0, 3, 2], [1, 1, 0.5, 1], ["a", "b", "c", "d"], rounds=10)
    assert not result.rated
    assert sorted(result.components) == [("a", "b"), ("c", "d")]
    assert all(r.rank is None and np.isnan(r.rating) for r in result.systems)
    assert result.to_dict()["systems"][0]["rating"] is None


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="two systems"):
        arena_ratings([], [], [], ["only"])
    with pytest.raises(InputError, match="no votes"):
        arena_ratings([], [], [], ["x", "y"])
    with pytest.raises(InputError, match="clusters"):
        arena_ratings([0], [1], [1], ["x", "y"], clusters=[1, 2])
    with pytest.raises(InputError, match="trials"):
        arena_ratings([0], [1], [1], ["x", "y"], rounds=0)

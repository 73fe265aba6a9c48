"""Arena ratings: Bradley–Terry strengths with clustered bootstrap intervals and interval ranks.

:func:`arena_ratings` takes votes (system ``a`` vs system ``b``, outcome 1 / 0 / 0.5) and returns
every system's Bradley–Terry rating (:mod:`ragbench.stats._bradley_terry`), a bootstrap interval,
a rank by interval separation, its votes, wins, ties, losses and win rate, and the pairwise
win-rate matrix.

**Bootstrap.** Each round draws clusters with replacement, as many as there are: battles (each
vote its own cluster by default), topics or voters, so that votes that are not independent (one
voter's habits, one topic's difficulty) move together. A round's data are the per-pair sums of
the drawn clusters. Clusters with identical vote counts are interchangeable, so drawing ``C``
clusters uniformly is drawing a multinomial over the distinct count vectors (weighted by how many
clusters share each): one ``numpy`` multinomial draw per round over at most a few thousand
categories instead of ``C`` indices, and exactly the same distribution. Each round is then fitted
by Newton's method from the full-data estimate (a warm start), all rounds at once.

**Intervals and ranks.** Percentile intervals of the rounds' ratings (strengths sum to zero in
every round: no anchor system). ``rank = 1 + #{systems whose lower bound exceeds this one's upper
bound}``, so systems whose intervals overlap share a rank and the table never claims an order it
cannot support.

**Connectivity.** A comparison graph in several pieces has no common scale: it is reported
(:attr:`ArenaRatings.components`) and nothing is rated. Rounds whose resampled graph falls apart
or has no finite estimate (a system that never lost) are counted in ``degenerate_rounds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError
from ragbench.stats._bradley_terry import (
    DEFAULT_RIDGE,
    PairTable,
    check_votes,
    components,
    fit_strengths,
    mle_exists,
    pair_codes,
    pair_table,
    to_rating,
)
from ragbench.stats._checks import check_fraction, check_seed, check_trials

DEFAULT_ROUNDS = 1000
BOOTSTRAP_TOLERANCE = 1e-8


@dataclass(frozen=True, slots=True)
class SystemRating:
    """One system of an arena leaderboard.

    Attributes:
        system: Its name.
        rank: 1 + the number of systems whose interval lies entirely above this one's (None when
            the graph is not connected).
        strength: Bradley–Terry log-strength (strengths sum to zero).
        rating: ``1000 + 400 · strength / ln 10`` (Elo scale).
        low: Lower bound of the rating's bootstrap interval.
        high: Upper bound.
        votes: Votes it took part in.
        wins: Votes it won.
        ties: Votes that were ties (or both bad).
        losses: Votes it lost.
        win_rate: ``(wins + ties / 2) / votes``.
    """

    system: str
    rank: int | None
    strength: float
    rating: float
    low: float
    high: float
    votes: int
    wins: int
    ties: int
    losses: int
    win_rate: float


@dataclass(frozen=True, slots=True)
class WinMatrix:
    """Observed pairwise results, systems in leaderboard order.

    Attributes:
        systems: Row and column order.
        score: ``score[r][c]``: what ``r`` scored against ``c`` (wins + half the ties).
        votes: ``votes[r][c]``: votes between them (symmetric; 0 on the diagonal).
    """

    systems: tuple[str, ...]
    score: tuple[tuple[float, ...], ...]
    votes: tuple[tuple[int, ...], ...]

    def rate(self, r: int, c: int) -> float | None:
        """Win rate of row ``r`` against column ``c`` (None when they never met)."""
        n = self.votes[r][c]
        return self.score[r][c] / n if n else None


@dataclass(frozen=True, slots=True)
class ArenaRatings:
    """Ratings of the systems of an arena (see the module docstring).

    Attributes:
        systems: One row per system, best rating first (input order when not rated).
        rated: False when the comparison graph is not connected (then ``components`` says how).
        components: The connected pieces of the comparison graph (one when rated).
        finite_mle: Whether the unpenalised maximum likelihood estimate exists (False: some
            systems never lost, or never won, against the rest; their ratings are bounded only by
            the ridge penalty and their intervals are open-ended in effect).
        n_votes: Votes rated.
        rounds: Bootstrap rounds.
        seed: Their seed.
        confidence: Interval coverage.
        cluster: What was resampled (a label: ``battle``, ``topic``, ``voter``).
        n_clusters: How many clusters there were.
        degenerate_rounds: Rounds whose resample had no connected or no finite estimate.
        ridge: The L2 penalty of every fit.
        matrix: Observed pairwise win rates.
        draws: ``(rounds, systems)`` bootstrap strengths, columns in ``names`` order (for further
            statistics such as Kendall's tau; not serialised).
        names: Column order of ``draws`` (the input order of systems).
    """

    systems: tuple[SystemRating, ...]
    rated: bool
    components: tuple[tuple[str, ...], ...]
    finite_mle: bool
    n_votes: int
    rounds: int
    seed: int
    confidence: float
    cluster: str
    n_clusters: int
    degenerate_rounds: int
    ridge: float
    matrix: WinMatrix
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)
    names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without ``draws``; NaN as None)."""
        return {
            "rated": self.rated,
            "components": [list(c) for c in self.components],
            "finite_mle": self.finite_mle,
            "n_votes": self.n_votes,
            "rounds": self.rounds,
            "seed": self.seed,
            "confidence": self.confidence,
            "cluster": self.cluster,
            "n_clusters": self.n_clusters,
            "degenerate_rounds": self.degenerate_rounds,
            "ridge": self.ridge,
            "systems": [{k: _finite(v) for k, v in _row(r).items()} for r in self.systems],
            "matrix": {
                "systems": list(self.matrix.systems),
                "score": [list(r) for r in self.matrix.score],
                "votes": [list(r) for r in self.matrix.votes],
            },
        }


def _row(r: SystemRating) -> dict[str, Any]:
    return {name: getattr(r, name) for name in SystemRating.__slots__}


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not np.isfinite(value) else value


def interval_ranks(low: ArrayLike, high: ArrayLike) -> np.ndarray:
    """``1 + #{j : low_j > high_i}`` for every ``i``: systems whose intervals overlap share a rank."""
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    ranks: np.ndarray = 1 + (lo[None, :] > hi[:, None]).sum(axis=1)
    return ranks


def cluster_codes(clusters: ArrayLike | None, n_votes: int) -> tuple[np.ndarray, int]:
    """Cluster labels (any hashable values) as codes ``0 .. C-1``; None: each vote its own."""
    if clusters is None:
        return np.arange(n_votes), n_votes
    values = np.asarray(clusters)
    if values.shape != (n_votes,):
        raise InputError(f"clusters must give one label per vote ({n_votes}), got shape {values.shape}")
    _, codes = np.unique(values, return_inverse=True)
    codes = codes.ravel()
    return codes, int(codes.max(initial=-1)) + 1


def _cluster_types(
    cell: np.ndarray, codes: np.ndarray, n_clusters: int, n_cells: int
) -> tuple[Any, np.ndarray]:
    """The distinct per-cluster count vectors (a sparse ``types x cells`` matrix) and how many
    clusters have each."""
    from scipy.sparse import coo_matrix, csr_matrix

    sizes = np.bincount(codes, minlength=n_clusters)
    if sizes.max(initial=0) <= 1:  # every cluster is one vote: its type is its cell
        kinds, counts = np.unique(cell, return_counts=True)
        matrix = csr_matrix(
            (np.ones(kinds.size), (np.arange(kinds.size), kinds)), shape=(kinds.size, n_cells)
        )
        return matrix, counts
    per_cluster = coo_matrix((np.ones(cell.size), (codes, cell)), shape=(n_clusters, n_cells)).tocsr()
    per_cluster.sum_duplicates()
    per_cluster.sort_indices()
    seen: dict[bytes, int] = {}
    rows: list[int] = []
    counts_list: list[int] = []
    for c in range(n_clusters):
        start, end = per_cluster.indptr[c], per_cluster.indptr[c + 1]
        key = per_cluster.indices[start:end].tobytes() + per_cluster.data[start:end].tobytes()
        found = seen.get(key)
        if found is None:
            seen[key] = len(rows)
            rows.append(c)
            counts_list.append(1)
        else:
            counts_list[found] += 1
    return per_cluster[rows], np.asarray(counts_list)


def arena_ratings(
    a: ArrayLike,
    b: ArrayLike,
    outcome: ArrayLike,
    systems: Sequence[str],
    *,
    clusters: ArrayLike | None = None,
    cluster: str = "battle",
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    confidence: float = 0.95,
    ridge: float = DEFAULT_RIDGE,
) -> ArenaRatings:
    """Bradley–Terry ratings with bootstrap intervals and interval ranks (module docstring).

    Args:
        a: Index into ``systems`` of one side of each vote.
        b: Index of the other side.
        outcome: 1 (a won), 0 (b won) or 0.5 (a tie, or both bad) per vote.
        systems: The names of the systems.
        clusters: A label per vote (battle, topic or voter); each vote its own by default.
        cluster: What the labels are, for the report.
        rounds: Bootstrap rounds (default 1,000).
        seed: Random seed: the same seed gives the same intervals.
        confidence: Interval coverage (default 0.95).
        ridge: L2 penalty of every fit (see :mod:`ragbench.stats._bradley_terry`).

    Raises:
        InputError: bad votes or arguments, no votes, fewer than two systems.
    """
    names = tuple(str(s) for s in systems)
    k = len(names)
    if k < 2:
        raise InputError("an arena needs at least two systems")
    rounds = check_trials(rounds)
    seed = check_seed(seed)
    confidence = check_fraction(confidence, "confidence")
    a_, b_, out = check_votes(a, b, outcome, k)
    if out.size == 0:
        raise InputError("no votes to rate")
    codes, n_clusters = cluster_codes(clusters, out.size)
    table = pair_table(a_, b_, out, k)
    labels = components(table.i, table.j, k)
    pieces = tuple(tuple(names[s] for s in np.flatnonzero(labels == c)) for c in range(int(labels.max()) + 1))
    tally = _tally(a_, b_, out, k)
    if len(pieces) > 1:
        return ArenaRatings(
            systems=tuple(_system_row(names, x, None, np.nan, np.nan, np.nan, tally) for x in range(k)),
            rated=False,
            components=pieces,
            finite_mle=False,
            n_votes=int(out.size),
            rounds=rounds,
            seed=seed,
            confidence=confidence,
            cluster=cluster,
            n_clusters=n_clusters,
            degenerate_rounds=0,
            ridge=ridge,
            matrix=_matrix(names, table, list(range(k))),
            names=names,
        )
    theta, converged = fit_strengths(table.i, table.j, table.score, table.total, k, ridge=ridge)
    if not converged.all():  # pragma: no cover - the damped Newton converges on connected graphs
        raise InputError("the Bradley-Terry fit did not converge")
    theta = theta - theta.mean()
    draws, degenerate = _bootstrap(a_, b_, out, k, codes, n_clusters, table, theta, rounds, seed, ridge)
    alpha = 1.0 - confidence
    low, high = np.quantile(to_rating(draws), [alpha / 2, 1 - alpha / 2], axis=0)
    ranks = interval_ranks(low, high)
    rating = to_rating(theta)
    order = sorted(range(k), key=lambda x: (-rating[x], names[x]))
    rows = tuple(_system_row(names, x, int(ranks[x]), theta[x], low[x], high[x], tally) for x in order)
    return ArenaRatings(
        systems=rows,
        rated=True,
        components=pieces,
        finite_mle=mle_exists(table),
        n_votes=int(out.size),
        rounds=rounds,
        seed=seed,
        confidence=confidence,
        cluster=cluster,
        n_clusters=n_clusters,
        degenerate_rounds=degenerate,
        ridge=ridge,
        matrix=_matrix(names, table, order),
        draws=draws,
        names=names,
    )


def _bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    out: np.ndarray,
    k: int,
    codes: np.ndarray,
    n_clusters: int,
    table: PairTable,
    theta: np.ndarray,
    rounds: int,
    seed: int,
    ridge: float,
) -> tuple[np.ndarray, int]:
    """``(rounds, k)`` bootstrap strengths and the number of degenerate rounds."""
    code, a_is_lo = pair_codes(a, b, k)
    pair = np.searchsorted(table.i * k + table.j, code)
    lo_score = np.where(a_is_lo, out, 1.0 - out)
    cell = pair * 3 + (2 * lo_score).astype(np.int64)  # 0: lo lost, 1: tie, 2: lo won
    n_cells = table.i.size * 3
    types, counts = _cluster_types(cell, codes, n_clusters, n_cells)
    rng = np.random.default_rng(seed)
    drawn = rng.multinomial(n_clusters, counts / counts.sum(), size=rounds).astype(np.float64)
    cells = np.asarray((types.T @ drawn.T).T).reshape(rounds, table.i.size, 3)
    score = cells[:, :, 2] + 0.5 * cells[:, :, 1]
    total = cells.sum(axis=2)
    # A round's strengths to 1e-8 (about 2e-6 rating points) after the warm start: three Newton
    # steps where the full-data fit takes four.
    strengths, _ = fit_strengths(
        table.i, table.j, score, total, k, ridge=ridge, start=theta, tolerance=BOOTSTRAP_TOLERANCE
    )
    strengths -= strengths.mean(axis=1, keepdims=True)
    return strengths, _degenerate(table, score, total)


def _degenerate(table: PairTable, score: np.ndarray, total: np.ndarray) -> int:
    """Rounds whose resample is not strongly connected (no finite MLE, or graph in pieces).

    A round in which every pair of the data met and neither side of any pair scored nothing is
    strongly connected when the data's graph is connected; only the other rounds are checked.
    """
    suspect = np.flatnonzero(((total == 0) | (score == 0) | (score == total)).any(axis=1))
    count = 0
    for r in suspect:
        present = total[r] > 0
        labels = components(
            table.i[present],
            table.j[present],
            table.n_systems,
            strong_from=(score[r][present], total[r][present]),
        )
        count += int(labels.max(initial=0) > 0)
    return count


def _tally(a: np.ndarray, b: np.ndarray, out: np.ndarray, k: int) -> np.ndarray:
    """``(k, 3)``: wins, ties, losses of each system."""
    tally = np.zeros((k, 3), dtype=np.int64)
    np.add.at(tally, (a, np.where(out == 1.0, 0, np.where(out == 0.5, 1, 2))), 1)
    np.add.at(tally, (b, np.where(out == 0.0, 0, np.where(out == 0.5, 1, 2))), 1)
    return tally


def _system_row(
    names: tuple[str, ...],
    x: int,
    rank: int | None,
    strength: float,
    low: float,
    high: float,
    tally: np.ndarray,
) -> SystemRating:
    wins, ties, losses = (int(v) for v in tally[x])
    votes = wins + ties + losses
    return SystemRating(
        system=names[x],
        rank=rank,
        strength=float(strength),
        rating=float(to_rating(strength)),
        low=float(low),
        high=float(high),
        votes=votes,
        wins=wins,
        ties=ties,
        losses=losses,
        win_rate=(wins + ties / 2) / votes if votes else float("nan"),
    )


def _matrix(names: tuple[str, ...], table: PairTable, order: list[int]) -> WinMatrix:
    k = len(names)
    score = np.zeros((k, k))
    votes = np.zeros((k, k), dtype=np.int64)
    score[table.i, table.j] = table.score
    score[table.j, table.i] = table.total - table.score
    votes[table.i, table.j] = votes[table.j, table.i] = table.total.astype(np.int64)
    return WinMatrix(
        systems=tuple(names[x] for x in order),
        score=tuple(tuple(float(score[r, c]) for c in order) for r in order),
        votes=tuple(tuple(int(votes[r, c]) for c in order) for r in order),
    )

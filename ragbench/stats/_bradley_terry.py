"""Bradley–Terry strengths by (penalised) maximum likelihood on aggregated pairwise counts.

The model: system ``i`` beats system ``j`` with probability ``σ(θ_i − θ_j)`` (``σ`` the logistic
function, ``θ`` natural-log strengths). A tie counts as half a win for each side, so the data of
a pair of systems is two numbers: how many times they met (``total``) and how much the first one
scored (``score`` = its wins + half the ties). The log-likelihood is

    L(θ) = Σ_pairs score · log σ(θ_i − θ_j) + (total − score) · log σ(θ_j − θ_i) − (ridge / 2) · Σ θ²

It depends on the votes only through the per-pair sums, so 100,000 votes among 50 systems are
1,225 numbers: fitting and bootstrapping work on those. The optional ``ridge`` (an L2 penalty on
the log-strengths, 1e-6 by default) changes the maximum likelihood estimate by far less than 1e-6
wherever it exists, and keeps it finite where it does not (a system that never lost: its
strength is then large, and reported as unbounded, see :func:`mle_exists`). The penalty also
fixes the gauge: strengths sum to zero, so no system is an anchor whose noise widens every other
interval.

The fit is Newton–Raphson, vectorised over many fits at once (the bootstrap rounds): gradient
and Hessian are assembled from the per-pair terms, one batched linear solve per iteration. It is
written here rather than taken from scikit-learn or ``choix`` because neither fits a thousand
resamples in one pass over aggregated counts (``benchmarks/arena_ratings.py``); the tests check
it against scikit-learn's logistic regression on the unaggregated votes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError

RATING_SCALE = 400.0 / math.log(10.0)
"""Elo points per unit of natural-log strength: 400 points is a 10:1 odds ratio (the chess and
Chatbot Arena convention)."""
RATING_BASE = 1000.0
"""The rating of a system of average strength (strengths sum to zero)."""
DEFAULT_RIDGE = 1e-6
TOLERANCE = 1e-10
"""Newton stops when no strength moves by more than this."""
MAX_ITERATIONS = 200
MAX_STEP = 2.0
"""Largest change of any strength in one Newton step (a damped step when the estimate runs away)."""


def to_rating(strength: ArrayLike) -> np.ndarray:
    """Natural-log strengths as Elo-scale ratings (``1000 + 400 · θ / ln 10``)."""
    out: np.ndarray = RATING_BASE + RATING_SCALE * np.asarray(strength, dtype=np.float64)
    return out


@dataclass(frozen=True, slots=True)
class PairTable:
    """Votes aggregated per unordered pair of systems (``i < j``).

    Attributes:
        n_systems: Number of systems (indices ``0 .. n_systems - 1``).
        i: First system of each pair (int64, shape ``(P,)``).
        j: Second system of each pair (``i < j``).
        score: What ``i`` scored against ``j``: wins plus half the ties (float64, ``(P,)``).
        total: Votes between the two (float64, ``(P,)``).
    """

    n_systems: int
    i: np.ndarray
    j: np.ndarray
    score: np.ndarray
    total: np.ndarray

    @property
    def n_votes(self) -> float:
        """Votes in the table."""
        return float(self.total.sum())


def check_votes(a: ArrayLike, b: ArrayLike, outcome: ArrayLike, n_systems: int) -> tuple[np.ndarray, ...]:
    """``(a, b, outcome)`` as int64, int64, float64 arrays after checking them.

    Raises:
        InputError: different lengths, a system index outside ``0 .. n_systems - 1``, a system
            against itself, an outcome other than 0, 0.5 or 1.
    """
    a_ = np.asarray(a, dtype=np.int64).ravel()
    b_ = np.asarray(b, dtype=np.int64).ravel()
    out = np.asarray(outcome, dtype=np.float64).ravel()
    if not a_.size == b_.size == out.size:
        raise InputError(f"a, b and outcome differ in length ({a_.size}, {b_.size}, {out.size})")
    if a_.size and (min(a_.min(), b_.min()) < 0 or max(a_.max(), b_.max()) >= n_systems):
        raise InputError(f"a system index is outside 0..{n_systems - 1}")
    same = np.flatnonzero(a_ == b_)
    if same.size:
        raise InputError(f"vote {int(same[0])} is a system against itself")
    bad = np.flatnonzero((out != 0.0) & (out != 0.5) & (out != 1.0))
    if bad.size:
        raise InputError(
            f"outcome of vote {int(bad[0])} is {out[bad[0]]}: use 1 (a won), 0 (b won), 0.5 (tie)"
        )
    return a_, b_, out


def pair_codes(a: np.ndarray, b: np.ndarray, n_systems: int) -> tuple[np.ndarray, np.ndarray]:
    """Per vote: the code ``lo * n_systems + hi`` of its unordered pair, and whether ``a`` is ``lo``."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return lo * n_systems + hi, a == lo


def pair_table(
    a: ArrayLike, b: ArrayLike, outcome: ArrayLike, n_systems: int, weights: ArrayLike | None = None
) -> PairTable:
    """Aggregate votes ``a`` vs ``b`` (``outcome`` 1: a won, 0: b won, 0.5: a tie) per pair.

    Args:
        a: System index of one side of each vote.
        b: System index of the other side.
        outcome: 1, 0 or 0.5 per vote.
        n_systems: Number of systems.
        weights: Optional weight per vote (a bootstrap resample's multiplicities).

    Raises:
        InputError: see :func:`check_votes`.
    """
    a_, b_, out = check_votes(a, b, outcome, n_systems)
    code, a_is_lo = pair_codes(a_, b_, n_systems)
    lo_score = np.where(a_is_lo, out, 1.0 - out)
    w = np.ones_like(lo_score) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    pairs, index = np.unique(code, return_inverse=True)
    return PairTable(
        n_systems=n_systems,
        i=pairs // n_systems,
        j=pairs % n_systems,
        score=np.bincount(index, weights=lo_score * w, minlength=pairs.size),
        total=np.bincount(index, weights=w, minlength=pairs.size),
    )


def components(
    i: np.ndarray, j: np.ndarray, n_systems: int, *, strong_from: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """Component label of each system in the comparison graph (an edge per pair that met).

    With ``strong_from`` (``(score, total)`` of each pair), labels the strongly connected
    components of the directed graph with an edge ``i → j`` when ``i`` scored against ``j`` (won
    or tied) and ``j → i`` when ``j`` did.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if strong_from is None:
        graph = coo_matrix((np.ones(i.size), (i, j)), shape=(n_systems, n_systems))
        _, labels = connected_components(graph, directed=False)
    else:
        score, total = strong_from
        forward = score > 0
        backward = total - score > 0
        rows = np.concatenate([i[forward], j[backward]])
        cols = np.concatenate([j[forward], i[backward]])
        graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n_systems, n_systems))
        _, labels = connected_components(graph, directed=True, connection="strong")
    out: np.ndarray = labels
    return out


def mle_exists(table: PairTable) -> bool:
    """Whether the unpenalised maximum likelihood estimate exists (Zermelo, Ford 1957): the
    graph with an edge ``x → y`` whenever ``x`` won or tied against ``y`` is strongly connected."""
    labels = components(table.i, table.j, table.n_systems, strong_from=(table.score, table.total))
    return bool(labels.max(initial=0) == 0)


def fit_strengths(
    i: np.ndarray,
    j: np.ndarray,
    score: np.ndarray,
    total: np.ndarray,
    n_systems: int,
    *,
    ridge: float = DEFAULT_RIDGE,
    start: np.ndarray | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """Strengths maximising the penalised log-likelihood, for one or many count tables at once.

    Args:
        i: First system of each pair (``(P,)``).
        j: Second system of each pair.
        score: ``(P,)`` or ``(B, P)``: what ``i`` scored against ``j`` in each of ``B`` tables.
        total: Same shape: votes per pair.
        n_systems: Number of systems ``K``.
        ridge: L2 penalty on the strengths (> 0 keeps every fit finite).
        start: ``(K,)`` or ``(B, K)`` starting strengths (a warm start), default zeros.
        tolerance: Stop when no strength moves by more than this.
        max_iterations: Give up after this many Newton steps.

    Returns:
        ``(theta, converged)``: strengths ``(K,)`` or ``(B, K)`` (summing to zero per table when
        the comparison graph is connected) and whether each fit converged.
    """
    single = np.ndim(score) == 1
    s = np.atleast_2d(np.asarray(score, dtype=np.float64))
    n = np.atleast_2d(np.asarray(total, dtype=np.float64))
    rounds, k = s.shape[0], n_systems
    theta = (
        np.zeros((rounds, k))
        if start is None
        else np.array(np.broadcast_to(start, (rounds, k)), dtype=np.float64)
    )
    incidence = np.zeros((i.size, k))
    incidence[np.arange(i.size), i] = 1.0
    incidence[np.arange(i.size), j] = -1.0
    transposed = np.ascontiguousarray(incidence.T)
    degree = np.abs(incidence)
    # The likelihood does not change when every strength moves by the same amount; adding 11ᵀ/k
    # to the Hessian makes each Newton system well-conditioned without moving the solution (the
    # gradient is orthogonal to 1 once the strengths sum to zero). The Hessians are written into
    # one buffer: the pairs' entries and the diagonal change, every other entry stays 1/k.
    upper, lower, diagonal = i * k + j, j * k + i, np.arange(k) * (k + 1)
    buffer = np.full((rounds, k * k), 1.0 / k)
    converged = np.zeros(rounds, dtype=bool)
    active = np.arange(rounds)
    for _ in range(max_iterations):
        th = theta[active]
        p = _sigmoid(th @ transposed)
        ns = n[active]
        gradient = (s[active] - ns * p) @ incidence - ridge * th
        w = ns * p * (1.0 - p)
        hessian = buffer[: active.size]
        hessian[:, upper] = hessian[:, lower] = 1.0 / k - w
        hessian[:, diagonal] = w @ degree + (ridge + 1.0 / k)
        step = np.linalg.solve(hessian.reshape(-1, k, k), gradient[..., None])[..., 0]
        largest = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, MAX_STEP / np.maximum(largest, 1e-300))[:, None]
        theta[active] = th + step
        done = largest <= tolerance
        converged[active[done]] = True
        active = active[~done]
        if active.size == 0:
            break
    return (theta[0], converged[:1]) if single else (theta, converged)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * x))  # exact in float64 and never overflows
    return out


def fit_bradley_terry(
    a: ArrayLike, b: ArrayLike, outcome: ArrayLike, n_systems: int, *, ridge: float = DEFAULT_RIDGE
) -> np.ndarray:
    """Bradley–Terry log-strengths of ``n_systems`` systems from votes (ties as half a win).

    Args:
        a: System index of one side of each vote.
        b: System index of the other side.
        outcome: 1 (a won), 0 (b won) or 0.5 (a tie) per vote.
        n_systems: Number of systems.
        ridge: L2 penalty (default 1e-6; 0 is the plain MLE, which needs :func:`mle_exists`).

    Returns:
        ``(n_systems,)`` strengths summing to zero.

    Raises:
        InputError: bad votes (:func:`check_votes`), a negative ridge, a disconnected comparison
            graph, no finite MLE with ``ridge=0``, or no convergence.
    """
    if not ridge >= 0.0:
        raise InputError(f"ridge must be >= 0, got {ridge!r}")
    table = pair_table(a, b, outcome, n_systems)
    labels = components(table.i, table.j, n_systems)
    if table.i.size == 0 or labels.max(initial=0) > 0:
        raise InputError("the comparison graph is not connected: some systems never meet the others")
    if ridge == 0.0 and not mle_exists(table):
        raise InputError("no finite maximum likelihood estimate: a group of systems never lost to the rest")
    theta, converged = fit_strengths(table.i, table.j, table.score, table.total, n_systems, ridge=ridge)
    if not converged.all():
        raise InputError("the Bradley-Terry fit did not converge")
    centred: np.ndarray = theta - theta.mean()
    return centred

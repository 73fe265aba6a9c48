"""Style control: Bradley–Terry with covariates of each battle's two sides.

Voters may prefer the longer answer, or the one with more citations, whatever its quality
(Search Arena found the citation effect even when the citations did not support the claims).
The model adds per-battle covariates to the strengths:

    logit P(a beats b) = θ_a − θ_b + Σ_f β_f · z_f

where ``z_f`` compares the two sides on feature ``f``: for counts (answer length, citations) the
relative difference ``(x_a − x_b) / (x_a + x_b)`` (0 when both are 0), for shares (the supported
share of citations) the plain difference ``x_a − x_b``; each ``z_f`` is then divided by its
standard deviation over the votes, so ``β_f`` is the log-odds change per standard deviation. A
positive ``β`` says voters favour the side with more of ``f`` beyond what the systems' strengths
explain; the strengths are then "style-controlled". Ties count as half a win, as in
:mod:`ragbench.stats._bradley_terry`. Intervals come from the same clustered bootstrap as the
ratings; each round is a weighted fit, done for many rounds at once by Newton's method with the
Hessian assembled per pair of systems (the features enter only through sums per pair).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError
from ragbench.stats._arena import DEFAULT_ROUNDS, cluster_codes, interval_ranks
from ragbench.stats._bradley_terry import (
    DEFAULT_RIDGE,
    MAX_ITERATIONS,
    MAX_STEP,
    check_votes,
    components,
    pair_codes,
    to_rating,
)
from ragbench.stats._checks import check_fraction, check_seed, check_trials

FeatureKind = Literal["count", "share"]
CHUNK_ELEMENTS = 1 << 21
"""Rounds x votes handled per chunk of the bootstrap (bounds memory)."""


@dataclass(frozen=True, slots=True)
class Coefficient:
    """One covariate's effect: log-odds per standard deviation of its comparison ``z``.

    Attributes:
        feature: Its name.
        kind: ``count`` (relative difference) or ``share`` (difference).
        estimate: ``β``.
        low: Lower bound of its bootstrap interval.
        high: Upper bound.
        scale: The standard deviation ``z`` was divided by.
    """

    feature: str
    kind: str
    estimate: float
    low: float
    high: float
    scale: float


@dataclass(frozen=True, slots=True)
class StyleControlled:
    """Strengths controlled for the covariates, and the covariates' coefficients.

    Attributes:
        systems: Names, in the input order.
        strength: Controlled log-strengths (sum zero).
        rating: Elo-scale ratings of ``strength``.
        low: Lower bounds of the ratings' intervals.
        high: Upper bounds.
        rank: Ranks by interval separation.
        coefficients: One per covariate that varies (the others are listed in ``dropped``).
        dropped: Covariates left out because they are constant over the votes.
        rounds: Bootstrap rounds.
        seed: Their seed.
        confidence: Interval coverage.
        cluster: What was resampled.
    """

    systems: tuple[str, ...]
    strength: tuple[float, ...]
    rating: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    rank: tuple[int, ...]
    coefficients: tuple[Coefficient, ...]
    dropped: tuple[str, ...]
    rounds: int
    seed: int
    confidence: float
    cluster: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "systems": [
                {"system": s, "strength": t, "rating": r, "low": lo, "high": hi, "rank": k}
                for s, t, r, lo, hi, k in zip(
                    self.systems, self.strength, self.rating, self.low, self.high, self.rank, strict=True
                )
            ],
            "coefficients": [
                {
                    "feature": c.feature,
                    "kind": c.kind,
                    "estimate": c.estimate,
                    "low": c.low,
                    "high": c.high,
                    "scale": c.scale,
                }
                for c in self.coefficients
            ],
            "dropped": list(self.dropped),
            "rounds": self.rounds,
            "seed": self.seed,
            "confidence": self.confidence,
            "cluster": self.cluster,
        }


def comparisons(x_a: np.ndarray, x_b: np.ndarray, kind: str) -> np.ndarray:
    """``z`` of one feature per vote (before scaling): relative difference or difference."""
    if kind == "share":
        diff: np.ndarray = x_a - x_b
        return diff
    total = x_a + x_b
    with np.errstate(invalid="ignore", divide="ignore"):
        rel: np.ndarray = np.where(total != 0, (x_a - x_b) / np.where(total != 0, total, 1.0), 0.0)
    return rel


def style_control(
    a: ArrayLike,
    b: ArrayLike,
    outcome: ArrayLike,
    systems: Sequence[str],
    features_a: ArrayLike,
    features_b: ArrayLike,
    features: Sequence[tuple[str, FeatureKind]],
    *,
    clusters: ArrayLike | None = None,
    cluster: str = "battle",
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    confidence: float = 0.95,
    ridge: float = DEFAULT_RIDGE,
) -> StyleControlled:
    """Bradley–Terry strengths with covariates (module docstring), with bootstrap intervals.

    Args:
        a: Index into ``systems`` of one side of each vote.
        b: Index of the other side.
        outcome: 1 (a won), 0 (b won) or 0.5 per vote.
        systems: System names.
        features_a: ``(votes, F)`` feature values of side ``a`` (non-negative; finite).
        features_b: ``(votes, F)`` of side ``b``.
        features: ``(name, kind)`` of each column, kind ``count`` or ``share``.
        clusters: A label per vote to resample by (each vote its own by default).
        cluster: What the labels are.
        rounds: Bootstrap rounds.
        seed: Random seed.
        confidence: Interval coverage.
        ridge: L2 penalty on strengths and coefficients.

    Raises:
        InputError: bad votes or features, a disconnected comparison graph, no covariate that varies.
    """
    names = tuple(str(s) for s in systems)
    k = len(names)
    rounds, seed = check_trials(rounds), check_seed(seed)
    confidence = check_fraction(confidence, "confidence")
    a_, b_, out = check_votes(a, b, outcome, k)
    xa = np.asarray(features_a, dtype=np.float64).reshape(out.size, len(features))
    xb = np.asarray(features_b, dtype=np.float64).reshape(out.size, len(features))
    if not (np.isfinite(xa).all() and np.isfinite(xb).all()):
        raise InputError("feature values must be finite")
    bad_kind = [n for n, kind in features if kind not in ("count", "share")]
    if bad_kind:
        raise InputError(f"feature kind must be count or share: {', '.join(bad_kind)}")
    code, a_is_lo = pair_codes(a_, b_, k)
    pairs, pair = np.unique(code, return_inverse=True)
    pi, pj = pairs // k, pairs % k
    if components(pi, pj, k).max(initial=0) > 0:
        raise InputError("the comparison graph is not connected: some systems never meet the others")
    kept, dropped, columns, scales = [], [], [], []
    for f, (name, kind) in enumerate(features):
        z = comparisons(xa[:, f], xb[:, f], kind)
        sd = float(z.std())
        if sd <= 1e-12:
            dropped.append(name)
            continue
        kept.append((name, kind))
        columns.append(z / sd)
        scales.append(sd)
    if not kept:
        raise InputError("no covariate varies over the votes: " + ", ".join(dropped))
    z = np.column_stack(columns)
    sign = np.where(a_is_lo, 1.0, -1.0)
    y = np.where(a_is_lo, out, 1.0 - out)  # outcomes seen from the pair's first system
    z_lo = z * sign[:, None]
    model = _Model(pi, pj, pair.ravel(), z_lo, y, k, ridge)
    point = model.fit(np.ones((1, out.size)), np.zeros((1, k + z.shape[1])))[0]
    codes, n_clusters = cluster_codes(clusters, out.size)
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_ELEMENTS // max(out.size, 1))
    draws = []
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        drawn = rng.integers(0, n_clusters, size=(size, n_clusters))
        multiplicity = np.stack([np.bincount(row, minlength=n_clusters) for row in drawn]).astype(np.float64)
        draws.append(model.fit(multiplicity[:, codes], np.broadcast_to(point, (size, point.size)).copy()))
    sample = np.concatenate(draws)
    alpha = 1.0 - confidence
    strengths = sample[:, :k] - sample[:, :k].mean(axis=1, keepdims=True)
    low, high = np.quantile(to_rating(strengths), [alpha / 2, 1 - alpha / 2], axis=0)
    beta_low, beta_high = np.quantile(sample[:, k:], [alpha / 2, 1 - alpha / 2], axis=0)
    theta = point[:k] - point[:k].mean()
    return StyleControlled(
        systems=names,
        strength=tuple(float(t) for t in theta),
        rating=tuple(float(r) for r in to_rating(theta)),
        low=tuple(float(v) for v in low),
        high=tuple(float(v) for v in high),
        rank=tuple(int(r) for r in interval_ranks(low, high)),
        coefficients=tuple(
            Coefficient(name, kind, float(point[k + f]), float(beta_low[f]), float(beta_high[f]), scales[f])
            for f, (name, kind) in enumerate(kept)
        ),
        dropped=tuple(dropped),
        rounds=rounds,
        seed=seed,
        confidence=confidence,
        cluster=cluster,
    )


class _Model:
    """The weighted log-likelihood of the covariate model, maximised for many weightings at once."""

    def __init__(
        self,
        pi: np.ndarray,
        pj: np.ndarray,
        pair: np.ndarray,
        z: np.ndarray,
        y: np.ndarray,
        k: int,
        ridge: float,
    ) -> None:
        from scipy.sparse import csr_matrix

        self.pi, self.pj, self.pair, self.z, self.y, self.k, self.ridge = pi, pj, pair, z, y, k, ridge
        n_pairs = pi.size
        self.member = csr_matrix(
            (np.ones(pair.size), (np.arange(pair.size), pair)), shape=(pair.size, n_pairs)
        )
        self.incidence = np.zeros((n_pairs, k))
        self.incidence[np.arange(n_pairs), pi] = 1.0
        self.incidence[np.arange(n_pairs), pj] = -1.0

    def _per_pair(self, values: np.ndarray) -> np.ndarray:
        """``(R, votes)`` -> ``(R, pairs)`` sums."""
        out: np.ndarray = np.asarray((self.member.T @ values.T).T)
        return out

    def fit(self, weights: np.ndarray, start: np.ndarray) -> np.ndarray:
        """``(R, k + F)`` parameters maximising each row of ``weights``' likelihood."""
        k, f = self.k, self.z.shape[1]
        params = start.copy()
        size = k + f
        gauge = np.zeros((size, size))
        gauge[:k, :k] = 1.0 / k
        active = np.arange(weights.shape[0])
        for _ in range(MAX_ITERATIONS):
            theta, beta = params[active, :k], params[active, k:]
            w = weights[active]
            eta = (theta[:, self.pi] - theta[:, self.pj])[:, self.pair] + beta @ self.z.T
            p = 0.5 * (1.0 + np.tanh(0.5 * eta))
            resid = w * (self.y - p)
            info = w * p * (1.0 - p)
            gradient = (
                np.concatenate([self._per_pair(resid) @ self.incidence, resid @ self.z], axis=1)
                - self.ridge * params[active]
            )
            hessian = np.zeros((active.size, size, size))
            per_pair = self._per_pair(info)
            hessian[:, self.pi, self.pj] = -per_pair
            hessian[:, self.pj, self.pi] = -per_pair
            diagonal = np.arange(k)
            hessian[:, diagonal, diagonal] = per_pair @ np.abs(self.incidence)
            cross = np.stack([self._per_pair(info * self.z[:, g]) @ self.incidence for g in range(f)], axis=2)
            hessian[:, :k, k:] = cross
            hessian[:, k:, :k] = np.swapaxes(cross, 1, 2)
            hessian[:, k:, k:] = np.einsum("rn,nf,ng->rfg", info, self.z, self.z)
            hessian += gauge + self.ridge * np.eye(size)
            step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
            largest = np.abs(step).max(axis=1)
            step *= np.minimum(1.0, MAX_STEP / np.maximum(largest, 1e-300))[:, None]
            params[active] += step
            active = active[largest > 1e-10]
            if active.size == 0:
                break
        return params

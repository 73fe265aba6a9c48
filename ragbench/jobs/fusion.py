"""Fusing the rankings of several retrievers: reciprocal rank fusion and CombSUM.

Both take the rankings as the retrievers returned them (each list sorted, best first) and return
one ranking in the same order convention (:func:`ragbench.jobs.ranking.sort_hits`). A query missing from a
retriever's ranking, or a document missing from a retriever's list, contributes nothing from that
retriever, as in Cormack et al. (2009) and Fox & Shaw (1994).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ragbench.errors import InputError
from ragbench.jobs.ranking import Hits, Ranking, sort_hits

Normalization = Literal["minmax", "zscore", "none"]


def _queries(rankings: Sequence[Ranking]) -> list[str]:
    seen: dict[str, None] = {}
    for ranking in rankings:
        seen.update(dict.fromkeys(ranking))
    return list(seen)


def _weights(weights: Sequence[float] | None, count: int) -> list[float]:
    if weights is None:
        return [1.0] * count
    if len(weights) != count or any(not math.isfinite(w) or w < 0 for w in weights):
        raise InputError(
            f"fusion needs one finite, non-negative weight per retriever ({count}), got {weights}"
        )
    return [float(w) for w in weights]


def rrf(
    rankings: Sequence[Ranking], *, k: float = 60.0, depth: int = 1000, weights: Sequence[float] | None = None
) -> Ranking:
    """Reciprocal rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))`` over each top ``depth``.

    Ranks are 1-based positions in each retriever's sorted list (ties keep the list's order).
    """
    if k < 0:
        raise InputError(f"RRF needs k >= 0, got {k}")
    factors = _weights(weights, len(rankings))
    fused: Ranking = {}
    for query_id in _queries(rankings):
        scores: dict[str, float] = {}
        for weight, ranking in zip(factors, rankings, strict=True):
            for rank, (doc_id, _) in enumerate(ranking.get(query_id, [])[:depth], start=1):
                scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
        fused[query_id] = sort_hits(scores.items(), depth)
    return fused


def normalize(hits: Hits, method: Normalization) -> Hits:
    """Scores of one list rescaled: min-max to [0, 1], z-scores, or as they are.

    A list whose scores are all equal maps to 1.0 under min-max and 0.0 under z-scores (it gives
    no evidence to tell its documents apart).
    """
    if method == "none" or not hits:
        return list(hits)
    values = [score for _, score in hits]
    if method == "minmax":
        low, high = min(values), max(values)
        span = high - low
        return [(doc, (score - low) / span if span > 0 else 1.0) for doc, score in hits]
    if method == "zscore":
        mean = math.fsum(values) / len(values)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
        return [(doc, (score - mean) / std if std > 0 else 0.0) for doc, score in hits]
    raise InputError(f"unknown normalisation {method!r}: use minmax, zscore or none")


def combsum(
    rankings: Sequence[Ranking],
    *,
    normalization: Normalization = "minmax",
    depth: int = 1000,
    weights: Sequence[float] | None = None,
) -> Ranking:
    """CombSUM: the weighted sum of each retriever's normalised scores over its top ``depth``."""
    factors = _weights(weights, len(rankings))
    fused: Ranking = {}
    for query_id in _queries(rankings):
        scores: dict[str, float] = {}
        for weight, ranking in zip(factors, rankings, strict=True):
            for doc_id, score in normalize(ranking.get(query_id, [])[:depth], normalization):
                scores[doc_id] = scores.get(doc_id, 0.0) + weight * score
        fused[query_id] = sort_hits(scores.items(), depth)
    return fused


@dataclass(frozen=True)
class Fusion:
    """A fusion stage of a pipeline: ``method`` rrf or combsum, with its parameters."""

    method: Literal["rrf", "combsum"] = "rrf"
    k: float = 60.0
    normalization: Normalization = "minmax"
    weights: tuple[float, ...] | None = None

    def fuse(self, rankings: Sequence[Ranking], depth: int) -> Ranking:
        if self.method == "rrf":
            return rrf(rankings, k=self.k, depth=depth, weights=self.weights)
        if self.method == "combsum":
            return combsum(rankings, normalization=self.normalization, depth=depth, weights=self.weights)
        raise InputError(f"unknown fusion method {self.method!r}: use rrf or combsum")

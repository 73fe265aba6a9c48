"""The stage kinds of a pipeline, as typed Protocols.

A pipeline runs: rewriter → retriever(s) → fusion → reranker → generator, and judges label what
the others produced. A stage type (``bm25``, ``dense``, ``blockrank``, ...) is registered under
the ``ragbench.stages`` entry-point group (see :mod:`ragbench.jobs.registry`); its factory returns
an object that satisfies the Protocol of its kind. Each method takes a batch of queries, so a
stage can batch its model calls; the pipeline hands batches to Ray actors or calls them in
process. Every ranking a stage returns follows :func:`ragbench.jobs.ranking.sort_hits`'s order
(the pipeline re-sorts defensively, so a third-party stage that forgets cannot break the rule).

A stage may also offer ``pop_stats() -> {query_id: {name: number}}`` (per-query latency, tokens,
LM calls; stored in the run's metadata) and ``describe() -> dict`` (what it is, for the run file).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

from ragbench.jobs.ranking import Ranking

StageKind = Literal["retriever", "reranker", "rewriter", "generator", "judge"]
STAGE_KINDS: tuple[StageKind, ...] = ("retriever", "reranker", "rewriter", "generator", "judge")
METHODS: dict[str, str] = {
    "retriever": "search",
    "reranker": "rerank",
    "rewriter": "rewrite",
    "generator": "generate",
    "judge": "judge",
}
"""The method the pipeline calls on a stage of each kind."""


@runtime_checkable
class Retriever(Protocol):
    """A first-stage retriever: query texts in, the top ``k`` documents per query out."""

    def search(self, queries: Mapping[str, str], k: int) -> Ranking:
        """Rank the collection for every query (``{query_id: text}``)."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Reorders (the head of) a first-stage ranking."""

    def rerank(self, queries: Mapping[str, str], ranking: Ranking, depth: int) -> Ranking:
        """A new ranking of the documents in ``ranking`` (at most ``depth`` per query)."""
        ...


@runtime_checkable
class Rewriter(Protocol):
    """Rewrites queries before retrieval."""

    def rewrite(self, queries: Mapping[str, str]) -> dict[str, str]:
        """``{query_id: new text}`` for every query given."""
        ...


@runtime_checkable
class Generator(Protocol):
    """Writes an answer per query from the retrieved documents."""

    def generate(self, queries: Mapping[str, str], ranking: Ranking) -> dict[str, Any]:
        """``{query_id: answer}`` (an answer with its sentences and citations)."""
        ...


@runtime_checkable
class Judge(Protocol):
    """Labels (query, item) pairs: relevance of documents, support of answers, preferences."""

    def judge(self, queries: Mapping[str, str], items: Mapping[str, Any]) -> dict[str, Any]:
        """``{query_id: labels}`` for the items of each query."""
        ...


PROTOCOLS: dict[str, type] = {
    "retriever": Retriever,
    "reranker": Reranker,
    "rewriter": Rewriter,
    "generator": Generator,
    "judge": Judge,
}

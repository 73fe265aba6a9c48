"""What every pipeline stage speaks: a ranking per query, and the retriever protocol.

A ranking is ``{query_id: [(doc_id, score), ...]}`` with each list sorted by score, highest
first, ties broken by doc id ascending (the order trec_eval itself sorts a run in), so the run
file a pipeline writes is the same bytes whichever worker produced it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

Hits = list[tuple[str, float]]
Ranking = dict[str, Hits]


def sort_hits(hits: Iterable[tuple[str, float]], k: int | None = None) -> Hits:
    """Hits ordered by score descending, then doc id ascending; the first ``k`` if given."""
    ordered = sorted(hits, key=lambda hit: (-hit[1], hit[0]))
    return ordered if k is None else ordered[:k]


@runtime_checkable
class Retriever(Protocol):
    """A first-stage retriever: query texts in, the top ``k`` documents per query out."""

    name: str

    def search(self, queries: Mapping[str, str], k: int) -> Ranking:
        """Rank the collection for every query (``{query_id: text}``); lists sorted as above."""
        ...

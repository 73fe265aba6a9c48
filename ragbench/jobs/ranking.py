"""What every pipeline stage speaks: a ranking per query, ordered by the one tie rule.

A ranking is ``{query_id: [(doc_id, score), ...]}``. Every ranking ragbench produces (retrievers,
fusion, rerankers, the run files it writes and their rank column) is ordered as trec_eval orders
a run when it scores it: **score descending, then document id descending** (compared as strings;
Python's code-point order is the UTF-8 byte order trec_eval's ``strcmp`` uses). So the rank
column of a written run agrees with how every measure reads it, and the bytes of a run do not
depend on which worker produced a list.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from ragbench.evaluation.providers.trec_eval import TIE_RULE

__all__ = ["TIE_RULE", "Hits", "Ranking", "is_sorted", "sort_hits", "tie_key"]

Hits = list[tuple[str, float]]
"""One query's documents: ``(doc_id, score)``, best first."""
Ranking = dict[str, Hits]
"""``{query_id: hits}``."""


def tie_key(hit: tuple[str, float]) -> tuple[float, str]:
    """The sort key of the tie rule, for ``sorted(..., key=tie_key, reverse=True)``."""
    return hit[1], hit[0]


def sort_hits(hits: Iterable[tuple[str, float]], k: int | None = None) -> Hits:
    """Hits ordered by score descending, then doc id descending; the first ``k`` if given."""
    ordered = sorted(hits, key=tie_key, reverse=True)
    return ordered if k is None else ordered[:k]


def is_sorted(hits: Hits) -> bool:
    """Whether ``hits`` already follow the tie rule (no two equal doc ids assumed)."""
    return all(tie_key(a) > tie_key(b) for a, b in itertools.pairwise(hits))

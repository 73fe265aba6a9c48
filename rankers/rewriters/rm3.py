"""RM3 as a query rewriter: Anserini's feedback terms, written as a weighted term query.

Anserini's RM3 searches the query with BM25, estimates a relevance model from the top
``fb_docs`` documents' term vectors, keeps the ``fb_terms`` heaviest terms, interpolates them with
the query's own terms (``original_weight``) and runs the result as a Lucene disjunction of boosted
term queries. This stage stops before that last search: it asks ``SimpleSearcher`` for the
interpolated terms (``get_feedback_terms``, what Pyserini's ``LuceneSearcher`` wraps) and writes
them as ``#weight( w1 t1 w2 t2 ... )`` with float32-exact weights, which the ``bm25`` retriever
runs as that same boosted disjunction (:func:`indexers.bm25.parse_weighted`). BM25 over the
rewrite therefore ranks exactly as the ``bm25`` retriever with ``rm3: true`` (same ``k1``/``b``;
tested on all CACM topics), and the expansion is visible in the run's rewritten queries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RM3Rewriter:
    index_dir: str
    fb_terms: int = 10
    fb_docs: int = 10
    original_weight: float = 0.5
    k1: float = 0.9
    b: float = 0.4
    corpus: str | None = None
    name: str = "rm3"
    _retriever: Any = field(default=None, init=False, repr=False)
    _stats: dict[str, dict[str, float]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        from indexers.bm25 import RM3, BM25Retriever

        # The bm25 retriever's own opening code: the index's analyzer, BM25(k1, b), RM3 set.
        self._retriever = BM25Retriever(
            self.index_dir,
            k1=self.k1,
            b=self.b,
            rm3=RM3(self.fb_terms, self.fb_docs, self.original_weight),
            corpus=self.corpus,
            name=self.name,
        )

    def feedback_terms(self, text: str) -> list[tuple[str, float]]:
        """The interpolated RM3 terms of ``text`` and their weights, in Anserini's order."""
        found = self._retriever._open().get_feedback_terms(text)
        pairs: list[tuple[str, float]] = []
        if found is None:
            return pairs
        entries = found.entrySet().iterator()
        while entries.hasNext():
            entry = entries.next()
            pairs.append((str(entry.getKey()), float(entry.getValue())))
        return pairs

    def _analyzed(self, text: str) -> set[str]:
        from indexers.jvm import jclass

        searcher = self._retriever._open()
        return set(jclass("io.anserini.analysis.AnalyzerUtils").analyze(searcher.get_analyzer(), text))

    def rewrite(self, queries: Mapping[str, str]) -> dict[str, str]:
        """``{query_id: "#weight( ... )"}``; a query with no terms (all stopwords) stays as it is."""
        from indexers.bm25 import format_weighted

        rewritten: dict[str, str] = {}
        for query_id, text in queries.items():
            started = time.perf_counter()
            terms = self.feedback_terms(text)
            rewritten[query_id] = format_weighted(terms) if terms else text
            added = len({t for t, _ in terms} - self._analyzed(text)) if terms else 0
            self._stats[query_id] = {
                "seconds": time.perf_counter() - started,
                "expansion_terms": float(added),
            }
        return rewritten

    def pop_stats(self) -> dict[str, dict[str, float]]:
        """Per query rewritten since the last call: seconds, and expansion_terms (feedback terms
        that are not terms of the query itself)."""
        stats, self._stats = self._stats, {}
        return stats

    def describe(self) -> dict[str, Any]:
        return {"fb_terms": self.fb_terms, "fb_docs": self.fb_docs, "original_weight": self.original_weight}

    def close(self) -> None:
        self._retriever.close()

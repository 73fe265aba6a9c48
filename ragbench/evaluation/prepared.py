"""The run joined with the qrels, for every topic at once: trec_eval's ``form_res_rels``, vectorised.

This is the one data shape every trec_eval-exact measure reads. It is built by
:func:`ragbench.evaluation.prepare.prepare` (fast C path or pure-Python path, same result) and
consumed by the measures in :mod:`ragbench.evaluation.trec_eval`.

Layout: topic ``i`` (``query_ids[i]``) owns ``rel[offsets[i]:offsets[i + 1]]``, its retrieved
documents in rank order (score descending, then docno descending by byte order, as trec_eval
10.0 sorts), after ``-M`` truncation and, with ``-J``, with every unjudged document removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RELVALUE_NONPOOL = -1
"""A retrieved document that is not in the qrels of its topic."""
RELVALUE_UNJUDGED = -2
"""A retrieved document in the qrels with a negative judgment (in the pool, not judged)."""


@dataclass(frozen=True, slots=True)
class PreparedTopics:
    """Per-topic ranked relevance lists and counts, exactly as trec_eval 10.0 forms them.

    Attributes:
        query_ids: Evaluated topics, ascending by byte order of their UTF-8 ids (trec_eval's
            ``strcmp`` order). Topics of the run absent from the qrels are never here; topics
            of the qrels absent from the run are here (with empty lists) only when ``complete``
            (``-c``) was asked for.
        offsets: int64, ``len(query_ids) + 1``; topic ``i`` is ``rel[offsets[i]:offsets[i+1]]``.
        rel: int64 relevance of each retrieved document in rank order: the qrels value when
            judged (>= 0), ``RELVALUE_NONPOOL`` (-1) when not in the qrels,
            ``RELVALUE_UNJUDGED`` (-2) when in the qrels with a negative value.
        rel_levels: int64 ``(n_topics, max_rel + 1)``: how many documents of each topic the
            qrels judge at each level ``0..max_rel`` (negative judgments are not counted).
            ``max_rel`` is the largest judgment over all evaluated topics (at least 0).
        num_rel: int64 per topic, judged documents with value >= ``relevance_level``.
        num_rel_ret: int64 per topic, retrieved documents with value >= ``relevance_level``.
        num_nonpool: int64 per topic, retrieved documents not in the qrels (0 with ``-J``).
        num_unjudged_in_pool: int64 per topic, retrieved documents with negative judgments.
        relevance_level: ``-l``: the least judgment value counted as relevant (default 1).
        run_id: the run tag of the run file's last content line (trec_eval's rule).
    """

    query_ids: tuple[str, ...]
    offsets: np.ndarray
    rel: np.ndarray
    rel_levels: np.ndarray
    num_rel: np.ndarray
    num_rel_ret: np.ndarray
    num_nonpool: np.ndarray
    num_unjudged_in_pool: np.ndarray
    relevance_level: int = 1
    run_id: str = ""

    @property
    def num_topics(self) -> int:
        return len(self.query_ids)

    @property
    def num_ret(self) -> np.ndarray:
        """int64 per topic: retrieved documents (after -M and -J)."""
        return np.diff(self.offsets)

    @property
    def topic_of_row(self) -> np.ndarray:
        """int64 per row of ``rel``: the index of its topic."""
        return np.repeat(np.arange(self.num_topics, dtype=np.int64), self.num_ret)

    @property
    def rank_of_row(self) -> np.ndarray:
        """int64 per row of ``rel``: its 1-based rank within its topic."""
        return np.asarray(
            np.arange(self.rel.size, dtype=np.int64) - np.repeat(self.offsets[:-1], self.num_ret) + 1
        )

    def topic(self, i: int) -> np.ndarray:
        """The ranked relevance list of topic ``i`` (a view)."""
        return self.rel[self.offsets[i] : self.offsets[i + 1]]

"""Judgment-based measures that skip unjudged documents: bpref, gm_bpref, infAP.

Documents not in the pool (-1) are skipped; documents in the pool with a negative judgment
(-2) are skipped by bpref and counted as "pool unjudged" by infAP. A judged document is
non-relevant when ``0 <= rel < relevance_level``, relevant otherwise.

bpref (Buckley & Voorhees 2004), per relevant retrieved document with ``n`` judged non-relevant
documents above it: ``1 - min(n, R) / min(N, R)`` (1 when ``n == 0``), summed and divided by R,
where N is the number of judged non-relevant documents of the topic.

infAP (Yilmaz & Aslam 2006) at the relevant document of 0-based rank ``j > 0``, with ``r``
relevant (itself included), ``n`` non-relevant and ``u`` pool-unjudged judged documents above:
``1/(j+1) + (j/(j+1)) * ((r-1+n+u)/j) * ((r-1+eps)/(r-1+n+2 eps))``, ``eps = 0.00001``;
1 at rank 1. Summed and divided by R.
"""

from __future__ import annotations

import numpy as np

from ragbench.evaluation.prepared import RELVALUE_UNJUDGED, PreparedTopics
from ragbench.evaluation.trec_eval._average_precision import MIN_GEO_MEAN
from ragbench.evaluation.trec_eval._view import TopicView, as_view, c_log, segment_sum

__all__ = ["INFAP_EPSILON", "bpref", "inferred_average_precision", "log_bpref"]

INFAP_EPSILON = 0.00001
Topics = PreparedTopics | TopicView


def _prefix(mask: np.ndarray) -> np.ndarray:
    out = np.zeros(mask.size + 1, dtype=np.int64)
    np.cumsum(mask, out=out[1:])
    return out


def _judged_split(view: TopicView) -> tuple[np.ndarray, np.ndarray]:
    """Masks of judged non-relevant rows and judged relevant rows."""
    judged = view.rel >= 0
    nonrel = judged & (view.rel < view.level)
    return nonrel, judged & ~nonrel


def bpref(topics: Topics) -> np.ndarray:
    """``bpref`` per topic (see the module docstring)."""
    view = as_view(topics)
    nonrel, relevant = _judged_split(view)
    levels = view.prepared.rel_levels
    num_nonrel = levels[:, : max(view.level, 0)].sum(axis=1)
    rows = np.flatnonzero(relevant)
    topic = view.topic_of(rows)
    before = _prefix(nonrel)
    seen = before[rows] - before[view.starts[topic]]
    r = view.num_rel[topic]
    with np.errstate(invalid="ignore", divide="ignore"):
        part = 1.0 - np.minimum(seen, r).astype(np.float64) / np.minimum(num_nonrel[topic], r).astype(
            np.float64
        )
    contrib = np.where(seen > 0, part, 1.0)
    total = segment_sum(topic, contrib, view.n)
    has = view.num_rel > 0
    total[has] = total[has] / view.num_rel[has].astype(np.float64)
    return total


def log_bpref(topics: Topics) -> np.ndarray:
    """``gm_bpref``'s per-topic value: ``log(max(bpref, 0.00001))``."""
    return c_log(np.maximum(bpref(topics), MIN_GEO_MEAN))


def inferred_average_precision(topics: Topics) -> np.ndarray:
    """``infAP`` per topic (see the module docstring)."""
    view = as_view(topics)
    nonrel, relevant = _judged_split(view)
    rows = np.flatnonzero(relevant)
    topic = view.topic_of(rows)
    start = view.starts[topic]
    rel_before, nonrel_before = _prefix(relevant), _prefix(nonrel)
    unj_before = _prefix(view.rel == RELVALUE_UNJUDGED)
    r = rel_before[rows + 1] - rel_before[start]  # includes this document
    nr = nonrel_before[rows] - nonrel_before[start]
    unj = unj_before[rows] - unj_before[start]
    j = (rows - start).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        term = 1.0 / (j + 1.0) + (j / (j + 1.0)) * ((r - 1 + nr + unj) / j) * (
            (r - 1 + INFAP_EPSILON) / ((r - 1 + nr) + 2 * INFAP_EPSILON)
        )
    contrib = np.where(j == 0, 1.0, term)
    total = segment_sum(topic, contrib, view.n)
    has = view.num_rel > 0
    total[has] = total[has] / view.num_rel[has].astype(np.float64)
    return total

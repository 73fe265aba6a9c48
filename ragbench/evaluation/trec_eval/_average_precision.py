"""Average precision and its relatives: map, gm_map, map_cut, yaap, iprec_at_recall, 11pt_avg.

Precision at the k-th relevant document is ``k / rank``; ``map`` sums it over the relevant
retrieved documents in rank order and divides by ``num_rel`` (unretrieved relevant documents
count 0).

Interpolated precision at recall level ``x`` is trec_eval 10.0's: the cutoff is
``lround(x * num_rel)`` relevant documents (9.0.x used ``(long)(x * num_rel + 0.9)`` -- the one
source of the version differences on the test files), and the value there is the highest
precision at or after the rank of that many relevant documents.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragbench.evaluation.prepared import PreparedTopics
from ragbench.evaluation.trec_eval._view import TopicView, as_view, c_log, segment_sum

__all__ = [
    "MIN_GEO_MEAN",
    "average_precision",
    "average_precision_at",
    "c_lround",
    "eleven_point_average",
    "interpolated_precision",
    "log_average_precision",
    "yaap",
]

MIN_GEO_MEAN = 0.00001
"""trec_eval's floor for values entering a geometric mean (``gm_map``, ``gm_bpref``)."""

Topics = PreparedTopics | TopicView


def average_precision(topics: Topics) -> np.ndarray:
    """``map`` per topic: sum of precision at each relevant retrieved document / ``num_rel``."""
    view = as_view(topics)
    out = np.zeros(view.n, dtype=np.float64)
    has = view.rel_found > 0
    out[has] = view.ap_sum[has] / view.num_rel[has].astype(np.float64)
    return out


def log_average_precision(topics: Topics) -> np.ndarray:
    """``gm_map``'s per-topic value: ``log(max(AP, 0.00001))`` (the summary is ``exp`` of the mean)."""
    view = as_view(topics)
    ap = np.where(view.rel_found > 0, view.ap_sum / np.maximum(view.num_rel, 1), 0.0)
    return c_log(np.maximum(ap, MIN_GEO_MEAN))


def yaap(topics: Topics) -> np.ndarray:
    """``yaap`` (Robertson): ``log((1 + S) / (1 + num_rel - S))``, S the unnormalised AP sum."""
    view = as_view(topics)
    s = view.ap_sum
    return c_log((1.0 + s) / (1.0 + view.num_rel.astype(np.float64) - s))


def average_precision_at(topics: Topics, cutoffs: Sequence[int]) -> np.ndarray:
    """``map_cut_k``: the AP sum over relevant documents ranked ``<= k``, over ``num_rel``."""
    view = as_view(topics)
    out = np.zeros((view.n, len(cutoffs)), dtype=np.float64)
    has = view.num_rel > 0
    rank = view.rel_rank
    for j, k in enumerate(cutoffs):
        within = rank <= k
        sums = segment_sum(view.rel_topic[within], view.precision_at_rel[within], view.n)
        out[has, j] = sums[has] / view.num_rel[has].astype(np.float64)
    return out


def c_lround(x: np.ndarray) -> np.ndarray:
    """C's ``lround``: nearest integer, halfway cases away from zero (exact for all doubles)."""
    x = np.asarray(x, dtype=np.float64)
    t = np.trunc(x)
    frac = x - t  # exact for doubles
    return np.asarray((t + np.where(np.abs(frac) >= 0.5, np.sign(x), 0.0)).astype(np.int64))


def _suffix_max(view: TopicView) -> np.ndarray:
    """Per relevant row: the highest precision at that relevant row or any later one, same topic."""
    p = view.precision_at_rel
    if p.size == 0:
        return p
    uniq, inv = np.unique(p[::-1], return_inverse=True)
    seg = (view.n - 1 - view.rel_topic[::-1]).astype(np.int64)
    key = seg * np.int64(uniq.size) + inv.astype(np.int64)
    best = np.maximum.accumulate(key) - seg * np.int64(uniq.size)
    return np.asarray(uniq[best][::-1])


def _interpolated(view: TopicView, fractions: Sequence[float]) -> np.ndarray:
    """``(n, len(fractions))``: trec_eval's interpolation loop, for cutoffs in any order.

    The C loop walks the cutoffs from the last to the first while walking relevant documents
    from the bottom of the ranking up; a cutoff it cannot match (0, or larger than the last one
    matched) and all cutoffs before it get the precision interpolated at the top of the ranking.
    Cutoffs beyond ``num_rel_ret`` at the end of the list get 0.
    """
    n, count = view.n, len(fractions)
    found = view.rel_found
    smax = _suffix_max(view)
    first = view.first_rel_row
    top = np.zeros(n, dtype=np.float64)
    has = found > 0
    top[has] = smax[first[has]]
    # With nothing relevant retrieved the loop never runs: num_rel_ret / num_ret (0/0 when empty).
    lengths = np.where(view.absent & view.placeholder_ranked, np.maximum(view.lengths, 1), view.lengths)
    with np.errstate(invalid="ignore", divide="ignore"):
        empty_value = np.float64(0.0) * found / lengths.astype(np.float64)
    final = np.where(has, top, empty_value)
    values = np.zeros((n, count), dtype=np.float64)
    skipping = np.ones(n, dtype=bool)
    blocked = np.zeros(n, dtype=bool)
    current = found.copy()
    num_rel = view.num_rel.astype(np.float64)
    for j in range(count - 1, -1, -1):
        cut = c_lround(fractions[j] * num_rel)
        skipping &= cut > found
        active = ~skipping
        match = active & ~blocked & (cut >= 1) & (cut <= current)
        idx = np.where(match, first + cut - 1, 0)
        if smax.size:
            values[match, j] = smax[idx[match]]
        current = np.where(match, cut, current)
        blocked |= active & ~match
        values[active & blocked, j] = final[active & blocked]
    return values


def interpolated_precision(topics: Topics, fractions: Sequence[float]) -> np.ndarray:
    """``iprec_at_recall_x``: interpolated precision at recall ``x`` (pass ``x`` sorted ascending)."""
    return _interpolated(as_view(topics), fractions)


def eleven_point_average(
    topics: Topics, fractions: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
) -> np.ndarray:
    """``11pt_avg``: mean interpolated precision over ``fractions`` (kept in the order given)."""
    values = _interpolated(as_view(topics), fractions)
    total = np.zeros(values.shape[0], dtype=np.float64)
    for j in range(values.shape[1] - 1, -1, -1):  # trec_eval adds from the last cutoff down
        total = total + values[:, j]
    return total / float(len(fractions))

"""Counts, set measures and rank-cutoff measures: trec_eval's P, recall, relative_P, success, unj, ...

Every function takes a :class:`PreparedTopics` (or a :class:`TopicView` of one, to share work)
and returns float64 per topic, or ``(n_topics, n_cutoffs)`` for cutoff measures. Cutoffs are
plain ints (``P.5,10`` is ``cutoffs=(5, 10)``); a cutoff beyond the retrieved list counts the
missing ranks as non-relevant, as trec_eval does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragbench.evaluation.prepared import PreparedTopics
from ragbench.evaluation.trec_eval._view import TopicView, as_view

__all__ = [
    "num_nonjudged_ret",
    "num_nonrel_judged_ret",
    "precision",
    "r_precision",
    "r_precision_multiples",
    "recall",
    "reciprocal_rank",
    "relative_precision",
    "set_f",
    "set_map",
    "set_precision",
    "set_recall",
    "set_relative_precision",
    "success",
    "unjudged",
    "utility",
]

Topics = PreparedTopics | TopicView


def _ratio(num: np.ndarray, den: np.ndarray, where: np.ndarray) -> np.ndarray:
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num.astype(np.float64), den.astype(np.float64), out=out, where=where)
    return out


def precision(topics: Topics, cutoffs: Sequence[int]) -> np.ndarray:
    """``P_k``: relevant documents in the top ``k`` divided by ``k``. Shape ``(n, len(cutoffs))``."""
    view = as_view(topics)
    return np.stack([view.rel_in_top(k) / float(k) for k in cutoffs], axis=1).reshape(view.n, len(cutoffs))


def recall(topics: Topics, cutoffs: Sequence[int]) -> np.ndarray:
    """``recall_k``: relevant documents in the top ``k`` divided by ``num_rel`` (0 when none)."""
    view = as_view(topics)
    has = view.num_rel > 0
    cols = [_ratio(view.rel_in_top(k), view.num_rel, has) for k in cutoffs]
    return np.stack(cols, axis=1).reshape(view.n, len(cutoffs))


def relative_precision(topics: Topics, cutoffs: Sequence[int]) -> np.ndarray:
    """``relative_P_k``: relevant in the top ``k`` divided by ``min(k, num_rel)`` (0 when no relevant)."""
    view = as_view(topics)
    has = view.num_rel > 0
    cols = [_ratio(view.rel_in_top(k), np.minimum(k, view.num_rel), has) for k in cutoffs]
    return np.stack(cols, axis=1).reshape(view.n, len(cutoffs))


def success(topics: Topics, cutoffs: Sequence[int]) -> np.ndarray:
    """``success_k``: 1.0 when a relevant document is in the top ``k``."""
    view = as_view(topics)
    cols = [(view.rel_in_top(k) > 0).astype(np.float64) for k in cutoffs]
    return np.stack(cols, axis=1).reshape(view.n, len(cutoffs))


def unjudged(topics: Topics, cutoffs: Sequence[int]) -> np.ndarray:
    """``unj_k``: documents in the top ``k`` not judged (not in the pool, or judged negative), over ``k``.

    trec_eval zeroes it for topics of ``-c`` that the run lacks.
    """
    view = as_view(topics)
    cols = [view.in_top(view.unjudged_prefix, k) / float(k) for k in cutoffs]
    out = np.stack(cols, axis=1).reshape(view.n, len(cutoffs))
    out[view.absent] = 0.0
    return out


def r_precision(topics: Topics) -> np.ndarray:
    """``Rprec``: relevant in the top ``num_rel`` over ``num_rel`` (0 when nothing to look at)."""
    view = as_view(topics)
    depth = np.minimum(view.lengths, view.num_rel)
    return _ratio(view.rel_in_top(depth), view.num_rel, depth > 0)


def r_precision_multiples(topics: Topics, fractions: Sequence[float]) -> np.ndarray:
    """``Rprec_mult_x``: precision at ``(long)(x * num_rel + 0.9)`` documents (0 at cutoff 0)."""
    view = as_view(topics)
    cols = []
    for x in fractions:
        cut = np.trunc(x * view.num_rel.astype(np.float64) + 0.9).astype(np.int64)
        beyond = cut > view.lengths
        inside = ~beyond & (cut > 0)
        col = _ratio(view.rel_in_top(np.maximum(cut, 0)), cut, inside)
        col[beyond] = view.num_rel_ret[beyond] / cut[beyond].astype(np.float64)
        cols.append(col)
    return np.stack(cols, axis=1).reshape(view.n, len(fractions))


def reciprocal_rank(topics: Topics) -> np.ndarray:
    """``recip_rank``: 1 / rank of the first relevant document (0 when none is retrieved)."""
    view = as_view(topics)
    out = np.zeros(view.n, dtype=np.float64)
    has = view.rel_found > 0
    first = view.rel_rank[view.first_rel_row[has]]
    out[has] = 1.0 / first.astype(np.float64)
    return out


def num_nonrel_judged_ret(topics: Topics) -> np.ndarray:
    """int64: retrieved documents judged non-relevant (``num_ret - nonpool - unjudged - num_rel_ret``)."""
    view = as_view(topics)
    p = view.prepared
    return np.asarray(view.lengths - p.num_nonpool - p.num_unjudged_in_pool - p.num_rel_ret)


def num_nonjudged_ret(topics: Topics) -> np.ndarray:
    """int64: retrieved documents not in the pool or judged negative.

    For a ``-c`` topic the run lacks this counts trec_eval's placeholder document (1).
    """
    view = as_view(topics)
    p = view.prepared
    out = p.num_nonpool + p.num_unjudged_in_pool
    return np.where(view.absent & view.placeholder_ranked, 1, out)


def set_precision(topics: Topics) -> np.ndarray:
    """``set_P``: ``num_rel_ret / num_ret``."""
    view = as_view(topics)
    return _ratio(view.num_rel_ret, view.lengths, view.lengths > 0)


def set_relative_precision(topics: Topics) -> np.ndarray:
    """``set_relative_P``: ``num_rel_ret / min(num_ret, num_rel)``."""
    view = as_view(topics)
    ok = (view.lengths > 0) & (view.num_rel > 0)
    return _ratio(view.num_rel_ret, np.minimum(view.lengths, view.num_rel), ok)


def set_recall(topics: Topics) -> np.ndarray:
    """``set_recall``: ``num_rel_ret / num_rel``."""
    view = as_view(topics)
    return _ratio(view.num_rel_ret, view.num_rel, view.num_rel > 0)


def set_map(topics: Topics) -> np.ndarray:
    """``set_map``: ``num_rel_ret^2 / (num_ret * num_rel)`` (set precision times set recall)."""
    view = as_view(topics)
    rr = view.num_rel_ret.astype(np.float64)
    ok = (view.lengths > 0) & (view.num_rel > 0)
    den = view.lengths.astype(np.float64) * view.num_rel.astype(np.float64)
    return _ratio(rr * rr, den, ok)


def set_f(topics: Topics, beta: float = 1.0) -> np.ndarray:
    """``set_F``: ``(x + 1) P R / (x P + R)`` with ``x = beta`` (trec_eval's parameter, default 1.0)."""
    view = as_view(topics)
    out = np.zeros(view.n, dtype=np.float64)
    ok = view.num_rel_ret > 0
    rr = view.num_rel_ret[ok].astype(np.float64)
    p = rr / view.lengths[ok].astype(np.float64)
    r = rr / view.num_rel[ok].astype(np.float64)
    out[ok] = (beta + 1.0) * p * r / (beta * p + r)
    return out


def utility(topics: Topics, coefficients: Sequence[float] = (1.0, -1.0, 0.0, 0.0)) -> np.ndarray:
    """``utility``: ``a*rel_ret + b*nonrel_ret + c*rel_not_ret + d*nonrel_not_ret``.

    ``d`` needs the collection size (``-N``, :attr:`TopicView.num_docs_in_coll`). trec_eval
    zeroes it for ``-c`` topics the run lacks.
    """
    view = as_view(topics)
    a, b, c, d = (float(x) for x in coefficients)
    rr, ret, rel = view.num_rel_ret, view.lengths, view.num_rel
    out = (
        a * rr.astype(np.float64)
        + b * (ret - rr).astype(np.float64)
        + c * (rel - rr).astype(np.float64)
        + d * (view.num_docs_in_coll + rr - ret - rel).astype(np.float64)
    )
    out[view.absent] = 0.0
    return np.asarray(out)

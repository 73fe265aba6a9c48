"""Rank-discounted session measures: sessDCG (conventions A-D), nsessDCG, sessDCG/q, sRBP and
per-query nDCG aggregates (``qnDCG``).

Conventions (spec section 3), with ``r`` the rank in a query's list and ``j`` the query's index:

- **A** (jiepujiang/ir_metrics, CHIIR'16; default): ``rdisc = 1/log_b(r+b-1)``,
  ``qdisc = 1/log_bq(j+bq-1)``, gain ``2^g-1``; nsessDCG's ideal session repeats the ideal list
  (every judged document by grade, cut at k) for each of the session's n queries.
- **B** (the ECIR 2008 paper): ``rdisc = 1`` for ``r < b`` else ``1/log_b r``;
  ``qdisc = 1/(1+log_bq j)``; same ideal as A.
- **C** (TREC Dynamic Domain jig): gain = the grade, ``1/((1+log_b r)(1+log_bq j))``; normalised
  by the DD bound: each judged document used once, grades sorted descending paired with the
  discounts of the slots ``j <= n, r <= slots`` sorted descending.
- **D** (TREC DD 2015 script): gain ``2^g-1``, ``rdisc = 1/log_b(r+b-1)``,
  ``qdisc = 1/(1+log_bq j)``, ``bq = 2``; ideal = judged documents by grade packed ``slots`` per
  query, cut at the run's total length.

Duplicates count every time they are shown, in every convention.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ragbench.evaluation.session.common import (
    aggregate_queries,
    by_table,
    gains,
    labels,
    per_session,
    query_index,
    ratio,
)
from ragbench.evaluation.session.names import SessionMeasure
from ragbench.evaluation.session.prepared import PreparedSessions, rank_in_group


def _log(x: np.ndarray | float, base: float) -> np.ndarray:
    return np.asarray(np.log(x) / np.log(base))


def rank_discount(r: np.ndarray, m: SessionMeasure) -> np.ndarray:
    r = np.asarray(r, np.float64)
    b = m["b"]
    if m["conv"] == "B":
        return np.where(r < b, 1.0, 1.0 / _log(np.maximum(r, b), b))
    if m["conv"] == "C":
        return 1.0 / (1.0 + _log(r, b))
    return 1.0 / _log(r + b - 1.0, b)


def query_discount(j: np.ndarray, m: SessionMeasure) -> np.ndarray:
    j = np.asarray(j, np.float64)
    if not m["qdisc"]:
        return np.ones_like(j)
    bq = m["bq"]
    if m["conv"] == "A":
        return 1.0 / _log(j + bq - 1.0, bq)
    return 1.0 / (1.0 + _log(j, bq))


def session_dcg(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """sessDCG per session: sum over queries of qdisc(j) * sum over the top k of gain * rdisc(r)."""
    key = ("sessDCG", m.k, *(m[name] for name in ("b", "bq", "conv", "qdisc", "gain", "neg")))
    if key not in p.cache:
        top = p.row_pos <= m.k
        gain = gains(labels(p.row_grade[top], m), m["gain"])
        with np.errstate(divide="ignore", invalid="ignore"):  # index 0 of the tables is unused
            rdisc = by_table(lambda r: rank_discount(r, m), p.row_pos[top])
            qdisc = by_table(lambda j: query_discount(j, m), p.row_query[top])
        p.cache[key] = per_session(p, p.row_session[top], gain * rdisc * qdisc)
    return p.cache[key].copy()


def _ideal_dcg_per_query(
    p: PreparedSessions, m: SessionMeasure, k: int, discount: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Ideal DCG@k of each (session, query): the judged documents that apply to that query
    (session-level, or the query's own labels) sorted by grade, cut at k."""
    # Session-level groups.
    s_rank = rank_in_group(p.s_session)
    s_top = s_rank <= k
    s_gain = gains(labels(p.s_grade[s_top], m), m["gain"]) * discount(s_rank[s_top])
    ideal_session = per_session(p, p.s_session[s_top], s_gain)
    per_query = np.repeat(ideal_session, p.num_queries)
    if p.q_session.size:
        flat = query_index(p, p.q_session, p.q_query)
        q_rank = rank_in_group(flat)
        q_top = q_rank <= k
        q_gain = gains(labels(p.q_grade[q_top], m), m["gain"]) * discount(q_rank[q_top])
        own = np.bincount(flat[q_top], weights=q_gain, minlength=per_query.size)
        judged_per_query = np.repeat(p.per_query_labels, p.num_queries)
        per_query = np.where(judged_per_query, own, per_query)
    return per_query


def _dd_bound(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """Convention C's bound: the best assignment of judged documents to slots (j <= n, r <= slots)."""
    slots = int(m["slots"])
    gain = gains(labels(p.s_grade, m), m["gain"])
    rank = rank_in_group(p.s_session)
    out = np.zeros(p.num_sessions)
    for n in np.unique(p.num_queries):
        if n == 0:
            continue
        r = np.tile(np.arange(1, slots + 1), int(n))
        j = np.repeat(np.arange(1, int(n) + 1), slots)
        best = np.sort(rank_discount(r, m) * query_discount(j, m))[::-1]
        sessions_n = p.num_queries[p.s_session] == n
        use = sessions_n & (rank <= best.size)
        out += per_session(p, p.s_session[use], gain[use] * best[rank[use] - 1])
    return out


def _packed_ideal(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """Convention D's ideal: judged documents by grade, ``slots`` per query, cut at the run's length."""
    slots = int(m["slots"])
    shown = np.bincount(p.row_session[p.row_pos <= m.k], minlength=p.num_sessions)
    rank = rank_in_group(p.s_session)  # 1-based place in the session's ideal list
    use = rank <= shown[p.s_session]
    t = rank[use] - 1
    weight = rank_discount(t % slots + 1, m) * query_discount(t // slots + 1, m)
    return per_session(p, p.s_session[use], gains(labels(p.s_grade[use], m), m["gain"]) * weight)


def normalized_session_dcg(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """nsessDCG: sessDCG over the convention's ideal (see the module docstring)."""
    actual = session_dcg(p, m)
    if m["conv"] == "C":
        ideal = _dd_bound(p, m)
    elif m["conv"] == "D":
        ideal = _packed_ideal(p, m)
    else:
        per_query = _ideal_dcg_per_query(p, m, m.cutoff, lambda r: rank_discount(r, m))
        session = np.repeat(np.arange(p.num_sessions), p.num_queries)
        j = np.arange(per_query.size) - p.query_offsets()[session] + 1
        ideal = per_session(p, session, per_query * query_discount(j, m))
    return ratio(actual, ideal, m)


def session_dcg_per_query(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """sessDCG/q: sessDCG divided by the number of queries (0 for a session with none)."""
    return np.asarray(session_dcg(p, m) / np.maximum(p.num_queries, 1))


def query_ndcg(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """nDCG@k of each query (2^g-1, 1/log2(r+1); 0 when the DCG or the ideal is 0), aggregated."""
    top = p.row_pos <= m.k
    session, query = p.row_session[top], p.row_query[top]
    flat = query_index(p, session, query)
    size = int(p.num_queries.sum())

    def discount(r: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / np.log2(np.asarray(r, np.float64) + 1.0))

    dcg = np.bincount(
        flat, weights=gains(labels(p.row_grade[top], m), m["gain"]) * discount(p.row_pos[top]), minlength=size
    )
    ideal = _ideal_dcg_per_query(p, m, m.cutoff, discount)
    value = np.divide(dcg, np.where(ideal == 0, 1.0, ideal))
    value[(ideal == 0) | (dcg == 0)] = 0.0
    return aggregate_queries(p, value, m["agg"])


def session_rbp(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """sRBP: (1-p) sum_m ((p-bp)/(1-bp))^(m-1) sum_r (bp)^(r-1) grade/max_grade (spec section 5)."""
    rows = np.ones(p.row_pos.size, bool) if m.k is None else p.row_pos <= m.k
    grade = labels(p.row_grade[rows], m).astype(np.float64)
    top_grade = float(m["max_grade"] or p.max_grade)
    if top_grade <= 0:
        return np.zeros(p.num_sessions)
    prob, down = m["p"], m["b"]
    reform = (prob - down * prob) / (1.0 - down * prob)
    weight = reform ** (p.row_query[rows] - 1.0) * (down * prob) ** (p.row_pos[rows] - 1.0)
    return np.asarray((1.0 - prob) * per_session(p, p.row_session[rows], weight * grade / top_grade))

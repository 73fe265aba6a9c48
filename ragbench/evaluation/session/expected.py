"""esNDCG / esNCG: expected session nDCG (nCG) over the user model of Kanoulas et al. (SIGIR 2011),
with the conventions of jiepujiang/ir_metrics (spec section 4).

In each query's list the user examines rank 1 and goes on with probability ``p_down``, to depth
``m = min(k, len(list))`` at most; after a list she reformulates with probability ``p_reform``,
and the session ends after its last query in any case. A path P (the examined prefixes, joined)
scores ``DCG(P) / IDCG(len(P))``, with the ideal list = every judged document by grade, not cut
at k. The reference code samples 1,000 paths; here the expectation is exact by default: a dynamic
programme over (query, path length) carries, for every length, the probability of reaching it and
the probability-weighted DCG, for a block of sessions at a time (numpy over sessions). Monte
Carlo is kept as an option (``samples=N``, ``seed=S``).
"""

from __future__ import annotations

import numpy as np

from ragbench.evaluation.session.common import gains, labels, ratio
from ragbench.evaluation.session.names import SessionMeasure
from ragbench.evaluation.session.prepared import PreparedSessions, rank_in_group

_BLOCK_CELLS = 1 << 21
"""Sessions per block x (longest path + 1): bounds the DP's working arrays (~16 MB each)."""


def _discount(length: int, m: SessionMeasure) -> np.ndarray:
    """w(t) for t = 0..length (w(0) unused): 1/log2(t+1) for esNDCG, 1 for esNCG."""
    t = np.arange(length + 1, dtype=np.float64)
    w = np.ones(length + 1) if m.family == "esNCG" else 1.0 / np.log2(np.maximum(t, 1.0) + 1.0)
    w[0] = 0.0
    return w


class _Block:
    """The arrays of one block of sessions: gains [C, Q, k], depths [C, Q], IDCG [C, Lc+1]."""

    def __init__(self, p: PreparedSessions, m: SessionMeasure, sessions: np.ndarray, length: int) -> None:
        local = np.full(p.num_sessions, -1, np.int64)
        local[sessions] = np.arange(sessions.size)
        self.nq = p.num_queries[sessions]
        q_max = int(self.nq.max(initial=0))
        k = m.cutoff
        rows = (local[p.row_session] >= 0) & (p.row_pos <= k)
        s, q, r = local[p.row_session[rows]], p.row_query[rows] - 1, p.row_pos[rows] - 1
        self.gain = np.zeros((sessions.size, max(q_max, 1), k))
        self.gain[s, q, r] = gains(labels(p.row_grade[rows], m), m["gain"])
        self.depth = np.zeros((sessions.size, max(q_max, 1)), np.int64)
        np.maximum.at(self.depth, (s, q), r + 1)
        self.w = _discount(length, m)
        # IDCG(l) for l = 0..length: the ideal list's prefix sums.
        judged = local[p.s_session] >= 0
        rank = rank_in_group(p.s_session)
        use = judged & (rank <= length)
        ideal = np.zeros((sessions.size, length + 1))
        ideal[local[p.s_session[use]], rank[use]] = (
            gains(labels(p.s_grade[use], m), m["gain"]) * self.w[rank[use]]
        )
        self.idcg = np.cumsum(ideal, axis=1)
        if m["compat"] and length >= 1:
            # ir_metrics' dcg(list, 0) still counts the first element: IDCG(0) = IDCG(1). It only
            # meets empty paths, whose DCG is 0, so no value changes.
            self.idcg[:, 0] = self.idcg[:, 1]
        self.inverse = np.divide(1.0, self.idcg, out=np.zeros_like(self.idcg), where=self.idcg != 0)


def _exact(block: _Block, m: SessionMeasure, length: int) -> np.ndarray:
    p_down, p_reform = m["p_down"], m["p_reform"]
    count = block.nq.size
    prob = np.zeros((count, length + 1))
    prob[:, 0] = 1.0
    dcg = np.zeros_like(prob)
    score = np.zeros(count)
    for i in range(block.depth.shape[1]):
        depth = block.depth[:, i]
        new_prob = np.where((depth == 0)[:, None], prob, 0.0)
        new_dcg = np.where((depth == 0)[:, None], dcg, 0.0)
        reach = np.zeros_like(prob)  # A_j(l) = sum_{u<=j} g_u w(l+u)
        for j in range(1, int(depth.max(initial=0)) + 1):
            span = length + 1 - j
            reach[:, :span] += block.gain[:, i, j - 1][:, None] * block.w[j : j + span]
            p_j = np.where(
                j < depth, p_down ** (j - 1) * (1.0 - p_down), np.where(j == depth, p_down ** (j - 1), 0.0)
            )
            if not p_j.any():
                continue
            new_prob[:, j:] += p_j[:, None] * prob[:, :span]
            new_dcg[:, j:] += p_j[:, None] * (dcg[:, :span] + prob[:, :span] * reach[:, :span])
        ends_here = block.nq == i + 1
        goes_on = block.nq > i + 1
        stop = np.where(ends_here, 1.0, np.where(goes_on, 1.0 - p_reform, 0.0))
        # Summed column by column, not with .sum(axis=1): numpy's pairwise sum groups terms by the
        # block's width, which depends on the other sessions in the block; a left-to-right sum
        # (padding adds exact zeros) gives a session the same bits whatever block it is in.
        weighted = new_dcg * block.inverse
        total = np.zeros(count)
        for column in range(length + 1):
            total += weighted[:, column]
        score += stop * total
        keep = np.where(goes_on, p_reform, 0.0)[:, None]
        prob, dcg = new_prob * keep, new_dcg * keep
    return score


def _sampled(block: _Block, m: SessionMeasure, rng: np.random.Generator) -> np.ndarray:
    samples = int(m["samples"])
    count, queries = block.depth.shape
    dcg = np.zeros((count, samples))
    length = np.zeros((count, samples), np.int64)
    alive = np.ones((count, samples), bool)
    for i in range(queries):
        present = (block.nq > i)[:, None] & alive
        cap = block.depth[:, i, None]
        wanted = rng.geometric(1.0 - m["p_down"], (count, samples)) if m["p_down"] < 1 else cap
        depth = np.where(present, np.minimum(wanted, cap), 0)
        for u in range(1, int(block.depth[:, i].max(initial=0)) + 1):
            seen = depth >= u
            dcg += np.where(
                seen,
                block.gain[:, i, u - 1][:, None] * block.w[np.minimum(length + u, block.w.size - 1)],
                0.0,
            )
        length += depth
        alive = present & (rng.random((count, samples)) < m["p_reform"])
    rows = np.arange(count)[:, None]
    return np.asarray((dcg * block.inverse[rows, length]).mean(axis=1))


def expected_session_ndcg(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """esNDCG (or esNCG) per session: exact, or Monte Carlo with ``samples`` > 0."""
    flat = p.query_offsets()[p.row_session] + p.row_query - 1
    depth = np.minimum(np.bincount(flat, minlength=int(p.num_queries.sum())), m.cutoff)
    session_of_query = np.repeat(np.arange(p.num_sessions), p.num_queries)
    path = np.bincount(session_of_query, weights=depth, minlength=p.num_sessions).astype(np.int64)
    order = np.argsort(path, kind="stable")  # similar path lengths share a block
    out = np.zeros(p.num_sessions)
    rng = np.random.default_rng(int(m["seed"]))
    start = 0
    while start < order.size:
        width = _BLOCK_CELLS // _cells(int(path[order[start]]), m)
        while True:
            chunk = order[start : start + max(width, 1)]
            length = int(path[chunk[-1]])
            if width <= 1 or chunk.size * _cells(length, m) <= 2 * _BLOCK_CELLS:
                break
            width //= 2
        block = _Block(p, m, chunk, length)
        out[chunk] = _sampled(block, m, rng) if m["samples"] else _exact(block, m, length)
        start += chunk.size
    relevant = np.bincount(p.s_session, weights=labels(p.s_grade, m) > 0, minlength=p.num_sessions) > 0
    return ratio(out, relevant.astype(np.float64), m)


def _cells(length: int, m: SessionMeasure) -> int:
    return max(length + 1, int(m["samples"]) * 2)

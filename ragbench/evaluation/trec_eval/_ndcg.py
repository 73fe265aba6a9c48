"""Discounted cumulative gain: ndcg, dcg, ideal_dcg, ndcg_cut, ndcg_rel, Rndcg (trec_eval 10.0).

The document at rank ``r`` is discounted by ``log2(r + 1)``.

* ``ndcg`` (and ``dcg``/``ideal_dcg``) take trec_eval's ``level=gain`` pairs (default gain = the
  judgment level) through :mod:`._gains`, over the whole ranking; the ideal ranking holds every
  judged document with a positive gain.
* ``ndcg_cut`` ignores gain pairs in trec_eval: the gain is the judgment value itself (only
  values > 0 count, whatever ``-l`` says), and the ideal at ``k`` takes the ``k`` best judged
  documents. :func:`ndcg_at` also accepts a ``gains`` mapping (an extension, for ir-measures'
  ``nDCG(gains=...)``); without it the result is trec_eval's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np

from ragbench.evaluation.prepared import PreparedTopics
from ragbench.evaluation.trec_eval._gains import GainPairs, Ideal, gain_tables, ideal_of, row_gains
from ragbench.evaluation.trec_eval._view import TopicView, as_view, log2_table, segment_sum, segmented_cumsum

__all__ = ["dcg_parts", "ndcg", "ndcg_at", "ndcg_rel", "r_ndcg"]

Topics = PreparedTopics | TopicView


class _Dcg:
    """Per-row gains, the ideal ranking and their discounted contributions for one gain setting."""

    def __init__(self, view: TopicView, pairs: GainPairs) -> None:
        self.view = view
        tables = gain_tables(view, pairs)
        self.gain = row_gains(view, tables)
        self.ideal: Ideal = ideal_of(view, tables)
        self.nz_rows = np.flatnonzero(self.gain != 0)
        self.nz_topic = view.topic_of(self.nz_rows)
        self.nz_rank0 = self.nz_rows - view.starts[self.nz_topic]
        size = max(view.max_length, int(self.ideal.size.max()) if view.n else 0) + 2
        disc = log2_table(size)
        self.nz_contrib = self.gain[self.nz_rows] / disc[self.nz_rank0 + 2]
        self.i_topic, self.i_pos, i_gain = self.ideal.flat()
        self.i_contrib = i_gain / disc[self.i_pos + 2]
        self.i_start = np.cumsum(self.ideal.size) - self.ideal.size

    def results_dcg(self) -> np.ndarray:
        return segment_sum(self.nz_topic, self.nz_contrib, self.view.n)

    def ideal_dcg(self) -> np.ndarray:
        return segment_sum(self.i_topic, self.i_contrib, self.view.n)

    def running_results(self) -> np.ndarray:
        """Results DCG after each nonzero-gain row (sequential within its topic)."""
        counts = np.bincount(self.nz_topic, minlength=self.view.n)
        return segmented_cumsum(self.nz_contrib, np.cumsum(counts) - counts, counts)

    def running_ideal(self) -> np.ndarray:
        return segmented_cumsum(self.i_contrib, self.i_start, self.ideal.size)

    @cached_property
    def nz_prefix(self) -> np.ndarray:
        """Nonzero-gain rows among the first ``i`` rows of the flat array."""
        prefix = np.zeros(self.view.rel.size + 1, dtype=np.int64)
        np.cumsum(self.gain != 0, out=prefix[1:])
        return prefix

    def results_upto(self, running: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Results DCG of each topic's first ``depth`` documents (``depth`` per topic)."""
        view = self.view
        upto = self.nz_prefix[view.starts + depth]
        some = upto > self.nz_prefix[view.starts]
        out = np.zeros(view.n, dtype=np.float64)
        out[some] = running[upto[some] - 1]
        return out

    def ideal_upto(self, running: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Ideal DCG of each topic's first ``depth`` ideal positions (``depth <= size``)."""
        out = np.zeros(self.view.n, dtype=np.float64)
        some = depth > 0
        out[some] = running[self.i_start[some] + depth[some] - 1]
        return out


def dcg_parts(topics: Topics, pairs: GainPairs = ()) -> tuple[np.ndarray, np.ndarray]:
    """``(dcg, ideal_dcg)`` per topic under trec_eval's gain pairs (e.g. ``(("1", 3.0), ("2", 9.0))``)."""
    parts = _Dcg(as_view(topics), pairs)
    return parts.results_dcg(), parts.ideal_dcg()


def ndcg(topics: Topics, pairs: GainPairs = ()) -> np.ndarray:
    """``ndcg`` per topic: DCG of the ranking over DCG of the ideal ranking (0 when the ideal is 0)."""
    dcg, ideal = dcg_parts(topics, pairs)
    out = np.zeros_like(dcg)
    np.divide(dcg, ideal, out=out, where=ideal > 0)
    return out


def ndcg_rel(topics: Topics, pairs: GainPairs = ()) -> np.ndarray:
    """``ndcg_rel``: nDCG averaged over relevant (positive-gain) documents, unretrieved ones last."""
    view = as_view(topics)
    parts = _Dcg(view, pairs)
    ideal = parts.ideal
    k = ideal.size
    run_res, run_ideal = parts.running_results(), parts.running_ideal()
    positive = parts.gain[parts.nz_rows] > 0
    topic = parts.nz_topic[positive]
    depth = np.minimum(parts.nz_rank0[positive] + 1, k[topic])
    ideal_at = np.zeros(topic.size, dtype=np.float64)
    some = depth > 0
    ideal_at[some] = run_ideal[parts.i_start[topic[some]] + depth[some] - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        total = segment_sum(topic, run_res[positive] / ideal_at, view.n)
        found = np.bincount(topic, minlength=view.n)
        final_res = parts.results_upto(run_res, view.lengths)
        final_ideal = parts.ideal_upto(run_ideal, k)
        total = total + (k - found).astype(np.float64) * final_res / final_ideal
        value = total / k.astype(np.float64)
    return np.where(total > 0.0, value, 0.0)


def r_ndcg(topics: Topics, pairs: GainPairs = ()) -> np.ndarray:
    """``Rndcg``: nDCG averaged at the points where the ideal gain level changes (trec_eval's rules)."""
    view = as_view(topics)
    parts = _Dcg(view, pairs)
    ideal = parts.ideal
    k, lengths = ideal.size, view.lengths
    alive = ideal.top_gain > 0
    run_res, run_ideal = parts.running_results(), parts.running_ideal()
    total = np.zeros(view.n, dtype=np.float64)
    events = np.zeros(view.n, dtype=np.int64)

    def add(valid: np.ndarray, position: np.ndarray, res_depth: np.ndarray) -> None:
        nonlocal total, events
        idcg = parts.ideal_upto(run_ideal, np.where(valid, position, 0))
        ok = valid & (idcg > 0)
        res = parts.results_upto(run_res, np.where(ok, res_depth, 0))
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.where(ok, total + res / idcg, total)
        events = events + ok

    previous = ideal.top_gain.copy()
    start = np.zeros(view.n, dtype=np.int64)
    for j in range(ideal.group_count.shape[1]):
        count, gain = ideal.group_count[:, j], ideal.group_gain[:, j]
        emitted = count > 0
        changed = emitted & (gain != previous)
        add(changed & (start >= 1), start, np.minimum(start, lengths))
        previous = np.where(emitted, gain, previous)
        start = start + count
    add(alive & (k >= 1), k, np.minimum(k, lengths))  # the walk stops: gain falls to <= 0
    add(alive & (k + 1 < lengths), k, lengths)  # documents ranked after the ideal ran out
    with np.errstate(invalid="ignore", divide="ignore"):
        value = total / events.astype(np.float64)
    return np.where(view.num_rel > 0, value, 0.0)


def ndcg_at(topics: Topics, cutoffs: Sequence[int], gains: Mapping[int, float] | None = None) -> np.ndarray:
    """``ndcg_cut_k`` per topic and cutoff, shape ``(n, len(cutoffs))``.

    Args:
        topics: prepared topics or a view of them.
        cutoffs: rank cutoffs (positive ints).
        gains: ``{judgment level: gain}``; unlisted levels keep gain = level. ``None`` (trec_eval)
            uses the judgment value itself. Only positive gains count, in the ranking and the ideal.

    Returns:
        DCG@k / ideal DCG@k; when the ideal is 0 trec_eval leaves DCG@k unnormalised (also 0).
    """
    view = as_view(topics)
    cutoffs = [int(c) for c in cutoffs]
    out = np.zeros((view.n, len(cutoffs)), dtype=np.float64)
    if view.n == 0 or not cutoffs:
        return out
    levels = view.prepared.rel_levels
    level_gain = np.arange(levels.shape[1], dtype=np.float64)
    for level, value in (gains or {}).items():
        if 0 <= int(level) < level_gain.size:
            level_gain[int(level)] = float(value)
    level_gain = np.where(level_gain > 0, level_gain, 0.0)
    order = np.argsort(-level_gain, kind="stable")
    order = order[level_gain[order] > 0]
    kmax = max(cutoffs)
    width = max(1, min(kmax, max(view.max_length, int(levels.sum(axis=1).max()))))
    disc = log2_table(width + 2)[2:]
    columns = np.minimum(np.asarray(cutoffs), width) - 1
    lookup = np.concatenate((np.zeros(2), level_gain))  # codes -2, -1 -> gain 0
    rel_padded = np.concatenate((view.rel, [-2]))
    for a, b in view.topic_chunks(width):
        rows, _ = view.top_rows(width, a, b)
        gain = lookup[np.minimum(rel_padded[rows], level_gain.size - 1) + 2]
        dcg = np.cumsum(gain / disc[None, :], axis=1)[:, columns]
        ideal_gain = np.zeros((b - a, width), dtype=np.float64)
        filled = np.zeros(b - a, dtype=np.int64)
        position = np.arange(width)[None, :]
        for level in order.tolist():
            count = levels[a:b, level]
            inside = (position >= filled[:, None]) & (position < (filled + count)[:, None])
            ideal_gain[inside] = level_gain[level]
            filled = filled + count
        ideal = np.cumsum(ideal_gain / disc[None, :], axis=1)[:, columns]
        out[a:b] = np.divide(dcg, ideal, out=dcg.copy(), where=ideal > 0)
    return out

"""Gain measures: binG, G (Buckley's experimental gain measures) and rank-biased precision.

* ``binG``: average over relevant documents of ``1 / log2(2 + non-relevant documents above it)``.
* ``G``: each document's gain over ``log2(2 + ideal cost so far - gain so far)``, where the ideal
  cost adds the ideal gain at that rank (at least 1), summed and divided by the ideal's total gain.
* ``rbp`` (Moffat & Zobel 2008): ``(1 - p) * sum(gain_i * p^i)``, ``p`` from the ``p=`` pair
  (default 0.9), gains from the other pairs, rescaled to [0, 1] when outside it.
* ``rbp_resid``: the most rbp could still rise if every unjudged document were relevant:
  ``p^num_ret + (1 - p) * sum over unjudged of p^i`` (0 when nothing is unjudged).

``p^i`` is computed by repeated multiplication, as trec_eval does.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ragbench.evaluation.prepared import PreparedTopics
from ragbench.evaluation.trec_eval._gains import GainPairs, as_pairs, gain_tables, ideal_of, row_gains
from ragbench.evaluation.trec_eval._view import (
    TopicView,
    as_view,
    c_log2,
    log2_table,
    segment_sum,
    segmented_cumsum,
)

__all__ = ["binary_gain", "gain", "rbp", "rbp_persistence", "rbp_residual"]

Topics = PreparedTopics | TopicView


def binary_gain(topics: Topics) -> np.ndarray:
    """``binG`` per topic."""
    view = as_view(topics)
    nonrel_above = view.rel_rank - view.rel_count  # rank - 1 - (count - 1)
    contrib = 1.0 / log2_table(int(nonrel_above.max(initial=0)) + 3)[nonrel_above + 2]
    total = segment_sum(view.rel_topic, contrib, view.n)
    has = view.rel_found > 0
    total[has] = total[has] / view.num_rel[has].astype(np.float64)
    total[~has] = 0.0
    return total


def gain(topics: Topics, pairs: GainPairs = ()) -> np.ndarray:
    """``G`` per topic (see the module docstring; gain pairs as for ``ndcg``)."""
    view = as_view(topics)
    tables = gain_tables(view, pairs)
    row_gain = row_gains(view, tables)
    ideal = ideal_of(view, tables)
    i_topic, _, i_gain = ideal.flat()
    i_start = np.cumsum(ideal.size) - ideal.size
    # Ideal gain at each retrieved rank while the ideal lasts; the cost adds it if >= 1, else 1.
    rank0 = np.arange(view.rel.size, dtype=np.int64) - np.repeat(view.starts, view.lengths)
    topic = np.repeat(np.arange(view.n, dtype=np.int64), view.lengths)
    inside = rank0 < ideal.size[topic]
    ideal_here = np.zeros(view.rel.size, dtype=np.float64)
    ideal_here[inside] = i_gain[i_start[topic[inside]] + rank0[inside]]
    cost = np.where(inside & (ideal_here >= 1.0), ideal_here, 1.0)
    sum_cost = segmented_cumsum(cost, view.starts, view.lengths)
    sum_results = segmented_cumsum(row_gain, view.starts, view.lengths)
    nz = np.flatnonzero(row_gain != 0)
    with np.errstate(divide="ignore", invalid="ignore"):  # log2(1) = 0 and worse happen, as in C
        terms = row_gain[nz] / c_log2(2 + sum_cost[nz] - sum_results[nz])
    results_g = segment_sum(topic[nz], terms, view.n)
    sum_ideal = segment_sum(i_topic, i_gain, view.n)
    out = np.zeros(view.n, dtype=np.float64)
    np.divide(results_g, sum_ideal, out=out, where=sum_ideal > 0.0)
    return out


def rbp_persistence(pairs: GainPairs) -> float:
    """The ``p`` of ``rbp.p=0.95``: the last pair named ``p``, default 0.9."""
    p = 0.9
    for name, value in as_pairs(pairs):
        if name == "p":
            p = float(value)
    return p


def _powers(p: float, size: int) -> np.ndarray:
    """``p^0 .. p^(size-1)`` by repeated multiplication (trec_eval's ``cur_p = cur_p * p``)."""
    factors = np.full(size, p, dtype=np.float64)
    factors[0] = 1.0
    return np.multiply.accumulate(factors)


def rbp(topics: Topics, pairs: GainPairs = ()) -> np.ndarray:
    """``rbp`` per topic. ``pairs`` as trec_eval's: ``(("p", 0.95), ("1", 1.0), ...)``."""
    view = as_view(topics)
    p = rbp_persistence(pairs)
    tables = gain_tables(view, pairs)
    for nl, table in tables.items():
        g = table.entry_gain
        if g.size and (g.min() < 0 or g.max() > 1):
            low, high = g.min(), g.max()
            tables[nl] = replace(table, entry_gain=(g - low) / (high - low))
    row_gain = row_gains(view, tables)
    nz = np.flatnonzero(row_gain != 0)
    topic = view.topic_of(nz)
    powers = _powers(p, view.max_length + 1)
    total = segment_sum(topic, row_gain[nz] * powers[nz - view.starts[topic]], view.n)
    return (1.0 - p) * total


def rbp_residual(topics: Topics, pairs: GainPairs = ()) -> np.ndarray:
    """``rbp_resid`` per topic (0 for ``-c`` topics the run lacks, as trec_eval zeroes it)."""
    view = as_view(topics)
    p = rbp_persistence(pairs)
    rows = np.flatnonzero(view.rel < 0)
    topic = view.topic_of(rows)
    powers = _powers(p, view.max_length + 1)
    total = segment_sum(topic, powers[rows - view.starts[topic]], view.n)
    any_unjudged = np.bincount(topic, minlength=view.n) > 0
    out = np.where(any_unjudged, powers[view.lengths] + (1 - p) * total, 0.0)
    out[view.absent] = 0.0
    return out

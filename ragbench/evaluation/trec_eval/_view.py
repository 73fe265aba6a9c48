"""Shared, lazily computed arrays over :class:`PreparedTopics` that the measures reuse.

Every measure reads the same flat layout (``rel`` in rank order, topic ``i`` owning
``rel[offsets[i]:offsets[i + 1]]``). A :class:`TopicView` computes the derived arrays a measure
needs (cumulative relevant counts, the rows of relevant documents, their ranks, ...) once and
keeps them, so that asking for ``map``, ``P`` and ``recall`` together costs one pass each.

Floating-point sums follow trec_eval's order exactly: per-topic sums are accumulated with
``np.bincount`` (a sequential loop, in rank order) or with :func:`segmented_cumsum` (sequential
within each topic), never with numpy's pairwise summation, so the printed fourth decimal is
the C program's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property

import numpy as np

from ragbench.evaluation.prepared import RELVALUE_NONPOOL, RELVALUE_UNJUDGED, PreparedTopics

__all__ = ["TopicView", "as_view", "c_log", "c_log2", "log2_table", "segment_sum", "segmented_cumsum"]

_LOG2_TABLE = np.zeros(0, dtype=np.float64)


def log2_table(size: int) -> np.ndarray:
    """``log2(i)`` for ``i`` in ``0..size-1`` (``-inf`` at 0), computed by the C library's log2.

    numpy may evaluate ``np.log2`` with its own SIMD kernels, which can differ from glibc in the
    last bit; trec_eval calls glibc, so the discount tables come from :func:`math.log2`.
    """
    global _LOG2_TABLE
    if _LOG2_TABLE.size < size:
        grow = max(size, 2 * _LOG2_TABLE.size, 1024)
        table = np.empty(grow, dtype=np.float64)
        table[0] = -np.inf
        table[1:] = [math.log2(i) for i in range(1, grow)]
        _LOG2_TABLE = table
    return _LOG2_TABLE[:size]


_NEG_NAN = math.copysign(math.nan, -1.0)


def _c_math(func: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    """Apply a :mod:`math` logarithm elementwise with C's domain rules (0 -> -inf, < 0 -> -nan)."""

    def one(v: float) -> float:
        if v > 0:
            return func(v)
        return -math.inf if v == 0 else _NEG_NAN

    flat = np.asarray(values, dtype=np.float64)
    return np.fromiter(map(one, flat.ravel().tolist()), dtype=np.float64, count=flat.size).reshape(flat.shape)


def c_log2(values: np.ndarray) -> np.ndarray:
    """Elementwise ``log2`` through the C library (see :func:`log2_table`)."""
    return _c_math(math.log2, values)


def c_log(values: np.ndarray) -> np.ndarray:
    """Elementwise natural ``log`` through the C library."""
    return _c_math(math.log, values)


def segment_sum(segment: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Per-segment sums of ``weights`` accumulated sequentially in array order (float64)."""
    if segment.size == 0:
        return np.zeros(n, dtype=np.float64)
    return np.bincount(segment, weights=weights, minlength=n).astype(np.float64, copy=False)


def segmented_cumsum(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Inclusive running sums restarted at every segment, each one sequential like a C loop.

    ``np.cumsum`` over the whole array followed by a subtraction would round differently, so the
    sums are accumulated either segment by segment or rank position by rank position, whichever
    needs fewer numpy calls (``min(#segments, longest segment)``).
    """
    out = np.zeros(values.size, dtype=np.float64)
    if values.size == 0:
        return out
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    longest = int(lengths.max()) if lengths.size else 0
    if starts.size <= longest:
        for s, ln in zip(starts.tolist(), lengths.tolist(), strict=True):
            np.cumsum(values[s : s + ln], out=out[s : s + ln])
        return out
    order = np.argsort(-lengths, kind="stable")
    starts_sorted, lengths_sorted = starts[order], lengths[order]
    active = np.searchsorted(-lengths_sorted, -np.arange(longest), side="left")
    idx = starts_sorted.copy()
    out[idx] = values[idx]
    for position in range(1, longest):
        idx = starts_sorted[: active[position]] + position
        out[idx] = out[idx - 1] + values[idx]
    return out


class TopicView:
    """One :class:`PreparedTopics` with the derived arrays its measures share, computed on demand.

    Args:
        prepared: the joined run and qrels.
        absent: bool per topic: topics of the qrels that the run lacks (only with ``-c``).
            trec_eval evaluates such a topic on a one-document placeholder ranking (a document
            that is not in the pool) and then zeroes ``num_ret``, ``utility``, ``unj_*``,
            ``rbp_resid`` and ``relstring``. ``None`` treats every empty topic as absent.
        placeholder_ranked: whether that placeholder document survives ``-J``/``-M 0``; when it
            does not, trec_eval divides 0 by 0 in ``iprec_at_recall``/``11pt_avg`` for absent topics.
        num_docs_in_coll: ``-N``, used only by ``utility``'s fourth coefficient.
    """

    def __init__(
        self,
        prepared: PreparedTopics,
        *,
        absent: np.ndarray | None = None,
        placeholder_ranked: bool = True,
        num_docs_in_coll: int = 0,
    ) -> None:
        self.prepared = prepared
        self.n = prepared.num_topics
        self.level = int(prepared.relevance_level)
        self.rel = prepared.rel
        self.offsets = prepared.offsets
        self.starts = prepared.offsets[:-1]
        self.lengths = np.diff(prepared.offsets)
        self.num_rel = prepared.num_rel
        self.num_rel_ret = prepared.num_rel_ret
        self.num_docs_in_coll = int(num_docs_in_coll)
        if absent is None:
            absent = self.lengths == 0
        self.absent = np.asarray(absent, dtype=bool)
        self.placeholder_ranked = placeholder_ranked

    # ----------------------------------------------------------------- per-row helpers
    def topic_of(self, rows: np.ndarray) -> np.ndarray:
        """Topic index of each given row (rows are positions in ``rel``)."""
        return np.searchsorted(self.offsets, rows, side="right") - 1

    @cached_property
    def max_length(self) -> int:
        return int(self.lengths.max()) if self.n else 0

    @cached_property
    def is_rel(self) -> np.ndarray:
        """bool per row: ``rel >= relevance_level``, the test trec_eval's loops use."""
        return self.rel >= self.level

    @cached_property
    def rel_prefix(self) -> np.ndarray:
        """int64, ``N + 1``: relevant rows among the first ``i`` rows of the flat array."""
        out = np.zeros(self.rel.size + 1, dtype=np.int64)
        np.cumsum(self.is_rel, out=out[1:])
        return out

    def in_top(self, prefix: np.ndarray, k: int | np.ndarray) -> np.ndarray:
        """int64 per topic: rows counted by ``prefix`` among the first ``min(k, num_ret)`` retrieved.

        ``prefix`` is an ``N + 1`` running count over the flat rows (see :attr:`rel_prefix`).
        """
        depth = np.minimum(k, self.lengths)
        return np.asarray(prefix[self.starts + depth] - prefix[self.starts])

    def rel_in_top(self, k: int | np.ndarray) -> np.ndarray:
        """int64 per topic: relevant documents among the first ``min(k, num_ret)`` retrieved."""
        return self.in_top(self.rel_prefix, k)

    @cached_property
    def unjudged_prefix(self) -> np.ndarray:
        """int64, ``N + 1``: rows not in the pool or judged negative among the first ``i`` rows."""
        out = np.zeros(self.rel.size + 1, dtype=np.int64)
        np.cumsum(self.unjudged_mask, out=out[1:])
        return out

    @cached_property
    def rel_rows(self) -> np.ndarray:
        """Rows of relevant documents, in flat (topic, rank) order."""
        return np.flatnonzero(self.is_rel)

    @cached_property
    def rel_topic(self) -> np.ndarray:
        return self.topic_of(self.rel_rows)

    @cached_property
    def rel_rank(self) -> np.ndarray:
        """1-based rank of each relevant row."""
        return np.asarray(self.rel_rows - self.starts[self.rel_topic] + 1)

    @cached_property
    def rel_count(self) -> np.ndarray:
        """1-based index of each relevant row among its topic's relevant rows."""
        return np.asarray(self.rel_prefix[self.rel_rows + 1] - self.rel_prefix[self.starts[self.rel_topic]])

    @cached_property
    def rel_found(self) -> np.ndarray:
        """int64 per topic: relevant rows retrieved (by the loops' own test)."""
        return np.bincount(self.rel_topic, minlength=self.n).astype(np.int64)

    @cached_property
    def first_rel_row(self) -> np.ndarray:
        """int64 per topic: index into :attr:`rel_rows` of its first relevant row (valid if any)."""
        return np.asarray(np.cumsum(self.rel_found) - self.rel_found)

    @cached_property
    def precision_at_rel(self) -> np.ndarray:
        """``k / rank`` at the k-th relevant row, as trec_eval's ``rel_so_far / (i + 1)``."""
        return self.rel_count.astype(np.float64) / self.rel_rank.astype(np.float64)

    @cached_property
    def ap_sum(self) -> np.ndarray:
        """float64 per topic: the sum of precision at each relevant retrieved document."""
        return segment_sum(self.rel_topic, self.precision_at_rel, self.n)

    @cached_property
    def unjudged_mask(self) -> np.ndarray:
        """bool per row: not in the pool (-1) or in the pool but unjudged (-2)."""
        return np.asarray((self.rel == RELVALUE_NONPOOL) | (self.rel == RELVALUE_UNJUDGED))

    @cached_property
    def num_rel_levels(self) -> np.ndarray:
        """int64 per topic: 1 + the highest judgment level with at least one document (0 if none)."""
        levels = self.prepared.rel_levels
        if levels.shape[1] == 0:
            return np.zeros(self.n, dtype=np.int64)
        nonzero = levels > 0
        last = levels.shape[1] - np.argmax(nonzero[:, ::-1], axis=1)
        return np.where(nonzero.any(axis=1), last, 0).astype(np.int64)

    def top_rows(self, width: int, first: int = 0, last: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ranks ``1..width`` of topics ``first..last-1`` as a dense matrix, and its validity mask.

        Invalid cells (past a topic's last retrieved document) hold row ``len(rel)``: index an
        array extended by one fill value.
        """
        last = self.n if last is None else last
        ranks = np.arange(width, dtype=np.int64)
        valid = ranks[None, :] < self.lengths[first:last, None]
        rows = np.where(valid, self.starts[first:last, None] + ranks[None, :], self.rel.size)
        return rows, valid

    def topic_chunks(self, width: int, cells: int = 1 << 20) -> list[tuple[int, int]]:
        """Split the topics into ranges whose ``(topics x width)`` matrices stay below ``cells``."""
        step = max(1, cells // max(width, 1))
        return [(a, min(a + step, self.n)) for a in range(0, self.n, step)]


def as_view(topics: PreparedTopics | TopicView) -> TopicView:
    """Wrap ``topics`` in a :class:`TopicView` unless it already is one."""
    return topics if isinstance(topics, TopicView) else TopicView(topics)

"""Gain tables of trec_eval's graded measures (``gain_init.c``), per topic, vectorised.

``ndcg``, ``ndcg_rel``, ``Rndcg``, ``G``, ``rbp`` (and ``dcg``/``ideal_dcg``) take
``level=gain`` pairs. trec_eval builds, for each topic, a list of entries: first the pairs whose
name is an integer (in command-line order), then every judgment level ``0..num_rel_levels-1``
that no pair names, with gain = level. Each level's document count goes to the first entry with
that level. The list is sorted with glibc's ``qsort`` (a top-down merge sort) and a comparator
that truncates the gain difference to ``int`` -- so gains less than 1 apart compare equal, and
the order can depend on where they started. This module reproduces that order exactly.

The ideal ranking walks the sorted entries from the highest down, skipping entries with no
documents, and stops at the first entry with documents whose gain is not positive; it never
starts if the top entry's gain (documents or not) is not positive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ragbench.evaluation.trec_eval._view import TopicView

__all__ = ["GainPairs", "GainTable", "Ideal", "as_pairs", "gain_tables", "glibc_msort", "ideal_of"]

Entry = tuple[int, float]  # (judgment level, gain)
GainPairs = Sequence[tuple[str, float]] | Mapping[int | str, float]
"""trec_eval's ``level=gain`` pairs: ``(("1", 3.0), ("2", 9.0))`` or ``{1: 3.0, 2: 9.0}``."""


def as_pairs(pairs: GainPairs) -> tuple[tuple[str, float], ...]:
    """Gain pairs as ``(name, value)`` tuples in the given order."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple((str(name), float(value)) for name, value in items)


def glibc_msort(items: Sequence[Entry], compare: Callable[[Entry, Entry], int]) -> list[Entry]:
    """glibc's ``msort_with_tmp``: split at ``n // 2``, sort halves, merge taking left on ``<= 0``."""
    if len(items) <= 1:
        return list(items)
    half = len(items) // 2
    left, right = glibc_msort(items[:half], compare), glibc_msort(items[half:], compare)
    out: list[Entry] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if compare(left[i], right[j]) <= 0:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


def _compare_gain(a: Entry, b: Entry) -> int:
    # comp_rel_gain returns the double difference converted to int: truncation toward zero.
    diff = a[1] - b[1]
    return 0 if math.isnan(diff) else int(max(min(diff, 2**31 - 1), -(2**31)))


def _valid_int(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return bool(body) and all(ch in "0123456789" for ch in body)


@dataclass(frozen=True, slots=True)
class GainTable:
    """Sorted gain entries for topics with ``num_rel_levels == levels``.

    Attributes:
        levels: the num_rel_levels this table was built for.
        entry_level: judgment level of each sorted entry (ascending gain order).
        entry_gain: gain of each sorted entry.
        counted: whether the entry receives its level's document count (first entry of a level
            within ``0..levels-1``).
    """

    levels: int
    entry_level: np.ndarray
    entry_gain: np.ndarray
    counted: np.ndarray

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        """``get_gain``: gain of the first sorted entry with each level; 0.0 when none matches."""
        out = np.zeros(codes.size, dtype=np.float64)
        done = np.zeros(codes.size, dtype=bool)
        for level, gain in zip(self.entry_level.tolist(), self.entry_gain.tolist(), strict=True):
            hit = ~done & (codes == level)
            out[hit] = gain
            done |= hit
        return out


def _build_table(pairs: Sequence[tuple[str, float]], levels: int) -> GainTable:
    entries: list[Entry] = [(int(name), value) for name, value in pairs if _valid_int(name)]
    counted = [False] * len(entries)
    for level in range(levels):
        for j, (entry_level, _) in enumerate(entries):
            if entry_level == level:
                counted[j] = True
                break
        else:
            entries.append((level, float(level)))
            counted.append(True)
    tagged = [(i, entries[i][1]) for i in range(len(entries))]
    order = [i for i, _ in glibc_msort(tagged, _compare_gain)]
    return GainTable(
        levels=levels,
        entry_level=np.asarray([entries[i][0] for i in order], dtype=np.int64),
        entry_gain=np.asarray([entries[i][1] for i in order], dtype=np.float64),
        counted=np.asarray([counted[i] for i in order], dtype=bool),
    )


def gain_tables(view: TopicView, pairs: GainPairs) -> dict[int, GainTable]:
    """One :class:`GainTable` per distinct ``num_rel_levels`` among the topics."""
    items = as_pairs(pairs)
    return {int(nl): _build_table(items, int(nl)) for nl in np.unique(view.num_rel_levels).tolist()}


def row_gains(view: TopicView, tables: dict[int, GainTable]) -> np.ndarray:
    """float64 per row of ``rel``: ``get_gain(rel)`` under its topic's table."""
    gains = np.zeros(view.rel.size, dtype=np.float64)
    nl_of_topic = view.num_rel_levels
    for nl, table in tables.items():
        topics = np.flatnonzero(nl_of_topic == nl)
        if topics.size == view.n:
            gains[:] = table.lookup(view.rel)
            continue
        lengths = view.lengths[topics]
        rows = np.repeat(view.starts[topics] - np.cumsum(lengths) + lengths, lengths) + np.arange(
            int(lengths.sum()), dtype=np.int64
        )
        gains[rows] = table.lookup(view.rel[rows])
    return gains


@dataclass(frozen=True, slots=True)
class Ideal:
    """The ideal ranking of each topic as groups of equal-gain documents.

    Attributes:
        group_gain: ``(n, m)`` gain of each sorted entry from the top (highest) down.
        group_count: ``(n, m)`` documents the ideal ranking takes from that entry (0 when the
            entry is skipped or the walk has stopped).
        top_gain: ``(n,)`` gain of the top entry (the walk starts only if it is positive).
        stop_gain: ``(n,)`` trec_eval's ``ideal_gain`` once the walk has stopped: the gain of the
            entry that stopped it, or 0.0 when the entries ran out.
        size: ``(n,)`` documents in the ideal ranking (K).
    """

    group_gain: np.ndarray
    group_count: np.ndarray
    top_gain: np.ndarray
    stop_gain: np.ndarray
    size: np.ndarray

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(topic, position, gain)`` of every ideal document, topic-major, position-minor."""
        counts = self.group_count.ravel()
        gains = np.repeat(self.group_gain.ravel(), counts)
        n = self.size.size
        topic = np.repeat(np.arange(n, dtype=np.int64), self.size)
        start = np.cumsum(self.size) - self.size
        position = np.arange(gains.size, dtype=np.int64) - np.repeat(start, self.size)
        return topic, position, gains


def ideal_of(view: TopicView, tables: dict[int, GainTable]) -> Ideal:
    """The ideal ranking of every topic under its gain table (see the module docstring)."""
    n = view.n
    width = max((t.entry_gain.size for t in tables.values()), default=0)
    gain = np.zeros((n, width), dtype=np.float64)
    count = np.zeros((n, width), dtype=np.int64)
    top_gain = np.zeros(n, dtype=np.float64)
    stop_gain = np.zeros(n, dtype=np.float64)
    rel_levels = view.prepared.rel_levels
    for nl, table in tables.items():
        topics = np.flatnonzero(view.num_rel_levels == nl)
        m = table.entry_gain.size
        if m == 0:
            continue
        order = np.arange(m - 1, -1, -1)  # from the highest entry down
        g = table.entry_gain[order]
        levels = table.entry_level[order]
        counted = table.counted[order]
        c = np.zeros((topics.size, m), dtype=np.int64)
        for j in range(m):
            if counted[j] and 0 <= levels[j] < rel_levels.shape[1]:
                c[:, j] = rel_levels[topics, levels[j]]
        alive = np.full(topics.size, g[0] > 0)
        stop = np.full(topics.size, 0.0 if g[0] > 0 else g[0])
        for j in range(m):
            has = c[:, j] > 0
            if g[j] <= 0:
                stopping = alive & has
                stop[stopping] = g[j]
                alive &= ~has
                c[:, j] = 0
            else:
                c[~alive, j] = 0
        gain[topics, :m] = g
        count[topics, :m] = c
        top_gain[topics] = g[0]
        stop_gain[topics] = stop
    return Ideal(gain, count, top_gain, stop_gain, count.sum(axis=1))

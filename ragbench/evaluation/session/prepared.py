"""A session run joined with its judgments, as flat numpy arrays every measure works on.

Rows are the documents shown, sorted by (session, query, position); a session's empty queries
have no rows but count in ``num_queries``. Each row carries two labels:

- ``grade``: the label of the document *for the query that showed it*: the per-query label when
  the session is judged per query, else the session-level label;
- ``sgrade``: the session-level label ``rel_S(d)`` (for per-query judgments the maximum over the
  session's queries, as the spec's section 0 says).

Unjudged documents have grade 0. Labels are raw (negative grades kept); each measure applies
its ``neg`` convention. Judgments are kept as two tables for the ideals: session-level
(``s_*``: one row per judged (session, document)) and, for sessions judged per query, per-query
(``q_*``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PreparedSessions:
    """Everything the session measures read (see the module docstring)."""

    session_ids: tuple[str, ...]
    num_queries: np.ndarray  # int64 [S]
    row_session: np.ndarray  # int64 [N]
    row_query: np.ndarray  # int64 [N], 1-based
    row_pos: np.ndarray  # int64 [N], 1-based position in the query's list
    row_doc: np.ndarray  # int64 [N], doc codes
    row_grade: np.ndarray  # int64 [N]
    row_sgrade: np.ndarray  # int64 [N]
    row_clicked: np.ndarray  # bool [N]
    s_session: np.ndarray  # int64 [J], sorted by session then grade descending
    s_doc: np.ndarray
    s_grade: np.ndarray
    q_session: np.ndarray  # int64 [Jq], per-query judgments, sorted by (session, query, grade desc)
    q_query: np.ndarray
    q_doc: np.ndarray
    q_grade: np.ndarray
    per_query_labels: np.ndarray  # bool [S]: the session is judged per query
    num_docs: int
    max_grade: int
    cache: dict[Any, np.ndarray] = field(default_factory=dict, compare=False, repr=False)
    """Intermediate results shared by measures (e.g. sessDCG for nsessDCG)."""

    @property
    def num_sessions(self) -> int:
        return len(self.session_ids)

    def query_offsets(self) -> np.ndarray:
        """Index of each session's first query in a flat (session, query) array."""
        return np.asarray(np.cumsum(self.num_queries) - self.num_queries)


def dedupe_max(keys: np.ndarray, grades: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys (sorted) with the maximum grade of each."""
    if keys.size == 0:
        return keys, grades
    order = np.lexsort((grades, keys))
    keys, grades = keys[order], grades[order]
    last = np.r_[keys[1:] != keys[:-1], True]
    return keys[last], grades[last]


def lookup(sorted_keys: np.ndarray, values: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value or 0, found) for each key, by binary search in ``sorted_keys``."""
    if sorted_keys.size == 0:
        return np.zeros(keys.size, np.int64), np.zeros(keys.size, bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    found = sorted_keys[at] == keys
    return np.where(found, values[at], 0), found


def prepare(
    session_ids: Sequence[str],
    num_queries: np.ndarray,
    run_session: np.ndarray,
    run_query: np.ndarray,
    run_doc: np.ndarray,
    run_clicked: np.ndarray,
    qrels_session: np.ndarray,
    qrels_query: np.ndarray,
    qrels_doc: np.ndarray,
    qrels_grade: np.ndarray,
    num_docs: int,
) -> PreparedSessions:
    """Join a run's rows (already sorted by session, query, rank) with the judgments.

    Session and doc codes must already be in one numbering (``session_ids`` / a shared pool).
    Rows of the run whose session code is negative (not evaluated) must have been dropped.
    """
    run_session = np.asarray(run_session, np.int64)
    run_query = np.asarray(run_query, np.int64)
    run_doc = np.asarray(run_doc, np.int64)
    n_sessions = len(session_ids)
    num_queries = np.asarray(num_queries, np.int64)
    docs = max(int(num_docs), 1)

    qrels_session = np.asarray(qrels_session, np.int64)
    qrels_query = np.asarray(qrels_query, np.int64)
    qrels_doc = np.asarray(qrels_doc, np.int64)
    qrels_grade = np.asarray(qrels_grade, np.int64)
    per_query = np.zeros(n_sessions, bool)
    per_query[qrels_session[qrels_query > 0]] = True

    # Session-level labels: given ones, or the maximum over the session's per-query labels.
    s_keys, s_grades = dedupe_max(qrels_session * docs + qrels_doc, qrels_grade)
    row_sgrade, _ = lookup(s_keys, s_grades, run_session * docs + run_doc)

    pq = qrels_query > 0
    q_width = int(max(num_queries.max(initial=0), qrels_query.max(initial=0))) + 1
    pos = rank_in_group(run_session * q_width + run_query)  # 1-based position in the query's list
    if pq.any():
        q_keys = (qrels_session[pq] * q_width + qrels_query[pq]) * docs + qrels_doc[pq]
        q_order = np.argsort(q_keys, kind="stable")
        row_keys = (run_session * q_width + run_query) * docs + run_doc
        row_qgrade, _ = lookup(q_keys[q_order], qrels_grade[pq][q_order], row_keys)
        row_grade = np.where(per_query[run_session], row_qgrade, row_sgrade)
    else:  # every session judged as a whole: the display label is the session label
        row_grade = row_sgrade

    s_session, s_doc = s_keys // docs, s_keys % docs
    order = np.lexsort((s_doc, -s_grades, s_session))
    q_session, q_query, q_doc, q_grade = qrels_session[pq], qrels_query[pq], qrels_doc[pq], qrels_grade[pq]
    q_sorted = np.lexsort((q_doc, -q_grade, q_query, q_session))
    return PreparedSessions(
        session_ids=tuple(session_ids),
        num_queries=num_queries,
        row_session=run_session,
        row_query=run_query,
        row_pos=pos,
        row_doc=run_doc,
        row_grade=np.asarray(row_grade, np.int64),
        row_sgrade=np.asarray(row_sgrade, np.int64),
        row_clicked=np.asarray(run_clicked, bool),
        s_session=s_session[order],
        s_doc=s_doc[order],
        s_grade=s_grades[order],
        q_session=q_session[q_sorted],
        q_query=q_query[q_sorted],
        q_doc=q_doc[q_sorted],
        q_grade=q_grade[q_sorted],
        per_query_labels=per_query,
        num_docs=docs,
        max_grade=int(qrels_grade.max(initial=0)),
    )


def rank_in_group(group: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal ``group`` values (sorted input)."""
    n = group.size
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return np.arange(n, dtype=np.int64) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1


def cumsum_in_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each new ``group`` value (sorted input).

    A segmented Hillis-Steele scan (log2 of the longest group passes) rather than one global
    cumsum minus each group's offset: every element's sum is formed from its own group alone, in
    an order that depends only on its position in the group, so two identical sessions get
    bit-identical values wherever they sit in the file (rank correlations see their ties).
    """
    out = np.asarray(values, np.float64).copy()
    if out.size == 0:
        return out
    offset = rank_in_group(group) - 1
    shift, longest = 1, int(offset.max())
    while shift <= longest:
        # The right side is computed in full before the assignment writes (adding 0.0 is exact).
        out[shift:] = out[shift:] + np.where(offset[shift:] >= shift, out[:-shift], 0.0)
        shift *= 2
    return out

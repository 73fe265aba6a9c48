"""The session tables built from whole columns, and the fast way to read clean TSV files.

``_assemble_run``, ``_assemble_qrels`` and ``_assemble_sessions`` sort the rows, check them as
whole columns (no rank, document or query given twice, no gap in a session's queries, one text
per query) and build the tables; both ways of reading end in them. ``_fast_run``,
``_fast_qrels`` and ``_fast_sessions`` make those columns from the fields that
:mod:`ragbench.formats._columns` split, and return None whenever anything needs the line
reader's judgement, as the assembly does when one of its checks fails.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ragbench.formats._columns import Fields
from ragbench.formats._session_types import (
    CLICKED,
    MAX_QUERY_INDEX,
    NO_RESULTS,
    SessionQrels,
    SessionRun,
    SessionTopics,
)
from ragbench.formats.tables import StringPool, new_pool
from ragbench.formats.trec import MAX_RELEVANCE

_NO_TEXT = np.iinfo(np.int32).max


# -- the checks on whole columns, and the tables, shared by both ways of reading -------------------


def _sorted_ids(strings: list[str], codes: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """The ids in Python string order, and ``codes`` re-coded to index them."""
    order = sorted(range(len(strings)), key=strings.__getitem__)
    remap = np.empty(len(strings), dtype=np.int32)
    remap[order] = np.arange(len(strings), dtype=np.int32)
    return tuple(strings[i] for i in order), remap[codes]


def _sort_order(*keys: np.ndarray) -> np.ndarray | slice:
    """Row order by the first key, then the next ...: one int64 key when the ranges allow it."""
    n = keys[0].size
    if n == 0:
        return slice(None)
    lows = [int(k.min()) for k in keys]
    spans = [int(k.max()) - low + 1 for k, low in zip(keys, lows, strict=True)]
    if math.prod(spans) >= 2**62:
        return np.lexsort(keys[::-1])
    combined = np.zeros(n, dtype=np.int64)
    for key, low, span in zip(keys, lows, spans, strict=True):
        combined *= span
        combined += key.astype(np.int64) - low
    if np.all(combined[1:] >= combined[:-1]):
        return slice(None)  # already in order: no copies
    return np.argsort(combined, kind="stable")


def _repeats(*columns: np.ndarray) -> bool:
    """Whether two rows agree on every column."""
    order = _sort_order(*columns)
    same = np.ones(max(0, columns[0].size - 1), dtype=bool)
    for column in columns:
        ordered = column[order]
        same &= ordered[1:] == ordered[:-1]
    return bool(same.any())


def _structure(
    ids: tuple[str, ...],
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    texts: Sequence[str],
    starts: np.ndarray,
) -> tuple[np.ndarray, dict[tuple[str, int], str], dict[str, int]] | None:
    """Queries per session, query texts and first lines, from rows sorted by (session, query).

    ``rows`` are (session, query index, line, text code) columns; ``starts`` the first row of
    each query. None when a session skips a query index or a query's rows give two texts.
    """
    s, qi, line, qcode = rows
    gs, gq = s[starts], qi[starts]
    new_session = np.r_[True, gs[1:] != gs[:-1]]
    if np.any(gq != np.where(new_session, 1, np.r_[0, gq[:-1]] + 1)):
        return None
    queries: dict[tuple[str, int], str] = {}
    if qcode.any():
        high = np.maximum.reduceat(qcode, starts)
        low = np.minimum.reduceat(np.where(qcode == 0, _NO_TEXT, qcode), starts)
        if np.any((low != _NO_TEXT) & (low != high)):
            return None
        given = np.flatnonzero(high)
        triples = zip(gs[given].tolist(), gq[given].tolist(), high[given].tolist(), strict=True)
        queries = {(ids[a], q): texts[c] for a, q, c in triples}
    last = np.flatnonzero(np.r_[new_session[1:], True])
    num_queries = np.zeros(len(ids), dtype=np.int32)
    num_queries[gs[last]] = gq[last]
    first = np.minimum.reduceat(line, starts[new_session])
    return num_queries, queries, dict(zip(ids, first.tolist(), strict=True))


def _assemble_run(
    name: str,
    pool: StringPool,
    session_strings: list[str],
    session: np.ndarray,
    query_index: np.ndarray,
    rank: np.ndarray,
    doc: np.ndarray,
    clicked: np.ndarray,
    line: np.ndarray,
    qcode: np.ndarray,
    texts: Sequence[str],
    has_clicks: bool,
) -> SessionRun | None:
    """Sort the rows (doc -1: a no-results line) and build the run; None if a check fails."""
    ids, session = _sorted_ids(session_strings, session)
    order = _sort_order(session, query_index, rank)
    s, qi, rank, doc, clicked, line, qcode = (
        a[order] for a in (session, query_index, rank, doc, clicked, line, qcode)
    )
    if np.any((s[1:] == s[:-1]) & (qi[1:] == qi[:-1]) & (rank[1:] == rank[:-1])):
        return None
    starts = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (qi[1:] != qi[:-1])])
    no_results = doc < 0
    sizes = np.diff(np.r_[starts, s.size])
    if np.any(no_results[starts] & (sizes > 1)):  # its rank, 0, sorts first in its query
        return None
    shown = ~no_results
    query = np.repeat(np.arange(starts.size, dtype=np.int64), sizes)
    if _repeats(query[shown], doc[shown]):
        return None
    structure = _structure(ids, (s, qi, line, qcode), texts, starts)
    if structure is None:
        return None
    num_queries, queries, session_lines = structure
    if not shown.all():
        s, qi, rank, doc, clicked, line = (a[shown] for a in (s, qi, rank, doc, clicked, line))
    return SessionRun(
        session=s,
        query_index=qi,
        rank=rank,
        doc=doc,
        clicked=clicked,
        line=line,
        session_ids=ids,
        num_queries=num_queries,
        strings=pool,
        queries=queries,
        session_lines=session_lines,
        has_clicks=has_clicks,
        source=name,
    )


def _assemble_qrels(
    name: str,
    pool: StringPool,
    session_strings: list[str],
    session: np.ndarray,
    query_index: np.ndarray,
    doc: np.ndarray,
    grade: np.ndarray,
    line: np.ndarray,
) -> SessionQrels | None:
    """Build the labels (in file order); None if a label repeats or a session mixes kinds."""
    ids, session = _sorted_ids(session_strings, session)
    if _repeats(session, query_index, doc):
        return None
    whole = np.bincount(session[query_index == 0], minlength=len(ids))
    per_query = np.bincount(session[query_index > 0], minlength=len(ids))
    if np.any((whole > 0) & (per_query > 0)):
        return None
    return SessionQrels(session, query_index, doc, grade, line, ids, pool, name)


def _assemble_sessions(
    name: str,
    session_strings: list[str],
    session: np.ndarray,
    query_index: np.ndarray,
    qcode: np.ndarray,
    line: np.ndarray,
    texts: Sequence[str],
) -> SessionTopics | None:
    """Build the session list; None if a query is listed twice or a session skips one."""
    ids, session = _sorted_ids(session_strings, session)
    order = _sort_order(session, query_index)
    s, qi, qcode, line = session[order], query_index[order], qcode[order], line[order]
    if np.any((s[1:] == s[:-1]) & (qi[1:] == qi[:-1])):
        return None
    structure = _structure(ids, (s, qi, line, qcode), texts, np.arange(s.size))
    return None if structure is None else SessionTopics(ids, *structure, source=name)


# -- the fast way: whole columns at once, for files the numpy passes could split ------------------


def _fast_run(f: Fields, name: str, pool: StringPool) -> SessionRun | None:
    """The run, or None when anything needs the line reader's judgement."""
    qi, rank = f.ints(1), f.ints(2)
    if qi is None or rank is None or qi.min() < 1 or qi.max() > MAX_QUERY_INDEX:
        return None
    no_results = (f.length(3) == 1) & (f.b[f.start[3]] == ord(NO_RESULTS))
    if np.any(no_results != (rank == 0)) or rank.min() < 0:
        return None
    clicked = _fast_clicked(f, 4)
    if clicked is None or np.any(clicked & no_results):
        return None
    shown = np.flatnonzero(~no_results)
    sessions, texts = new_pool(), new_pool()
    texts.code("")
    session, shown_docs = f.codes(0, sessions, runs=True), f.codes(3, pool, shown)
    if session is None or shown_docs is None:
        return None
    doc = np.full(rank.size, -1, dtype=np.int32)
    doc[shown] = shown_docs
    widest = int(f.count.max())
    qcode = f.codes(5, texts, runs=True, text=True) if widest == 6 else np.zeros(rank.size, dtype=np.int32)
    if qcode is None:  # free text is never turned down; kept for the type, as in _fast_sessions
        return None
    return _assemble_run(
        name,
        pool,
        list(sessions),
        session,
        qi.astype(np.int32),
        rank,
        doc,
        clicked,
        f.line,
        qcode,
        texts,
        widest >= 5,
    )


def _fast_clicked(f: Fields, j: int) -> np.ndarray | None:
    """Field ``j`` as clicks (see :data:`CLICKED`); None if a value is not one."""
    size, head = f.length(j), f.b[f.start[j]]
    yes: np.ndarray = (size == 1) & (head == ord("1"))
    plain = yes | (size == 0) | ((size == 1) & (head == ord("0")))
    if not plain.all():
        other = np.flatnonzero(~plain)
        values = [CLICKED.get(word.lower()) for word in f.strings(j, other)]
        if None in values:
            return None
        yes[other] = values
    return yes


def _fast_qrels(f: Fields, name: str, pool: StringPool) -> SessionQrels | None:
    b, at, size = f.b, f.start[1], f.length(1)
    session_level = ((size == 2) & (b[at] == ord("Q")) & (b[at + 1] == ord("0"))) | (
        (size == 1) & (b[at] == ord(NO_RESULTS))
    )
    rest = np.flatnonzero(~session_level)
    written, grade = f.ints(1, rest), f.ints(3)
    if written is None or grade is None or np.abs(grade).max() > MAX_RELEVANCE:
        return None
    if rest.size and (written.min() < 0 or written.max() > MAX_QUERY_INDEX):
        return None
    qi = np.zeros(at.size, dtype=np.int32)
    qi[rest] = written
    sessions = new_pool()
    session, doc = f.codes(0, sessions, runs=True), f.codes(2, pool)
    if session is None or doc is None:
        return None
    return _assemble_qrels(name, pool, list(sessions), session, qi, doc, grade, f.line)


def _fast_sessions(f: Fields, name: str) -> SessionTopics | None:
    qi = f.ints(1)
    if qi is None or qi.min() < 1 or qi.max() > MAX_QUERY_INDEX:
        return None
    sessions, texts = new_pool(), new_pool()
    texts.code("")
    session, qcode = f.codes(0, sessions, runs=True), f.codes(2, texts, text=True)
    if session is None or qcode is None:
        return None
    return _assemble_sessions(name, list(sessions), session, qi.astype(np.int32), qcode, f.line, texts)

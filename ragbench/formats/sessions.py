"""Readers for search sessions: session runs, session qrels, session lists and ratings.

A *session* is one user's work on one information need: queries ``1..n`` in the order they
were typed, each with the ranked list of documents the system showed (possibly none). Four
files describe sessions. Every reader raises :class:`~ragbench.errors.FormatError` listing each
problem (up to 50) with file, line and, where it helps, column. Common rules:

- UTF-8; a leading byte-order mark is ignored; other bytes that are not UTF-8, and NUL
  characters, are errors naming the line. Lines may end in ``\\n`` or ``\\r\\n``.
- Blank lines, and comment lines whose first non-blank character is ``#``, are skipped, in
  every format (JSONL too). A file with no content line is an error.
- In the tabular formats, a first content line whose first field is ``session_id`` is a header
  and is skipped (for ratings it names the value columns).
- Ids are strings compared as written (``s01`` is not ``s1``). They may not be empty or hold
  whitespace (space, tab, CR, vertical tab, form feed); as ``#`` starts a comment line, a
  session id cannot start with ``#`` in the tabular formats.
- JSONL (one JSON object per line) is read when the file name ends in ``.jsonl`` or ``.json``,
  or else when the first non-blank, non-comment character of the file is ``{``. Keys other
  than the ones listed for the format are errors.

**Session run** (:func:`read_session_run`): one line per shown document. TSV, tab-separated
(fields may not contain tabs; whitespace around a field is ignored), by position::

    session_id  query_index  rank  doc_id  [clicked  [query]]

``query_index`` is an integer >= 1, the query's position in its session; ``rank`` an integer
>= 1, the document's position in that query's list (kept as written; gaps are allowed).
``clicked`` is one of ``0 1 true false yes no`` (any case) or empty (not clicked). ``query`` is
the text the user typed: optional and may be empty; rows that leave it empty take it from the
other rows of their query, and rows that give it must agree. A query with no results is one
line with rank ``0`` and doc_id ``-`` (not clicked). JSONL keys: ``session_id`` (string),
``query_index`` (integer), ``rank`` (integer), ``doc_id`` (string, or null for a query with no
results, whose rank is then 0 or left out), ``clicked`` (optional: true, false, 0 or 1) and
``query`` (optional string). Rows may come in any order (a session may be split across the
file); they are sorted on reading. Errors: a wrong field count; a query index or rank that is
not an integer or is below 1 (rank 0 is only for the no-results line); a bad clicked value; a
rank or a document given twice in one query; a no-results line in a query that also lists
documents; two different texts for one query; a gap in a session's query indexes (1, 2, 4:
query 3 is missing).

**Session qrels** (:func:`read_session_qrels`): whitespace-separated, like TREC qrels::

    session_id  query_index  doc_id  grade

``query_index`` ``0`` (also written ``Q0`` or ``-``) labels the document for the whole
session; ``n >= 1`` labels it for the n-th query only. A session has labels of one kind only.
``grade`` is an integer from -1000 to 1000 (negative grades, such as -1 for junk, are kept).
JSONL keys: ``session_id``, ``query_index`` (optional, default 0), ``doc_id``, ``grade``.
Errors: a wrong field count; a grade or query index that is not an integer or is out of
range; a document labelled twice for one (session, query index); a session that mixes
session-level and per-query labels.

**Sessions** (:func:`read_sessions`): the sessions of a benchmark and their query texts. TSV
``session_id  query_index  [query]`` (the query may be empty or left out) or JSONL keys
``session_id``, ``query_index``, ``query`` (optional). Errors as for runs: a bad query index,
a query listed twice, a gap.

**Ratings** (:func:`read_ratings`): numbers per session, such as user satisfaction, to
correlate with session measures. Whitespace-separated; a header line ``session_id name1
[name2 ...]`` names the value columns and is required when there is more than one. Without it
each line is ``session_id value`` and the column is called ``rating``. Values are finite
decimal numbers. Errors: a wrong field count, a value that is not a number, a session listed
twice, a header that names no column or one column twice.

Large TSV runs, session lists and qrels are first read with a few numpy passes over the whole
file (:mod:`ragbench.formats._columns`); whenever those meet anything unusual, the line-by-line
reader takes over and names every problem.
"""

from __future__ import annotations

import math

import numpy as np

from ragbench.errors import FormatError
from ragbench.formats._columns import split_tsv, split_words
from ragbench.formats._session_lines import _read_qrels_lines, _read_run_lines, _read_sessions_lines
from ragbench.formats._session_parse import _Bad, _is_jsonl
from ragbench.formats._session_tables import _fast_qrels, _fast_run, _fast_sessions
from ragbench.formats._session_types import (
    CLICKED,
    HEADER,
    MAX_QUERY_INDEX,
    NO_RESULTS,
    QRELS_COLUMNS,
    RUN_COLUMNS,
    SESSIONS_COLUMNS,
    SessionQrels,
    SessionRatings,
    SessionRun,
    SessionTopics,
)
from ragbench.formats.lines import MAX_PROBLEMS, ProblemList, Source, content_lines, load, parse_float
from ragbench.formats.problems import Problem
from ragbench.formats.tables import StringPool, new_pool

__all__ = [
    "CLICKED",
    "HEADER",
    "MAX_QUERY_INDEX",
    "NO_RESULTS",
    "QRELS_COLUMNS",
    "RUN_COLUMNS",
    "SESSIONS_COLUMNS",
    "SessionQrels",
    "SessionRatings",
    "SessionRun",
    "SessionTopics",
    "check_qrels_against",
    "check_run_against",
    "read_ratings",
    "read_session_qrels",
    "read_session_run",
    "read_sessions",
]


# -- readers --------------------------------------------------------------------------------------


def read_session_run(
    source: Source, *, name: str | None = None, pool: StringPool | None = None
) -> SessionRun:
    """Read a session run, TSV or JSONL (the module docstring describes both).

    Args:
        source: a path, or the file's bytes.
        name: the name to use in messages (defaults to the path, or ``<memory>``).
        pool: intern doc ids into this pool (share one with :func:`read_session_qrels` so doc
            codes join directly).

    Returns:
        The rows sorted by (session, query_index, rank).

    Raises:
        FormatError: listing every problem (up to 50): file, line, column, message.
    """
    data, name = load(source, name)
    pool = new_pool() if pool is None else pool
    jsonl = _is_jsonl(data, name)
    fields = None if jsonl else split_tsv(data, 4, 6)
    run = None if fields is None else _fast_run(fields, name, pool)
    return run if run is not None else _read_run_lines(data, name, pool, jsonl)


def read_session_qrels(
    source: Source, *, name: str | None = None, pool: StringPool | None = None
) -> SessionQrels:
    """Read session relevance labels, whitespace-separated or JSONL (see the module docstring).

    Args:
        source: a path, or the file's bytes.
        name: the name to use in messages (defaults to the path, or ``<memory>``).
        pool: intern doc ids into this pool (share one with :func:`read_session_run`).

    Returns:
        The labels in file order.

    Raises:
        FormatError: listing every problem (up to 50): file, line, column, message.
    """
    data, name = load(source, name)
    pool = new_pool() if pool is None else pool
    jsonl = _is_jsonl(data, name)
    fields = None if jsonl else split_words(data, 4)
    qrels = None if fields is None else _fast_qrels(fields, name, pool)
    return qrels if qrels is not None else _read_qrels_lines(data, name, pool, jsonl)


def read_sessions(source: Source, *, name: str | None = None) -> SessionTopics:
    """Read the sessions of a benchmark: TSV ``session_id query_index [query]`` lines, or JSONL.

    Args:
        source: a path, or the file's bytes.
        name: the name to use in messages (defaults to the path, or ``<memory>``).

    Raises:
        FormatError: listing every problem (up to 50): file, line, column, message.
    """
    data, name = load(source, name)
    jsonl = _is_jsonl(data, name)
    fields = None if jsonl else split_tsv(data, 2, 3)
    topics = None if fields is None else _fast_sessions(fields, name)
    return topics if topics is not None else _read_sessions_lines(data, name, jsonl)


def read_ratings(source: Source, *, name: str | None = None) -> SessionRatings:
    """Read numbers per session: ``session_id value...`` lines under an optional header line.

    Args:
        source: a path, or the file's bytes.
        name: the name to use in messages (defaults to the path, or ``<memory>``).

    Raises:
        FormatError: listing every problem (up to 50): file, line, column, message.
    """
    data, name = load(source, name)
    problems = ProblemList()
    names: tuple[str, ...] = ("rating",)
    header = 0  # its line
    ids: list[str] = []
    rows: list[list[float]] = []
    lines: list[int] = []
    first: dict[str, int] = {}
    for n, (lineno, fields) in enumerate(content_lines(data, name, problems)):
        try:
            if n == 0 and fields[0] == HEADER:
                header = lineno
                names = _header_names(fields[1:])
                continue
            values = _rating_values(fields, names, header=bool(header), first_line=n == 0)
        except _Bad as bad:
            problems.append(bad.problem(name, lineno, fields, " "))
            continue
        session_id = fields[0]
        if session_id in first:
            message = f"session {session_id!r} is listed twice (first on line {first[session_id]})"
            problems.append(Problem(name, lineno, message))
            continue
        first[session_id] = lineno
        ids.append(session_id)
        rows.append(values)
        lines.append(lineno)
    if not problems and not ids:
        problems.append(
            Problem(name, header, "no ratings below the header" if header else "empty file: no ratings")
        )
    problems.raise_if_any()
    table = np.asarray(rows, dtype=np.float64).reshape(len(ids), len(names))
    return SessionRatings(tuple(ids), names, table, np.asarray(lines, dtype=np.int64), name)


def _header_names(names: list[str]) -> tuple[str, ...]:
    if not names:
        raise _Bad("the header line names no value column")
    repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if repeated is not None:
        raise _Bad(f"the header line names the column {repeated!r} twice")
    return tuple(names)


def _rating_values(
    fields: list[str], names: tuple[str, ...], *, header: bool, first_line: bool
) -> list[float]:
    if len(fields) != len(names) + 1:
        message = f"expected {len(names) + 1} columns (session_id {' '.join(names)}), found {len(fields)}"
        if not header and len(fields) > 2:
            message += "; name the columns in a header line: session_id name1 name2 ..."
        raise _Bad(message)
    values = []
    for i, token in enumerate(fields[1:]):
        value = parse_float(token)
        if value is None or not math.isfinite(value):
            where = f" (column {names[i]!r})" if len(names) > 1 else ""
            hint = "; a header line must start with session_id" if first_line else ""
            raise _Bad(f"value {token!r}{where} is not a finite number{hint}", i + 1)
        values.append(value)
    return values


# -- cross checks ---------------------------------------------------------------------------------


def check_qrels_against(qrels: SessionQrels, topics: SessionTopics) -> None:
    """Check that labels name only sessions of ``topics``, and only queries those sessions have.

    Raises:
        FormatError: naming the qrels file and the line of the first label of each unknown
            session, and of each per-query label beyond its session's number of queries.
    """
    index = {sid: i for i, sid in enumerate(topics.session_ids)}
    known = np.asarray([index.get(sid, -1) for sid in qrels.session_ids], dtype=np.int64)
    where = known[qrels.session]
    found: list[tuple[int, str]] = []
    unknown = np.flatnonzero(where < 0)
    codes, first = np.unique(qrels.session[unknown], return_index=True)  # rows are in file order
    for code, row in zip(codes.tolist(), unknown[first].tolist(), strict=True):
        found.append(
            (int(qrels.line[row]), f"unknown session {qrels.session_ids[code]!r} (not in {topics.source})")
        )
    limit = np.append(topics.num_queries, 0)[where]  # -1, unknown: 0
    beyond = np.flatnonzero((where >= 0) & (qrels.query_index > limit))
    for row in beyond[np.argsort(qrels.line[beyond], kind="stable")][:MAX_PROBLEMS].tolist():
        sid, qi, n = qrels.session_ids[int(qrels.session[row])], int(qrels.query_index[row]), int(limit[row])
        message = (
            f"query {qi} of session {sid!r} is labelled, but the session has {_queries(n)} in {topics.source}"
        )
        found.append((int(qrels.line[row]), message))
    _raise_sorted(qrels.source, found, more=max(0, beyond.size - MAX_PROBLEMS))


def check_run_against(run: SessionRun, topics: SessionTopics) -> None:
    """Check that a run's sessions are sessions of ``topics``, with as many queries.

    Sessions of ``topics`` that the run lacks are fine (the evaluator scores them 0).

    Raises:
        FormatError: naming the run file and the first line of each unknown session and of
            each session whose number of queries differs.
    """
    index = {sid: i for i, sid in enumerate(topics.session_ids)}
    found: list[tuple[int, str]] = []
    for code, sid in enumerate(run.session_ids):
        line, other = run.session_lines[sid], index.get(sid)
        if other is None:
            found.append((line, f"unknown session {sid!r} (not in {topics.source})"))
        elif (here := int(run.num_queries[code])) != (there := int(topics.num_queries[other])):
            found.append((line, f"session {sid!r} has {_queries(here)} here but {there} in {topics.source}"))
    _raise_sorted(run.source, found)


def _queries(n: int) -> str:
    return "1 query" if n == 1 else f"{n} queries"


def _raise_sorted(name: str, found: list[tuple[int, str]], more: int = 0) -> None:
    if found:
        found.sort(key=lambda item: item[0])
        problems = [Problem(name, line, message) for line, message in found[:MAX_PROBLEMS]]
        raise FormatError(problems, more=more + max(0, len(found) - MAX_PROBLEMS))

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

import itertools
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, NamedTuple, TypeVar

import numpy as np

from ragbench.errors import FormatError
from ragbench.formats._columns import WHITESPACE, Fields, split_tsv, split_words
from ragbench.formats.corpus import decode_problem, json_problem, json_type
from ragbench.formats.problems import Problem
from ragbench.formats.tables import StringPool, new_pool
from ragbench.formats.trec import (
    MAX_PROBLEMS,
    MAX_RELEVANCE,
    Source,
    _content_lines,
    _load,
    _parse_float,
    _parse_int,
    _Problems,
)

RUN_COLUMNS = "session_id query_index rank doc_id [clicked [query]]"
QRELS_COLUMNS = "session_id query_index doc_id grade"
SESSIONS_COLUMNS = "session_id query_index [query]"
HEADER = "session_id"
"""The first field of a header line."""
NO_RESULTS = "-"
"""The doc_id of the line that stands for a query with no results (its rank is 0)."""
CLICKED = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False, "": False}
"""The clicked values of a TSV run (compared in lower case)."""
MAX_QUERY_INDEX = 2**31 - 1

_RUN_KEYS = ("session_id", "query_index", "rank", "doc_id", "clicked", "query")
_QRELS_KEYS = ("session_id", "query_index", "doc_id", "grade")
_SESSIONS_KEYS = ("session_id", "query_index", "query")
_HAS_WHITESPACE = re.compile(f"[{WHITESPACE}\n]").search
_NO_TEXT = np.iinfo(np.int32).max
T = TypeVar("T")


# -- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionTopics:
    """The sessions of a benchmark: how many queries each has, and their texts where known.

    Attributes:
        session_ids: sorted (Python string order), unique.
        num_queries: int32 per session (aligned with ``session_ids``): its number of queries,
            those with no results included.
        queries: ``(session_id, query_index) -> query text``, for the queries whose text is given.
        session_lines: the first line of each session in its file (for messages).
        source: the file name (or ``<memory>``), for messages.
    """

    session_ids: tuple[str, ...]
    num_queries: np.ndarray
    queries: dict[tuple[str, int], str]
    session_lines: dict[str, int]
    source: str = "<memory>"


@dataclass(frozen=True, slots=True)
class SessionRun:
    """A session run: one row per shown document, sorted by (session, query_index, rank).

    Queries with no results have no rows; ``num_queries`` counts them all the same.

    Attributes:
        session: int32 index into ``session_ids``.
        query_index: int32, 1-based position of the query in its session.
        rank: int64 rank as written (1-based).
        doc: int32 codes into ``strings``.
        clicked: bool, True where the user clicked the document.
        line: int64 1-based line of each row in its file.
        session_ids: sorted (Python string order), unique.
        num_queries: int32 per session: its number of queries, empty ones included.
        strings: the string pool the doc codes point into.
        queries: ``(session_id, query_index) -> query text``, where given.
        session_lines: the first line of each session in the file (for messages).
        has_clicks: whether the file had a clicked column (TSV) or key (JSONL) anywhere.
        source: the file name (or ``<memory>``), for messages.
    """

    session: np.ndarray
    query_index: np.ndarray
    rank: np.ndarray
    doc: np.ndarray
    clicked: np.ndarray
    line: np.ndarray
    session_ids: tuple[str, ...]
    num_queries: np.ndarray
    strings: Sequence[str]
    queries: dict[tuple[str, int], str]
    session_lines: dict[str, int]
    has_clicks: bool
    source: str = "<memory>"

    def __len__(self) -> int:
        return int(self.doc.size)

    def topics(self) -> SessionTopics:
        """The sessions this run covers, with their query counts and the query texts it gives."""
        return SessionTopics(
            self.session_ids, self.num_queries, self.queries, self.session_lines, self.source
        )


@dataclass(frozen=True, slots=True)
class SessionQrels:
    """Session relevance labels, one row per line, in file order.

    Attributes:
        session: int32 index into ``session_ids``.
        query_index: int32; 0 for a label of the whole session, n >= 1 for a label of query n.
        doc: int32 codes into ``strings``.
        grade: int64, may be negative.
        line: int64 1-based line of each row in its file.
        session_ids: sorted (Python string order), unique.
        strings: the string pool the doc codes point into.
        source: the file name (or ``<memory>``), for messages.
    """

    session: np.ndarray
    query_index: np.ndarray
    doc: np.ndarray
    grade: np.ndarray
    line: np.ndarray
    session_ids: tuple[str, ...]
    strings: Sequence[str]
    source: str = "<memory>"

    def __len__(self) -> int:
        return int(self.doc.size)


@dataclass(frozen=True, slots=True)
class SessionRatings:
    """Numbers per session (user satisfaction, say), to correlate with session measures.

    Attributes:
        session_ids: in file order.
        names: the value columns' names (``("rating",)`` without a header line).
        values: float64, shape ``(len(session_ids), len(names))``.
        lines: int64 line of each session's row.
        source: the file name (or ``<memory>``), for messages.
    """

    session_ids: tuple[str, ...]
    names: tuple[str, ...]
    values: np.ndarray
    lines: np.ndarray
    source: str = "<memory>"


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
    data, name = _load(source, name)
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
    data, name = _load(source, name)
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
    data, name = _load(source, name)
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
    data, name = _load(source, name)
    problems = _Problems()
    names: tuple[str, ...] = ("rating",)
    header = 0  # its line
    ids: list[str] = []
    rows: list[list[float]] = []
    lines: list[int] = []
    first: dict[str, int] = {}
    for n, (lineno, fields) in enumerate(_content_lines(data, name, problems)):
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
        value = _parse_float(token)
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


# -- line by line: every problem, named -----------------------------------------------------------


class _Bad(Exception):
    """What is wrong with one line, and the field it is in (-1: the line as a whole)."""

    def __init__(self, message: str, field: int = -1) -> None:
        super().__init__(message)
        self.message, self.field = message, field

    def problem(
        self, name: str, lineno: int, fields: list[str] | None = None, separator: str = "\t"
    ) -> Problem:
        """The problem, with the field's column when ``fields`` are the line's fields as written."""
        column = _column(fields, self.field, separator) if fields is not None and self.field >= 0 else 0
        return Problem(name, lineno, self.message, column)


class _RunRow(NamedTuple):
    line: int
    session_id: str
    query_index: int
    rank: int | None  # None: the line had a problem, but shows that its query exists
    doc_id: str | None  # None: the no-results line
    clicked: bool | None  # None: no clicked column or key
    query: str


def _is_jsonl(data: bytes, name: str) -> bool:
    if PurePath(name).suffix.lower() in (".jsonl", ".json"):
        return True
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].strip()
        if line and not line.startswith(b"#"):
            return line.startswith(b"{")
        pos = end + 1
    return False


def _text_lines(data: bytes, name: str, problems: _Problems) -> Iterator[tuple[int, str]]:
    """(line number, text without the line end) of each line that is neither blank nor a comment."""
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if b"\x00" in raw:
            problems.append(Problem(name, lineno, "NUL character in line", raw.index(b"\x00") + 1))
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(
                decode_problem(raw, name, lineno) or Problem(name, lineno, "bytes that are not UTF-8")
            )
            continue
        stripped = line.strip(WHITESPACE)
        if stripped and not stripped.startswith("#"):
            yield lineno, line.removesuffix("\r")


def _tsv_lines(data: bytes, name: str, problems: _Problems) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line, fields stripped, fields as written) of each TSV content line, the header skipped."""
    first = True
    for lineno, line in _text_lines(data, name, problems):
        raw = line.split("\t")
        fields = [f.strip(WHITESPACE) for f in raw]
        if first:
            first = False
            if fields[0] == HEADER:
                continue
        yield lineno, fields, raw


def _json_lines(
    data: bytes, name: str, problems: _Problems, keys: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, Any], None]]:
    """(line, object, None) of each JSONL content line whose object has only the ``keys`` allowed."""
    for lineno, line in _text_lines(data, name, problems):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, lineno, json_problem(exc), exc.colno))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(name, lineno, f"expected a JSON object, found {json_type(obj)}"))
            continue
        unknown = next((k for k in obj if k not in keys), None)
        if unknown is not None:
            problems.append(
                Problem(name, lineno, f"unknown key {unknown!r} (the keys are {', '.join(keys)})")
            )
            continue
        yield lineno, obj, None


def _column(fields: list[str], index: int, separator: str = "\t") -> int:
    """1-based column of field ``index`` of a line split on ``separator`` (exact for tabs)."""
    return sum(len(f) + len(separator) for f in fields[:index]) + 1


def _id(value: str, what: str, field: int = -1) -> str:
    if not value:
        raise _Bad(f"empty {what}", field)
    if _HAS_WHITESPACE(value):
        raise _Bad(f"{what} {value!r} contains whitespace", field)
    return value


def _int(token: str, what: str, field: int = -1) -> int:
    value = _parse_int(token)
    if value is None:
        raise _Bad(f"{what} {token!r} is not an integer", field)
    return value


def _query_index(value: int, low: int, field: int = -1) -> int:
    """Check a query index; ``low`` is 1 for runs and sessions, 0 (session-level) for qrels."""
    if value < low:
        need = "1 or more" if low else "0 (a session-level label) or more"
        raise _Bad(f"query index {value} must be {need}", field)
    if value > MAX_QUERY_INDEX:
        raise _Bad(f"query index {value} is too large", field)
    return value


_JSON_TYPES = {str: "a string", int: "an integer", bool: "a boolean", type(None): "null"}


def _get(obj: dict[str, Any], key: str, *kinds: type, default: Any = ...) -> Any:
    """The value of ``key``, of one of ``kinds`` (a boolean is not an integer here); ``default``
    when the key is absent, if one is given."""
    if key not in obj:
        if default is ...:
            raise _Bad(f"missing key {key!r}")
        return default
    value = obj[key]
    if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
        return value
    raise _Bad(f"{key!r} must be {' or '.join(_JSON_TYPES[k] for k in kinds)}, found {json_type(value)}")


def _run_rows(data: bytes, name: str, problems: _Problems, jsonl: bool) -> Iterator[_RunRow]:
    """The rows of a run, each checked on its own; a problem is recorded for each bad line."""
    lines: Iterator[tuple[int, Any, list[str] | None]]
    if jsonl:
        lines, key_of, rest_of = _json_lines(data, name, problems, _RUN_KEYS), _json_run_key, _json_run_rest
    else:
        lines, key_of, rest_of = _tsv_lines(data, name, problems), _tsv_run_key, _tsv_run_rest
    for lineno, item, raw in lines:
        try:
            key = key_of(item)
        except _Bad as bad:
            problems.append(bad.problem(name, lineno, raw))
            continue
        try:
            rest = rest_of(item)
        except _Bad as bad:
            problems.append(bad.problem(name, lineno, raw))
            yield _RunRow(lineno, *key, None, None, None, "")
            continue
        yield _RunRow(lineno, *key, *rest)


def _tsv_run_key(fields: list[str]) -> tuple[str, int]:
    if not 4 <= len(fields) <= 6:
        spaces = "; are they separated by spaces instead of tabs?" if len(fields[0].split()) >= 4 else ""
        raise _Bad(f"expected 4 to 6 tab-separated fields ({RUN_COLUMNS}), found {len(fields)}{spaces}")
    return _id(fields[0], "session id", 0), _query_index(_int(fields[1], "query index", 1), 1, 1)


def _tsv_run_rest(fields: list[str]) -> tuple[int, str | None, bool | None, str]:
    rank = _int(fields[2], "rank", 2)
    doc = None if fields[3] == NO_RESULTS else _id(fields[3], "doc id", 3)
    clicked = None
    if len(fields) > 4:
        clicked = CLICKED.get(fields[4].lower())
        if clicked is None:
            raise _Bad(f"clicked value {fields[4]!r} is not one of 0 1 true false yes no (or empty)", 4)
    _check_rank(rank, doc, clicked)
    return rank, doc, clicked, fields[5] if len(fields) > 5 else ""


def _json_run_key(obj: dict[str, Any]) -> tuple[str, int]:
    return _id(_get(obj, "session_id", str), "session id"), _query_index(_get(obj, "query_index", int), 1)


def _json_run_rest(obj: dict[str, Any]) -> tuple[int, str | None, bool | None, str]:
    doc = _get(obj, "doc_id", str, type(None))
    doc = None if doc in (None, NO_RESULTS) else _id(doc, "doc id")
    rank = _get(obj, "rank", int) if doc is not None else _get(obj, "rank", int, default=0)
    clicked = _get(obj, "clicked", bool, int, default=None)
    if clicked not in (None, 0, 1):
        raise _Bad(f"'clicked' must be true, false, 0 or 1, found {clicked}")
    _check_rank(rank, doc, clicked)
    return (
        rank,
        doc,
        None if clicked is None else bool(clicked),
        _get(obj, "query", str, default="").strip(WHITESPACE),
    )


def _check_rank(rank: int, doc: str | None, clicked: bool | None) -> None:
    if doc is None and rank != 0:
        raise _Bad(f"a no-results line (doc_id '-' or null) must have rank 0, not {rank}", 2)
    if doc is not None and rank < 1:
        raise _Bad(f"rank {rank} must be 1 or more (rank 0 with doc_id '-' marks a query with no results)", 2)
    if doc is None and clicked:
        raise _Bad("a no-results line (doc_id '-' or null) cannot be clicked", 4)


class _RunChecks:
    """The checks of each row against the rows before it, in line order."""

    def __init__(self) -> None:
        self.taken: dict[tuple[str, int, int], int] = {}  # (session, query, rank) -> line
        self.listed: dict[tuple[str, int, str], int] = {}  # (session, query, doc) -> line
        self.shown: dict[tuple[str, int], int] = {}  # the first line listing a document for a query
        self.empty: dict[tuple[str, int], int] = {}  # the line of a query's no-results line
        self.text: dict[tuple[str, int], tuple[str, int]] = {}  # a query's text and its first line

    def check(self, row: _RunRow, key: tuple[str, int]) -> None:
        """Record the row, or raise :class:`_Bad` saying how it clashes with one before it."""
        if (before := self.taken.setdefault((*key, row.rank or 0), row.line)) != row.line:
            what = (
                "is marked as having no results twice" if row.doc_id is None else f"has rank {row.rank} twice"
            )
            raise _Bad(f"{_where(row)} {what} (first on line {before})")
        if row.doc_id is None:
            if key in self.shown:
                line = self.shown[key]
                raise _Bad(
                    f"{_where(row)} is marked as having no results, but line {line} lists a document for it"
                )
            self.empty[key] = row.line
        else:
            if key in self.empty:
                line = self.empty[key]
                raise _Bad(f"{_where(row)} lists a document, but line {line} marks it as having no results")
            if (before := self.listed.setdefault((*key, row.doc_id), row.line)) != row.line:
                raise _Bad(
                    f"document {row.doc_id!r} is listed twice in {_where(row)} (first on line {before})"
                )
            self.shown.setdefault(key, row.line)
        if row.query and (given := self.text.setdefault(key, (row.query, row.line)))[0] != row.query:
            raise _Bad(f"{_where(row)} has the text {row.query!r} here but {given[0]!r} on line {given[1]}")


def _where(row: _RunRow) -> str:
    return f"query {row.query_index} of session {row.session_id!r}"


def _read_run_lines(data: bytes, name: str, pool: StringPool, jsonl: bool) -> SessionRun:
    """Read a run line by line, checking each line and then the rows together."""
    problems = _Problems()
    sessions, texts = new_pool(), new_pool()
    texts.code("")
    s: list[int] = []
    qi: list[int] = []
    rank: list[int] = []
    doc: list[int] = []
    clicked: list[bool] = []
    line: list[int] = []
    qcode: list[int] = []
    first: dict[tuple[str, int], int] = {}  # the first line of each query
    checks = _RunChecks()
    has_clicks = False
    for row in _run_rows(data, name, problems, jsonl):
        key = (row.session_id, row.query_index)
        first.setdefault(key, row.line)
        if row.rank is None:
            continue
        try:
            checks.check(row, key)
        except _Bad as bad:
            problems.append(bad.problem(name, row.line))
            continue
        has_clicks = has_clicks or row.clicked is not None
        s.append(sessions.code(row.session_id))
        qi.append(row.query_index)
        rank.append(row.rank)
        doc.append(-1 if row.doc_id is None else pool.code(row.doc_id))
        clicked.append(bool(row.clicked))
        line.append(row.line)
        qcode.append(texts.code(row.query))
    return _finish(
        name,
        problems,
        _gap_problems(name, first),
        "" if first else "empty file: no sessions",
        lambda: _assemble_run(
            name,
            pool,
            list(sessions),
            np.asarray(s, dtype=np.int32),
            np.asarray(qi, dtype=np.int32),
            np.asarray(rank, dtype=np.int64),
            np.asarray(doc, dtype=np.int32),
            np.asarray(clicked, dtype=bool),
            np.asarray(line, dtype=np.int64),
            np.asarray(qcode, dtype=np.int32),
            texts,
            has_clicks,
        ),
    )


def _gap_problems(name: str, first: dict[tuple[str, int], int]) -> list[Problem]:
    """A problem for each gap in each session's query indexes, at the first line after it."""
    indexes: dict[str, list[int]] = {}
    for sid, qi in first:
        indexes.setdefault(sid, []).append(qi)
    found = []
    for sid, seen in indexes.items():
        seen.sort()
        if seen[0] != 1:
            found.append(Problem(name, first[sid, seen[0]], f"session {sid!r} has no query 1"))
        found.extend(
            Problem(name, first[sid, b], f"session {sid!r} jumps from query {a} to query {b}")
            for a, b in itertools.pairwise(seen)
            if b > a + 1
        )
    return sorted(found, key=lambda p: p.line)


def _finish(
    name: str, problems: _Problems, later: list[Problem], empty: str, build: Callable[[], T | None]
) -> T:
    """Raise the problems (those of single lines, then ``later`` ones, then ``empty`` when the
    file had no content line); else build the table."""
    for problem in later:
        problems.append(problem)
    if not problems and empty:
        problems.append(Problem(name, 0, empty))
    problems.raise_if_any()
    table = build()
    if table is None:  # the column checks disagree with the line checks: a bug
        raise AssertionError(f"{name}: accepted line by line but not by the column checks")
    return table


def _qrels_rows(
    data: bytes, name: str, problems: _Problems, jsonl: bool
) -> Iterator[tuple[int, str, int, str, int]]:
    """(line, session id, query index, doc id, grade) of each label line that is valid on its own."""
    lines: Iterator[tuple[int, Any, Any]]
    if jsonl:
        lines, label_of = _json_lines(data, name, problems, _QRELS_KEYS), _json_label
    else:
        lines = ((lineno, fields, fields) for lineno, fields in _content_lines(data, name, problems))
        label_of = _words_label
    header = not jsonl
    for lineno, item, fields in lines:
        if header and item[0] == HEADER:
            header = False
            continue
        header = False
        try:
            yield (lineno, *label_of(item))
        except _Bad as bad:
            problems.append(bad.problem(name, lineno, fields, " "))


def _words_label(fields: list[str]) -> tuple[str, int, str, int]:
    if len(fields) != 4:
        raise _Bad(f"expected 4 columns ({QRELS_COLUMNS}), found {len(fields)}")
    index = 0 if fields[1] in ("Q0", NO_RESULTS) else _int(fields[1], "query index", 1)
    return fields[0], _query_index(index, 0, 1), fields[2], _grade(_int(fields[3], "grade", 3), 3)


def _json_label(obj: dict[str, Any]) -> tuple[str, int, str, int]:
    session = _id(_get(obj, "session_id", str), "session id")
    index = _query_index(_get(obj, "query_index", int, default=0), 0)
    return session, index, _id(_get(obj, "doc_id", str), "doc id"), _grade(_get(obj, "grade", int))


def _grade(grade: int, field: int = -1) -> int:
    if not -MAX_RELEVANCE <= grade <= MAX_RELEVANCE:
        raise _Bad(f"grade {grade} is out of range ({-MAX_RELEVANCE}..{MAX_RELEVANCE})", field)
    return grade


def _read_qrels_lines(data: bytes, name: str, pool: StringPool, jsonl: bool) -> SessionQrels:
    problems = _Problems()
    sessions = new_pool()
    s: list[int] = []
    qi: list[int] = []
    doc: list[int] = []
    grade: list[int] = []
    line: list[int] = []
    judged: dict[tuple[str, int, str], int] = {}
    level: dict[str, tuple[bool, int]] = {}  # session -> (session-level?, first line)
    mixed: set[str] = set()
    for lineno, sid, index, doc_id, value in _qrels_rows(data, name, problems, jsonl):
        kind, first = level.setdefault(sid, (index == 0, lineno))
        if kind != (index == 0):
            if sid not in mixed:
                mixed.add(sid)
                now, then = ("session-level", "per-query") if index == 0 else ("per-query", "session-level")
                message = (
                    f"session {sid!r} mixes session-level and per-query labels "
                    f"(line {lineno} is {now}, line {first} was {then})"
                )
                problems.append(Problem(name, lineno, message))
            continue
        if (before := judged.setdefault((sid, index, doc_id), lineno)) != lineno:
            where = f"session {sid!r}" if index == 0 else f"query {index} of session {sid!r}"
            message = f"document {doc_id!r} is judged twice for {where} (first on line {before})"
            problems.append(Problem(name, lineno, message))
            continue
        s.append(sessions.code(sid))
        qi.append(index)
        doc.append(pool.code(doc_id))
        grade.append(value)
        line.append(lineno)
    return _finish(
        name,
        problems,
        [],
        "" if level else "empty file: no judgments",
        lambda: _assemble_qrels(
            name,
            pool,
            list(sessions),
            np.asarray(s, dtype=np.int32),
            np.asarray(qi, dtype=np.int32),
            np.asarray(doc, dtype=np.int32),
            np.asarray(grade, dtype=np.int64),
            np.asarray(line, dtype=np.int64),
        ),
    )


def _read_sessions_lines(data: bytes, name: str, jsonl: bool) -> SessionTopics:
    problems = _Problems()
    sessions, texts = new_pool(), new_pool()
    texts.code("")
    rows: list[tuple[int, int, int, int]] = []  # session code, query index, text code, line
    first: dict[tuple[str, int], int] = {}
    lines: Iterator[tuple[int, Any, list[str] | None]]
    if jsonl:
        lines, query_of = _json_lines(data, name, problems, _SESSIONS_KEYS), _json_session_query
    else:
        lines, query_of = _tsv_lines(data, name, problems), _tsv_session_query
    for lineno, item, raw in lines:
        try:
            sid, qi, query = query_of(item)
        except _Bad as bad:
            problems.append(bad.problem(name, lineno, raw))
            continue
        if (before := first.setdefault((sid, qi), lineno)) != lineno:
            message = f"query {qi} of session {sid!r} is listed twice (first on line {before})"
            problems.append(Problem(name, lineno, message))
            continue
        rows.append((sessions.code(sid), qi, texts.code(query), lineno))
    s, qi, qcode, line = (
        (np.asarray(c, dtype=np.int64) for c in zip(*rows, strict=True)) if rows else [np.zeros(0)] * 4
    )
    return _finish(
        name,
        problems,
        _gap_problems(name, first),
        "" if first else "empty file: no sessions",
        lambda: _assemble_sessions(
            name, list(sessions), s.astype(np.int32), qi.astype(np.int32), qcode.astype(np.int32), line, texts
        ),
    )


def _tsv_session_query(fields: list[str]) -> tuple[str, int, str]:
    if not 2 <= len(fields) <= 3:
        raise _Bad(f"expected 2 or 3 tab-separated fields ({SESSIONS_COLUMNS}), found {len(fields)}")
    index = _query_index(_int(fields[1], "query index", 1), 1, 1)
    return _id(fields[0], "session id", 0), index, fields[2] if len(fields) > 2 else ""


def _json_session_query(obj: dict[str, Any]) -> tuple[str, int, str]:
    sid, qi = _json_run_key(obj)
    return sid, qi, _get(obj, "query", str, default="").strip(WHITESPACE)


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
    yes = (size == 1) & (head == ord("1"))
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

"""The careful, line-by-line readers of session runs, qrels and session lists.

They check each line on its own, then each row against the rows before it (a rank, a document
or a query given twice, a no-results line beside listed documents, two texts for one query, a
session that mixes kinds of labels), then each session's query indexes for gaps, and raise
:class:`~ragbench.errors.FormatError` naming every problem, or else build the table with
:mod:`ragbench.formats._session_tables`. The readers of :mod:`ragbench.formats.sessions` use
them for JSONL files, and for TSV files whenever the columnar fast path turns a file down.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, TypeVar

import numpy as np

from ragbench.formats._columns import WHITESPACE
from ragbench.formats._session_parse import (
    _Bad,
    _get,
    _id,
    _int,
    _json_lines,
    _query_index,
    _tsv_lines,
)
from ragbench.formats._session_tables import _assemble_qrels, _assemble_run, _assemble_sessions
from ragbench.formats._session_types import (
    CLICKED,
    HEADER,
    NO_RESULTS,
    QRELS_COLUMNS,
    RUN_COLUMNS,
    SESSIONS_COLUMNS,
    SessionQrels,
    SessionRun,
    SessionTopics,
)
from ragbench.formats.lines import ProblemList, content_lines
from ragbench.formats.problems import Problem
from ragbench.formats.tables import StringPool, new_pool
from ragbench.formats.trec import MAX_RELEVANCE

_RUN_KEYS = ("session_id", "query_index", "rank", "doc_id", "clicked", "query")
_QRELS_KEYS = ("session_id", "query_index", "doc_id", "grade")
_SESSIONS_KEYS = ("session_id", "query_index", "query")
T = TypeVar("T")
Item = TypeVar("Item")  # what a reader gives for a line: a JSON object, or the line's fields


class _RunRow(NamedTuple):
    line: int
    session_id: str
    query_index: int
    rank: int | None  # None: the line had a problem, but shows that its query exists
    doc_id: str | None  # None: the no-results line
    clicked: bool | None  # None: no clicked column or key
    query: str


def _run_rows(data: bytes, name: str, problems: ProblemList, jsonl: bool) -> Iterator[_RunRow]:
    """The rows of a run, each checked on its own; a problem is recorded for each bad line."""
    if jsonl:
        objects = _json_lines(data, name, problems, _RUN_KEYS)
        yield from _checked_run_rows(objects, name, problems, _json_run_key, _json_run_rest)
    else:
        lines = _tsv_lines(data, name, problems)
        yield from _checked_run_rows(lines, name, problems, _tsv_run_key, _tsv_run_rest)


def _checked_run_rows(
    lines: Iterable[tuple[int, Item, list[str] | None]],
    name: str,
    problems: ProblemList,
    key_of: Callable[[Item], tuple[str, int]],
    rest_of: Callable[[Item], tuple[int, str | None, bool | None, str]],
) -> Iterator[_RunRow]:
    """:func:`_run_rows` for one format: ``lines`` are (line, item, fields as written or None)."""
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
        yield _RunRow(lineno, *(key + rest))


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
    problems = ProblemList()
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
    name: str, problems: ProblemList, later: list[Problem], empty: str, build: Callable[[], T | None]
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
    data: bytes, name: str, problems: ProblemList, jsonl: bool
) -> Iterator[tuple[int, str, int, str, int]]:
    """(line, session id, query index, doc id, grade) of each label line that is valid on its own."""
    if jsonl:
        objects = _json_lines(data, name, problems, _QRELS_KEYS)
        labels = _parsed(objects, name, problems, _json_label)
    else:
        labels = _parsed(_words_lines(data, name, problems), name, problems, _words_label, " ")
    for lineno, label in labels:
        yield (lineno, *label)


def _words_lines(data: bytes, name: str, problems: ProblemList) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line, fields, fields) of each whitespace-separated content line, a header line skipped."""
    for at, (lineno, fields) in enumerate(content_lines(data, name, problems)):
        if at == 0 and fields[0] == HEADER:
            continue
        yield lineno, fields, fields


def _parsed(
    lines: Iterable[tuple[int, Item, list[str] | None]],
    name: str,
    problems: ProblemList,
    parse: Callable[[Item], T],
    separator: str = "\t",
) -> Iterator[tuple[int, T]]:
    """(line, ``parse(item)``) of each of ``lines`` that parses; a problem recorded for each other."""
    for lineno, item, fields in lines:
        try:
            parsed = parse(item)
        except _Bad as bad:
            problems.append(bad.problem(name, lineno, fields, separator))
            continue
        yield lineno, parsed


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
    problems = ProblemList()
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
    problems = ProblemList()
    sessions, texts = new_pool(), new_pool()
    texts.code("")
    rows: list[tuple[int, int, int, int]] = []  # session code, query index, text code, line
    first: dict[tuple[str, int], int] = {}
    if jsonl:
        objects = _json_lines(data, name, problems, _SESSIONS_KEYS)
        queries = _parsed(objects, name, problems, _json_session_query)
    else:
        queries = _parsed(_tsv_lines(data, name, problems), name, problems, _tsv_session_query)
    for lineno, (sid, qi, query) in queries:
        if (before := first.setdefault((sid, qi), lineno)) != lineno:
            message = f"query {qi} of session {sid!r} is listed twice (first on line {before})"
            problems.append(Problem(name, lineno, message))
            continue
        rows.append((sessions.code(sid), qi, texts.code(query), lineno))
    s, index, qcode, line = (
        (np.asarray(c, dtype=np.int64) for c in zip(*rows, strict=True)) if rows else [np.zeros(0)] * 4
    )
    return _finish(
        name,
        problems,
        _gap_problems(name, first),
        "" if first else "empty file: no sessions",
        lambda: _assemble_sessions(
            name,
            list(sessions),
            s.astype(np.int32),
            index.astype(np.int32),
            qcode.astype(np.int32),
            line,
            texts,
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

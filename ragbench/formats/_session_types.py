"""The tables the session readers return, and the constants of the session formats.

:mod:`ragbench.formats.sessions` re-exports all of it, and other code imports it from there. It
lives apart so that the private modules that read the files (:mod:`ragbench.formats._session_lines`
and :mod:`ragbench.formats._session_tables`) can build these tables without importing the
public module, which calls them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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

"""Readers for TREC run and qrels files, with line-numbered errors.

Accepted, as trec_eval 10.0 accepts: any run of spaces and tabs between fields, blank lines,
and comment lines whose first non-blank character is ``#``. Fields after the sixth of a run
line are ignored (trec_eval's "reserved for future expansion"). Stricter than trec_eval, and
on purpose: a score that is not a number, a rank that is not an integer, a relevance that is
not an integer, a document listed twice for one topic, bytes that are not UTF-8 and an empty
file are errors here, where trec_eval reads them as 0 or stops with "Malformed line".

Two implementations give the same tables: a C tokenizer (``_ctrec``, the default, about ten
times faster on multi-million-line runs) and the pure-Python one below, which is also what
turns a C-reported failure into the full list of problems.
"""

from __future__ import annotations

import math

import numpy as np

from ragbench.formats.lines import (
    ProblemList,
    Source,
    column_of,
    content_lines,
    load,
    parse_float,
    parse_int,
)
from ragbench.formats.problems import Problem
from ragbench.formats.tables import QrelsTable, RunTable, StringPool, new_pool

try:
    from ragbench.formats import _ctrec
except ImportError:  # built without a C compiler: the pure-Python reader does everything
    _ctrec = None

MAX_RELEVANCE = 1000
"""Judgments are small integers; the bound keeps per-level count tables (topics x levels) small."""

RUN_COLUMNS = "query_id Q0 doc_id rank score run_tag"
QRELS_COLUMNS = "query_id iteration doc_id relevance"
BEIR_COLUMNS = "query-id<TAB>corpus-id<TAB>score"
BEIR_HEADER = ("query-id", "corpus-id", "score")


def qrels_format(data: bytes) -> str:
    """``beir`` when the first content line is BEIR's header (``query-id corpus-id score``), else ``trec``."""
    for raw in data[:4096].split(b"\n"):
        fields = raw.strip().lower().split()
        if fields and not fields[0].startswith(b"#"):
            return "beir" if tuple(f.decode("ascii", "replace") for f in fields) == BEIR_HEADER else "trec"
    return "trec"


def read_run(source: Source, *, name: str | None = None, pool: StringPool | None = None) -> RunTable:
    """Read a TREC run (``query_id Q0 doc_id rank score run_tag`` per line).

    Args:
        source: a path, or the file's bytes.
        name: the name to use in messages (defaults to the path).
        pool: intern ids into this pool (share one with :func:`read_qrels` to join on codes).

    Raises:
        FormatError: listing every problem (up to 50): file, line, column, message.
    """
    data, name = load(source, name)
    pool = new_pool() if pool is None else pool
    if _ctrec is not None and isinstance(pool, _ctrec.Pool):
        parsed = _parse_c(data, 0, pool)
        if parsed is not None:
            query, doc, value, rank, line, run_id = parsed
            return RunTable(query, doc, value.view(np.float64), rank, line, pool, run_id, name)
    return _read_run_python(data, name, pool)


def _parse_c(
    data: bytes, kind: int, pool: StringPool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str] | None:
    """Run the C reader; None when it found a problem (the Python reader then lists them all).

    The columns: query and doc codes (int32), values (int64: a run's float64 scores as raw bits,
    or qrels' relevance), ranks, line numbers; then the run tag of the last line.
    """
    parsed = _ctrec.parse(data, kind, pool)
    if parsed[0] is None:
        return None
    query, doc = np.frombuffer(parsed[0], dtype=np.int32), np.frombuffer(parsed[1], dtype=np.int32)
    if query.size == 0 or _ctrec.find_duplicate(parsed[0], parsed[1], len(pool)) >= 0:
        return None
    value = np.frombuffer(parsed[2], dtype=np.int64)
    rank = np.frombuffer(parsed[3], dtype=np.int64)
    line = np.frombuffer(parsed[4], dtype=np.int64)
    return query, doc, value, rank, line, parsed[5]


def _read_run_python(data: bytes, name: str, pool: StringPool) -> RunTable:
    problems = ProblemList()
    q: list[int] = []
    d: list[int] = []
    s: list[float] = []
    r: list[int] = []
    lines: list[int] = []
    seen: dict[tuple[int, int], int] = {}
    run_id = ""
    for lineno, fields in content_lines(data, name, problems):
        if len(fields) < 6:
            problems.append(Problem(name, lineno, f"expected 6 columns ({RUN_COLUMNS}), found {len(fields)}"))
            continue
        score = parse_float(fields[4])
        if score is None or math.isnan(score):
            problems.append(
                Problem(name, lineno, f"score {fields[4]!r} is not a number", column_of(fields, 4))
            )
            continue
        rank = parse_int(fields[3])
        if rank is None:
            problems.append(
                Problem(name, lineno, f"rank {fields[3]!r} is not an integer", column_of(fields, 3))
            )
            continue
        qc, dc = pool.code(fields[0]), pool.code(fields[2])
        first = seen.setdefault((qc, dc), lineno)
        if first != lineno:
            problems.append(
                Problem(
                    name,
                    lineno,
                    f"document {fields[2]!r} is listed twice for topic {fields[0]!r} (first on line {first})",
                    column_of(fields, 2),
                )
            )
            continue
        q.append(qc)
        d.append(dc)
        s.append(score)
        r.append(rank)
        lines.append(lineno)
        run_id = fields[5]
    if not problems and not q:
        problems.append(Problem(name, 0, "empty file: no run lines"))
    problems.raise_if_any()
    return RunTable(
        query=np.asarray(q, dtype=np.int32),
        doc=np.asarray(d, dtype=np.int32),
        score=np.asarray(s, dtype=np.float64),
        rank=np.asarray(r, dtype=np.int64),
        line=np.asarray(lines, dtype=np.int64),
        strings=pool,
        run_id=run_id,
        source=name,
    )


def read_qrels(source: Source, *, name: str | None = None, pool: StringPool | None = None) -> QrelsTable:
    """Read TREC qrels (``query_id iteration doc_id relevance`` per line; relevance an integer), or
    BEIR's qrels TSV (a ``query-id<TAB>corpus-id<TAB>score`` header, then those three columns).

    Args:
        source: a path, or the file's bytes.
        name: the name to use in messages (defaults to the path).
        pool: intern ids into this pool (share one with :func:`read_run` to join on codes).

    Raises:
        FormatError: listing every problem (up to 50): file, line, column, message.
    """
    data, name = load(source, name)
    pool = new_pool() if pool is None else pool
    if qrels_format(data) == "beir":
        return _read_qrels_python(data, name, pool, beir=True)
    if _ctrec is not None and isinstance(pool, _ctrec.Pool):
        parsed = _parse_c(data, 1, pool)
        if parsed is not None:
            query, doc, value, _rank, line, _ = parsed
            return QrelsTable(query, doc, value, line, pool, name)
    return _read_qrels_python(data, name, pool)


def _read_qrels_python(data: bytes, name: str, pool: StringPool, *, beir: bool = False) -> QrelsTable:
    problems = ProblemList()
    q: list[int] = []
    d: list[int] = []
    r: list[int] = []
    lines: list[int] = []
    seen: dict[tuple[int, int], int] = {}
    header = beir
    shift = 2 if beir else 0  # columns as written: BEIR has no iteration column
    for lineno, fields in content_lines(data, name, problems):
        if header:
            header = False  # BEIR's query-id corpus-id score
            continue
        if beir:
            if len(fields) != 3:
                problems.append(
                    Problem(name, lineno, f"expected 3 columns ({BEIR_COLUMNS}), found {len(fields)}")
                )
                continue
            fields = [fields[0], "0", fields[1], fields[2]]
        elif len(fields) != 4:
            problems.append(
                Problem(name, lineno, f"expected 4 columns ({QRELS_COLUMNS}), found {len(fields)}")
            )
            continue
        rel = parse_int(fields[3])
        if rel is None:
            problems.append(
                Problem(
                    name, lineno, f"relevance {fields[3]!r} is not an integer", column_of(fields, 3) - shift
                )
            )
            continue
        if not -MAX_RELEVANCE <= rel <= MAX_RELEVANCE:
            problems.append(
                Problem(
                    name,
                    lineno,
                    f"relevance {rel} is out of range ({-MAX_RELEVANCE}..{MAX_RELEVANCE})",
                    column_of(fields, 3) - shift,
                )
            )
            continue
        qc, dc = pool.code(fields[0]), pool.code(fields[2])
        first = seen.setdefault((qc, dc), lineno)
        if first != lineno:
            problems.append(
                Problem(
                    name,
                    lineno,
                    f"document {fields[2]!r} is judged twice for topic {fields[0]!r} (first on line {first})",
                    column_of(fields, 2) - shift,
                )
            )
            continue
        q.append(qc)
        d.append(dc)
        r.append(rel)
        lines.append(lineno)
    if not problems and not q:
        problems.append(Problem(name, 0, "empty file: no judgments"))
    problems.raise_if_any()
    return QrelsTable(
        query=np.asarray(q, dtype=np.int32),
        doc=np.asarray(d, dtype=np.int32),
        relevance=np.asarray(r, dtype=np.int64),
        line=np.asarray(lines, dtype=np.int64),
        strings=pool,
        source=name,
    )

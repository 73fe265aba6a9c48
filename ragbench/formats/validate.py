"""Validate every kind of file ragbench reads, say what each file was read as, and collect every
error and warning.

Each file's kind and format are detected from its content (:mod:`ragbench.formats.detect`), or
named with ``kind=``, and the file is then read by that kind's strict reader:
:func:`~ragbench.formats.trec.read_run`, :func:`~ragbench.formats.trec.read_qrels` (TREC or
BEIR's TSV), :func:`~ragbench.formats.topics.read_topics`,
:func:`~ragbench.formats.corpus.scan_corpus` (JSONL, TREC SGML or TSV, streamed), the session
readers of :mod:`ragbench.formats.sessions` (``session-run``, ``session-qrels``, ``sessions``,
``ratings``), :func:`~ragbench.formats.lengths.read_lengths` (``lengths``), the SMART files of
the classic collections (:mod:`ragbench.formats.smart`: ``smart``, ``smart-qrels``) and RAG answer
files (:mod:`ragbench.formats.rag`: ``rag`` for TREC RAG 2024/2025, ``qa``). The report says,
per file, the kind, the format and what it holds (documents, topics, judgments...), and counts
every problem, also past the number it lists. Every file is warned about lines ended by a lone
carriage return (read as line breaks); the warnings about runs and qrels are in
:mod:`ragbench.formats._checks`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ragbench.errors import FormatError, InputError
from ragbench.formats._checks import check_qrels, check_run
from ragbench.formats.corpus import Document, scan_corpus
from ragbench.formats.detect import KINDS as FILE_KINDS
from ragbench.formats.detect import Kind, detect_kind, detect_path
from ragbench.formats.lengths import read_lengths
from ragbench.formats.lines import load_with_notes
from ragbench.formats.problems import FileReport, Problem, ValidationReport
from ragbench.formats.rag import check_rag
from ragbench.formats.sessions import read_ratings, read_session_qrels, read_session_run, read_sessions
from ragbench.formats.smart import SMART_KINDS, smart_problems
from ragbench.formats.tables import QrelsTable, RunTable
from ragbench.formats.topics import read_topics
from ragbench.formats.trec import read_qrels, read_run

__all__ = ["KINDS", "Kind", "detect_kind", "validate"]

KINDS: tuple[str, ...] = ("auto", *FILE_KINDS)
PathLike = str | os.PathLike[str]


def _counts_run(run: RunTable) -> dict[str, int]:
    return {"lines": len(run), "topics": int(np.unique(run.query).size)}


def _counts_qrels(table: QrelsTable) -> dict[str, int]:
    return {"topics": int(np.unique(table.query).size), "judgments": len(table)}


READERS: dict[str, tuple[Callable[..., Any], Callable[[Any], dict[str, int]]]] = {
    "run": (read_run, _counts_run),
    "qrels": (read_qrels, _counts_qrels),
    "topics": (read_topics, lambda topics: {"topics": len(topics)}),
    "session-run": (read_session_run, lambda run: {"sessions": len(run.session_ids), "rows": len(run.doc)}),
    "session-qrels": (
        read_session_qrels,
        lambda q: {"sessions": len(q.session_ids), "judgments": len(q.doc)},
    ),
    "sessions": (read_sessions, lambda s: {"sessions": len(s.session_ids)}),
    "ratings": (read_ratings, lambda r: {"sessions": len(r.session_ids), "ratings": len(r.names)}),
    "lengths": (read_lengths, lambda d: {"documents": len(d.lengths)}),
}


def validate(
    paths: PathLike | Iterable[PathLike],
    kind: str = "auto",
    qrels: PathLike | QrelsTable | None = None,
    cutoffs: Sequence[int] = (10, 100, 1000),
) -> ValidationReport:
    """Check files and collect every error and warning into one report.

    Args:
        paths: one file or several.
        kind: one of :data:`KINDS` for every file, or ``auto`` to tell each file's kind from its
            content (then from its name).
        qrels: judgments to check runs against (topics missing on either side); its own errors
            are reported too.
        cutoffs: the ranks at which score ties are reported.

    Returns:
        The report; ``report.ok`` is False when any file has an error; ``report.files`` says what
        each file was read as and holds.

    Raises:
        InputError: ``kind`` is not one of :data:`KINDS`, or a cutoff is not a positive integer.
    """
    if kind not in KINDS:
        raise InputError(f"unknown file kind {kind!r}; choose one of {', '.join(KINDS)}")
    if any(int(k) != k or k < 1 for k in cutoffs):
        raise InputError(f"cutoffs must be positive integers, got {list(cutoffs)}")
    files = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    qrels_name = None if qrels is None or isinstance(qrels, QrelsTable) else str(qrels)
    cut = sorted(set(cutoffs))
    parts: list[ValidationReport] = []
    judged = qrels if isinstance(qrels, QrelsTable) else None
    if qrels_name is not None:
        first = ValidationReport()
        judged = _validate_file(qrels_name, "qrels", None, cut, first)
        parts.append(first)
    for path in files:
        if qrels_name is not None and str(path) == qrels_name:
            continue  # reported above, once
        part = ValidationReport()
        _validate_file(path, kind, judged, cut, part)
        parts.append(part)
    # Each file gets the report's own cap, so one bad file cannot hide the problems of the next.
    report = ValidationReport(limit=ValidationReport().limit * max(1, len(parts)))
    for part in parts:
        report.problems.extend(part.problems)
        report.truncated += part.truncated
        report.error_count += part.error_count
        report.warning_count += part.warning_count
        report.files.extend(part.files)
    return report


def _validate_file(
    path: PathLike, kind: str, judged: QrelsTable | None, cutoffs: list[int], report: ValidationReport
) -> QrelsTable | None:
    """Check one file into ``report`` (which then holds its FileReport); return its table when it
    is qrels that could be read."""
    name = str(path)
    found = detect_path(path, kind)
    summary = FileReport(name, found.kind, found.format, found.gzip)
    table = None
    try:
        if found.kind is None:
            report.add(Problem(name, 0, _undetected_message(path, found.looks)))
        elif found.kind == "corpus":
            summary.counts = _check_corpus(path, name, report)
        else:
            table = _check_file(path, found.kind, judged, cutoffs, report, summary)
    finally:
        summary.errors, summary.warnings = report.error_count, report.warning_count
        report.files.append(summary)
    return table


def _check_corpus(path: PathLike, name: str, report: ValidationReport) -> dict[str, int]:
    documents = 0
    for item in scan_corpus(path, name=name):
        if isinstance(item, Document):
            documents += 1
        else:
            report.add(item)
    return {"documents": documents}


def _check_file(
    path: PathLike,
    kind: Kind,
    judged: QrelsTable | None,
    cutoffs: list[int],
    report: ValidationReport,
    summary: FileReport,
) -> QrelsTable | None:
    try:
        data, name, notes = load_with_notes(path, None)
    except FormatError as exc:
        _add_error(report, exc)
        return None
    for note in notes:  # lone CRs: read as line breaks, and said so
        report.add(note)
    if kind in SMART_KINDS:
        for problem in smart_problems(data, name, kind):
            report.add(problem)
        return None
    if kind in ("rag", "qa"):  # TREC RAG answers or QA answers
        for problem in check_rag(data, name=name):
            report.add(problem)
        return None
    reader, count = READERS[kind]
    try:
        value = reader(data, name=name)
    except FormatError as exc:
        _add_error(report, exc)
        return None
    summary.counts = count(value)
    if kind == "run":
        check_run(data, value, judged, cutoffs, report)
    elif kind == "qrels":
        check_qrels(value, report)
        return value  # type: ignore[no-any-return]
    return None


def _undetected_message(path: PathLike, looks: str) -> str:
    if not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "is a directory, not a file"
    if looks in ("an empty file", ""):
        return "empty file: cannot tell its kind; name it with --kind"
    return f"cannot tell what kind of file this is: {looks}; name the kind with --kind"


def _add_error(report: ValidationReport, exc: FormatError) -> None:
    for problem in exc.problems:
        report.add(problem)
    report.add_uncounted_errors(exc.more)

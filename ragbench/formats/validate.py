"""Validate runs, qrels, topics and corpora: every error of the strict readers, plus warnings.

The errors are those of :func:`~ragbench.formats.trec.read_run`,
:func:`~ragbench.formats.trec.read_qrels`, :func:`~ragbench.formats.topics.read_topics`,
:func:`~ragbench.formats.corpus.check_corpus` and, for session files, the readers of
:mod:`ragbench.formats.sessions` (kinds ``session-run``, ``session-qrels``, ``sessions`` and
``ratings``; detected from a ``session_id`` header line or JSON key). The warnings point at
things that are legal but change or cloud what trec_eval computes:

- runs: rank numbers that disagree with the scores (trec_eval ignores ranks and orders by score,
  then docno descending); score ties straddling a cutoff (the measure at that cutoff then depends
  on docno tie-breaking); lines with more than 6 columns (the extra fields are ignored); and,
  when qrels are given, run topics without judgments and judged topics missing from the run;
- qrels: topics with no relevant document (AP, nDCG and recall are undefined or 0 there).

Run checks are numpy passes over the columns read (sorts included), never a Python loop per
line; a warning that would repeat for many topics names the first few and counts the rest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import PurePath
from typing import Literal

import numpy as np

from ragbench.errors import FormatError, InputError
from ragbench.formats.corpus import check_corpus
from ragbench.formats.lines import load
from ragbench.formats.problems import Problem, ValidationReport
from ragbench.formats.rag import check_rag, rag_format_of
from ragbench.formats.sessions import read_ratings, read_session_qrels, read_session_run, read_sessions
from ragbench.formats.tables import QrelsTable, RunTable
from ragbench.formats.topics import read_topics
from ragbench.formats.trec import read_qrels, read_run

Kind = Literal[
    "run", "qrels", "topics", "corpus", "session-run", "session-qrels", "sessions", "ratings", "rag", "qa"
]  # fmt: skip
SESSION_READERS: dict[str, Callable[..., object]] = {
    "session-run": read_session_run,
    "session-qrels": read_session_qrels,
    "sessions": read_sessions,
    "ratings": read_ratings,
}
KINDS: tuple[str, ...] = ("auto", "run", "qrels", "topics", "corpus", *SESSION_READERS, "rag", "qa")
PathLike = str | os.PathLike[str]

DETAILED = 10  # warnings of one kind named one by one per file; the rest are counted
HEAD_BYTES = 64 * 1024
_NAME_HINTS: tuple[tuple[str, Kind], ...] = (
    ("qrel", "qrels"),
    ("run", "run"),
    ("result", "run"),
    ("topic", "topics"),
    ("quer", "topics"),
    ("corpus", "corpus"),
    ("collection", "corpus"),
    ("doc", "corpus"),
)


def validate(
    paths: PathLike | Iterable[PathLike],
    kind: str = "auto",
    qrels: PathLike | QrelsTable | None = None,
    cutoffs: Sequence[int] = (10, 100, 1000),
) -> ValidationReport:
    """Check files and collect every error and warning into one report.

    Args:
        paths: one file or several.
        kind: ``run``, ``qrels``, ``topics``, ``corpus``, ``session-run``, ``session-qrels``,
            ``sessions`` or ``ratings`` for every file, or ``auto`` to tell each file's kind
            from its content (then from its name).
        qrels: judgments to check runs against (topics missing on either side); its own errors
            are reported too.
        cutoffs: the ranks at which score ties are reported.

    Returns:
        The report; ``report.ok`` is False when any file has an error.

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
    return report


def _validate_file(
    path: PathLike, kind: str, judged: QrelsTable | None, cutoffs: list[int], report: ValidationReport
) -> QrelsTable | None:
    """Check one file into ``report``; return its table when it is qrels that could be read."""
    name = str(path)
    if kind == "corpus" or (kind == "auto" and _detect_path(path) == "corpus"):
        for problem in check_corpus(path, name=name):
            report.add(problem)
        return None
    try:
        data, name = load(path, None)
    except FormatError as exc:
        _add_error(report, exc)
        return None
    file_kind = kind if kind != "auto" else detect_kind(data[:HEAD_BYTES], name)
    if file_kind == "run":
        _check_run(data, name, judged, cutoffs, report)
    elif file_kind == "qrels":
        table = _read(read_qrels, data, name, report)
        if isinstance(table, QrelsTable):
            _check_qrels(table, report)
            return table
    elif file_kind == "topics":
        _read(read_topics, data, name, report)
    elif file_kind in SESSION_READERS:
        _read(SESSION_READERS[file_kind], data, name, report)
    elif file_kind in ("rag", "qa"):  # TREC RAG answers or QA answers (ragbench.formats.rag)
        for problem in check_rag(data, name=name):
            report.add(problem)
    elif file_kind is None:
        report.add(Problem(name, 0, _undetected_message(data)))
    return None


def detect_kind(head: bytes, name: str = "") -> Kind | None:
    """Tell a file's kind from its first bytes, then from its name; None when neither tells.

    Args:
        head: the first bytes of the file (a few KiB are plenty).
        name: the file name, used when the content is ambiguous or empty.
    """
    hint = next((k for word, k in _NAME_HINTS if word in PurePath(name).name.lower()), None)
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.split("\n")
    if len(head) >= HEAD_BYTES:
        lines.pop()  # probably cut in the middle
    sample = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")][:50]
    if not sample:
        return hint
    first = sample[0].lstrip()
    if first.startswith("<"):
        return "topics"
    if first.startswith("{"):
        return _json_kind(first, hint)
    if first.split()[0] == "session_id":
        return _session_header_kind(first.split())
    votes: dict[Kind, int] = {"run": 0, "qrels": 0, "topics": 0}
    for line in sample:
        fields = line.split()
        if len(fields) >= 6 and _is_number(fields[3]) and _is_number(fields[4]):
            votes["run"] += 1
        elif len(fields) == 4 and _is_number(fields[3]):
            votes["qrels"] += 1
        elif len(line.rstrip("\r").split("\t")) == 2:
            votes["topics"] += 1
    best = max(votes, key=votes.__getitem__)
    if votes[best] == len(sample):
        return best  # the content is unanimous
    if hint is not None:
        return hint
    return best if votes[best] else None


def _session_header_kind(columns: list[str]) -> Kind:
    """The session file a ``session_id ...`` header line starts (qrels have no header)."""
    if columns[1:3] == ["query_index", "rank"]:
        return "session-run"
    if columns[1:2] == ["query_index"]:
        return "session-qrels" if "grade" in columns else "sessions"
    return "ratings"


def _json_kind(line: str, hint: Kind | None) -> Kind:
    try:
        keys = set(json.loads(line))
    except (ValueError, TypeError):
        return hint if hint in ("topics", "corpus") else "corpus"
    rag = rag_format_of(keys)
    if rag is not None:
        return "qa" if rag == "qa" else "rag"
    if "session_id" in keys:
        return "session-qrels" if "grade" in keys else "session-run" if "doc_id" in keys else "sessions"
    if keys & {"qid", "query_id", "query", "description", "narrative"}:
        return "topics"
    if keys & {"contents", "title", "docid", "doc_id"}:
        return "corpus"
    return hint if hint in ("topics", "corpus") else "topics"


def _detect_path(path: PathLike) -> Kind | None:
    """Detect from the file's head without reading it all (a corpus may be many GB)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return None
    return detect_kind(head, str(path))


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _undetected_message(data: bytes) -> str:
    if not data.strip():
        return "empty file"
    return "cannot tell what kind of file this is (run, qrels, topics or corpus); name the kind explicitly"


def _add_error(report: ValidationReport, exc: FormatError) -> None:
    for problem in exc.problems:
        report.add(problem)
    report.truncated += exc.more


def _read(reader: Callable[..., object], data: bytes, name: str, report: ValidationReport) -> object:
    try:
        return reader(data, name=name)
    except FormatError as exc:
        _add_error(report, exc)
        return None


# -- warnings -------------------------------------------------------------------------------------


def _warn(report: ValidationReport, name: str, line: int, message: str, column: int = 0) -> None:
    report.add(Problem(name, line, message, column, "warning"))


def _first_lines(codes: np.ndarray, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct codes and the line each first appears on, ordered by that line."""
    distinct, first = np.unique(codes, return_index=True)
    order = np.argsort(first, kind="stable")
    return distinct[order], lines[first[order]]


def _count(n: int, noun: str) -> str:
    """``1 topic``, ``2 topics``: the last word of ``noun`` takes the plural."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _them(items: Sequence[object]) -> str:
    return "it" if len(items) == 1 else "them"


def _named(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:DETAILED])
    return shown + (f" and {len(ids) - DETAILED} more" if len(ids) > DETAILED else "")


def _check_qrels(table: QrelsTable, report: ValidationReport) -> None:
    topics, first = _first_lines(table.query, table.line)
    relevant = np.unique(table.query[table.relevance > 0])
    none = ~np.isin(topics, relevant)
    for code, line in list(zip(topics[none].tolist(), first[none].tolist(), strict=True))[:DETAILED]:
        _warn(report, table.source, line, f"topic {table.strings[code]!r} has no relevant document")
    extra = int(none.sum()) - DETAILED
    if extra > 0:
        _warn(report, table.source, 0, f"{_count(extra, 'more topic')} with no relevant document")


def _check_run(
    data: bytes, name: str, judged: QrelsTable | None, cutoffs: list[int], report: ValidationReport
) -> None:
    run = _read(read_run, data, name, report)
    if not isinstance(run, RunTable):
        return
    _check_wide_lines(data, run, report)
    _check_rank_order(run, report)
    _check_ties(run, cutoffs, report)
    if judged is not None:
        _check_topics_against(run, judged, report)


def _check_wide_lines(data: bytes, run: RunTable, report: ValidationReport) -> None:
    count, line, columns = _wide_lines(data, len(run))
    if count == 0:
        return
    verb = "has" if count == 2 else "have"
    more = f", and {_count(count - 1, 'more line')} {verb} more than 6" if count > 1 else ""
    _warn(
        report,
        run.source,
        line,
        f"line {line} has {columns} columns{more}; the fields after the sixth are ignored, "
        "as trec_eval ignores them",
    )


def _chunks(data: bytes, size: int = 1 << 23) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, bytes as uint8) of successive pieces of ``data`` that end at a newline; no copies."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + size)
        end = len(data) if end < 0 else end + 1
        yield start, np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
        start = end


def _field_starts(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of newlines and of the first byte of each field (fields split on ASCII whitespace)."""
    newline = b == 10
    blank = newline | (b == 32) | ((b >= 9) & (b <= 13))
    start = ~blank
    start[1:] &= blank[:-1]
    return newline, start


def _wide_lines(data: bytes, content_lines: int) -> tuple[int, int, int]:
    """Run lines with more than 6 fields: (how many, the first one's number, its field count).

    ``content_lines`` is the number of run lines the reader accepted, each with at least 6 fields:
    when the file holds exactly 6 fields per such line, there is nothing to find (the usual case,
    and one cheap pass). Else fields are counted per line, with numpy, a few MiB at a time.
    """
    total = sum(int(np.count_nonzero(_field_starts(b)[1])) for _, b in _chunks(data))
    if total == 6 * content_lines:
        return 0, 0, 0
    count, first_line, first_columns = 0, 0, 0
    for offset, b in _chunks(data):
        newline, starts = _field_starts(b)
        start_at = np.flatnonzero(starts)
        line_of = np.cumsum(newline, dtype=np.int64)[start_at]  # line within the chunk
        fields = np.bincount(line_of, minlength=int(np.count_nonzero(newline)) + 1)
        wide = np.flatnonzero(fields > 6)
        if wide.size:
            first_field = start_at[np.searchsorted(line_of, wide)]
            wide = wide[b[first_field] != ord("#")]  # comment lines may hold anything
        if wide.size and count == 0:
            first_line = data.count(b"\n", 0, offset) + int(wide[0]) + 1
            first_columns = int(fields[wide[0]])
        count += int(wide.size)
    return count, first_line, first_columns


def _check_rank_order(run: RunTable, report: ValidationReport) -> None:
    q, rank, score = run.query, run.rank, run.score
    order = _by_topic_then_rank(q, rank)
    if order is None:
        order = np.lexsort((-score, rank, q))  # equal ranks: scores descending, so no false alarm
    qs, rs, ss = q[order], rank[order], score[order]
    rising = np.flatnonzero((qs[1:] == qs[:-1]) & (rs[1:] > rs[:-1]) & (ss[1:] > ss[:-1])) + 1
    if rising.size == 0:
        return
    topics, first, counts = np.unique(qs[rising], return_index=True, return_counts=True)
    at = rising[first]
    by_line = np.argsort(run.line[order[at]], kind="stable")
    for i in by_line[:DETAILED].tolist():
        p, prev = order[at[i]], order[at[i] - 1]
        more = int(counts[i]) - 1
        _warn(
            report,
            run.source,
            int(run.line[p]),
            f"topic {run.strings[int(topics[i])]!r}: rank {int(rank[p])} has a higher score "
            f"({float(score[p])!r}) than rank {int(rank[prev])} on line {int(run.line[prev])} "
            f"({float(score[prev])!r}); trec_eval ignores ranks and orders by score"
            + (f" ({_count(more, 'more such inversion')} in this topic)" if more else ""),
        )
    if topics.size > DETAILED:
        _warn(
            report,
            run.source,
            0,
            f"{_count(topics.size - DETAILED, 'more topic')} with ranks that disagree with the scores",
        )


def _by_topic_then_rank(q: np.ndarray, rank: np.ndarray) -> np.ndarray | None:
    """Row order by topic code, then rank; None when two rows of a topic share a rank."""
    if np.all((q[1:] > q[:-1]) | ((q[1:] == q[:-1]) & (rank[1:] > rank[:-1]))):
        return np.arange(q.size)  # already sorted, ranks strictly increasing: the usual case
    low, span = int(rank.min()), int(rank.max()) - int(rank.min()) + 1
    if span * (int(q.max()) + 1) >= 2**62:
        return None
    key = q.astype(np.int64) * span + (rank - low)  # one int64 key sorts much faster than lexsort
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    return None if np.any(ordered[1:] == ordered[:-1]) else order


def _check_ties(run: RunTable, cutoffs: list[int], report: ValidationReport) -> None:
    q, score = run.query, run.score
    if np.all((q[1:] > q[:-1]) | ((q[1:] == q[:-1]) & (score[1:] <= score[:-1]))):
        order = np.arange(q.size)  # already by topic, then score descending: the usual case
    else:
        by_score = np.argsort(-score, kind="stable")  # two stable sorts beat np.lexsort here
        order = by_score[np.argsort(q[by_score], kind="stable")]
    qs, ss = q[order], score[order]
    starts = np.flatnonzero(np.r_[True, qs[1:] != qs[:-1]])
    ends = np.r_[starts[1:], qs.size]
    topic_hits, k_hits = [], []
    for k in cutoffs:
        long_enough = np.flatnonzero(ends - starts > k)
        at_k = starts[long_enough] + k - 1
        tied = long_enough[ss[at_k] == ss[at_k + 1]]
        topic_hits.append(tied)
        k_hits.append(np.full(tied.size, k))
    topics, ks = np.concatenate(topic_hits), np.concatenate(k_hits)
    for i in np.lexsort((ks, topics))[:DETAILED].tolist():
        topic = (int(starts[topics[i]]), int(ends[topics[i]]))
        _warn_tie(run, order, ss, topic, k=int(ks[i]), report=report)
    if topics.size > DETAILED:
        _warn(
            report,
            run.source,
            0,
            f"{_count(topics.size - DETAILED, 'more (topic, cutoff) pair')} with scores tied across it",
        )


def _warn_tie(
    run: RunTable,
    order: np.ndarray,
    ss: np.ndarray,
    topic: tuple[int, int],
    *,
    k: int,
    report: ValidationReport,
) -> None:
    """Name the documents at ranks k and k+1 after trec_eval's sort (score desc, docno desc)."""
    start, end = topic
    value = ss[start + k - 1]
    descending = -ss[start:end]  # ascending, for searchsorted
    lo = start + int(np.searchsorted(descending, -value, side="left"))
    hi = start + int(np.searchsorted(descending, -value, side="right"))
    group = sorted(order[lo:hi].tolist(), key=lambda r: run.strings[int(run.doc[r])], reverse=True)
    a, b = group[k - 1 - (lo - start)], group[k - (lo - start)]
    doc_a, doc_b = run.strings[int(run.doc[a])], run.strings[int(run.doc[b])]
    _warn(
        report,
        run.source,
        int(run.line[a]),
        f"topic {run.strings[int(run.query[a])]!r}: the documents at ranks {k} and {k + 1}, {doc_a!r} "
        f"(line {int(run.line[a])}) and {doc_b!r} (line {int(run.line[b])}), have the same score "
        f"{float(value)!r} ({hi - lo} documents share it), so measures at cutoff {k} depend on "
        "trec_eval's tie-break (docno descending)",
    )


def _check_topics_against(run: RunTable, qrels: QrelsTable, report: ValidationReport) -> None:
    run_codes, run_first = _first_lines(run.query, run.line)
    qrels_codes, qrels_first = _first_lines(qrels.query, qrels.line)
    run_ids = [run.strings[c] for c in run_codes.tolist()]
    qrels_ids = [qrels.strings[c] for c in qrels_codes.tolist()]
    judged, retrieved = set(qrels_ids), set(run_ids)
    unjudged = [i for i, t in enumerate(run_ids) if t not in judged]
    if unjudged:
        _warn(
            report,
            run.source,
            int(run_first[unjudged[0]]),
            f"{_count(len(unjudged), 'topic')} of the run without judgments in {qrels.source}: "
            f"{_named([run_ids[i] for i in unjudged])}; "
            f"trec_eval leaves {_them(unjudged)} out of the evaluation",
        )
    missing = [i for i, t in enumerate(qrels_ids) if t not in retrieved]
    if missing:
        _warn(
            report,
            qrels.source,
            int(qrels_first[missing[0]]),
            f"{_count(len(missing), 'judged topic')} missing from the run {run.source}: "
            f"{_named([qrels_ids[i] for i in missing])}; trec_eval leaves {_them(missing)} out of the "
            f"averages unless -c is given, which counts {_them(missing)} as 0",
        )

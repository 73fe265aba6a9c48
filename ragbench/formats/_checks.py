"""Warnings about runs and qrels: legal things that change or cloud what trec_eval computes.

- runs: rank numbers that disagree with the scores (trec_eval ignores ranks and orders by score,
  then docno descending); score ties straddling a cutoff (the measure at that cutoff then depends
  on docno tie-breaking); lines with more than 6 columns (the extra fields are ignored); and,
  when qrels are given, run topics without judgments and judged topics missing from the run;
- qrels: topics with no relevant document (AP, nDCG and recall are undefined or 0 there).

Run checks are numpy passes over the columns read (sorts included), never a Python loop per
line; a warning that would repeat for many topics names the first few and counts the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ragbench.formats.problems import Problem, ValidationReport
from ragbench.formats.tables import QrelsTable, RunTable

DETAILED = 10  # warnings of one kind named one by one per file; the rest are counted


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


def check_qrels(table: QrelsTable, report: ValidationReport) -> None:
    """Warn about topics of ``table`` with no relevant document."""
    topics, first = _first_lines(table.query, table.line)
    relevant = np.unique(table.query[table.relevance > 0])
    none = ~np.isin(topics, relevant)
    for code, line in list(zip(topics[none].tolist(), first[none].tolist(), strict=True))[:DETAILED]:
        _warn(report, table.source, line, f"topic {table.strings[code]!r} has no relevant document")
    extra = int(none.sum()) - DETAILED
    if extra > 0:
        _warn(report, table.source, 0, f"{_count(extra, 'more topic')} with no relevant document")


def check_run(
    data: bytes, run: RunTable, judged: QrelsTable | None, cutoffs: list[int], report: ValidationReport
) -> None:
    """Warn about the run's ranks, score ties at ``cutoffs``, wide lines, and topics against ``judged``."""
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

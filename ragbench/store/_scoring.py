"""Scoring runs and storing their scores.

Scores are computed with ``complete=True`` (trec_eval ``-c``): a topic of the qrels that a run
does not answer counts 0, and every mean is over all judged topics. On a leaderboard this is the
only fair choice: otherwise a run could raise its mean by leaving out its hard topics. Topics of
a run that have no judgments are ignored, as trec_eval does.

For every measure of the benchmark, plus ``Judged@10``, one row per judged topic and one row
with ``query_id = "all"`` (the mean) are inserted in bulk with the engine's fingerprint: with
``COPY`` on PostgreSQL (psycopg), with one executemany ``INSERT`` elsewhere.

Session runs (``run.kind == "session"``) take the same path: they are read with
:func:`ragbench.formats.sessions.read_session_run`, checked against the benchmark's sessions, and
scored with :func:`ragbench.evaluation.session.evaluate_sessions` against the latest *session* qrels
version, one row per (measure, session of the benchmark) plus the ``all`` mean; a session the run
does not answer scores 0.

A run too large to score inside its request is parsed there anyway (to validate it); the parsed
tables are handed to the worker of the same process (:func:`hand_off`), which then skips
decompressing and parsing the file again. A worker in another process reads the stored file.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ragbench.errors import InputError, NotFoundError, RagbenchError
from ragbench.formats.tables import QrelsTable, RunTable, new_pool
from ragbench.store._common import current_versions, latest_version, lock_benchmark, now, unpack
from ragbench.store._rag import ParsedRag, rag_rows, reads_qrels, stored_judgments
from ragbench.store.models import ALL_TOPICS, Benchmark, QrelsVersion, Run, Score

if TYPE_CHECKING:
    from ragbench.formats.sessions import SessionQrels, SessionRun, SessionTopics

MAX_ERROR_CHARS = 4000
HANDOFF_SIZE = 2
"""Parsed runs kept for the worker (a 1M-line run takes about 60 MB)."""
HANDOFF_MAX_LINES = 1_000_000
"""Larger runs are not kept: memory held outside the scoring slots would escape their bound (a
5M-line run's tables and string pool take about 500 MB); the worker reads the stored file instead
(about 0.6 s per million lines)."""
HANDOFF_TTL_S = 600.0
SCORE_COLUMNS = ("run_id", "qrels_version_id", "measure", "query_id", "value", "fingerprint")


@dataclass(frozen=True, slots=True)
class ParsedRun:
    """A run read into the string pool of the qrels it is scored against (the fast join)."""

    qrels: QrelsTable
    run: RunTable


@dataclass(frozen=True, slots=True)
class ParsedSessionRun:
    """A session run read into the string pool of the session qrels, with the benchmark's sessions."""

    qrels: SessionQrels
    run: SessionRun
    topics: SessionTopics


Parsed = ParsedRun | ParsedSessionRun | ParsedRag


def read_sessions_bytes(data: bytes, name: str = "sessions") -> SessionTopics:
    """Read a sessions file and reject a session called ``all`` (the name of the mean's row).

    Raises:
        FormatError: the file is malformed (every problem with its line).
        InputError: a session is called ``all``.
    """
    from ragbench.formats.sessions import read_sessions

    topics = read_sessions(data, name=name)
    if ALL_TOPICS in topics.session_ids:
        raise InputError(f"{name}: a session is called {ALL_TOPICS!r}, the name ragbench keeps for the mean")
    return topics


def read_session_qrels_bytes(data: bytes, topics: SessionTopics, name: str = "session qrels") -> SessionQrels:
    """Read session qrels and check them against the benchmark's sessions.

    Raises:
        FormatError: the file is malformed, or names a session or a query the sessions lack.
    """
    from ragbench.formats.sessions import check_qrels_against, read_session_qrels

    qrels = read_session_qrels(data, name=name, pool=new_pool())
    check_qrels_against(qrels, topics)
    return qrels


def benchmark_sessions(benchmark: Benchmark) -> SessionTopics:
    """The benchmark's sessions, read from the stored file.

    Raises:
        InputError: the benchmark has no sessions.
    """
    sessions = benchmark.sessions
    if sessions is None:
        raise InputError(f"benchmark {benchmark.slug!r} has no sessions")
    return read_sessions_bytes(sessions.encode("utf-8"))


def parse_session_run(
    qrels_content: bytes, run_bytes: bytes, filename: str, topics: SessionTopics
) -> ParsedSessionRun:
    """Read the stored (compressed) session qrels and a session run file together, and check the
    run against the benchmark's sessions.

    Raises:
        FormatError: the run is malformed, names a session the benchmark lacks, or has another
            number of queries in a session; ``problems`` name ``filename`` and each line.
    """
    from ragbench.formats.sessions import check_run_against, read_session_qrels, read_session_run

    qrels = read_session_qrels(unpack(qrels_content, "session qrels"), name="session qrels", pool=new_pool())
    run = read_session_run(run_bytes, name=filename, pool=qrels.strings)  # type: ignore[arg-type]
    check_run_against(run, topics)
    return ParsedSessionRun(qrels, run, topics)


def parsed_size(parsed: Parsed) -> tuple[int, int]:
    """(lines, topics) of a parsed run: rows and distinct topics, or rows and sessions answered."""
    if isinstance(parsed, ParsedSessionRun):
        return len(parsed.run), len(parsed.run.session_ids)
    if isinstance(parsed, ParsedRag):
        return len(parsed.run), len(parsed.run)
    return len(parsed.run), int(np.unique(parsed.run.query).size)


def read_qrels_bytes(data: bytes, name: str = "qrels") -> QrelsTable:
    """Read qrels and reject a topic called ``all`` (the name of the mean's row).

    Raises:
        FormatError: the file is malformed (every problem with its line).
        InputError: a topic is called ``all``.
    """
    from ragbench.formats.trec import read_qrels

    table = read_qrels(data, name=name, pool=new_pool())
    if ALL_TOPICS in table.query_ids():
        raise InputError(f"{name}: a topic is called {ALL_TOPICS!r}, the name ragbench keeps for the mean")
    return table


def parse_run(qrels_content: bytes, run_bytes: bytes, filename: str) -> ParsedRun:
    """Read the stored (compressed) qrels and a run file together.

    Raises:
        FormatError: the run is malformed; ``problems`` name ``filename`` and each line.
    """
    from ragbench.formats.trec import read_qrels, read_run

    qrels = read_qrels(unpack(qrels_content, "qrels"), name="qrels", pool=new_pool())
    return ParsedRun(qrels, read_run(run_bytes, name=filename, pool=qrels.strings))  # type: ignore[arg-type]


def score_rows(
    parsed: ParsedRun | ParsedSessionRun, measures: Sequence[str], run_id: int, version_id: int
) -> list[dict[str, Any]]:
    """Score a run: one row per (measure, judged topic), plus each measure's ``all`` row; for a
    session run one row per (measure, session of the benchmark), plus the ``all`` row."""
    if isinstance(parsed, ParsedSessionRun):
        from ragbench.evaluation.session import evaluate_sessions

        result = evaluate_sessions(
            parsed.qrels, parsed.run, measures, sessions=parsed.topics, name=str(run_id)
        )
    else:
        from ragbench.evaluation.engine import evaluate

        result = evaluate(parsed.qrels, parsed.run, measures, complete=True, name=str(run_id))
    rows: list[dict[str, Any]] = []
    for measure in result.measures:
        base = {
            "run_id": run_id,
            "qrels_version_id": version_id,
            "measure": measure,
            "fingerprint": result.fingerprints[measure].to_dict(),
        }
        values = result.per_query[measure].tolist()
        rows.extend(
            {**base, "query_id": q, "value": v} for q, v in zip(result.query_ids, values, strict=True)
        )
        rows.append({**base, "query_id": ALL_TOPICS, "value": result.aggregate[measure]})
    return rows


def _copy_rows(s: Session, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY: about twice as fast as a multi-row INSERT for thousands of rows."""
    raw = s.connection().connection.driver_connection
    assert raw is not None  # None only once the connection is closed or invalidated
    texts: dict[int, str] = {}
    with raw.cursor() as cursor, cursor.copy(f"COPY score ({', '.join(SCORE_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            fingerprint = row["fingerprint"]
            text = texts.get(id(fingerprint))
            if text is None:
                text = texts[id(fingerprint)] = json.dumps(fingerprint)
            copy.write_row(
                (row["run_id"], row["qrels_version_id"], row["measure"], row["query_id"], row["value"], text)
            )


def store_scores(s: Session, run: Run, rows: list[dict[str, Any]], version_id: int) -> None:
    """Replace the run's scores for one qrels version by ``rows`` (in bulk) and mark it scored."""
    s.execute(delete(Score).where(Score.run_id == run.id, Score.qrels_version_id == version_id))
    dialect = s.get_bind().dialect
    if rows and dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy_rows(s, rows)
    elif rows:
        s.execute(insert(Score), rows)
    run.status, run.error, run.scored_at = "scored", None, now()


_HandoffKey = tuple[str, int]
_handoffs: OrderedDict[_HandoffKey, tuple[float, str, int, Parsed]] = OrderedDict()
_handoff_lock = threading.Lock()


def database_of(s: Session) -> str:
    """An identifier of the session's database, for in-process caches."""
    return str(s.get_bind().engine.url)


def hand_off(s: Session, run: Run, version_id: int, parsed: Parsed) -> None:
    """Keep a pending run's parsed tables for this process's worker (see the module docstring);
    not for runs over :data:`HANDOFF_MAX_LINES` lines."""
    if run.num_lines > HANDOFF_MAX_LINES:
        return
    moment = time.monotonic()
    with _handoff_lock:
        for key in [k for k, v in _handoffs.items() if v[0] < moment]:
            del _handoffs[key]
        _handoffs[(database_of(s), run.id)] = (moment + HANDOFF_TTL_S, run.sha256, version_id, parsed)
        while len(_handoffs) > HANDOFF_SIZE:
            _handoffs.popitem(last=False)


def _take_handoff(s: Session, run: Run, version_id: int) -> Parsed | None:
    with _handoff_lock:
        found = _handoffs.pop((database_of(s), run.id), None)
    if found is None or found[1] != run.sha256 or found[2] != version_id:
        return None
    return found[3]


def compute_rows(s: Session, run: Run, version: QrelsVersion) -> list[dict[str, Any]]:
    """Score a stored run against ``version`` (no writes)."""
    parsed = _take_handoff(s, run, version.id)
    if run.kind == "rag":  # the LM judges every answer (slow: only ever the worker's job)
        return rag_rows(s, run, version, parsed if isinstance(parsed, ParsedRag) else None)
    if parsed is None:
        content = unpack(run.content, "run file")
        if run.kind == "session":
            topics = benchmark_sessions(run.benchmark)
            parsed = parse_session_run(version.content, content, f"run {run.id}", topics)
        else:
            parsed = parse_run(version.content, content, f"run {run.id}")
    assert not isinstance(parsed, ParsedRag)  # RAG runs returned above
    return score_rows(parsed, run.benchmark.measures_of(run.kind), run.id, version.id)


def score_run(s: Session, run_id: int) -> Run:
    """Score a stored run against its benchmark's latest qrels version of the run's kind, replacing
    the scores it had for that version; scores for older versions are kept.

    Raises:
        NotFoundError: no such run.
        RagbenchError: the stored file cannot be read or scored (the transaction should be rolled back).
    """
    run = s.get(Run, run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id}")
    lock_benchmark(s, run.benchmark_id, "scoring")
    version = score_current(s, run)
    requeue_if_outdated(s, run, version.id)
    s.flush()
    return run


def score_current(s: Session, run: Run) -> QrelsVersion:
    """Score ``run`` against every version a leaderboard view reads (the latest human version, and
    the latest LLM-filled and LLM-only ones when there are), and the latest version of all, which
    is returned."""
    latest = latest_version(s, run.benchmark_id, run.kind)
    versions = {v.id: v for v in current_versions(s, run.benchmark_id, run.kind)}
    versions[latest.id] = latest
    for version in sorted(versions.values(), key=lambda v: v.version):
        store_scores(s, run, compute_rows(s, run, version), version.id)
    return latest


def requeue_if_outdated(s: Session, run: Run, version_id: int) -> None:
    """After storing scores for ``version_id``: put the run back in the queue when a newer qrels
    version was committed meanwhile. Call it after a write, when SQLite's write lock is held, so
    that no version can be committed between this check and the commit."""
    if latest_version(s, run.benchmark_id, run.kind).id != version_id:
        run.status = "pending"


def failure_reason(exc: BaseException) -> str:
    """What ``run.error`` says about an exception raised while scoring."""
    text = str(exc) if isinstance(exc, RagbenchError) else f"{type(exc).__name__}: {exc}"
    return text[:MAX_ERROR_CHARS]


def rescore_benchmark(s: Session, benchmark_id: int, version: QrelsVersion, inline_lines: int) -> None:
    """After a new qrels version: score the benchmark's runs of the version's kind (ad hoc runs for
    qrels, session runs for session qrels) of up to ``inline_lines`` lines now, leave larger ones
    ``pending`` for the worker. A run that cannot be scored is marked failed.

    The caller holds the benchmark's ``"versioning"`` lock, so no run is being scored meanwhile;
    a run ``scoring`` here was claimed by a worker that has not started (it will find the run
    taken) or that stopped.
    """
    runs = s.scalars(
        select(Run)
        .where(Run.benchmark_id == benchmark_id, Run.kind == version.kind, Run.status != "pending")
        .order_by(Run.id)
        .execution_options(populate_existing=True)
    ).all()
    for run in runs:
        if run.num_lines > inline_lines:
            run.status, run.error = "pending", None
            continue
        try:
            rows = compute_rows(s, run, version)
        except RagbenchError as exc:
            run.status, run.error = "failed", failure_reason(exc)
            continue
        store_scores(s, run, rows, version.id)
    if version.kind == "adhoc":
        _rescore_rag_references(s, benchmark_id)
    s.flush()


def _rescore_rag_references(s: Session, benchmark_id: int) -> None:
    """After a new ad hoc qrels version: a RAG run's ``RefnDCG@k``/``RefJudged@k`` read the qrels,
    so its scores against the latest nugget set are recomputed now from its stored judgments (no LM
    call; the other measures come out the same). A run with no stored judgments for that set is
    left as it is: when the worker scores it, it reads the latest qrels anyway."""
    benchmark = s.get(Benchmark, benchmark_id)
    if benchmark is None or not benchmark.has_rag or not reads_qrels(benchmark):
        return
    version = latest_version(s, benchmark_id, "rag")
    runs = s.scalars(
        select(Run)
        .where(Run.benchmark_id == benchmark_id, Run.kind == "rag", Run.status == "scored")
        .order_by(Run.id)
    ).all()
    for run in runs:
        judgments = stored_judgments(s, run, version)
        if judgments is None:
            continue
        try:
            rows = rag_rows(s, run, version, None, judgments=judgments)
        except RagbenchError as exc:
            run.status, run.error = "failed", failure_reason(exc)
            continue
        store_scores(s, run, rows, version.id)

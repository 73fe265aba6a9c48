"""``evaluate_sessions``: score a session run against session qrels, per session and on average."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ragbench.errors import InputError, MeasureError
from ragbench.evaluation import registry
from ragbench.evaluation.engine import EvalResult
from ragbench.evaluation.providers import SessionData
from ragbench.evaluation.session import trail
from ragbench.evaluation.session.names import Value
from ragbench.evaluation.session.prepared import prepare

if TYPE_CHECKING:
    from ragbench.formats.lengths import DocLengths
    from ragbench.formats.sessions import SessionQrels, SessionRun, SessionTopics

Source = str | os.PathLike[str] | bytes
RunLike = "SessionRun | Source | Mapping[str, Sequence[Sequence[str]]]"
QrelsLike = "SessionQrels | Source | Mapping[str, Mapping[str, int]]"


def _from_mapping_run(
    run: Mapping[str, Sequence[Sequence[str]]], clicks: Mapping[str, Sequence[Any]] | None, pool: Any
) -> SessionRun:
    from ragbench.formats.sessions import SessionRun

    session_ids = tuple(sorted(run))
    cols: dict[str, list[int]] = {"session": [], "query": [], "rank": [], "doc": [], "clicked": []}
    for code, sid in enumerate(session_ids):
        clicked_lists = (clicks or {}).get(sid, ())
        for qi, docs in enumerate(run[sid], start=1):
            chosen = set(clicked_lists[qi - 1]) if qi - 1 < len(clicked_lists) else set()
            if len(set(docs)) != len(docs):
                raise InputError(f"session {sid!r} query {qi}: a document is listed twice")
            for rank, doc in enumerate(docs, start=1):
                cols["session"].append(code)
                cols["query"].append(qi)
                cols["rank"].append(rank)
                cols["doc"].append(pool.code(doc))
                cols["clicked"].append(doc in chosen)
    return SessionRun(
        session=np.asarray(cols["session"], np.int32),
        query_index=np.asarray(cols["query"], np.int32),
        rank=np.asarray(cols["rank"], np.int64),
        doc=np.asarray(cols["doc"], np.int32),
        clicked=np.asarray(cols["clicked"], bool),
        line=np.zeros(len(cols["doc"]), np.int64),
        session_ids=session_ids,
        num_queries=np.asarray([len(run[s]) for s in session_ids], np.int32),
        strings=pool,
        queries={},
        session_lines=dict.fromkeys(session_ids, 0),
        has_clicks=clicks is not None,
    )


def _from_mapping_qrels(qrels: Mapping[str, Mapping[Any, Any]], pool: Any) -> SessionQrels:
    """``{session: {doc: grade}}`` (session-level) or ``{session: {query_index: {doc: grade}}}``."""
    from ragbench.formats.sessions import SessionQrels

    session_ids = tuple(sorted(qrels))
    rows: list[tuple[int, int, int, int]] = []
    for code, sid in enumerate(session_ids):
        for key, value in qrels[sid].items():
            if isinstance(value, Mapping):
                rows.extend((code, int(key), pool.code(doc), int(g)) for doc, g in value.items())
            else:
                rows.append((code, 0, pool.code(key), int(value)))
    array = np.asarray(rows, np.int64).reshape(-1, 4)
    return SessionQrels(
        session=array[:, 0].astype(np.int32),
        query_index=array[:, 1].astype(np.int32),
        doc=array[:, 2].astype(np.int32),
        grade=array[:, 3],
        line=np.zeros(len(rows), np.int64),
        session_ids=session_ids,
        strings=pool,
    )


def _same(a: object, b: object) -> bool:
    return a is b


def _codes(names: Sequence[str], into: Mapping[str, int], ids: tuple[str, ...]) -> np.ndarray:
    """Index of each name in the result's sessions (-1 if absent); identity when they are the same."""
    if tuple(names) == ids:
        return np.arange(len(ids), dtype=np.int64)
    return np.asarray([into.get(name, -1) for name in names], np.int64)


def _load_lengths(
    lengths: Mapping[str, tuple[float, float]] | None, strings: Sequence[str]
) -> trail.DocLengths | None:
    if lengths is None:
        return None
    snip = np.full(len(strings), np.nan)
    body = np.full(len(strings), np.nan)
    index = {doc: i for i, doc in enumerate(strings)}
    for doc, (s, d) in lengths.items():
        at = index.get(doc)
        if at is not None:
            snip[at], body[at] = s, d
    return snip, body


def _fingerprint(r: registry.Routed, lengths_digest: str | None) -> Any:
    """The measure's fingerprint; with the lengths file's SHA-256 when the measure read it."""
    import dataclasses

    fingerprint = r.provider.fingerprint(r.measure)
    m = r.measure
    uses_file = (
        m.family in ("NUM", "U") and m["cost"] == "chars" and (m["c_snip"] is None or m["c_doc"] is None)
    )
    if not uses_file:
        return fingerprint
    source = f"doc lengths sha256 {lengths_digest[:16]}" if lengths_digest else "doc lengths given in memory"
    return dataclasses.replace(fingerprint, gains=f"{fingerprint.gains}; {source}")


def evaluate_sessions(
    qrels: Any,
    run: Any,
    measures: Sequence[str],
    *,
    sessions: SessionTopics | None = None,
    name: str | None = None,
    clicks: Mapping[str, Sequence[Any]] | None = None,
    doc_lengths: Mapping[str, tuple[float, float]] | DocLengths | None = None,
    overrides: Mapping[str, Value] | None = None,
) -> EvalResult:
    """Score a session run: one value per session and measure, and the mean over sessions.

    Args:
        qrels: session qrels: a path, bytes, a :class:`~ragbench.formats.sessions.SessionQrels`,
            ``{session: {doc: grade}}`` or ``{session: {query_index: {doc: grade}}}``.
        run: the session run: a path, bytes, a :class:`~ragbench.formats.sessions.SessionRun`, or
            ``{session: [[doc, ...] per query]}`` (then ``clicks`` may give ``{session: [[clicked
            doc, ...] per query]}``).
        measures: session measure names (``NUM(L=1000)``, ``sessDCG@10``, ...).
        sessions: the sessions that count (a benchmark's): qrels and run are checked against them,
            and a session the run lacks scores 0. Default: the run's sessions.
        name: the run's name in the result (default: the file name, or ``run``).
        doc_lengths: ``{doc: (snippet chars, document chars)}`` for ``cost=chars``, or a
            :class:`~ragbench.formats.lengths.DocLengths` read from a file (its SHA-256 is then
            recorded in the fingerprint of every measure that used it). A measure whose name sets
            ``c_snip``/``c_doc`` uses those for every document instead.
        overrides: parameters applied to every measure that has them and does not set them, e.g.
            :data:`~ragbench.evaluation.session.names.REFERENCE` (ir_metrics' conventions).

    Returns:
        An :class:`~ragbench.evaluation.engine.EvalResult` whose ``query_ids`` are session ids.
        The mean skips NaN values (``zero=nan`` sessions).

    Raises:
        FormatError: a malformed file, a run or qrels session unknown to ``sessions`` (or, with no
            ``sessions``, a qrels session the run does not have), each with file and line.
        MeasureError: a bad measure name. InputError: ``cost=chars`` without lengths.
    """
    from ragbench.formats.sessions import (
        check_qrels_against,
        check_run_against,
        read_session_qrels,
        read_session_run,
    )
    from ragbench.formats.tables import new_pool

    unique: dict[str, registry.Routed] = {}
    for r in registry.route(measures, "session", overrides=overrides):
        unique.setdefault(r.name, r)  # two spellings of one measure: scored once
    if not unique:
        raise MeasureError("no session measures given")
    routed = list(unique.values())
    pool = new_pool()
    if isinstance(run, Mapping):
        run_table = _from_mapping_run(run, clicks, pool)
    elif isinstance(run, str | os.PathLike | bytes):
        run_table = read_session_run(run, pool=pool)
    else:
        run_table = run
    if isinstance(qrels, Mapping):
        qrels_table = _from_mapping_qrels(qrels, pool if _same(run_table.strings, pool) else new_pool())
    elif isinstance(qrels, str | os.PathLike | bytes):
        qrels_table = read_session_qrels(qrels, pool=pool if _same(run_table.strings, pool) else None)
    else:
        qrels_table = qrels
    if name is None:
        name = os.path.basename(os.fspath(run)) if isinstance(run, str | os.PathLike) else "run"

    topics = sessions if sessions is not None else run_table.topics()
    if sessions is not None:
        check_run_against(run_table, sessions)
    check_qrels_against(qrels_table, topics)

    session_ids = tuple(topics.session_ids)
    index = {sid: i for i, sid in enumerate(session_ids)}
    run_map = _codes(run_table.session_ids, index, session_ids)
    qrels_map = _codes(qrels_table.session_ids, index, session_ids)
    row_session = run_map[run_table.session]
    keep = slice(None) if (run_map >= 0).all() else row_session >= 0
    # Documents: one numbering. Re-code the qrels' documents when they were read into another pool.
    strings = list(run_table.strings)
    qrels_doc = np.asarray(qrels_table.doc, np.int64)
    if qrels_table.strings is not run_table.strings:
        doc_index = {doc: i for i, doc in enumerate(strings)}
        recode = np.empty(len(qrels_table.strings), np.int64)
        for i, doc in enumerate(qrels_table.strings):
            at = doc_index.get(doc)
            if at is None:
                at = doc_index[doc] = len(strings)
                strings.append(doc)
            recode[i] = at
        qrels_doc = recode[qrels_doc] if qrels_doc.size else qrels_doc
    prepared = prepare(
        session_ids,
        np.asarray(topics.num_queries, np.int64),
        row_session[keep],
        np.asarray(run_table.query_index, np.int64)[keep],
        np.asarray(run_table.doc, np.int64)[keep],
        np.asarray(run_table.clicked, bool)[keep],
        qrels_map[np.asarray(qrels_table.session, np.int64)],
        np.asarray(qrels_table.query_index, np.int64),
        qrels_doc,
        np.asarray(qrels_table.grade, np.int64),
        len(strings),
    )
    from ragbench.formats.lengths import DocLengths

    digest = doc_lengths.sha256 if isinstance(doc_lengths, DocLengths) else None
    by_doc = doc_lengths.lengths if isinstance(doc_lengths, DocLengths) else doc_lengths
    lengths = _load_lengths(by_doc, strings)
    for r in routed:
        m = r.measure
        if m.family in ("NUM", "U") and m["labels"] == "clicks" and not run_table.has_clicks:
            raise InputError(f"{r.name}: labels=clicks needs a run with a clicked column")
    values = registry.compute(routed, SessionData(prepared, lengths, strings))
    return EvalResult(
        run=name,
        measures=tuple(r.name for r in routed),
        query_ids=session_ids,
        per_query={r.name: v.per_query for r, v in zip(routed, values, strict=True)},
        aggregate={r.name: v.aggregate for r, v in zip(routed, values, strict=True)},
        fingerprints={r.name: _fingerprint(r, digest if lengths is not None else None) for r in routed},
        notes={r.name: v.note for r, v in zip(routed, values, strict=True) if v.note},
    )

"""Trailtext measures: NUM, the session U-measure, and ir_metrics' per-query U (``qU``).

The session trailtext is a linear scan of every SERP to depth k, as the spec's section 1.2
reconstructs it: each document costs a scan (``t0`` seconds, or its snippet's characters); a
relevant document not read before is read (``t(grade)`` seconds, or snippet + document
characters) and its gain is placed at the end of that reading; a document is credited once per
session, at its first relevant occurrence; every query after the first costs ``c_q`` first.
``U = sum gain * max(0, 1 - pos / L)``. NUM divides by the U of the ideal session (A1): one
virtual query listing every session-relevant document, retrieved or not, sorted by gain per
cost, then grade.

Vectorised: labels, costs and positions are computed for all rows of all sessions at once
(position = running cost within the session plus ``c_q`` per earlier query).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragbench.errors import InputError
from ragbench.evaluation.session.common import (
    aggregate_queries,
    gains,
    labels,
    per_session,
    query_index,
    ratio,
)
from ragbench.evaluation.session.names import SessionMeasure
from ragbench.evaluation.session.prepared import PreparedSessions, cumsum_in_group, dedupe_max, lookup

DocLengths = tuple[np.ndarray, np.ndarray]
"""(snippet length, document length) per doc code; NaN where unknown."""


def _row_labels(p: PreparedSessions, m: SessionMeasure, top: np.ndarray) -> np.ndarray:
    """rel_i(d) of each top-k row: session-level grade (qrels) or click (+ A2 back-propagation)."""
    if m["labels"] == "qrels":
        return labels(p.row_sgrade[top], m)
    session, doc, query = p.row_session[top], p.row_doc[top], p.row_query[top]
    clicked = p.row_clicked[top]
    rel = clicked.astype(np.int64)
    if m["a2"] and clicked.any():
        # A2: a document clicked in query j is relevant in every earlier query i < j that showed it.
        key = session * p.num_docs + doc
        click_keys, last = dedupe_max(key[clicked], query[clicked])  # each document's last click
        last_click, _ = lookup(click_keys, last, key)
        later_click = query < last_click
        rel = np.maximum(rel, later_click.astype(np.int64))
    return np.asarray(rel)


def _lengths(
    m: SessionMeasure, docs: np.ndarray, lengths: DocLengths | None, doc_names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Snippet and document lengths (characters) of ``docs``: the measure's ``c_snip`` / ``c_doc``
    when its name sets them (for every document: the name defines the measure), else the lengths
    file's per-document values."""
    snip = np.full(docs.size, np.nan if m["c_snip"] is None else float(m["c_snip"]))
    body = np.full(docs.size, np.nan if m["c_doc"] is None else float(m["c_doc"]))
    if lengths is not None:
        if m["c_snip"] is None:
            snip = lengths[0][docs]
        if m["c_doc"] is None:
            body = lengths[1][docs]
    missing = np.isnan(snip) | np.isnan(body)
    if missing.any():
        name = doc_names[int(docs[np.flatnonzero(missing)[0]])] if doc_names is not None else "?"
        raise InputError(
            f"{m.name}: cost=chars needs lengths: set c_snip and c_doc in the name, or give a lengths "
            f"file with every document (no length for {name!r})"
        )
    return snip, body


def _times(m: SessionMeasure, grades: np.ndarray) -> np.ndarray:
    """t(grade) in seconds; grades above 2 cost t2. A negative grade (raw mode) picks t2 too:
    ir_metrics' ``time[-1]`` is the list's last entry."""
    table = np.array([m["t0"], m["t1"], m["t2"]], np.float64)
    index = np.where(grades < 0, 2, np.minimum(grades, 2))
    return table[index]


def _ideal(
    p: PreparedSessions,
    m: SessionMeasure,
    top: np.ndarray,
    lengths: DocLengths | None,
    doc_names: Sequence[str] | None,
) -> np.ndarray:
    """U of the ideal session (A1), one per session."""
    if m["labels"] == "qrels":
        grade = labels(p.s_grade, m)
        keep = grade > 0
        if m.params.get("ideal") == "shown":
            # Only the relevant documents the session showed (in some query's top k): the ideal
            # is what this user could have had from these result lists, not the judging pool.
            shown = np.unique(p.row_session[top] * p.num_docs + p.row_doc[top])
            key = p.s_session * p.num_docs + p.s_doc
            keep &= np.isin(key, shown)
        session, doc, grade = p.s_session[keep], p.s_doc[keep], grade[keep]
    else:
        clicked = top.copy()
        clicked[top] = p.row_clicked[top]
        key = np.unique(p.row_session[clicked] * p.num_docs + p.row_doc[clicked])
        session, doc = key // p.num_docs, key % p.num_docs
        grade = np.ones(key.size, np.int64)
    gain = np.ones(grade.size) if m["labels"] == "clicks" else gains(grade, m["gain"])
    if m["cost"] == "time":
        cost = _times(m, grade)
    else:
        snip, body = _lengths(m, doc, lengths, doc_names)
        cost = snip + body
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero-length document: read first
        per_cost = np.where(cost > 0, gain / np.where(cost > 0, cost, 1.0), np.inf)
    order = np.lexsort((-grade, -per_cost, session))
    session, gain, cost = session[order], gain[order], cost[order]
    pos = cumsum_in_group(cost, session)
    return per_session(p, session, gain * np.maximum(0.0, 1.0 - pos / m["L"]))


def session_u(
    p: PreparedSessions,
    m: SessionMeasure,
    lengths: DocLengths | None = None,
    doc_names: Sequence[str] | None = None,
) -> np.ndarray:
    """U of each session's trailtext (NUM's numerator; the ``U`` measure with its own ``c_q``)."""
    top = p.row_pos <= m.k
    session, query, doc = p.row_session[top], p.row_query[top], p.row_doc[top]
    rel = _row_labels(p, m, top)
    relevant = rel > 0
    # Credited: the first relevant occurrence of each (session, document).
    candidates = np.flatnonzero(relevant)
    _, first = np.unique(session[candidates] * p.num_docs + doc[candidates], return_index=True)
    credited = np.zeros(rel.size, bool)
    credited[candidates[first]] = True
    if m["cost"] == "time":
        scan = _times(m, np.minimum(rel, 0))  # t0, or t(-1) = t2 for a raw negative grade
        cost = np.where(credited, _times(m, rel), scan)
    else:
        snip, body = _lengths(m, doc, lengths, doc_names)
        cost = np.where(credited, snip + body, snip)
    pos = cumsum_in_group(cost, session) + m["c_q"] * (query - 1)
    gain = np.ones(rel.size) if m["labels"] == "clicks" else gains(rel, m["gain"])
    decay = np.maximum(0.0, 1.0 - pos / m["L"])
    return per_session(p, session[credited], (gain * decay)[credited])


def num(
    p: PreparedSessions,
    m: SessionMeasure,
    lengths: DocLengths | None = None,
    doc_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, int]:
    """NUM per session, and how many sessions were clipped to [0, 1] (see the spec, 1.2 step 4)."""
    actual = session_u(p, m, lengths, doc_names)
    ideal = _ideal(p, m, p.row_pos <= m.k, lengths, doc_names)
    p.cache[("ideal", m.name)] = ideal
    value = ratio(actual, ideal, m)
    clipped = 0
    if m["clip"]:
        outside = (value > 1.0) | (value < 0.0)
        clipped = int(outside.sum())
        value = np.where(outside, np.clip(value, 0.0, 1.0), value)
    return value, clipped


def query_u(p: PreparedSessions, m: SessionMeasure) -> np.ndarray:
    """ir_metrics' ``UMeasure`` per query (time-based, gain (2^r-1)/4, no dedup), aggregated.

    ``arrive += time[r]`` for every document of the top k, ``U_q = sum gain * max(0, 1 - arrive/T)``;
    the session value is ``agg`` over its queries (ir_metrics averages them).
    """
    top = p.row_pos <= m.k
    session, query = p.row_session[top], p.row_query[top]
    grade = labels(p.row_grade[top], m)
    flat = query_index(p, session, query)
    arrive = cumsum_in_group(_times(m, grade), flat)
    value = gains(grade, "exp") / 4.0 * np.maximum(0.0, 1.0 - arrive / m["T"])
    per_query = np.bincount(flat, weights=value, minlength=int(p.num_queries.sum()))
    return aggregate_queries(p, per_query, m["agg"])

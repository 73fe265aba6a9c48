"""Pieces every session measure shares: labels under a negative-grade convention, gains, the
zero-ideal rule, per-session sums and per-query aggregates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ragbench.evaluation.session.names import SessionMeasure
from ragbench.evaluation.session.prepared import PreparedSessions


def labels(grades: np.ndarray, measure: SessionMeasure) -> np.ndarray:
    """Grades under the measure's ``neg`` convention: clamped at 0, or raw (ir_metrics)."""
    return grades if measure["neg"] == "raw" else np.maximum(grades, 0)


def gains(grades: np.ndarray, kind: str) -> np.ndarray:
    """``exp``: 2^r - 1 (-0.5 for a raw grade of -1, as in ir_metrics); ``lin``: r itself."""
    grades = np.asarray(grades)
    if kind != "exp":
        return grades.astype(np.float64)
    if grades.size == 0:
        return np.zeros(0)
    # Grades are small integers (|grade| <= 1000): a table lookup instead of exp2 on every row.
    low, high = int(grades.min()), int(grades.max())
    table = np.exp2(np.arange(low, high + 1, dtype=np.float64)) - 1.0
    return np.asarray(table[grades - low])


def by_table(fn: Callable[[np.ndarray], Any], values: np.ndarray) -> np.ndarray:
    """``fn(values)`` for small positive integers (ranks, query indexes): computed once per value."""
    values = np.asarray(values, np.int64)
    if values.size == 0:
        return np.zeros(0)
    return np.asarray(np.asarray(fn(np.arange(int(values.max()) + 1, dtype=np.float64)), np.float64)[values])


def per_session(p: PreparedSessions, session: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` per session (float64, one per session)."""
    return np.bincount(session, weights=values, minlength=p.num_sessions).astype(np.float64)


def ratio(numerator: np.ndarray, ideal: np.ndarray, measure: SessionMeasure) -> np.ndarray:
    """numerator / ideal; where the ideal is 0: 0.0, or NaN with ``zero=nan``."""
    empty = ideal == 0
    out = np.divide(numerator, np.where(empty, 1.0, ideal))
    # A session that reaches its ideal is 1 exactly: the two sums run in different orders, and
    # their last bits may differ (1.0000000000000002 is not a value a normalised measure has).
    out[np.isclose(numerator, ideal, rtol=1e-12, atol=0.0) & ~empty] = 1.0
    out[empty] = np.nan if measure.params.get("zero") == "nan" else 0.0
    return np.asarray(out)


def zero_ideals(p: PreparedSessions, measure: SessionMeasure) -> int:
    """Sessions whose ideal is 0: no document judged relevant (grade > 0 under the measure's
    ``neg`` convention); a normalised measure gives them 0 (or NaN with ``zero=nan``)."""
    grades = labels(p.s_grade, measure)
    relevant = np.zeros(p.num_sessions, bool)
    relevant[p.s_session[grades > 0]] = True
    return int((~relevant).sum())


def aggregate_queries(p: PreparedSessions, values: np.ndarray, how: str) -> np.ndarray:
    """Aggregate one value per (session, query), laid out as :meth:`PreparedSessions.query_offsets`
    says, into one per session: ``mean sum max min first last`` (0 for a session with no query)."""
    n = p.num_queries
    offsets = p.query_offsets()
    has = n > 0
    out: np.ndarray = np.zeros(p.num_sessions, np.float64)
    if values.size == 0:
        return out
    session = np.repeat(np.arange(p.num_sessions), n)
    if how in ("sum", "mean"):
        out = np.bincount(session, weights=values, minlength=p.num_sessions)
        if how == "mean":
            out = np.divide(out, np.maximum(n, 1))
    elif how in ("max", "min"):
        ufunc = np.maximum if how == "max" else np.minimum
        out[has] = ufunc.reduceat(values, offsets[has])
    elif how == "first":
        out[has] = values[offsets[has]]
    elif how == "last":
        out[has] = values[offsets[has] + n[has] - 1]
    else:  # pragma: no cover - names.py only lets the six through
        raise ValueError(how)
    return out


def query_index(p: PreparedSessions, session: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Flat (session, query) index of each row, into arrays laid out by ``query_offsets``."""
    return np.asarray(p.query_offsets()[session] + query - 1)

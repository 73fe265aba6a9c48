"""Session-level evaluation: NUM, U-measure, sessDCG / nsessDCG / sessDCG/q, esNDCG / esNCG, sRBP
and per-query aggregates, vectorised over sessions.

The measures follow ``../shared/spec/session-metrics.md`` (every worked example there is a unit
test); ``docs/sessions.md`` lists the names, parameters and conventions.
"""

from ragbench.evaluation.session.evaluate import evaluate_sessions
from ragbench.evaluation.session.names import (
    DEFAULT_SESSION_MEASURES,
    REFERENCE,
    SessionMeasure,
    canonical_session_measure,
    is_session_measure,
    parse_session_measure,
    parse_session_measures,
)

__all__ = (
    "DEFAULT_SESSION_MEASURES",
    "REFERENCE",
    "SessionMeasure",
    "canonical_session_measure",
    "evaluate_sessions",
    "is_session_measure",
    "parse_session_measure",
    "parse_session_measures",
)

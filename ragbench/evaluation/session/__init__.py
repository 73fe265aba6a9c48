"""Session-level evaluation: NUM, U-measure, sessDCG / nsessDCG / sessDCG/q, esNDCG / esNCG, sRBP
and per-query aggregates, vectorised over sessions.

The measures follow ``../shared/spec/session-metrics.md`` (every worked example there is a unit
test); ``docs/sessions.md`` lists the names, parameters and conventions. Their names and
parameters are declared in :mod:`ragbench.evaluation.session.names`; canonical names and the
default list come from :mod:`ragbench.evaluation.registry` (``canonical``,
``default_measures("session")``). ``evaluate_sessions`` and ``DEFAULT_SESSION_MEASURES`` load on
first use, so that the registry can read the names without the evaluation code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragbench.evaluation.session.names import (
    REFERENCE,
    SessionMeasure,
    is_session_measure,
    parse_session_measure,
)

if TYPE_CHECKING:
    from ragbench.evaluation.session.evaluate import evaluate_sessions

    DEFAULT_SESSION_MEASURES: tuple[str, ...]

__all__ = (
    "DEFAULT_SESSION_MEASURES",
    "REFERENCE",
    "SessionMeasure",
    "evaluate_sessions",
    "is_session_measure",
    "parse_session_measure",
)


def __getattr__(name: str) -> Any:
    if name == "evaluate_sessions":
        from ragbench.evaluation.session.evaluate import evaluate_sessions

        return evaluate_sessions
    if name == "DEFAULT_SESSION_MEASURES":  # kept for old imports: the registry's "session" list
        from ragbench.evaluation.registry import DEFAULTS

        return DEFAULTS["session"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

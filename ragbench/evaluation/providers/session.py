"""Session measures as a provider: the families of :data:`ragbench.evaluation.session.names.SPECS`.

The names, parameters and defaults are declared once, in
:mod:`ragbench.evaluation.session.names`; this provider turns that table into patterns and says
which function computes each family (:func:`families`). The value over all sessions is the mean
of the sessions' values, skipping NaN (``zero=nan`` sessions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ragbench.evaluation.providers.base import (
    EngineFingerprint,
    Kind,
    MeasurePattern,
    Provider,
    Routed,
    SessionData,
    Values,
)
from ragbench.evaluation.session.names import SPECS, SessionMeasure
from ragbench.version import __version__

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SessionMeasures", "families"]

TIE_RULE = "ranks as given"

Compute = Callable[[SessionData, SessionMeasure], "tuple[np.ndarray, str | None]"]


def families() -> dict[str, Compute]:
    """Family -> the function that computes it: (values per session, a note or None)."""
    from ragbench.evaluation.session import dcg, expected, trail

    def num(d: SessionData, m: SessionMeasure) -> tuple[np.ndarray, str | None]:
        values, clipped = trail.num(d.prepared, m, d.lengths, d.docs)
        note = f"{clipped} session(s) clipped to [0, 1] (the ideal was beaten near L)" if clipped else None
        return values, note

    return {
        "NUM": num,
        "U": lambda d, m: (trail.session_u(d.prepared, m, d.lengths, d.docs), None),
        "qU": lambda d, m: (trail.query_u(d.prepared, m), None),
        "sessDCG": lambda d, m: (dcg.session_dcg(d.prepared, m), None),
        "sessDCG/q": lambda d, m: (dcg.session_dcg_per_query(d.prepared, m), None),
        "nsessDCG": lambda d, m: (dcg.normalized_session_dcg(d.prepared, m), None),
        "esNDCG": lambda d, m: (expected.expected_session_ndcg(d.prepared, m), None),
        "esNCG": lambda d, m: (expected.expected_session_ndcg(d.prepared, m), None),
        "sRBP": lambda d, m: (dcg.session_rbp(d.prepared, m), None),
        "qnDCG": lambda d, m: (dcg.query_ndcg(d.prepared, m), None),
    }


class SessionMeasures(Provider):
    """ragbench's session measures (NUM, U, sessDCG, esNDCG, sRBP, ...), vectorised over sessions."""

    name: ClassVar[str] = "ragbench.session"
    kind: ClassVar[Kind] = "session"
    PATTERNS: ClassVar[tuple[MeasurePattern, ...]] = tuple(
        MeasurePattern(family, frozenset(spec)) for family, spec in SPECS.items()
    )

    @property
    def version(self) -> str:
        return __version__

    def family(self, measure: Any) -> str:
        return str(measure.family) if isinstance(measure, SessionMeasure) else ""

    def given(self, measure: Any) -> Mapping[str, Any]:
        return dict(measure.params) if isinstance(measure, SessionMeasure) else {}

    def value(self, measure: Any, key: str) -> Any:
        return measure.params.get(key)

    def fingerprint(self, measure: Any) -> EngineFingerprint:
        m: SessionMeasure = measure
        gain = m.params.get("gain")
        gains = {"exp": "2^r-1", "lin": "r"}.get(str(gain)) if gain else None
        if m.family in ("NUM", "U") and m["labels"] == "clicks":
            gains = "1 per click"
        return EngineFingerprint(
            implementation=self.name,
            version=self.version,
            tie_rule=TIE_RULE,
            relevance_level=1,
            gains=f"{gains}; negative grades {m['neg']}" if gains else f"negative grades {m['neg']}",
        )

    def compute(self, measures: Sequence[Routed], data: SessionData) -> list[Values]:
        import numpy as np

        table = families()
        out = []
        for routed in measures:
            values, note = table[routed.measure.family](data, routed.measure)
            finite = values[~np.isnan(values)]
            out.append(Values(values, float(finite.mean()) if finite.size else float("nan"), note))
        return out

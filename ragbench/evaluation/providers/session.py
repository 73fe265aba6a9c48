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
            # Every case numpy would warn about is handled (zero ideals, zero costs): its
            # warnings must not reach the user's terminal; the notes below say what happened.
            with np.errstate(all="ignore"):
                values, note = table[routed.measure.family](data, routed.measure)
            notes = [note] if note else []
            notes += warnings_for(data, routed.measure, values)
            finite = values[~np.isnan(values)]
            mean = float(finite.mean()) if finite.size else float("nan")
            out.append(Values(values, mean, "; ".join(notes) or None))
        return out


NORMALISED = frozenset({"NUM", "nsessDCG", "esNDCG", "esNCG"})


def warnings_for(data: SessionData, m: SessionMeasure, values: np.ndarray) -> list[str]:
    """What the user must be told about a measure's values: sessions with a zero ideal, and a
    measure that scores every session 0 although some session has relevant documents (with the
    likely reason)."""
    import numpy as np

    from ragbench.evaluation.session.common import zero_ideals

    p = data.prepared
    found = []
    judged_by_qrels = m.family not in ("NUM", "U") or m["labels"] == "qrels"
    zero = zero_ideals(p, m) if m.family in NORMALISED and judged_by_qrels else 0
    if zero:
        shown = "NaN, left out of the mean" if m.params.get("zero") == "nan" else "0"
        found.append(
            f"warning: {zero} of {p.num_sessions} session(s) have a zero ideal (no document judged "
            f"relevant), so {m.name} is {shown} there"
        )
    if values.size and p.num_sessions > zero and np.all(np.nan_to_num(values) == 0):
        found.append(f"warning: {m.name} is 0 in every session: {_why_zero(data, m)}")
    return found


def _why_zero(data: SessionData, m: SessionMeasure) -> str:
    if m.family in ("NUM", "U") and m["cost"] == "chars":
        lengths = [float(m["c_snip"] or 0) + float(m["c_doc"] or 0)]
        if data.lengths is not None:
            import numpy as np

            both = data.lengths[0] + data.lengths[1]
            lengths = [float(np.nanmean(both))] if np.isfinite(both).any() else lengths
        return (
            f"with cost=chars, L={m['L']:g} is in characters, and reading one relevant document costs "
            f"{lengths[0]:,.0f} characters on average, so every gain decays to 0 before it is read; "
            f"set L in characters, e.g. {m.family}(cost=chars,L={max(10 * lengths[0], 1):.0f})"
        )
    if m.family in ("NUM", "U"):
        return f"no relevant document is read before L={m['L']:g} (the session's cost reaches L first)"
    return "no session shows a relevant document within the cutoff"

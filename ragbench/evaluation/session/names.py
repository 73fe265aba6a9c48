"""Session measure names: ``Family(param=value,...)@k``, every parameter settable in the name.

The families (see ``docs/sessions.md`` and the spec for the formulas):

========================  ================================================================
``NUM``                   Normalized U-Measure (Chen, Dou, Mao, CIKM 2023): U of the session
                          trailtext over U of the ideal session (``ideal=judged``: every
                          judged relevant document; ``ideal=shown``: those the session showed).
``U``                     U-measure of the session trailtext (Sakai & Dou, SIGIR 2013).
``qU``                    jiepujiang/ir_metrics' per-query time-based U, aggregated.
``sessDCG``               session DCG (Järvelin et al., ECIR 2008), conventions A-D.
``nsessDCG``              sessDCG over the ideal session's (conventions A/B), the TREC DD
                          bound (C) or the packed ideal (D).
``sessDCG/q``             sessDCG divided by the number of queries.
``esNDCG`` / ``esNCG``    expected session nDCG / nCG (Kanoulas et al., SIGIR 2011), exact.
``sRBP``                  session rank-biased precision (Lipani et al., ICTIR 2019).
``qnDCG``                 per-query nDCG@k aggregated over the session (mean, sum, ...).
========================  ================================================================

Names never collide with ir-measures' (``SDCG`` there is *scaled* DCG). The canonical name
keeps each family's headline parameters (``NUM(L=1000)``, ``sessDCG(b=2,bq=4)@10``,
``esNDCG(p_reform=0.9,p_down=0.7)@10``) and every other parameter only where it differs from
its default, so two spellings of one measure store as one name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ragbench.errors import MeasureError

Value = float | str | bool | None

# Parameter kinds: "num" (float), "pos" (float > 0), "prob" (0 <= x <= 1), "int", "bool", or a
# tuple of allowed words. Values None mean "no default: required or optional-unset".
_COMMON: dict[str, tuple[Any, Value]] = {"neg": (("clamp", "raw"), "clamp")}
_NORMALIZED: dict[str, tuple[Any, Value]] = {"zero": (("0", "nan"), "0")}
_TRAIL: dict[str, tuple[Any, Value]] = {
    "L": ("pos", 1000.0),
    "cost": (("time", "chars"), "time"),
    "t0": ("pos", 9.8),
    "t1": ("pos", 23.0),
    "t2": ("pos", 37.6),
    "c_snip": ("num", None),
    "c_doc": ("num", None),
    "labels": (("qrels", "clicks"), "qrels"),
    "gain": (("exp", "lin"), "exp"),
}
_SDCG: dict[str, tuple[Any, Value]] = {
    "b": ("pos", 2.0),
    "bq": ("pos", None),  # 4, or 2 under convention D
    "conv": (("A", "B", "C", "D"), "A"),
    "qdisc": ("bool", True),
    "gain": (("exp", "lin"), None),  # exp, or lin (raw grades) under convention C
}

SPECS: dict[str, dict[str, tuple[Any, Value]]] = {
    "NUM": {
        **_TRAIL,
        "c_q": ("num", 10.0),
        "a2": ("bool", True),
        "clip": ("bool", True),
        "ideal": (("judged", "shown"), "judged"),
        **_NORMALIZED,
    },
    "U": {**_TRAIL, "c_q": ("num", 0.0), "a2": ("bool", False)},
    "qU": {
        "T": ("pos", 1000.0),
        "t0": ("pos", 9.8),
        "t1": ("pos", 23.0),
        "t2": ("pos", 37.6),
        "agg": (("mean", "sum", "max", "min", "first", "last"), "mean"),
    },
    "sessDCG": dict(_SDCG),
    "sessDCG/q": dict(_SDCG),
    "nsessDCG": {**_SDCG, "slots": ("int", 5), **_NORMALIZED},
    "esNDCG": {
        "p_reform": ("prob", 0.9),
        "p_down": ("prob", 0.7),
        "samples": ("int", 0),
        "seed": ("int", 0),
        "compat": ("bool", False),
        "gain": (("exp", "lin"), "exp"),
        **_NORMALIZED,
    },
    "esNCG": {
        "p_reform": ("prob", 0.8),
        "p_down": ("prob", 0.7),
        "samples": ("int", 0),
        "seed": ("int", 0),
        "compat": ("bool", False),
        "gain": (("exp", "lin"), "exp"),
        **_NORMALIZED,
    },
    "sRBP": {"p": ("prob", None), "b": ("prob", None), "max_grade": ("pos", None)},
    "qnDCG": {
        "agg": (("mean", "sum", "max", "min", "first", "last"), "mean"),
        "gain": (("exp", "lin"), "exp"),
    },
}
for _spec in SPECS.values():
    for _key, _value in _COMMON.items():
        _spec.setdefault(_key, _value)

HEADLINE: dict[str, tuple[str, ...]] = {
    "NUM": ("L",),
    "U": ("L",),
    "qU": ("T",),
    "sessDCG": ("b", "bq"),
    "sessDCG/q": ("b", "bq"),
    "nsessDCG": ("b", "bq"),
    "esNDCG": ("p_reform", "p_down"),
    "esNCG": ("p_reform", "p_down"),
    "sRBP": ("p", "b"),
    "qnDCG": ("agg",),
}
"""Parameters always written in the canonical name."""

DEFAULT_K: dict[str, int | None] = {name: 10 for name in SPECS} | {"sRBP": None}
"""Per-query cutoff; None = the whole list. NUM and U omit ``@10`` from their canonical name."""
_K_IN_NAME = frozenset(SPECS) - {"NUM", "U", "sRBP"}

# ir_metrics' CHIIR'16 reference conventions: negative grades as they are (gain -0.5 and the
# time[-1] lookup), NaN where the ideal is zero (the reference code divides by zero), and the
# esNDCG dcg(list, 0) quirk.
REFERENCE: Mapping[str, Value] = {"neg": "raw", "zero": "nan", "compat": True}

_NAME = re.compile(
    r"^\s*(?P<family>[A-Za-z]+(?:/q)?)\s*(?:\((?P<params>[^()]*)\))?\s*(?:@\s*(?P<k>\S+))?\s*$"
)


@dataclass(frozen=True)
class SessionMeasure:
    """A parsed session measure: family, every parameter (defaults filled in) and cutoff."""

    family: str
    params: Mapping[str, Value] = field(hash=False)
    k: int | None
    name: str

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    @property
    def cutoff(self) -> int:
        """The per-query cutoff ``k`` of a family that always has one (all but ``sRBP``)."""
        if self.k is None:
            raise ValueError(f"{self.name} has no cutoff")
        return self.k

    def __str__(self) -> str:
        return self.name


def _fmt(value: Value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _convert(family: str, key: str, kind: Any, raw: str) -> Value:
    where = f"{family}: parameter {key}={raw!r}"
    if isinstance(kind, tuple):
        for word in kind:
            if raw.lower() == word.lower():
                return str(word)
        raise MeasureError(f"{where}: must be one of {', '.join(kind)}")
    if kind == "bool":
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise MeasureError(f"{where}: must be 0 or 1 (true/false)")
    if kind == "int":
        try:
            number = int(raw)
        except ValueError:
            raise MeasureError(f"{where}: must be an integer") from None
        if number < 0:
            raise MeasureError(f"{where}: must be >= 0")
        return number
    try:
        real = float(raw)
    except ValueError:
        raise MeasureError(f"{where}: must be a number") from None
    if not math.isfinite(real):
        raise MeasureError(f"{where}: must be finite")
    if kind == "pos" and real <= 0:
        raise MeasureError(f"{where}: must be > 0")
    if kind == "prob" and not 0 <= real <= 1:
        raise MeasureError(f"{where}: must be between 0 and 1")
    if kind == "num" and real < 0:
        raise MeasureError(f"{where}: must be >= 0")
    return real


def _family_defaults(family: str, params: dict[str, Value]) -> None:
    """Defaults that depend on another parameter (sessDCG conventions), and required ones."""
    if family in ("sessDCG", "sessDCG/q", "nsessDCG"):
        if params["bq"] is None:
            params["bq"] = 2.0 if params["conv"] == "D" else 4.0
        if params["gain"] is None:
            params["gain"] = "lin" if params["conv"] == "C" else "exp"
        for key in ("b", "bq"):
            if params[key] <= 1:  # type: ignore[operator]
                raise MeasureError(f"{family}: log base {key}={_fmt(params[key])} must be > 1")
    if family == "sRBP":
        for key in ("p", "b"):
            if params[key] is None:
                raise MeasureError(f"sRBP needs {key} (no verified default): e.g. sRBP(p=0.8,b=0.5)")
        if params["b"] == 1 and params["p"] == 1:
            raise MeasureError("sRBP: p=1 with b=1 never ends (every document is examined)")


def _default_of(family: str, key: str) -> Value:
    kind, default = SPECS[family][key]
    del kind
    if key == "bq":
        return None
    if key == "gain" and family in ("sessDCG", "sessDCG/q", "nsessDCG"):
        return None
    return default


def parse_session_measure(name: str, overrides: Mapping[str, Value] | None = None) -> SessionMeasure:
    """Parse one name (``NUM``, ``NUM(L=600,c_q=20)``, ``sessDCG(conv=C)@5``...).

    Args:
        name: the measure name.
        overrides: parameter values applied where the name does not set them and the family has
            the parameter (e.g. :data:`REFERENCE`, the ir_metrics conventions).

    Raises:
        MeasureError: an unknown family or parameter, a bad value, a missing required parameter.
    """
    match = _NAME.match(name)
    if not match:
        raise MeasureError(
            f"{name!r} is not a session measure name (expected e.g. NUM(L=1000) or sessDCG@10)"
        )
    family = match["family"]
    lookup = {f.lower(): f for f in SPECS}
    if family.lower() not in lookup:
        raise MeasureError(f"unknown session measure {family!r} (known: {', '.join(SPECS)})")
    family = lookup[family.lower()]
    spec = SPECS[family]
    given: dict[str, Value] = {}
    for part in filter(None, (p.strip() for p in (match["params"] or "").split(","))):
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq or not raw.strip():
            raise MeasureError(f"{name!r}: parameter {part!r} is not key=value")
        if key not in spec:
            raise MeasureError(
                f"{name!r}: {family} has no parameter {key!r} (it has {', '.join(sorted(spec))})"
            )
        if key in given:
            raise MeasureError(f"{name!r}: parameter {key!r} given twice")
        given[key] = _convert(family, key, spec[key][0], raw.strip())
    params: dict[str, Value] = {key: _default_of(family, key) for key in spec}
    for key, value in (overrides or {}).items():
        if key in spec and key not in given:
            params[key] = value
    params.update(given)
    _family_defaults(family, params)
    k = DEFAULT_K[family]
    if match["k"] is not None:
        try:
            k = int(match["k"])
        except ValueError:
            raise MeasureError(f"{name!r}: cutoff @{match['k']} is not an integer") from None
        if k < 1:
            raise MeasureError(f"{name!r}: cutoff @{k} must be >= 1")
    return SessionMeasure(family, params, k, _canonical(family, params, k))


def _canonical(family: str, params: Mapping[str, Value], k: int | None) -> str:
    shown = list(HEADLINE[family])
    for key in SPECS[family]:
        default = _default_of(family, key)
        if key == "bq" and default is None:
            default = 2.0 if params["conv"] == "D" else 4.0
        if key == "gain" and default is None:
            default = "lin" if params["conv"] == "C" else "exp"
        if key not in shown and params[key] != default:
            shown.append(key)
    inner = ",".join(f"{key}={_fmt(params[key])}" for key in shown)
    text = f"{family}({inner})" if inner else family
    if k is not None and (family in _K_IN_NAME or k != DEFAULT_K[family]):
        text += f"@{k}"
    return text


def is_session_measure(name: str) -> bool:
    """Whether ``name`` names a session family (its parameters are not checked)."""
    match = _NAME.match(name)
    return match is not None and match["family"].lower() in {f.lower() for f in SPECS}

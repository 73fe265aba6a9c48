"""Measure parameters as trec_eval 10.0 parses them (``meas_init.c``), and the value names they produce.

``-m name.params``: everything after the first ``.`` is the parameter string. Four kinds:

* long cutoffs (``P.5,10``): ``strtol`` each item (``23.4`` is 23), sorted ascending; a cutoff
  ``<= 0`` or a duplicate is an error. Values are named ``P_5``, ``P_10``.
* double cutoffs (``iprec_at_recall..10,.20``): ``atof`` each item, sorted; duplicates are an
  error. Values are named with ``%3.2f``: ``iprec_at_recall_0.10``.
* double parameters (``11pt_avg..25,.5,.75``, ``utility.2,-1,0,0``): ``atof``, kept in order;
  the single value is named ``11pt_avg_.25,.5,.75`` (the parameter string verbatim).
* ``name=value`` pairs (``ndcg.1=3,2=9``): validated as trec_eval does; the value is named
  ``ndcg_1=3,2=9``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from ragbench.errors import MeasureError

__all__ = [
    "CutoffParams",
    "DoubleParams",
    "PairParams",
    "c_atof",
    "c_strtol",
    "parse_double_cutoffs",
    "parse_double_params",
    "parse_long_cutoffs",
    "parse_pairs",
]

_LONG_MAX = 2**63 - 1
_LONG_MIN = -(2**63)
_FLOAT = re.compile(r"[ \t\n\v\f\r]*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_SPECIAL = re.compile(r"[ \t\n\v\f\r]*([+-]?)(inf(?:inity)?|nan)", re.IGNORECASE)
_LONG = re.compile(r"[ \t\n\v\f\r]*([+-]?\d+)")


def c_atof(text: str) -> float:
    """C's ``atof``: the longest numeric prefix (after blanks), 0.0 when there is none."""
    match = _FLOAT.match(text)
    if match:
        return float(match.group(1))
    special = _SPECIAL.match(text)
    if special:
        value = float(special.group(2).lower()[:3])
        return -value if special.group(1) == "-" else value
    return 0.0


def c_strtol(text: str) -> int:
    """C's ``strtol(text, NULL, 10)``/``atol``: the integer prefix, clamped to ``long``; 0 if none."""
    match = _LONG.match(text)
    if not match:
        return 0
    return max(_LONG_MIN, min(_LONG_MAX, int(match.group(1))))


@dataclass(frozen=True, slots=True)
class CutoffParams:
    """Sorted cutoffs (ints for rank cutoffs, floats for fractions of R) and their printable string.

    ``gains`` (``(level, gain)`` pairs) is an extension that trec_eval's ``-m`` never sets: the
    gain mapping of ir-measures' ``nDCG(gains=...)@k``, which ``ndcg_cut`` then applies.
    """

    values: tuple[float, ...] | tuple[int, ...]
    printable: str | None = None
    gains: tuple[tuple[int, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class DoubleParams:
    """Floats in command-line order, and the parameter string (``None`` for the defaults)."""

    values: tuple[float, ...]
    printable: str | None = None


@dataclass(frozen=True, slots=True)
class PairParams:
    """``name=value`` pairs in command-line order, and the parameter string (``None`` if defaults)."""

    pairs: tuple[tuple[str, float], ...]
    printable: str | None = None


def parse_long_cutoffs(text: str) -> CutoffParams:
    """``-m P.5,10``: integer cutoffs as ``get_long_cutoffs`` reads them.

    Raises:
        MeasureError: a cutoff <= 0 or a duplicate.
    """
    cutoffs = sorted(c_strtol(item) for item in text.split(","))
    if cutoffs[0] <= 0:
        raise MeasureError(f"trec_eval: Negative cutoff detected in {text!r}")
    if any(a == b for a, b in pairwise(cutoffs)):
        raise MeasureError(f"trec_eval: duplicate cutoffs detected in {text!r}")
    return CutoffParams(tuple(cutoffs), text)


def parse_double_cutoffs(text: str) -> CutoffParams:
    """``-m iprec_at_recall..1,.2``: fractional cutoffs as ``get_double_cutoffs`` reads them.

    Raises:
        MeasureError: a duplicate cutoff.
    """
    cutoffs = sorted(c_atof(item) for item in text.split(","))
    if any(a == b for a, b in pairwise(cutoffs)):
        raise MeasureError(f"trec_eval: duplicate cutoffs detected in {text!r}")
    return CutoffParams(tuple(cutoffs), text)


def parse_double_params(text: str) -> DoubleParams:
    """``-m utility.2,-1,0,0``: floats in order, as ``get_double_params`` reads them."""
    return DoubleParams(tuple(c_atof(item) for item in text.split(",")), text)


def parse_pairs(text: str) -> PairParams:
    """``-m ndcg.1=3,2=9``: ``name=value`` pairs, validated as ``get_param_pairs`` does.

    Raises:
        MeasureError: an item without ``=``, or two ``=`` without a ``,`` between them.
    """
    last_seen = ","
    for char in text:
        if char == ",":
            if last_seen == ",":
                break
            last_seen = ","
        elif char == "=":
            if last_seen == "=":
                last_seen = ","
                break
            last_seen = "="
    if last_seen != "=":
        raise MeasureError(f"trec_eval: malformed pair parameters in {text!r}")
    pairs = []
    for item in text.split(","):
        name, _, value = item.partition("=")
        pairs.append((name, c_atof(value)))
    return PairParams(tuple(pairs), text)


def long_cutoff_names(name: str, cutoffs: tuple[int, ...]) -> list[str]:
    """``P_5``, ``P_10``...: ``%s_%ld``."""
    return [f"{name}_{c}" for c in cutoffs]


def double_cutoff_names(name: str, cutoffs: tuple[float, ...]) -> list[str]:
    """``iprec_at_recall_0.10``...: ``%s_%3.2f`` into a buffer of ``strlen(name) + 10`` bytes."""
    return [f"{name}_{c:3.2f}"[: len(name) + 9] for c in cutoffs]


def param_name(name: str, printable: str | None) -> str:
    """``11pt_avg_.25,.5,.75``: the measure name, then ``_`` and the parameter string if given."""
    return name if printable is None else f"{name}_{printable}"

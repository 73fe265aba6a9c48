"""Measure names in ir-measures syntax, and how each maps onto the trec_eval-exact engine.

Names are parsed once, at the boundary, with ``ir_measures.parse_measure`` (so ``nDCG@10``,
``P(rel=2)@10`` and ``nDCG(cutoff=10,gains={0:0,1:1,2:3})`` mean what they mean in ir-measures);
``str(measure)`` is the canonical name stored and returned everywhere. A measure the engine
implements becomes an :class:`EngineSpec`: a trec_eval measure and parameter, plus the relevance
level (``-l``), judged-only flag (``-J``) and gain mapping it runs under. Any other measure that
ir-measures knows is computed by ir-measures (see :mod:`ragbench.evaluation.engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragbench.errors import MeasureError

NOT_PROVIDED: Any = None  # replaced by ir_measures' sentinel on first use


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """One measure as the engine computes it.

    Attributes:
        trec_name: trec_eval measure family (``ndcg_cut``, ``map``, ``P``...) or one of the
            engine's own: ``judged`` (ir-measures' Judged@k), ``recip_rank_cut`` (RR@k).
        param: the family's parameter (a cutoff, a recall level, beta), or None.
        relevance_level: least judgment counted as relevant (trec_eval's ``-l``).
        judged_only: drop unjudged documents before scoring (trec_eval's ``-J``).
        gains: judgment -> gain mapping for nDCG (levels not listed keep their value).
    """

    trec_name: str
    param: float | int | None = None
    relevance_level: int = 1
    judged_only: bool = False
    gains: tuple[tuple[int, float], ...] | None = None


def _ir_measures() -> Any:
    global NOT_PROVIDED
    import ir_measures
    from ir_measures.providers.base import NOT_PROVIDED as sentinel

    NOT_PROVIDED = sentinel
    return ir_measures


def parse_measures(specs: Sequence[str]) -> list[Any]:
    """Parse measure names; report every bad one at once.

    Raises:
        MeasureError: naming each name that does not parse, with the reason.
    """
    ir_measures = _ir_measures()
    parsed, problems = [], []
    for spec in specs:
        try:
            measure = ir_measures.parse_measure(spec)
            measure.validate_params()
            parsed.append(measure)
        except (ValueError, NameError, AssertionError, SyntaxError, TypeError, KeyError) as exc:
            reason = str(exc) or type(exc).__name__
            problems.append(f"{spec!r}: {reason}")
    if problems:
        raise MeasureError(
            "cannot parse measure "
            + "; ".join(problems)
            + " (use ir-measures names, e.g. nDCG@10, AP, P(rel=2)@5)"
        )
    return parsed


def _param(measure: Any, name: str) -> Any:
    value = measure.params.get(name, NOT_PROVIDED)
    if value is NOT_PROVIDED:
        info = measure.SUPPORTED_PARAMS.get(name)
        value = info.default if info is not None else None
    return None if value is NOT_PROVIDED else value


def engine_spec(measure: Any) -> EngineSpec | None:
    """The engine's form of an ir-measures measure, or None when ir-measures must compute it.

    Raises:
        MeasureError: the measure needs a parameter it was not given (``P`` without a cutoff).
    """
    _ir_measures()
    name = measure.NAME
    cutoff = _param(measure, "cutoff")
    rel = _param(measure, "rel")
    level = 1 if rel is None else int(rel)
    judged_only = bool(_param(measure, "judged_only") or False)

    def needs_cutoff() -> int:
        if cutoff is None:
            raise MeasureError(f"{measure} needs a cutoff, e.g. {name}@10")
        return int(cutoff)

    if name == "P":
        return EngineSpec("P", needs_cutoff(), level, judged_only)
    if name == "R":
        return EngineSpec("recall", needs_cutoff(), level, judged_only)
    if name == "AP":
        if cutoff is None:
            return EngineSpec("map", None, level, judged_only)
        return EngineSpec("map_cut", int(cutoff), level, judged_only)
    if name == "RR":
        if cutoff is None:
            return EngineSpec("recip_rank", None, level, judged_only)
        return EngineSpec("recip_rank_cut", int(cutoff), level, judged_only)
    if name == "nDCG":
        if _param(measure, "dcg") not in (None, "log2"):
            return None
        gains = _param(measure, "gains")
        gain_items = tuple(sorted((int(k), float(v)) for k, v in gains.items())) if gains else None
        if cutoff is None:
            return EngineSpec("ndcg", None, 1, judged_only, gain_items)
        return EngineSpec("ndcg_cut", int(cutoff), 1, judged_only, gain_items)
    if name in ("Rprec", "Bpref", "infAP"):
        family = {"Rprec": "Rprec", "Bpref": "bpref", "infAP": "infAP"}[name]
        return EngineSpec(family, None, level, judged_only if name == "Rprec" else False)
    if name == "Success":
        return EngineSpec("success", needs_cutoff(), level, judged_only)
    if name == "IPrec":
        return EngineSpec("iprec_at_recall", float(_param(measure, "recall")), level, judged_only)
    if name == "SetP":
        family = "set_relative_P" if _param(measure, "relative") else "set_P"
        return EngineSpec(family, None, level, judged_only)
    if name == "SetR":
        return EngineSpec("set_recall", None, level, False)
    if name == "SetAP":
        return EngineSpec("set_map", None, level, judged_only)
    if name == "SetF":
        beta = _param(measure, "beta")
        return EngineSpec("set_F", float(1.0 if beta is None else beta), level, judged_only)
    if name == "NumRet":
        return EngineSpec("num_ret" if rel is None else "num_rel_ret", None, level, False)
    if name == "NumRel":
        return EngineSpec("num_rel", None, level, False)
    if name == "NumQ":
        return EngineSpec("num_q", None, 1, False)
    if name == "Judged":
        return EngineSpec("judged", needs_cutoff(), 1, False)
    return None

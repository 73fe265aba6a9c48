"""ir-measures: the syntax of topic measure names, and the fallback provider.

Topic measure names are ir-measures names (``nDCG@10``, ``P(rel=2)@5``, ``AP``): parsed once, at
the boundary, by :func:`parse_measures`; ``str(measure)`` is the canonical name. The provider
:class:`IrMeasures` computes, through ir-measures itself, whatever no ragbench provider declares
and some *installed* ir-measures provider supports (ERR@k through gdeval, ``nDCG(dcg=exp-log2)``
through pytrec_eval...). For a measure that only an uninstalled ir-measures provider supports,
:meth:`IrMeasures.missing` names it and its ``pip install``, as ir-measures' own fallback does.

ir_measures is imported on first use, never at import time.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

from ragbench.errors import MeasureError
from ragbench.evaluation.providers.base import (
    ABSENT,
    EngineFingerprint,
    Kind,
    MeasurePattern,
    Provider,
    Routed,
    TopicData,
    Values,
)

__all__ = ["IrMeasures", "IrMeasuresSyntax", "ir_measures_module", "parse_measures"]

_MISSING_PARAM = re.compile(r"invalid param (\w+)=<object object")


def ir_measures_module() -> Any:
    """The ir_measures module (imported here, on first use)."""
    import ir_measures

    return ir_measures


@cache
def _installed() -> bool:
    return importlib.util.find_spec("ir_measures") is not None


def _problem(spec: str, exc: BaseException, measure: Any) -> str:
    reason = str(exc) or type(exc).__name__
    missing = _MISSING_PARAM.search(reason)
    if missing and measure is not None:
        key = missing.group(1)
        example = f", e.g. {measure.NAME}@10" if key == "cutoff" else ""
        return f"{spec!r}: {measure.NAME} needs a {key}{example}"
    return f"{spec!r}: {reason}"


def parse_measures(specs: Sequence[str]) -> list[Any]:
    """Parse ir-measures names; report every bad one at once.

    Returns:
        ir-measures ``Measure`` objects, in order (``str(m)`` is the canonical name).

    Raises:
        MeasureError: naming each name that does not parse, with the reason.
    """
    ir_measures = ir_measures_module()
    parsed, problems = [], []
    for spec in specs:
        measure = None
        try:
            measure = ir_measures.parse_measure(spec)
            measure.validate_params()
            parsed.append(measure)
        except (ValueError, NameError, AssertionError, SyntaxError, TypeError, KeyError) as exc:
            problems.append(_problem(spec, exc, measure))
    if problems:
        raise MeasureError(
            "cannot parse measure "
            + "; ".join(problems)
            + " (use ir-measures names, e.g. nDCG@10, AP, P(rel=2)@5)"
        )
    return parsed


class IrMeasuresSyntax:
    """How providers of ir-measures measures read a parsed measure (mixed into providers)."""

    def family(self, measure: Any) -> str:
        return str(measure.NAME)

    def given(self, measure: Any) -> Mapping[str, Any]:
        return dict(measure.params)

    def value(self, measure: Any, key: str) -> Any:
        from ir_measures.providers.base import NOT_PROVIDED

        value = measure.params.get(key, NOT_PROVIDED)
        if value is NOT_PROVIDED:
            info = measure.SUPPORTED_PARAMS.get(key)
            value = info.default if info is not None else NOT_PROVIDED
        return ABSENT if value is NOT_PROVIDED else value


class IrMeasures(IrMeasuresSyntax, Provider):
    """The fallback: any measure an installed ir-measures provider computes.

    Its patterns are ir-measures' own declarations (each available provider's
    ``SUPPORTED_MEASURES``), read on first use; :meth:`supports` asks ir-measures, which also
    checks parameter choices the patterns cannot express.
    """

    name: ClassVar[str] = "ir_measures"
    kind: ClassVar[Kind] = "adhoc"
    install: ClassVar[str | None] = "pip install ir-measures"

    @property
    def version(self) -> str:
        return str(ir_measures_module().__version__)

    def available(self) -> bool:
        return _installed()

    @property
    def patterns(self) -> tuple[MeasurePattern, ...]:
        """Families and parameter names of every available ir-measures provider."""
        out: list[MeasurePattern] = []
        for provider in ir_measures_module().DefaultPipeline.providers:
            if provider.is_available():
                for measure in provider.SUPPORTED_MEASURES:
                    pattern = MeasurePattern(str(measure.NAME), frozenset(measure.params))
                    if pattern not in out:
                        out.append(pattern)
        return tuple(out)

    def supports(self, measure: Any) -> bool:
        try:
            return bool(ir_measures_module().DefaultPipeline.supports(measure))
        except (AssertionError, ValueError, TypeError):
            return False

    def missing(self, measure: Any) -> list[str]:
        """``NAME (pip command)`` of each uninstalled ir-measures provider that would support it."""
        out = []
        for provider in ir_measures_module().DefaultPipeline.providers:
            try:
                would = not provider.is_available() and provider.supports(measure)
            except (AssertionError, ValueError, TypeError):
                would = False
            if would:
                how = provider.install_instructions()
                out.append(f"{provider.NAME} ({how})" if how else str(provider.NAME))
        return out

    def fingerprint(self, measure: Any) -> EngineFingerprint:
        return EngineFingerprint(
            implementation=self.name,
            version=self.version,
            tie_rule="provider's own",
            relevance_level=int(measure.params.get("rel", 1) or 1),
        )

    def compute(self, measures: Sequence[Routed], data: TopicData) -> list[Values]:
        """Per-topic values from ir-measures (its default where it reports none); the mean over topics."""
        import numpy as np

        ir_measures = ir_measures_module()
        parsed = [r.measure for r in measures]
        found: dict[Any, dict[str, float]] = {m: {} for m in parsed}
        for metric in ir_measures.iter_calc(parsed, data.qrels.to_dict(), data.run.to_dict()):
            found[metric.measure][metric.query_id] = float(metric.value)
        out = []
        for m in parsed:
            values = np.asarray([found[m].get(q, float(m.DEFAULT)) for q in data.query_ids], dtype=np.float64)
            out.append(Values(values, float(values.mean()) if values.size else 0.0))
        return out

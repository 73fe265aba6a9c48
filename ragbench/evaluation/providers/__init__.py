"""Measure providers: who computes which measures (see :mod:`ragbench.evaluation.registry`).

- :class:`TrecEvalEngine` (``ragbench.trec_eval``): the trec_eval 10.0-exact engine.
- :class:`IrMeasures` (``ir_measures``): the fallback, any measure an installed ir-measures
  provider computes.
- :class:`SessionMeasures` (``ragbench.session``): the session measures.
"""

from ragbench.evaluation.providers.base import (
    ABSENT,
    EngineFingerprint,
    Kind,
    MeasurePattern,
    Provider,
    Routed,
    SessionData,
    TopicData,
    Values,
)
from ragbench.evaluation.providers.irmeasures import IrMeasures, parse_measures
from ragbench.evaluation.providers.session import SessionMeasures
from ragbench.evaluation.providers.trec_eval import ENGINE_MEASURES, EngineMeasure, EngineSpec, TrecEvalEngine

__all__ = [
    "ABSENT",
    "ENGINE_MEASURES",
    "EngineFingerprint",
    "EngineMeasure",
    "EngineSpec",
    "IrMeasures",
    "Kind",
    "MeasurePattern",
    "Provider",
    "Routed",
    "SessionData",
    "SessionMeasures",
    "TopicData",
    "TrecEvalEngine",
    "Values",
    "parse_measures",
]

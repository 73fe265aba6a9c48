"""The trec_eval-exact engine as a provider: which ir-measures names it computes, and how.

:data:`ENGINE_MEASURES` declares, as data, each ir-measures family the engine computes: the
parameters it honours, the values it requires, and the trec_eval family that computes it (the
one family table, :data:`ragbench.evaluation.trec_eval.MEASURES`, plus the engine's own
:data:`EXTENSIONS` for ir-measures' ``Judged@k`` and ``RR@k``, which trec_eval 10.0 lacks).
Every measure is compiled once per call into an :class:`EngineSpec` (family, parameters,
relevance level ``-l``, judged-only ``-J``, gains), then computed on one shared
:class:`~ragbench.evaluation.trec_eval.TopicView` per (``-l``, ``-J``) variant of the topics.

``rel`` sets the relevance level (default 1); ``judged_only`` drops unjudged documents first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

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
from ragbench.evaluation.providers.irmeasures import IrMeasuresSyntax
from ragbench.version import __version__

if TYPE_CHECKING:
    import numpy as np

    from ragbench.evaluation.trec_eval import MeasureDef, Params, TopicView

__all__ = ["ENGINE_MEASURES", "TIE_RULE", "EngineMeasure", "EngineSpec", "TrecEvalEngine", "extensions"]

TIE_RULE = "score desc, docno desc (trec_eval 10.0)"


@dataclass(frozen=True, slots=True)
class EngineMeasure(MeasurePattern):
    """An ir-measures family the engine computes, and the trec_eval family behind it.

    Attributes:
        whole: the trec_eval family when no cutoff is given (None: a cutoff is required).
        cut: the family when a cutoff is given (None: the measure takes no cutoff).
        value: the ir-measures parameter passed as the family's one value (``recall`` of
            ``IPrec``, ``beta`` of ``SetF``); the cutoff plays that part for ``cut`` families.
    """

    whole: str | None = None
    cut: str | None = None
    value: str | None = None


_RJ = frozenset({"rel", "judged_only"})
_RJC = _RJ | {"cutoff"}

ENGINE_MEASURES: tuple[EngineMeasure, ...] = (
    EngineMeasure("P", _RJC, cut="P"),
    EngineMeasure("R", _RJC, cut="recall"),
    EngineMeasure("Success", _RJC, cut="success"),
    EngineMeasure("AP", _RJC, whole="map", cut="map_cut"),
    EngineMeasure("RR", _RJC, whole="recip_rank", cut="recip_rank_cut"),
    EngineMeasure(
        "nDCG", frozenset({"cutoff", "gains", "judged_only"}), (("dcg", "log2"),), "ndcg", "ndcg_cut"
    ),
    EngineMeasure("Rprec", _RJ, whole="Rprec"),
    EngineMeasure("Bpref", frozenset({"rel"}), whole="bpref"),
    EngineMeasure("infAP", frozenset({"rel"}), whole="infAP"),
    EngineMeasure("IPrec", _RJ | {"recall"}, whole="iprec_at_recall", value="recall"),
    EngineMeasure("SetP", _RJ, (("relative", False),), whole="set_P"),
    EngineMeasure("SetP", _RJ, (("relative", True),), whole="set_relative_P"),
    EngineMeasure("SetR", frozenset({"rel"}), whole="set_recall"),
    EngineMeasure("SetAP", _RJ, whole="set_map"),
    EngineMeasure("SetF", _RJ | {"beta"}, whole="set_F", value="beta"),
    EngineMeasure("NumRet", fixed=(("rel", ABSENT),), whole="num_ret"),
    EngineMeasure("NumRet", frozenset({"rel"}), whole="num_rel_ret"),  # NumRet(rel=k), alias NumRelRet
    EngineMeasure("NumRel", frozenset({"rel"}), whole="num_rel"),
    EngineMeasure("NumQ", whole="num_q"),
    EngineMeasure("Judged", frozenset({"cutoff"}), cut="judged"),
)
"""What the engine computes, first match wins. Anything else goes to the next provider."""


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """One measure as the engine computes it: a family of the table with its parameters, under
    relevance level ``-l`` and judged-only ``-J``; ``gains`` as written (for the fingerprint)."""

    definition: MeasureDef
    params: Params
    relevance_level: int = 1
    judged_only: bool = False
    gains: tuple[tuple[int, float], ...] | None = None


def _judged_at(view: TopicView, cutoffs: Sequence[int]) -> np.ndarray:
    """ir-measures' Judged@k: the judged share of the top min(k, retrieved) documents (0 when none).

    A document in the qrels counts as judged whatever its label (negative ones too).
    """
    import numpy as np

    from ragbench.evaluation.prepared import RELVALUE_NONPOOL

    prepared = view.prepared
    rank, topic = prepared.rank_of_row, prepared.topic_of_row
    out = np.zeros((view.n, len(cutoffs)), dtype=np.float64)
    for j, k in enumerate(cutoffs):
        depth = np.minimum(prepared.num_ret, k)
        judged = np.bincount(topic[(rank <= k) & (prepared.rel != RELVALUE_NONPOOL)], minlength=view.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = np.where(depth > 0, judged / np.maximum(depth, 1), 0.0)
    return out


def _recip_rank_at(view: TopicView, cutoffs: Sequence[int]) -> np.ndarray:
    """RR@k: 1 / rank of the first relevant document within the top k, else 0."""
    import numpy as np

    prepared = view.prepared
    rank, topic = prepared.rank_of_row, prepared.topic_of_row
    relevant = (prepared.rel >= prepared.relevance_level) & (prepared.rel >= 0)
    out = np.zeros((view.n, len(cutoffs)), dtype=np.float64)
    for j, k in enumerate(cutoffs):
        hit = (rank <= k) & relevant
        first = np.full(view.n, np.inf)
        np.minimum.at(first, topic[hit], rank[hit].astype(np.float64))
        out[:, j] = 1.0 / first
    return out


def _cutoffs(params: Params) -> tuple[int, ...]:
    from ragbench.evaluation.trec_eval import CutoffParams

    assert isinstance(params, CutoffParams)
    return tuple(int(c) for c in params.values)


def extensions() -> tuple[MeasureDef, ...]:
    """The engine's families beyond trec_eval 10.0's (``trec-eval -m`` does not know them)."""
    from ragbench.evaluation.trec_eval import CutoffParams, MeasureDef

    return (
        MeasureDef(
            "judged", "long_cutoffs", CutoffParams((10,)), "double", "mean", True,
            lambda v, p: _judged_at(v, _cutoffs(p)),
        ),
        MeasureDef(
            "recip_rank_cut", "long_cutoffs", CutoffParams((10,)), "double", "mean", True,
            lambda v, p: _recip_rank_at(v, _cutoffs(p)),
        ),
    )  # fmt: skip


class TrecEvalEngine(IrMeasuresSyntax, Provider):
    """ragbench's trec_eval 10.0 port: exact values, ties broken by score then docno descending."""

    name: ClassVar[str] = "ragbench.trec_eval"
    kind: ClassVar[Kind] = "adhoc"
    PATTERNS: ClassVar[tuple[MeasurePattern, ...]] = ENGINE_MEASURES

    def __init__(self) -> None:
        self._families: dict[str, MeasureDef] | None = None

    @property
    def version(self) -> str:
        return f"{__version__} (trec_eval 10.0 semantics)"

    def families(self) -> dict[str, MeasureDef]:
        """trec_eval's measure table and the engine's extensions, by family name."""
        if self._families is None:
            from ragbench.evaluation.trec_eval import MEASURES

            self._families = {m.name: m for m in (*MEASURES, *extensions())}
        return self._families

    def check(self, measure: Any) -> None:
        self.spec(measure)

    def spec(self, measure: Any) -> EngineSpec:
        """The engine's form of a measure it supports.

        Raises:
            MeasureError: the measure needs a cutoff it was not given (``Judged``).
        """
        from ragbench.evaluation.trec_eval import CutoffParams, DoubleParams, PairParams

        pattern = self.pattern(measure)
        if not isinstance(pattern, EngineMeasure):
            raise MeasureError(f"{measure}: not computed by {self.name}")
        cutoff = self.value(measure, "cutoff")
        family = pattern.whole if cutoff is ABSENT else pattern.cut
        if family is None:
            raise MeasureError(f"{measure} needs a cutoff, e.g. {pattern.name}@10")
        definition = self.families()[family]
        arg = (
            cutoff
            if cutoff is not ABSENT
            else (self.value(measure, pattern.value) if pattern.value else ABSENT)
        )
        gains_given = self.value(measure, "gains") if "gains" in pattern.params else ABSENT
        gains = tuple(sorted((int(k), float(v)) for k, v in gains_given.items())) if gains_given else None
        params: Params = definition.default
        if definition.kind == "long_cutoffs":
            params = CutoffParams((int(arg),), gains=gains)
        elif definition.kind == "double_cutoffs":
            params = CutoffParams((float(arg),))
        elif definition.kind == "doubles" and arg is not ABSENT:
            params = DoubleParams((float(arg),))
        elif definition.kind == "pairs" and gains:
            params = PairParams(tuple((str(k), v) for k, v in gains))
        rel = self.value(measure, "rel")
        return EngineSpec(
            definition,
            params,
            relevance_level=1 if rel is ABSENT else int(rel),
            judged_only=bool(self.value(measure, "judged_only") or False),
            gains=gains,
        )

    def fingerprint(self, measure: Any) -> EngineFingerprint:
        spec = self.spec(measure)
        return EngineFingerprint(
            implementation=self.name,
            version=self.version,
            tie_rule=TIE_RULE,
            relevance_level=spec.relevance_level,
            gains=",".join(f"{k}={v:g}" for k, v in spec.gains) if spec.gains else None,
            judged_only=spec.judged_only,
        )

    def compute(self, measures: Sequence[Routed], data: TopicData) -> list[Values]:
        """Each measure on its (``-l``, ``-J``) variant of the topics; one view per variant.

        The aggregate is the mean over topics, or the sum for the families trec_eval sums
        (``num_ret``, ``num_rel``, ``num_rel_ret``, ``num_q``).
        """
        import numpy as np

        from ragbench.evaluation.prepare import variant
        from ragbench.evaluation.trec_eval import TopicView

        views: dict[tuple[int, bool], TopicView] = {}
        out = []
        for routed in measures:
            spec = self.spec(routed.measure)
            key = (spec.relevance_level, spec.judged_only)
            if key not in views:
                views[key] = TopicView(variant(data.prepared, *key))
            values = np.asarray(spec.definition.compute(views[key], spec.params)[:, 0], dtype=np.float64)
            if spec.definition.average in ("sum", "num_q"):
                aggregate = float(values.sum())
            else:
                aggregate = float(values.mean()) if values.size else 0.0
            out.append(Values(values, aggregate))
        return out

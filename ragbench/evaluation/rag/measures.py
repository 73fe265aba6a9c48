"""RAG answer measures: their names, the judgments they read, and the provider that computes them.

Every measure is a value per topic, so ``compare``, tiers and confidence intervals work on it as
on a retrieval measure. The measures (names as stored):

==========================  ===================================================================
``NuggetAll``, ``NuggetAllStrict``, ``NuggetVital``, ``NuggetVitalStrict``, ``NuggetWeighted``
                            the track's nugget scores (:mod:`ragbench.evaluation.rag.nuggets`)
``SupportPrecision``,       weighted citation support precision (over citations) and recall
``SupportRecall``           (over sentences)
``ClaimPrecision``,         RAGChecker's claim-level scores against a reference answer (QA
``ClaimRecall``, ``ClaimF1`` files with ``gt_answer``)
``RougeL``                  ROUGE-L F-measure of the answer against the reference answer
``EmbeddingSim``            cosine similarity of their all-MiniLM-L6-v2 embeddings
``AnswerWords``             words of the answer, counted as the track counts them
``Citations``               citations in the answer (every citation of every sentence)
``RefnDCG@k``, ``RefJudged@k`` the answer's references as a ranking, scored against the qrels
                            by the trec_eval-exact engine (nDCG@k; share of the top k judged)
==========================  ===================================================================

The judgments (nugget assignments, support labels, claim checks, similarities) are made by
judges outside the core (``rankers.rag``, through the LM layer) and handed in as
:class:`AnswerJudgments`; the provider only applies the formulas, so a re-evaluation from the
same judgments (or the same LM cache) gives the same numbers. A judgment that failed is NaN for
that topic, left out of the mean and counted in the measure's note; a topic the run does not
answer scores 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ragbench.errors import MeasureError
from ragbench.evaluation.providers.base import (
    EngineFingerprint,
    Kind,
    MeasurePattern,
    Provider,
    Routed,
    Values,
)
from ragbench.evaluation.rag.nuggets import NUGGET_SCORES, claim_scores, nugget_scores, support_scores
from ragbench.version import __version__

if TYPE_CHECKING:
    from ragbench.formats.rag import RagRun
    from ragbench.formats.tables import QrelsTable

__all__ = [
    "FAMILIES",
    "AnswerJudgments",
    "RagData",
    "RagMeasure",
    "RagMeasures",
    "is_rag_measure",
    "parse_rag_measure",
]

SUPPORT = ("SupportPrecision", "SupportRecall")
CLAIMS = ("ClaimPrecision", "ClaimRecall", "ClaimF1")
SIMILARITY = ("RougeL", "EmbeddingSim")
COUNTS = ("AnswerWords", "Citations")
REFERENCES = ("RefnDCG", "RefJudged")
FAMILIES: tuple[str, ...] = (*NUGGET_SCORES, *SUPPORT, *CLAIMS, *SIMILARITY, *COUNTS, *REFERENCES)
NEEDS: dict[str, str] = {
    **dict.fromkeys(NUGGET_SCORES, "nuggets"),
    **dict.fromkeys(SUPPORT, "support"),
    **dict.fromkeys(CLAIMS, "claims"),
    **{name: name for name in SIMILARITY},
}
"""Family -> the judgment it reads (counts and reference measures read none)."""
_NAME = re.compile(r"^(?P<family>[A-Za-z][A-Za-z0-9]*?)(?:@(?P<cutoff>\d+))?$")


@dataclass(frozen=True, slots=True)
class RagMeasure:
    """A parsed RAG measure: family and, for the reference measures, the cutoff."""

    family: str
    cutoff: int | None = None

    def __str__(self) -> str:
        return self.family if self.cutoff is None else f"{self.family}@{self.cutoff}"


def is_rag_measure(name: str) -> bool:
    """Whether ``name`` names a RAG measure family (well-formed or not)."""
    found = _NAME.match(name.strip())
    return found is not None and found["family"] in FAMILIES


def parse_rag_measure(name: str) -> RagMeasure:
    """``RefnDCG@10`` -> RagMeasure("RefnDCG", 10).

    Raises:
        MeasureError: not a RAG measure, a cutoff where none is taken, or none where one is needed.
    """
    found = _NAME.match(name.strip())
    if found is None or found["family"] not in FAMILIES:
        raise MeasureError(f"{name!r} is not a RAG measure; RAG measures are {', '.join(FAMILIES)}")
    family, cutoff = found["family"], found["cutoff"]
    if family in REFERENCES:
        if cutoff is None or int(cutoff) < 1:
            raise MeasureError(f"{family} needs a cutoff: {family}@10")
        return RagMeasure(family, int(cutoff))
    if cutoff is not None:
        raise MeasureError(f"{family} takes no cutoff")
    return RagMeasure(family)


@dataclass(frozen=True)
class AnswerJudgments:
    """What the judges said about one answer (each part None when not judged).

    Attributes:
        nuggets: assignment label per nugget of the topic (the nugget set's order).
        support: per sentence, a support label per citation (``full``/``partial``/``no``).
        response_claims: per claim of the answer, whether the reference answer entails it.
        reference_claims: per claim of the reference answer, whether the answer entails it.
        similarity: ``{"RougeL": f, "EmbeddingSim": cos}`` against the reference answer.
        errors: part -> why it failed (``nuggets``, ``support``, ``claims``); a failed part is
            counted and scored NaN, never 0.
        records: the judge's outputs with provenance (model, prompt hash, parameters), for the
            answer page and audits.
    """

    nuggets: tuple[str, ...] | None = None
    support: tuple[tuple[str, ...], ...] | None = None
    response_claims: tuple[bool, ...] | None = None
    reference_claims: tuple[bool, ...] | None = None
    similarity: Mapping[str, float] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    records: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "nuggets": None if self.nuggets is None else list(self.nuggets),
            "support": None if self.support is None else [list(row) for row in self.support],
            "response_claims": None if self.response_claims is None else list(self.response_claims),
            "reference_claims": None if self.reference_claims is None else list(self.reference_claims),
            "similarity": dict(self.similarity),
            "errors": dict(self.errors),
            "records": [dict(r) for r in self.records],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerJudgments:
        def rows(value: Any) -> tuple[tuple[str, ...], ...] | None:
            return None if value is None else tuple(tuple(r) for r in value)

        def flags(value: Any) -> tuple[bool, ...] | None:
            return None if value is None else tuple(bool(v) for v in value)

        nuggets = data.get("nuggets")
        return cls(
            nuggets=None if nuggets is None else tuple(nuggets),
            support=rows(data.get("support")),
            response_claims=flags(data.get("response_claims")),
            reference_claims=flags(data.get("reference_claims")),
            similarity={k: float(v) for k, v in (data.get("similarity") or {}).items()},
            errors=dict(data.get("errors") or {}),
            records=tuple(data.get("records") or ()),
        )

    def failed(self, part: str) -> bool:
        return part in self.errors


@dataclass(frozen=True)
class RagData:
    """What the RAG provider computes on.

    Attributes:
        run: the answers.
        topics: the evaluated topics, in order (the rows of every value): the benchmark's, or
            the run's own when there is no benchmark.
        judgments: topic -> the judgments of the run's answer to it.
        importance: topic -> each nugget's importance, for the nugget scores (the nugget set).
        qrels: judgments for the reference measures, or None.
    """

    run: RagRun
    topics: tuple[str, ...]
    judgments: Mapping[str, AnswerJudgments] = field(default_factory=dict)
    importance: Mapping[str, Sequence[str]] | None = None
    qrels: QrelsTable | None = None

    @property
    def query_ids(self) -> tuple[str, ...]:
        return self.topics


class RagMeasures(Provider):
    """ragbench's RAG answer measures (see the module docstring)."""

    name: ClassVar[str] = "ragbench.rag"
    kind: ClassVar[Kind] = "rag"
    PATTERNS: ClassVar[tuple[MeasurePattern, ...]] = tuple(
        MeasurePattern(f, frozenset({"cutoff"}) if f in REFERENCES else frozenset()) for f in FAMILIES
    )

    @property
    def version(self) -> str:
        return __version__

    def family(self, measure: Any) -> str:
        return measure.family if isinstance(measure, RagMeasure) else ""

    def given(self, measure: Any) -> Mapping[str, Any]:
        return {"cutoff": measure.cutoff} if isinstance(measure, RagMeasure) and measure.cutoff else {}

    def value(self, measure: Any, key: str) -> Any:
        return measure.cutoff if key == "cutoff" else None

    def fingerprint(self, measure: Any) -> EngineFingerprint:
        family = measure.family
        gains = {
            **dict.fromkeys(NUGGET_SCORES, "support 1, partial 0.5 (strict: 0), not 0; okay weight 0.5"),
            **dict.fromkeys(SUPPORT, "full 1, partial 0.5, no 0"),
        }.get(family)
        tie = "references in the answer's order" if family in REFERENCES else "per answer"
        return EngineFingerprint(self.name, self.version, tie, 1, gains)

    def compute(self, measures: Sequence[Routed], data: RagData) -> list[Values]:
        import numpy as np

        out = []
        for routed in measures:
            measure: RagMeasure = routed.measure
            if measure.family in REFERENCES:
                values = _reference_values(measure, data)
                note = None
            else:
                values, note = _answer_values(measure.family, data)
            finite = values[~np.isnan(values)]
            out.append(Values(values, float(finite.mean()) if finite.size else float("nan"), note))
        return out


def _answer_values(family: str, data: RagData) -> tuple[Any, str | None]:
    import numpy as np

    values = np.zeros(len(data.topics), dtype=np.float64)
    failed: list[str] = []
    undefined: list[str] = []
    unjudged: list[str] = []
    need = NEEDS.get(family)
    for i, topic in enumerate(data.topics):
        answer = data.run.answers.get(topic)
        if need == "nuggets":
            importance = list((data.importance or {}).get(topic, ()))
            if nugget_scores(importance, ["not_support"] * len(importance))[family] != 0.0:
                values[i] = math.nan  # undefined for every answer: no (vital) nugget
                undefined.append(topic)
                continue
        if answer is None:
            continue  # unanswered: 0
        if family == "AnswerWords":
            values[i] = answer.words
            continue
        if family == "Citations":
            values[i] = answer.citation_count
            continue
        judged = data.judgments.get(topic)
        part = "claims" if need == "claims" else need
        if judged is not None and part is not None and judged.failed(part):
            values[i] = math.nan
            failed.append(topic)
            continue
        value = _from_judgments(family, judged, data, topic)
        if value is None:
            values[i] = math.nan
            unjudged.append(topic)
        else:
            values[i] = value
    notes = []
    if failed:
        notes.append(f"{len(failed)} answer(s) failed to be judged and are not scored: {_few(failed)}")
    if unjudged:
        notes.append(f"{len(unjudged)} answer(s) have no {need} judgment: {_few(unjudged)}")
    if undefined:
        why = "no vital nugget" if family in ("NuggetVital", "NuggetVitalStrict") else "no nugget"
        notes.append(f"{len(undefined)} topic(s) have {why} and are left out: {_few(undefined)}")
    return values, "; ".join(notes) or None


def _from_judgments(family: str, judged: AnswerJudgments | None, data: RagData, topic: str) -> float | None:
    if judged is None:
        return None
    if family in NUGGET_SCORES:
        if judged.nuggets is None:
            return None
        return nugget_scores(list((data.importance or {}).get(topic, ())), judged.nuggets)[family]
    if family in SUPPORT:
        return None if judged.support is None else support_scores(judged.support)[family]
    if family in CLAIMS:
        if judged.response_claims is None or judged.reference_claims is None:
            return None
        return claim_scores(judged.response_claims, judged.reference_claims)[family]
    value = judged.similarity.get(family)
    return None if value is None else float(value)


def _few(topics: list[str]) -> str:
    return ", ".join(topics[:5]) + (f" and {len(topics) - 5} more" if len(topics) > 5 else "")


def _reference_values(measure: RagMeasure, data: RagData) -> Any:
    """The references of each answer as a ranking (rank i scores n - i), scored by the
    trec_eval-exact engine with ``-c`` semantics (an unanswered topic scores 0)."""
    import numpy as np

    from ragbench.evaluation.prepare import prepare
    from ragbench.evaluation.providers.base import TopicData
    from ragbench.evaluation.providers.irmeasures import parse_measures
    from ragbench.evaluation.providers.trec_eval import TrecEvalEngine
    from ragbench.formats.tables import RunTable

    if data.qrels is None:
        raise MeasureError(f"{measure} needs qrels (the references are scored against them)")
    ranking = {
        topic: {ref: float(len(a.references) - i) for i, ref in enumerate(a.references)}
        for topic, a in data.run.answers.items()
        if a.references
    }
    values = np.zeros(len(data.topics), dtype=np.float64)
    if not ranking:
        return values
    name = f"{'nDCG' if measure.family == 'RefnDCG' else 'Judged'}@{measure.cutoff}"
    engine = TrecEvalEngine()
    parsed = parse_measures([name])[0]
    run = RunTable.from_dict(ranking)
    prepared = prepare(data.qrels, run, complete=True)
    found = engine.compute([Routed(name, parsed, engine)], TopicData(data.qrels, run, prepared))[0]
    by_topic = dict(zip(prepared.query_ids, found.per_query.tolist(), strict=True))
    for i, topic in enumerate(data.topics):
        values[i] = by_topic.get(topic, 0.0)
    return values

"""RAG answer evaluation: nugget scores, citation support, claims, similarity, reference measures.

:func:`evaluate_rag` scores a :class:`~ragbench.formats.rag.RagRun` from the judges' judgments
(:class:`~ragbench.evaluation.rag.measures.AnswerJudgments`) with measures named as in
:mod:`ragbench.evaluation.rag.measures`; the result is an
:class:`~ragbench.evaluation.engine.EvalResult`, per topic, so every statistic of
:mod:`ragbench.stats` applies. The judges themselves (LM calls) live in ``rankers.rag``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ragbench.evaluation.rag.measures import (
    AnswerJudgments,
    RagData,
    RagMeasure,
    is_rag_measure,
    parse_rag_measure,
)
from ragbench.evaluation.rag.nuggets import Nugget, NuggetSet, claim_scores, nugget_scores, support_scores

if TYPE_CHECKING:
    from ragbench.evaluation.engine import EvalResult
    from ragbench.formats.rag import RagRun
    from ragbench.formats.tables import QrelsTable

__all__ = [
    "AnswerJudgments",
    "Nugget",
    "NuggetSet",
    "RagData",
    "RagMeasure",
    "claim_scores",
    "evaluate_rag",
    "is_rag_measure",
    "nugget_scores",
    "parse_rag_measure",
    "support_scores",
]


def evaluate_rag(
    run: RagRun,
    measures: Sequence[str],
    *,
    judgments: Mapping[str, AnswerJudgments] | None = None,
    nuggets: NuggetSet | None = None,
    topics: Sequence[str] | None = None,
    qrels: QrelsTable | None = None,
    name: str | None = None,
) -> EvalResult:
    """Score a RAG run per topic.

    Args:
        run: the answers.
        measures: RAG measure names (``NuggetWeighted``, ``SupportPrecision``, ``RefnDCG@10``...).
        judgments: topic -> judgments of the run's answer (from ``rankers.rag``).
        nuggets: the nugget set (for the nugget scores).
        topics: the topics to score, in order (default: the nugget set's, else the run's);
            a topic the run does not answer scores 0.
        qrels: for ``RefnDCG@k`` and ``RefJudged@k``.
        name: the run's name in the result (default: its run id).

    Raises:
        MeasureError: a name is not a RAG measure, or a reference measure without qrels.
    """
    from ragbench.evaluation import registry
    from ragbench.evaluation.engine import EvalResult

    routed = registry.route(list(measures), "rag")
    order = (
        list(topics)
        if topics is not None
        else list(nuggets.topics)
        if nuggets is not None
        else list(run.answers)
    )
    importance = (
        {t: [n.importance for n in found] for t, found in nuggets.topics.items()}
        if nuggets is not None
        else None
    )
    data = RagData(run, tuple(order), judgments or {}, importance, qrels)
    values = registry.compute(routed, data)
    return EvalResult(
        run=name or run.run_id,
        measures=tuple(r.name for r in routed),
        query_ids=data.topics,
        per_query={r.name: v.per_query for r, v in zip(routed, values, strict=True)},
        aggregate={r.name: v.aggregate for r, v in zip(routed, values, strict=True)},
        fingerprints={r.name: r.provider.fingerprint(r.measure) for r in routed},
        notes={r.name: v.note for r, v in zip(routed, values, strict=True) if v.note},
    )

"""One answer of a RAG run with its judgments, for the answer page (blinding applied here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ragbench.errors import InputError, NotFoundError
from ragbench.store._blinding import per_topic_visible
from ragbench.store._common import latest_version, unpack
from ragbench.store._rag import parse_rag_run, read_nuggets
from ragbench.store._runs import get_run
from ragbench.store.models import RagJudgment, User


def rag_answer(s: Session, run_id: int, topic_id: str, actor: User | None) -> dict[str, Any]:
    """One answer of a RAG run with its judgments: sentences with their citations and support
    labels, the nuggets with their assignment, failures. On a hidden benchmark the judgments
    (per-answer values) are withheld from everyone but admins: ``judged`` is then None.

    Raises:
        NotFoundError: no such run, not a RAG run, or no answer to that topic.
    """
    from ragbench.evaluation.rag import AnswerJudgments

    run = get_run(s, run_id, actor)
    if run.kind != "rag":
        raise NotFoundError(f"run {run_id} is not a RAG run")
    parsed = parse_rag_run(run.benchmark, unpack(run.content, "run file"), f"run {run.id}")
    answer = parsed.run.answers.get(topic_id)
    if answer is None:
        raise NotFoundError(f"run {run_id} has no answer to topic {topic_id!r}")
    page: dict[str, Any] = {"run": run, "answer": answer, "judged": None, "nuggets": [], "failed": None}
    if not per_topic_visible(run.benchmark, actor):
        return page
    try:
        version = latest_version(s, run.benchmark_id, "rag")
    except InputError:
        return page
    row = s.scalar(
        select(RagJudgment).where(
            RagJudgment.run_id == run.id,
            RagJudgment.qrels_version_id == version.id,
            RagJudgment.topic_id == topic_id,
        )
    )
    nuggets = read_nuggets(version.content).topics.get(topic_id, ())
    if row is not None:
        judged = AnswerJudgments.from_dict(row.judgments)
        page["judged"] = judged
        page["failed"] = dict(judged.errors) or None
        labels = judged.nuggets or (None,) * len(nuggets)
        page["nuggets"] = [(n, label) for n, label in zip(nuggets, labels, strict=False)]
    else:
        page["nuggets"] = [(n, None) for n in nuggets]
    return page


def rag_run_answers(s: Session, run_id: int) -> list[tuple[str, str, int, int]]:
    """(topic id, topic, words, citations) of each answer of a RAG run, in the file's order."""
    run = get_run(s, run_id)
    parsed = parse_rag_run(run.benchmark, unpack(run.content, "run file"), f"run {run.id}")
    return [(a.topic_id, a.topic, a.words, a.citation_count) for a in parsed.run.answers.values()]

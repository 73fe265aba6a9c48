"""RAG benchmarks in the store: nugget sets (``rag`` qrels versions), RAG runs, their judgments.

A benchmark takes RAG runs once it has a nugget set: :func:`add_nugget_set` stores the set as the
next ``rag`` qrels version (versioned like qrels: a new or edited set is a new version, old ones
are kept with their scores) and gives the benchmark its RAG measures. A RAG run is a TREC RAG
(2024 or 2025) or QA answer file, checked against the benchmark's topics when submitted (every
problem with its line; nothing is written for a bad file) and evaluated by the worker: the
``rag`` judge stage (``RAGBENCH_RAG_JUDGE``, the LM layer) assigns the nuggets and judges every
citation against the corpus passages (``corpus_ref``), the judgments are stored per answer
(:class:`~ragbench.store.models.RagJudgment`, with provenance), and the RAG measures are stored
per topic like any score. An answer whose judging failed is stored ``failed``, not scored on the
failed part, and counted on the leaderboard.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ragbench.errors import InputError, NotFoundError
from ragbench.settings import get_settings
from ragbench.store._common import (
    as_bytes,
    benchmark_by_slug,
    latest_version,
    now,
    pack,
    require_admin,
    unpack,
)
from ragbench.store.models import ALL_TOPICS, Benchmark, QrelsVersion, RagJudgment, Run, User

if TYPE_CHECKING:
    from ragbench.evaluation.rag import AnswerJudgments, NuggetSet
    from ragbench.formats.rag import RagRun


@dataclass(frozen=True, slots=True)
class ParsedRag:
    """A RAG run read and checked against the benchmark's topics."""

    run: RagRun


def benchmark_topics(benchmark: Benchmark) -> dict[str, str] | None:
    """``{topic_id: title}`` of the benchmark's topics file, or None when it has none."""
    if not benchmark.topics:
        return None
    from ragbench.formats.topics import read_topics

    return {t.query_id: t.title for t in read_topics(benchmark.topics.encode("utf-8"), name="topics")}


def parse_rag_run(benchmark: Benchmark, run_bytes: bytes, filename: str) -> ParsedRag:
    """Read a RAG answer file against the benchmark's topics and the reference and length limits.

    Raises:
        FormatError: every problem with its line (unknown topics, changed topic text, ...).
    """
    from ragbench.formats.rag import read_rag

    settings = get_settings()
    run = read_rag(
        run_bytes,
        name=filename,
        topics=benchmark_topics(benchmark),
        max_references=settings.rag_max_references,
        max_words=settings.rag_max_words,
    )
    return ParsedRag(run)


def read_nuggets(content: bytes) -> NuggetSet:
    from ragbench.evaluation.rag import NuggetSet

    return NuggetSet.from_json(unpack(content, "nugget set"), name="nugget set")


def add_nugget_set(
    s: Session, actor: User | None, slug: str, data: str | bytes, *, measures: list[str] | None = None
) -> QrelsVersion:
    """Store a nugget set as the benchmark's next ``rag`` version (admin only); the first one makes
    the benchmark a RAG benchmark (``measures``, default ``default_measures("rag")``). RAG runs
    already stored become ``pending``: the worker evaluates them against the new set.

    Raises:
        AuthError, PermissionDenied: no actor, or not an admin.
        NotFoundError: no such benchmark.
        FormatError: the set is malformed.
        InputError: a topic the benchmark does not have; a bad measure.
        ConflictError: the set is identical to the latest version.
    """
    from ragbench.errors import ConflictError
    from ragbench.evaluation.rag import NuggetSet
    from ragbench.evaluation.registry import canonical_measures, default_measures

    require_admin(actor, "add a nugget set")
    nuggets = NuggetSet.from_json(as_bytes(data), name="nuggets")
    benchmark = benchmark_by_slug(s, slug, lock="versioning")
    topics = benchmark_topics(benchmark)
    if topics is not None:
        unknown = [t for t in nuggets.topics if t not in topics]
        if unknown:
            raise InputError(f"the nugget set has topics {unknown[:5]} that benchmark {slug!r} does not have")
    names = (
        canonical_measures(measures or default_measures("rag"), "rag")
        if measures or not benchmark.has_rag
        else None
    )
    content = nuggets.to_json()
    digest = hashlib.sha256(content).hexdigest()
    previous = s.scalar(
        select(QrelsVersion)
        .where(QrelsVersion.benchmark_id == benchmark.id, QrelsVersion.kind == "rag")
        .order_by(QrelsVersion.version.desc())
        .limit(1)
    )
    if previous is not None and previous.sha256 == digest:
        raise ConflictError(f"this nugget set is identical to version {previous.version} of {slug!r}")
    version = QrelsVersion(
        benchmark=benchmark,
        kind="rag",
        version=(previous.version + 1) if previous else 1,
        label_source="human" if nuggets.source == "human" else "llm",
        sha256=digest,
        content=pack(content),
        num_judgments=nuggets.count,
        created_at=now(),
    )
    s.add(version)
    if names:
        benchmark.rag_measures = names
    s.flush()
    for run in s.scalars(select(Run).where(Run.benchmark_id == benchmark.id, Run.kind == "rag")):
        run.status, run.error = "pending", None
    s.flush()
    return version


def nugget_set(
    s: Session, actor: User | None, slug: str, version: int | None = None
) -> tuple[QrelsVersion, NuggetSet]:
    """A nugget set of the benchmark (admin only: nuggets are judgments, never served to others).

    Raises:
        AuthError, PermissionDenied: no actor, or not an admin.
        NotFoundError: no such benchmark or version.
        InputError: the benchmark has no nugget set.
    """
    require_admin(actor, "read a nugget set")
    benchmark = benchmark_by_slug(s, slug)
    if version is None:
        found = latest_version(s, benchmark.id, "rag")
    else:
        found_or_none = s.scalar(
            select(QrelsVersion).where(
                QrelsVersion.benchmark_id == benchmark.id,
                QrelsVersion.kind == "rag",
                QrelsVersion.version == version,
            )
        )
        if found_or_none is None:
            raise NotFoundError(f"benchmark {slug!r} has no nugget set version {version}")
        found = found_or_none
    return found, read_nuggets(found.content)


@functools.lru_cache(maxsize=2)
def _judge(config: str) -> Any:
    """The ``rag`` judge stage built from a JSON config, once per process (a local model loads once)."""
    from ragbench.jobs.config import StageSpec
    from ragbench.jobs.registry import build

    return build(
        StageSpec("judge", "rag", "rag", json.loads(config), None, os.getcwd(), "RAGBENCH_RAG_JUDGE")
    )


@functools.lru_cache(maxsize=2)
def _corpus(path: str, mtime: float) -> dict[str, str]:
    from ragbench.formats.corpus import iter_corpus

    return {doc.doc_id: doc.contents for doc in iter_corpus(path)}


def passages(benchmark: Benchmark, run: RagRun) -> dict[str, str]:
    """The texts of the segments the run cites (from the benchmark's ``corpus_ref``; {} without one)."""
    ref = benchmark.corpus_ref
    if not ref or not os.path.isfile(ref):
        return {}
    texts = _corpus(ref, os.path.getmtime(ref))
    cited = {r for a in run.answers.values() for r in a.references}
    return {r: texts[r] for r in cited if r in texts}


def judge_run(benchmark: Benchmark, run: RagRun, nuggets: NuggetSet) -> dict[str, AnswerJudgments]:
    """The judge's judgments of every answer (LM calls; cached by the LM layer)."""
    stage = _judge(json.dumps(get_settings().rag_judge, sort_keys=True))
    items = {
        "run": run,
        "nuggets": nuggets,
        "passages": passages(benchmark, run),
        "parts": ("nuggets", "support"),
    }
    found: dict[str, AnswerJudgments] = stage.judge({}, items)
    return found


def stored_judgments(s: Session, run: Run, version: QrelsVersion) -> dict[str, AnswerJudgments] | None:
    """The judgments stored for the run against the nugget set ``version``, or None when it has
    none (never judged against that version)."""
    from ragbench.evaluation.rag import AnswerJudgments

    found = s.execute(
        select(RagJudgment.topic_id, RagJudgment.judgments).where(
            RagJudgment.run_id == run.id, RagJudgment.qrels_version_id == version.id
        )
    ).all()
    if not found:
        return None
    return {str(topic): AnswerJudgments.from_dict(data) for topic, data in found}


def rag_rows(
    s: Session,
    run: Run,
    version: QrelsVersion,
    parsed: ParsedRag | None,
    *,
    judgments: dict[str, AnswerJudgments] | None = None,
) -> list[dict[str, Any]]:
    """Score a RAG run against a nugget set version and the benchmark's latest qrels; returns the
    score rows (a topic whose value is undefined or failed has no row; ``all`` is the mean of the
    rest, and has no row either when no topic is left). Without ``judgments`` the judge judges
    every answer first and the judgments are stored; with them (e.g. :func:`stored_judgments`) no
    LM is asked and nothing but scores changes."""
    from ragbench.evaluation.rag import evaluate_rag
    from ragbench.formats.tables import new_pool
    from ragbench.formats.trec import read_qrels

    benchmark = run.benchmark
    if parsed is None:
        parsed = parse_rag_run(benchmark, unpack(run.content, "run file"), f"run {run.id}")
    nuggets = read_nuggets(version.content)
    judged = judgments is None
    if judgments is None:
        judgments = judge_run(benchmark, parsed.run, nuggets)
    qrels = read_qrels(
        unpack(latest_version(s, benchmark.id).content, "qrels"), name="qrels", pool=new_pool()
    )
    result = evaluate_rag(
        parsed.run,
        benchmark.measures_of("rag"),
        judgments=judgments,
        nuggets=nuggets,
        topics=list(nuggets.topics),
        qrels=qrels,
        name=str(run.id),
    )
    if judged:
        _store_judgments(s, run, version, judgments)
    rows: list[dict[str, Any]] = []
    for measure in result.measures:
        base = {"run_id": run.id, "qrels_version_id": version.id, "measure": measure,
                "fingerprint": result.fingerprints[measure].to_dict()}  # fmt: skip
        for topic, value in zip(result.query_ids, result.per_query[measure].tolist(), strict=True):
            if math.isfinite(value):
                rows.append({**base, "query_id": topic, "value": value})
        if math.isfinite(result.aggregate[measure]):  # no topic with a value (all failed): no mean
            rows.append({**base, "query_id": ALL_TOPICS, "value": result.aggregate[measure]})
    return rows


def _store_judgments(
    s: Session, run: Run, version: QrelsVersion, judgments: dict[str, AnswerJudgments]
) -> None:
    s.execute(
        delete(RagJudgment).where(RagJudgment.run_id == run.id, RagJudgment.qrels_version_id == version.id)
    )
    records = [
        {"run_id": run.id, "qrels_version_id": version.id, "topic_id": topic, "failed": bool(j.errors),
         "judgments": j.to_dict(), "created_at": now()}
        for topic, j in judgments.items()
    ]  # fmt: skip
    if records:
        s.execute(insert(RagJudgment), records)


def reads_qrels(benchmark: Benchmark) -> bool:
    """Whether some RAG measure of the benchmark reads the ad hoc qrels (``RefnDCG@k``, ``RefJudged@k``)."""
    from ragbench.evaluation.rag.measures import REFERENCES

    return any(m.startswith(REFERENCES) for m in benchmark.measures_of("rag"))


def failures(s: Session, slug: str, run_ids: list[int]) -> dict[int, int]:
    """run id -> answers whose judging failed, against the benchmark's latest nugget set (a count,
    not a per-answer value: public on hidden benchmarks too)."""
    if not run_ids:
        return {}
    version_id = latest_version(s, benchmark_by_slug(s, slug).id, "rag").id
    found = s.execute(
        select(RagJudgment.run_id, func.count())
        .where(
            RagJudgment.qrels_version_id == version_id, RagJudgment.run_id.in_(run_ids), RagJudgment.failed
        )
        .group_by(RagJudgment.run_id)
    ).all()
    return {int(run_id): int(count) for run_id, count in found}


def check_rag_benchmark(benchmark: Benchmark, actor: User | None) -> None:
    """Raise InputError when the benchmark takes no RAG runs (no nugget set yet)."""
    del actor
    if not benchmark.has_rag:
        raise InputError(
            f"benchmark {benchmark.slug!r} takes no RAG runs yet: an admin adds a nugget set first "
            "(ragbench rag nuggets import, or POST /api/v1/benchmarks/{slug}/nuggets)"
        )


__all__ = [
    "ParsedRag",
    "add_nugget_set",
    "benchmark_topics",
    "check_rag_benchmark",
    "failures",
    "judge_run",
    "nugget_set",
    "parse_rag_run",
    "rag_rows",
    "reads_qrels",
    "stored_judgments",
]

"""The tables of the features built on the core: the arena, suites and reproductions, LLM-judged
qrels and judge jobs, RAG answer judgments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ragbench.store.models._base import (
    BATTLE_SOURCES,
    JUDGE_MODES,
    JUDGE_STATUSES,
    QRELS_SOURCES,
    VERDICTS,
    VOTER_KINDS,
    Base,
    BigId,
    _now,
    _one_of,
)  # fmt: skip
from ragbench.store.models._core import Benchmark


class ArenaBattle(Base):
    """Two runs side by side on one topic, as voters see them (the arena).

    ``a`` is the side shown on the left, ``b`` on the right (drawn at random). ``side_a`` and
    ``side_b`` are what was shown (a ranking's top documents, or an answer with its citations),
    kept as drawn, so a vote always refers to exactly what the voter saw; ``system_a`` and
    ``system_b`` keep the names, so the vote log stays readable after a run is deleted (its id
    becomes NULL and its votes are no longer rated).
    """

    __tablename__ = "arena_battle"
    __table_args__ = (
        CheckConstraint("run_a_id <> run_b_id", name="distinct_runs"),
        _one_of("source", BATTLE_SOURCES),
        UniqueConstraint("benchmark_id", "external_id"),
        Index(None, "benchmark_id", "query_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    query_id: Mapped[str] = mapped_column(Text)
    query_text: Mapped[str] = mapped_column(Text, default="")
    run_a_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"), index=True)
    run_b_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"), index=True)
    system_a: Mapped[str] = mapped_column(String(200))
    system_b: Mapped[str] = mapped_column(String(200))
    side_a: Mapped[dict[str, Any]]
    side_b: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(16), default="drawn")
    external_id: Mapped[str | None] = mapped_column(String(300))
    """Where an imported battle came from (``source-name#instance``): a second import is refused."""
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())


class ArenaVote(Base):
    """One row of the arena's vote log, never updated or deleted: a retraction is a new row
    pointing at the vote it withdraws (``retracts_id``), with no verdict of its own.

    ``answer`` is the verdict on the answers, ``evidence`` on the evidence (the cited passages, or
    a ranking's documents): each one of ``a``, ``b``, ``tie``, ``bad`` (both bad), or NULL when not
    asked. A voter (``voter_key``: ``user:<id>``, ``anon:<session>``, ``llm:<judge>``,
    ``import:<source>:<annotator>``) votes once per battle (a partial unique index). LM and
    imported votes carry ``provenance``; an imported one its original ``label``.
    """

    __tablename__ = "arena_vote"
    __table_args__ = (
        _one_of("answer", VERDICTS),
        _one_of("evidence", VERDICTS),
        _one_of("voter_kind", VOTER_KINDS),
        CheckConstraint(
            "retracts_id IS NOT NULL OR answer IS NOT NULL OR evidence IS NOT NULL", name="has_verdict"
        ),
        Index(
            "uq_arena_vote_battle_voter",
            "battle_id",
            "voter_key",
            unique=True,
            sqlite_where=text("retracts_id IS NULL"),
            postgresql_where=text("retracts_id IS NULL"),
        ),
        Index(None, "voter_key", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"), index=True)
    battle_id: Mapped[int] = mapped_column(ForeignKey("arena_battle.id", ondelete="CASCADE"), index=True)
    query_id: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(String(8))
    evidence: Mapped[str | None] = mapped_column(String(8))
    voter_kind: Mapped[str] = mapped_column(String(8))
    voter_key: Mapped[str] = mapped_column(String(200))
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    retracts_id: Mapped[int | None] = mapped_column(ForeignKey("arena_vote.id"), unique=True)
    label: Mapped[int | None]
    """An imported vote's original label (e.g. -2..2)."""
    provenance: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())

    battle: Mapped[ArenaBattle] = relationship()


class Suite(Base):
    """A group of benchmarks ranked together (BEIR-style), with its measures and aggregation.

    A *system* of a suite is a name: the runs submitted under that system name to the suite's
    benchmarks. ``aggregation`` holds ``reference`` (the meta-analyses' reference system),
    ``missing`` (Borda's missing-benchmark policy), ``posthoc`` (``nemenyi`` or ``wilcoxon-holm``)
    and ``alpha``.
    """

    __tablename__ = "suite"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[list[str]]
    aggregation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())

    members: Mapped[list[SuiteBenchmark]] = relationship(
        back_populates="suite", order_by="SuiteBenchmark.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"Suite(id={self.id!r}, slug={self.slug!r})"


class SuiteBenchmark(Base):
    """A benchmark of a suite, in suite order; ``subgroup`` names the group it is averaged in first
    (None: it stands on its own)."""

    __tablename__ = "suite_benchmark"
    __table_args__ = (UniqueConstraint("suite_id", "benchmark_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    suite_id: Mapped[int] = mapped_column(ForeignKey("suite.id", ondelete="CASCADE"))
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    subgroup: Mapped[str | None] = mapped_column(String(100))

    suite: Mapped[Suite] = relationship(back_populates="members")
    benchmark: Mapped[Benchmark] = relationship()


class Reproduction(Base):
    """One ``ragbench reproduce`` of a suite: its matrix of (condition, benchmark, measure) cells.

    ``cells`` is a list of ``{condition, benchmark, measure, expected, tolerance, observed, status,
    run_id}`` (status ``green``, ``red`` or ``unchecked``); ``passed`` is True when no cell is red.
    """

    __tablename__ = "reproduction"

    id: Mapped[int] = mapped_column(primary_key=True)
    suite_id: Mapped[int] = mapped_column(ForeignKey("suite.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    passed: Mapped[bool] = mapped_column(Boolean)
    cells: Mapped[list[Any]] = mapped_column(JSON)
    environment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())

    suite: Mapped[Suite] = relationship()


class QrelsOrigin(Base):
    """Where a qrels version's labels come from, for versions an LM judged (none: all human).

    ``label_sources`` is ``llm`` (every label by the judge: LLM-only qrels) or ``mixed`` (the human
    labels of ``based_on`` with the judge's labels filling its holes); ``judge`` describes the judge
    (model, backend and fingerprint, prompt and its hash, samples, temperature) and its counts.
    """

    __tablename__ = "qrels_origin"
    __table_args__ = (_one_of("label_sources", QRELS_SOURCES),)

    qrels_version_id: Mapped[int] = mapped_column(
        ForeignKey("qrels_version.id", ondelete="CASCADE"), primary_key=True
    )
    label_sources: Mapped[str] = mapped_column(String(16))
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("qrels_version.id", ondelete="SET NULL"))
    judge: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())


class LLMLabel(Base):
    """One pair an LM judged for a qrels version: its label (``None``: the judge failed, and the
    pair has no line in the qrels) and the label's provenance."""

    __tablename__ = "llm_label"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    qrels_version_id: Mapped[int] = mapped_column(
        ForeignKey("qrels_version.id", ondelete="CASCADE"), index=True
    )
    query_id: Mapped[str] = mapped_column(Text)
    doc_id: Mapped[str] = mapped_column(Text)
    relevance: Mapped[int | None]
    failure: Mapped[str | None] = mapped_column(Text)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)


class JudgeJob(Base):
    """An admin's request to judge a benchmark's holes (``mode`` ``holes``) or whole pool
    (``all``) with an LM, done by the worker; ``result_version_id`` is the qrels version it made."""

    __tablename__ = "judge_job"
    __table_args__ = (_one_of("status", JUDGE_STATUSES), _one_of("mode", JUDGE_MODES))

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    mode: Mapped[str] = mapped_column(String(16), default="holes")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    done: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    total: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result_version_id: Mapped[int | None] = mapped_column(ForeignKey("qrels_version.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())
    finished_at: Mapped[datetime | None]

    benchmark: Mapped[Benchmark] = relationship()


class RagJudgment(Base):
    """The judgments of one answer of a RAG run against one nugget set version (``rag`` qrels
    version): nugget assignments, support labels per (sentence, citation), claim checks, with
    the judge's outputs and their provenance. ``failed``: some part could not be judged (the
    answer is then not scored on that part's measures, and counted as failed)."""

    __tablename__ = "rag_judgment"
    __table_args__ = (UniqueConstraint("run_id", "qrels_version_id", "topic_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    qrels_version_id: Mapped[int] = mapped_column(ForeignKey("qrels_version.id", ondelete="CASCADE"))
    topic_id: Mapped[str] = mapped_column(Text)
    failed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    judgments: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())

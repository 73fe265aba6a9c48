"""The core tables: users and tokens, benchmarks and their qrels versions, systems, runs, scores
and the submission log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Double,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ragbench.store.models._base import (
    DEFAULT_MEASURES,
    JUDGED_MEASURE,
    KINDS,
    LABEL_SOURCES,
    ROLES,
    RUN_STATUSES,
    Base,
    BigId,
    _now,
    _one_of,
)  # fmt: skip


class User(Base):
    """A person or a team; ``role`` is ``admin`` or ``member``."""

    __tablename__ = "user"
    __table_args__ = (_one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, name={self.name!r}, role={self.role!r})"


class ApiToken(Base):
    """An API token; only the sha256 of the token is stored, plus its first 8 characters."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    expires_at: Mapped[datetime | None]
    """When the token stops working (None: never); refused like a revoked one after that."""

    user: Mapped[User] = relationship()


class Benchmark(Base):
    """A set of topics with versioned relevance judgments that runs are scored against.

    ``measures`` are canonical ir-measures names; ``Judged@10`` is scored in addition whether
    listed or not. A ``hidden`` benchmark shows aggregates only: per-topic scores and qrels are
    withheld from everyone but admins.
    """

    __tablename__ = "benchmark"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())
    topics: Mapped[str | None] = mapped_column(Text)
    corpus_ref: Mapped[str | None] = mapped_column(Text)
    measures: Mapped[list[str]] = mapped_column(default=lambda: list(DEFAULT_MEASURES))
    sessions: Mapped[str | None] = mapped_column(Text, deferred=True)
    """The session topics file (sessions and their queries), stored as given; None: no sessions.
    Deferred: read only when a session run is checked or scored, not with every benchmark."""
    session_measures: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    """Canonical session measure names the session runs are scored on (empty without sessions)."""
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    """Where the benchmark's files came from and how they were read: source files and their
    sha256, the format (``smart``, ``ir_datasets`` ...), grade mapping, query numbering, the
    ir_datasets id and version. Empty for a benchmark registered from TREC files as they are."""
    rag_measures: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    """Canonical RAG measure names the RAG runs are scored on (empty until a nugget set is added)."""

    qrels_versions: Mapped[list[QrelsVersion]] = relationship(
        back_populates="benchmark", order_by="QrelsVersion.version", cascade="all, delete-orphan"
    )

    @property
    def scored_measures(self) -> list[str]:
        """``measures`` plus ``Judged@10`` when absent: every measure stored for each run."""
        return [*self.measures, *([] if JUDGED_MEASURE in self.measures else [JUDGED_MEASURE])]

    @property
    def has_sessions(self) -> bool:
        """Whether the benchmark carries sessions (and so takes session runs): it has session
        measures exactly when it has sessions (read without loading the deferred file)."""
        return bool(self.session_measures)

    @property
    def has_rag(self) -> bool:
        """Whether the benchmark takes RAG runs (it has a nugget set, and so RAG measures)."""
        return bool(self.rag_measures)

    def measures_of(self, kind: str) -> list[str]:
        """Every measure stored for a run of ``kind``: ``scored_measures``, ``session_measures``
        or ``rag_measures``."""
        if kind == "rag":
            return list(self.rag_measures or [])
        return list(self.session_measures or []) if kind == "session" else self.scored_measures

    def __repr__(self) -> str:
        return f"Benchmark(id={self.id!r}, slug={self.slug!r}, hidden={self.hidden!r})"


class QrelsVersion(Base):
    """One version of a benchmark's judgments (1, 2, ...); a new version never overwrites.

    ``kind`` ``adhoc``: TREC qrels of the topics; ``session``: session qrels of the benchmark's
    sessions. Each kind is numbered on its own (session qrels version 1, 2, ...), and the scores of
    a run are always against a version of the run's own kind.
    """

    __tablename__ = "qrels_version"
    __table_args__ = (
        UniqueConstraint("benchmark_id", "kind", "version"),
        _one_of("label_source", LABEL_SOURCES),
        _one_of("kind", KINDS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="adhoc", server_default=text("'adhoc'"))
    version: Mapped[int]
    label_source: Mapped[str] = mapped_column(String(16), default="human")
    sha256: Mapped[str] = mapped_column(String(64))
    num_judgments: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    """The qrels file, zlib-compressed (last column: see ``Run.content``)."""

    benchmark: Mapped[Benchmark] = relationship(back_populates="qrels_versions")


class System(Base):
    """A named system of one owner on one benchmark; its runs are the files submitted under it."""

    __tablename__ = "system"
    __table_args__ = (UniqueConstraint("benchmark_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    """The ``metadata`` column (``metadata`` itself is reserved by SQLAlchemy's declarative base)."""

    owner: Mapped[User] = relationship()
    benchmark: Mapped[Benchmark] = relationship()


class Run(Base):
    """One submitted run file and its scoring status.

    ``kind`` ``adhoc``: a TREC run, scored per topic; ``session``: a session run, scored per
    session against the benchmark's session qrels (its ``num_topics`` counts sessions).
    ``status``: ``pending`` (stored, waiting for the worker), ``scoring`` (claimed by a worker),
    ``scored`` (scores stored against the latest qrels version) or ``failed`` (``error`` says why).
    """

    __tablename__ = "run"
    __table_args__ = (
        UniqueConstraint("benchmark_id", "sha256"),
        _one_of("status", RUN_STATUSES),
        _one_of("kind", KINDS),
        Index(None, "status"),
        # Ids are never reused (SQLite would reuse the largest after a delete): the leaderboard's
        # tier cache is keyed by the largest run id.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("system.id", ondelete="CASCADE"), index=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="adhoc", server_default=text("'adhoc'"))
    num_lines: Mapped[int]
    num_topics: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())
    scored_at: Mapped[datetime | None]
    # Last, so that SQLite reads the other columns without walking the blob's overflow pages.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    """The run file as uploaded, zlib-compressed."""
    retry_at: Mapped[datetime | None] = mapped_column(deferred=True)
    """When the worker may claim the run again after a claim that did not finish (None: at once).
    After the blob (added by a later migration) and deferred, so loading a run never reads it."""
    ir_metadata: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    """The run file's ir_metadata header (``ragbench.formats.ir_metadata``), None without one.
    Added after ``content`` (SQLite appends columns) and deferred: lists of runs never read it."""

    system: Mapped[System] = relationship()
    benchmark: Mapped[Benchmark] = relationship()
    owner: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, status={self.status!r}, num_lines={self.num_lines!r})"


class Score(Base):
    """One value: a run on a measure and a topic (``query_id`` ``"all"`` for the mean), against
    one qrels version, with the fingerprint of the engine that computed it."""

    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("run_id", "qrels_version_id", "measure", "query_id"),
        Index(None, "qrels_version_id", "measure", "query_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    qrels_version_id: Mapped[int] = mapped_column(ForeignKey("qrels_version.id", ondelete="CASCADE"))
    measure: Mapped[str] = mapped_column(String(200))
    query_id: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Double)
    fingerprint: Mapped[dict[str, Any]]


class Submission(Base):
    """One stored run, as a record that outlives the run: quotas count deleted runs too.

    ``run_id`` is a plain integer (no foreign key), so deleting the run keeps the record.
    """

    __tablename__ = "submission"
    __table_args__ = (Index(None, "benchmark_id", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    benchmark_id: Mapped[int] = mapped_column(ForeignKey("benchmark.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=_now, server_default=func.now())

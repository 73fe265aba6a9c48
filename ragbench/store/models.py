"""The tables of the evaluation service, as typed SQLAlchemy 2.0 models.

The schema changes only through Alembic (``migrations/``); a test checks that the migrations
and these models agree. Blobs (run files, qrels) are zlib-compressed and deferred, so loading a
:class:`Run` or a :class:`QrelsVersion` never reads its file unless ``content`` is accessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ragbench.evaluation.registry import DEFAULTS

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

ROLES = ("admin", "member")
LABEL_SOURCES = ("human", "llm")
"""``QrelsVersion.label_source``: ``human`` (every label by people) or ``llm`` (some or all by an LM;
:class:`QrelsOrigin` says which)."""
QRELS_SOURCES = ("human", "llm", "mixed")
"""What a version's labels are: all human, all LLM, or human labels with LLM labels filling holes."""
JUDGE_STATUSES = ("pending", "running", "done", "failed")
JUDGE_MODES = ("holes", "all")
LLM_SHARE_BADGE = "LLM-filled"
KINDS = ("adhoc", "session")
"""What a run or a qrels version is about: ad hoc topics (TREC runs and qrels) or search sessions."""
RUN_STATUSES = ("pending", "scoring", "scored", "failed")
VERDICTS = ("a", "b", "tie", "bad")
"""An arena verdict: side ``a`` (shown left) better, side ``b`` better, a tie, or both bad."""
VOTER_KINDS = ("user", "anon", "llm", "import")
"""Who cast an arena vote: a signed-in user, an anonymous session, an LM judge, an imported annotator."""
HUMAN_VOTERS = ("user", "anon", "import")
BATTLE_SOURCES = ("drawn", "import")
ALL_TOPICS = "all"
"""``Score.query_id`` of the row holding the mean over topics."""
DEFAULT_MEASURES = DEFAULTS["leaderboard"]
"""A new benchmark's measures: the registry's ``leaderboard`` list."""
JUDGED_MEASURE = "Judged@10"
"""Scored for every run whatever the benchmark's measures: the leaderboard shows it."""

# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _now() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; the naming convention keeps constraint names stable across databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


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

    def measures_of(self, kind: str) -> list[str]:
        """Every measure stored for a run of ``kind``: ``scored_measures`` or ``session_measures``."""
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

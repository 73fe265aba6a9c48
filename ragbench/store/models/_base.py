"""The declarative base, the shared column types and the allowed values of the service's tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Integer,
    MetaData,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
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
KINDS = ("adhoc", "session", "rag")
"""What a run or a qrels version is about: ad hoc topics (TREC runs and qrels), search sessions,
or RAG answers (a RAG run is a TREC RAG answer file; a ``rag`` version is a nugget set)."""
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

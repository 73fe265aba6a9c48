"""Helpers shared by the service modules: access checks, look-ups, blobs, dialect-aware inserts."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Insert, insert, select
from sqlalchemy.orm import Session

from ragbench.errors import AuthError, InputError, NotFoundError, PermissionDenied, RagbenchError
from ragbench.store.models import KINDS, Benchmark, QrelsOrigin, QrelsVersion, User

Lock = Literal["scoring", "versioning"]
MAX_ID = 2**31 - 1
"""The largest id any table can hold (PostgreSQL ``integer``); a larger one names nothing."""
VIEWS = ("human", "filled", "llm")
"""Qrels views: human labels only (holes non-relevant), LLM-filled holes, LLM-only labels."""
VIEW_SOURCES = {"human": "human", "filled": "mixed", "llm": "llm"}
ZLIB_LEVEL = 1
"""Fastest compression: 37 MB of run compress to 12 MB in 0.3 s (level 6: 11 MB in 1.0 s)."""


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def check_id(value: int, what: str) -> int:
    """``value`` when it can be the id of a row; a larger (or non-positive) one names nothing.

    Raises:
        NotFoundError: ``value`` is outside ``1..MAX_ID`` (2^31 - 1).
    """
    if not 1 <= value <= MAX_ID:
        raise NotFoundError(f"no {what} {value}")
    return value


def require_user(actor: User | None, doing: str = "do this") -> User:
    """``actor``, or AuthError when there is none (an anonymous request).

    Raises:
        AuthError: ``actor`` is None.
    """
    if actor is None:
        raise AuthError(f"sign in with an API token to {doing}")
    return actor


def require_admin(actor: User | None, doing: str = "do this") -> User:
    """``actor`` when it is an admin.

    Raises:
        AuthError: ``actor`` is None.
        PermissionDenied: ``actor`` is not an admin.
    """
    user = require_user(actor, doing)
    if not user.is_admin:
        raise PermissionDenied(f"only an admin may {doing}")
    return user


def benchmark_by_slug(s: Session, slug: str, lock: Lock | None = None) -> Benchmark:
    """The benchmark called ``slug``, its row locked when ``lock`` says so (see :func:`lock_benchmark`).

    Raises:
        NotFoundError: there is none.
    """
    query = select(Benchmark).where(Benchmark.slug == slug)
    if lock is not None:
        query = _locked(query, lock).execution_options(populate_existing=True)
    benchmark = s.scalar(query)
    if benchmark is None:
        raise NotFoundError(f"no benchmark {slug!r}")
    return benchmark


def _locked(query: Any, lock: Lock) -> Any:
    return query.with_for_update(read=lock == "scoring", key_share=lock == "scoring")


def lock_benchmark(s: Session, benchmark_id: int, lock: Lock) -> None:
    """Lock a benchmark's row until the transaction ends (PostgreSQL; SQLite serialises writers).

    ``"scoring"`` (``FOR KEY SHARE``) is taken by whatever scores runs against the latest qrels
    version (submissions, the worker); ``"versioning"`` (``FOR UPDATE``) by a new qrels version.
    So a new version waits for the scorings under way, and scorings wait for it to be committed
    with its re-scoring: no run is left scored against an outdated version. Always lock the
    benchmark before any of its runs, so that two transactions cannot wait for each other.
    """
    s.execute(_locked(select(Benchmark.id).where(Benchmark.id == benchmark_id), lock))


def latest_version(s: Session, benchmark_id: int, kind: str = "adhoc") -> QrelsVersion:
    """The benchmark's newest qrels version of ``kind`` (``adhoc``: every benchmark has at least
    version 1; ``session``: every benchmark with sessions has at least version 1).

    Raises:
        InputError: ``kind`` is ``session`` and the benchmark has no sessions.
    """
    version = s.scalar(
        select(QrelsVersion)
        .where(QrelsVersion.benchmark_id == benchmark_id, QrelsVersion.kind == kind)
        .order_by(QrelsVersion.version.desc())
        .limit(1)
    )
    if version is None:
        if kind in ("session", "rag"):
            slug = s.scalar(select(Benchmark.slug).where(Benchmark.id == benchmark_id))
            if kind == "rag":
                raise InputError(
                    f"benchmark {slug!r} takes no RAG runs yet: an admin adds a nugget set first "
                    "(ragbench rag nuggets import, or POST /api/v1/benchmarks/SLUG/nuggets)"
                )
            raise InputError(f"benchmark {slug!r} has no sessions")
        raise NotFoundError(f"benchmark {benchmark_id} has no qrels")  # pragma: no cover
    return version


def check_kind(kind: str) -> str:
    """``kind`` when it is ``adhoc``, ``session`` or ``rag``.

    Raises:
        InputError: it is neither.
    """
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def pack(data: bytes) -> bytes:
    """Compress a file for storage."""
    return zlib.compress(data, ZLIB_LEVEL)


def unpack(blob: bytes, what: str) -> bytes:
    """Decompress a stored file.

    Raises:
        RagbenchError: the blob is not zlib data (the row was damaged outside ragbench).
    """
    try:
        return zlib.decompress(blob)
    except zlib.error as exc:
        raise RagbenchError(f"the stored {what} is damaged: {exc}") from None


def as_bytes(text: str | bytes) -> bytes:
    """File content given as text or bytes, as bytes (UTF-8)."""
    return text if isinstance(text, bytes) else text.encode("utf-8")


def insert_ignoring_conflict(s: Session, model: type[Any], values: dict[str, Any], keys: list[str]) -> None:
    """INSERT a row unless one with the same ``keys`` exists (ON CONFLICT DO NOTHING).

    Under concurrency the losing transaction waits for the winner and then does nothing, so
    get-or-create needs no savepoint (SQLite's driver cannot nest transactions reliably).
    """
    dialect = s.get_bind().dialect.name
    statement: Insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    else:  # pragma: no cover - other databases are not supported; a race then raises IntegrityError
        statement = insert(model).values(**values)
    s.execute(statement)


def view_version(s: Session, benchmark_id: int, view: str, kind: str = "adhoc") -> QrelsVersion | None:
    """The latest version of ``kind`` whose labels are those of ``view`` (None: there is none).

    Raises:
        InputError: an unknown view.
    """
    if view not in VIEWS:
        raise InputError(f"qrels view {view!r} is not one of {', '.join(VIEWS)}")
    query = (
        select(QrelsVersion)
        .outerjoin(QrelsOrigin, QrelsOrigin.qrels_version_id == QrelsVersion.id)
        .where(QrelsVersion.benchmark_id == benchmark_id, QrelsVersion.kind == kind)
        .order_by(QrelsVersion.version.desc())
        .limit(1)
    )
    if view == "human":
        query = query.where(QrelsVersion.label_source == "human")
    elif view == "filled":
        query = query.where(QrelsOrigin.label_sources == "mixed")
    else:  # LLM-only: judged by an LM without human labels (or added as llm before origins existed)
        query = query.where(
            QrelsVersion.label_source == "llm",
            (QrelsOrigin.label_sources == "llm") | QrelsOrigin.qrels_version_id.is_(None),
        )
    return s.scalar(query)


def current_versions(s: Session, benchmark_id: int, kind: str = "adhoc") -> list[QrelsVersion]:
    """The versions a run is scored against: the latest of each view (human, filled, LLM-only)."""
    found = [view_version(s, benchmark_id, v, kind) for v in VIEWS]
    return sorted({v.id: v for v in found if v is not None}.values(), key=lambda v: v.version)


def views_of(s: Session, benchmark_id: int) -> list[str]:
    """The qrels views a benchmark can be read under (``human`` always)."""
    return [v for v in VIEWS if view_version(s, benchmark_id, v) is not None]

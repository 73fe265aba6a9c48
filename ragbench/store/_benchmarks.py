"""Benchmarks, their qrels versions, and their sessions with their session qrels versions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragbench.errors import ConflictError, InputError
from ragbench.settings import get_settings
from ragbench.store._common import (
    as_bytes,
    benchmark_by_slug,
    check_kind,
    latest_version,
    now,
    pack,
    require_admin,
)
from ragbench.store._scoring import (
    benchmark_sessions,
    read_qrels_bytes,
    read_session_qrels_bytes,
    read_sessions_bytes,
    rescore_benchmark,
)
from ragbench.store.models import LABEL_SOURCES, Benchmark, QrelsVersion, User

SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


def _check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise InputError(
            f"benchmark slug {slug!r} must be 1 to 100 characters a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )
    return slug


def _benchmark_measures(measures: Sequence[str] | None) -> list[str]:
    """A benchmark's measures in canonical form (None: the ``leaderboard`` defaults).

    Raises:
        MeasureError: a name does not parse, lacks a parameter or cannot be computed here
            (every bad one named).
        InputError: no measure.
    """
    from ragbench.evaluation.registry import canonical_measures, default_measures

    names = canonical_measures(default_measures("leaderboard") if measures is None else measures, "adhoc")
    if not names:
        raise InputError("a benchmark needs at least one measure")
    return names


def _session_measures(measures: Sequence[str] | None) -> list[str]:
    """A benchmark's session measures in canonical form (None: the ``session`` defaults).

    Raises:
        MeasureError: a name does not parse (every bad one named).
        InputError: no measure.
    """
    from ragbench.evaluation.registry import canonical_measures, default_measures

    names = canonical_measures(default_measures("session") if measures is None else measures, "session")
    if not names:
        raise InputError("sessions need at least one session measure")
    return names


def _json_object(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError("provenance must be a JSON object")
    try:
        data: dict[str, Any] = json.loads(json.dumps(dict(value)))
    except (TypeError, ValueError) as exc:
        raise InputError(f"provenance is not JSON: {exc}") from None
    return data


def _check_label_source(label_source: str) -> None:
    if label_source not in LABEL_SOURCES:
        raise InputError(f"label source {label_source!r} is not one of {', '.join(LABEL_SOURCES)}")


def _check_qrels(qrels: bytes, label_source: str) -> int:
    """The number of judgments in valid qrels."""
    _check_label_source(label_source)
    return len(read_qrels_bytes(qrels))


def _as_text(data: str | bytes) -> str:
    return data.decode("utf-8") if isinstance(data, bytes) else data


def _new_version(
    benchmark: Benchmark, number: int, qrels: bytes, label_source: str, judgments: int, kind: str = "adhoc"
) -> QrelsVersion:
    return QrelsVersion(
        benchmark=benchmark,
        kind=kind,
        version=number,
        label_source=label_source,
        sha256=hashlib.sha256(qrels).hexdigest(),
        content=pack(qrels),
        num_judgments=judgments,
        created_at=now(),
    )


def create_benchmark(
    s: Session,
    actor: User | None,
    slug: str,
    *,
    title: str = "",
    description: str = "",
    topics_text: str | None = None,
    qrels_text: str,
    corpus_ref: str | None = None,
    hidden: bool = False,
    measures: Sequence[str] | None = None,
    sessions_text: str | bytes | None = None,
    session_qrels_text: str | bytes | None = None,
    session_measures: Sequence[str] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Benchmark:
    """Register a benchmark with its first qrels version (admin only), and optionally its sessions
    with their first session qrels version (as :func:`add_sessions` does later).

    Args:
        s: The session; the caller commits.
        actor: The admin doing it.
        slug: URL name, 1 to 100 characters ``a-z 0-9 . _ -``.
        title: Display title.
        description: Free text.
        topics_text: The topics file (TREC, SGML, TSV or JSONL), checked and stored as given.
        qrels_text: The TREC qrels (version 1, label source ``human``).
        corpus_ref: Where the corpus lives (a path, an ir_datasets id), stored as given.
        hidden: Blind benchmark: per-topic scores withheld from everyone but admins.
        measures: ir-measures names (default ``default_measures("leaderboard")``: ``nDCG@10 AP
            P@10 R@1000 RR Bpref Judged@10``); stored canonical; ``Judged@10`` is scored in any case.
        sessions_text: The sessions file (``session_id query_index query``), stored as given;
            needs ``session_qrels_text``.
        session_qrels_text: The session qrels (session qrels version 1, label source ``human``).
        session_measures: Session measure names (default ``default_measures("session")``),
            stored canonical.
        provenance: Where the files came from and how they were read (a JSON object: source
            files and hashes, SMART grade mapping, ir_datasets id and version).

    Raises:
        AuthError, PermissionDenied: no actor, or not an admin.
        InputError: a bad slug, measure, a topic or session called ``all``, sessions without
            session qrels or the other way round.
        MeasureError: a bad measure or session measure.
        FormatError: malformed qrels, topics, sessions or session qrels (every problem with its
            line), or session qrels of sessions or queries the sessions lack.
        ConflictError: the slug is taken.
    """
    from ragbench.formats.topics import read_topics

    require_admin(actor, "create a benchmark")
    _check_slug(slug)
    names = _benchmark_measures(measures)
    qrels = as_bytes(qrels_text)
    judgments = _check_qrels(qrels, "human")
    if topics_text is not None:
        read_topics(as_bytes(topics_text), name="topics")
    if (sessions_text is None) != (session_qrels_text is None):
        raise InputError("sessions and session qrels go together: give both or neither")
    if session_measures is not None and sessions_text is None:
        raise InputError("session measures need sessions and session qrels")
    session_version: tuple[bytes, int, list[str]] | None = None
    if sessions_text is not None and session_qrels_text is not None:
        session_version = _check_sessions(sessions_text, session_qrels_text, session_measures)
    if s.scalar(select(Benchmark.id).where(Benchmark.slug == slug)) is not None:
        raise ConflictError(f"benchmark {slug!r} exists")
    benchmark = Benchmark(
        slug=slug,
        title=title or "",
        description=description or "",
        hidden=bool(hidden),
        topics=topics_text.decode("utf-8") if isinstance(topics_text, bytes) else topics_text,
        corpus_ref=corpus_ref,
        measures=names,
        provenance=_json_object(provenance),
        created_at=now(),
    )
    version = _new_version(benchmark, 1, qrels, "human", judgments)
    s.add_all([benchmark, version])
    if session_version is not None and sessions_text is not None:
        session_qrels, session_judgments, session_names = session_version
        benchmark.sessions = _as_text(sessions_text)
        benchmark.session_measures = session_names
        s.add(_new_version(benchmark, 1, session_qrels, "human", session_judgments, kind="session"))
    try:
        s.flush()
    except IntegrityError:  # created by a concurrent request since the check above
        raise ConflictError(f"benchmark {slug!r} exists") from None
    return benchmark


def add_qrels_version(
    s: Session, actor: User | None, slug: str, qrels_text: str, label_source: str = "human"
) -> QrelsVersion:
    """Add the next qrels version of a benchmark (admin only) and re-score its runs against it.

    Older versions and their scores are kept. Runs of up to ``RAGBENCH_INLINE_SCORING_LINES``
    lines are re-scored in this transaction; larger ones become ``pending`` for the worker (the
    leaderboard, which reads the latest version, lists them again once scored).

    Raises:
        AuthError, PermissionDenied: no actor, or not an admin.
        NotFoundError: no such benchmark.
        InputError: a bad label source, or a topic called ``all``.
        FormatError: malformed qrels.
        ConflictError: the qrels are identical to the latest version's.
    """
    require_admin(actor, "add qrels")
    data = as_bytes(qrels_text)
    judgments = _check_qrels(data, label_source)  # before waiting for the lock
    benchmark = benchmark_by_slug(s, slug, lock="versioning")
    latest = latest_version(s, benchmark.id)
    if hashlib.sha256(data).hexdigest() == latest.sha256:
        raise ConflictError(f"these qrels are identical to version {latest.version} of {slug!r}")
    version = _new_version(benchmark, latest.version + 1, data, label_source, judgments)
    s.add(version)
    try:
        s.flush()
    except IntegrityError:
        raise ConflictError(
            f"version {latest.version + 1} of {slug!r} was added meanwhile; try again"
        ) from None
    rescore_benchmark(s, benchmark.id, version, get_settings().inline_scoring_lines)
    return version


def _check_sessions(
    sessions_text: str | bytes, qrels_text: str | bytes, measures: Sequence[str] | None
) -> tuple[bytes, int, list[str]]:
    """Validate sessions, their qrels and session measures; (qrels bytes, judgments, measures)."""
    names = _session_measures(measures)
    topics = read_sessions_bytes(as_bytes(sessions_text))
    qrels = as_bytes(qrels_text)
    return qrels, len(read_session_qrels_bytes(qrels, topics)), names


def add_sessions(
    s: Session,
    actor: User | None,
    slug: str,
    sessions_text: str | bytes,
    qrels_text: str | bytes,
    *,
    measures: Sequence[str] | None = None,
    label_source: str = "human",
) -> Benchmark:
    """Give a benchmark its sessions and their first session qrels version (admin only).

    The sessions file is stored as given; session runs are then checked against it. A benchmark's
    sessions do not change once set (new judgments come as session qrels versions).

    Args:
        s: The session; the caller commits.
        actor: The admin doing it.
        slug: The benchmark.
        sessions_text: The sessions file (``session_id query_index query``, TSV or JSONL).
        qrels_text: The session qrels (``session_id query_index doc_id grade``).
        measures: Session measure names (default ``default_measures("session")``), stored canonical.
        label_source: ``human`` or ``llm``.

    Raises:
        AuthError, PermissionDenied: no actor, or not an admin.
        NotFoundError: no such benchmark.
        InputError: a bad label source, a session called ``all``.
        MeasureError: a bad session measure.
        FormatError: malformed sessions or session qrels, or qrels of sessions (or queries) the
            sessions lack (every problem with its file and line).
        ConflictError: the benchmark already has sessions.
    """
    require_admin(actor, "add sessions")
    _check_label_source(label_source)
    qrels, judgments, names = _check_sessions(sessions_text, qrels_text, measures)
    benchmark = benchmark_by_slug(s, slug, lock="versioning")
    if benchmark.has_sessions:
        raise ConflictError(
            f"benchmark {slug!r} already has sessions; new judgments are a new session qrels version"
        )
    benchmark.sessions = _as_text(sessions_text)
    benchmark.session_measures = names
    s.add(_new_version(benchmark, 1, qrels, label_source, judgments, kind="session"))
    try:
        s.flush()
    except IntegrityError:
        raise ConflictError(f"sessions were added to {slug!r} meanwhile") from None
    return benchmark


def add_session_qrels_version(
    s: Session, actor: User | None, slug: str, qrels_text: str | bytes, label_source: str = "human"
) -> QrelsVersion:
    """Add the next session qrels version of a benchmark (admin only) and re-score its session
    runs against it, as :func:`add_qrels_version` does for runs.

    Raises:
        AuthError, PermissionDenied: no actor, or not an admin.
        NotFoundError: no such benchmark.
        InputError: a bad label source; the benchmark has no sessions.
        FormatError: malformed session qrels, or qrels of sessions (or queries) it lacks.
        ConflictError: the qrels are identical to the latest session qrels version's.
    """
    require_admin(actor, "add session qrels")
    _check_label_source(label_source)
    data = as_bytes(qrels_text)
    # The sessions never change once set, so the qrels are checked before waiting for the lock.
    judgments = len(read_session_qrels_bytes(data, benchmark_sessions(benchmark_by_slug(s, slug))))
    benchmark = benchmark_by_slug(s, slug, lock="versioning")
    latest = latest_version(s, benchmark.id, "session")
    if hashlib.sha256(data).hexdigest() == latest.sha256:
        raise ConflictError(f"these session qrels are identical to version {latest.version} of {slug!r}")
    version = _new_version(benchmark, latest.version + 1, data, label_source, judgments, kind="session")
    s.add(version)
    try:
        s.flush()
    except IntegrityError:
        raise ConflictError(
            f"session qrels version {latest.version + 1} of {slug!r} was added meanwhile; try again"
        ) from None
    rescore_benchmark(s, benchmark.id, version, get_settings().inline_scoring_lines)
    return version


def set_hidden(s: Session, actor: User | None, slug: str, hidden: bool) -> Benchmark:
    """Hide a benchmark (blind: aggregates only) or unblind it (admin only).

    Raises:
        AuthError, PermissionDenied: no actor, or not an admin.
        NotFoundError: no such benchmark.
    """
    require_admin(actor, "hide or unblind a benchmark")
    benchmark = benchmark_by_slug(s, slug)
    benchmark.hidden = bool(hidden)
    s.flush()
    return benchmark


def list_benchmarks(s: Session, actor: User | None) -> list[Benchmark]:
    """Every benchmark, by slug; hidden ones too (their pages show aggregates only)."""
    return list(s.scalars(select(Benchmark).order_by(Benchmark.slug)))


def get_benchmark(s: Session, slug: str, actor: User | None = None) -> Benchmark:
    """The benchmark called ``slug`` (visible to anyone; hidden ones show aggregates only).

    Raises:
        NotFoundError: there is none.
    """
    return benchmark_by_slug(s, slug)


def qrels_versions(s: Session, slug: str, kind: str = "adhoc") -> list[QrelsVersion]:
    """The benchmark's qrels versions of ``kind`` (``adhoc`` or ``session``), oldest first
    (content not loaded).

    Raises:
        NotFoundError: no such benchmark.
        InputError: a bad kind.
    """
    check_kind(kind)
    benchmark = benchmark_by_slug(s, slug)
    return list(
        s.scalars(
            select(QrelsVersion)
            .where(QrelsVersion.benchmark_id == benchmark.id, QrelsVersion.kind == kind)
            .order_by(QrelsVersion.version)
        )
    )

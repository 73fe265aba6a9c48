"""Submitting, reading and deleting runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragbench.errors import ConflictError, InputError, NotFoundError, PermissionDenied, TooLargeError
from ragbench.formats.ir_metadata import read_ir_metadata
from ragbench.settings import get_settings
from ragbench.store._blinding import per_topic_visible
from ragbench.store._common import (
    benchmark_by_slug,
    check_id,
    check_kind,
    current_versions,
    insert_ignoring_conflict,
    latest_version,
    now,
    pack,
    require_user,
)
from ragbench.store._quotas import check_quota, check_shape, record_submission
from ragbench.store._rag import parse_rag_run
from ragbench.store._scoring import (
    Parsed,
    benchmark_sessions,
    compute_rows,
    hand_off,
    parse_run,
    parse_session_run,
    parsed_size,
    requeue_if_outdated,
    score_rows,
    store_scores,
)
from ragbench.store.models import ALL_TOPICS, Benchmark, QrelsVersion, Run, Score, System, User

MAX_SYSTEM_NAME = 200
MAX_URL = 2000


def _check_system(
    name: str, url: str | None, metadata: Mapping[str, Any] | None
) -> tuple[str, dict[str, Any] | None]:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise InputError("a run needs a system name")
    if len(name) > MAX_SYSTEM_NAME or not name.isprintable():
        raise InputError(f"a system name has 1 to {MAX_SYSTEM_NAME} printable characters")
    if url is not None and (len(url) > MAX_URL or not url.startswith(("http://", "https://"))):
        raise InputError(f"url {url[:100]!r} must start with http:// or https://")
    if metadata is None:
        return name, None
    if not isinstance(metadata, Mapping):
        raise InputError("metadata must be a JSON object")
    settings = get_settings()
    depth = json_depth(metadata, settings.max_json_depth)
    if depth > settings.max_json_depth:
        raise InputError(
            f"metadata is nested deeper than {settings.max_json_depth} levels (RAGBENCH_MAX_JSON_DEPTH)"
        )
    try:
        text = json.dumps(dict(metadata), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"metadata is not JSON: {exc}") from None
    if len(text.encode("utf-8")) > settings.max_metadata_bytes:
        raise InputError(
            f"metadata is larger than {settings.max_metadata_bytes:,} bytes as JSON "
            "(RAGBENCH_MAX_METADATA_BYTES)"
        )
    return name, json.loads(text)


def json_depth(value: Any, stop: int) -> int:
    """The nesting depth of a JSON-like value (a scalar: 0, ``{}``: 1), counted without recursion
    and no further than ``stop + 1`` (enough to refuse it)."""
    depth, level = 0, [(value, 1)]
    while level:
        item, at = level.pop()
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        depth = max(depth, at)
        if depth > stop:
            return depth
        level.extend((child, at + 1) for child in children)
    return depth


def _system(
    s: Session, benchmark: Benchmark, owner: User, name: str, description: str, url: str | None, metadata: Any
) -> System:
    """The owner's system called ``name`` on the benchmark, created if new; its description, url
    and metadata are replaced by the ones given (empty ones leave them as they are)."""
    query = select(System).where(System.benchmark_id == benchmark.id, System.name == name)
    system = s.scalar(query)
    if system is None:
        values = {
            "benchmark_id": benchmark.id,
            "owner_id": owner.id,
            "name": name,
            "description": description or "",
            "url": url,
            "metadata": metadata or {},
        }
        insert_ignoring_conflict(s, System, values, ["benchmark_id", "name"])
        system = s.scalar(query)
        if system is None:  # its last run was deleted, with it, in the meantime
            raise ConflictError(f"system {name!r} changed while this run was submitted; submit again")
    if system.owner_id != owner.id:
        raise ConflictError(f"system name {name!r} on {benchmark.slug!r} belongs to another user")
    if description:
        system.description = description
    if url is not None:
        system.url = url
    if metadata:
        system.metadata_ = metadata
    return system


def submit_run(
    s: Session,
    actor: User | None,
    slug: str,
    run_bytes: bytes,
    *,
    name: str,
    description: str = "",
    url: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    filename: str = "run",
    kind: str = "adhoc",
) -> Run:
    """Validate, store and (when small) score a run file under the actor's system ``name``.

    The file is read completely before anything is written, so a malformed one changes nothing.
    A session run (``kind="session"``) is read with ``read_session_run`` and checked against the
    benchmark's sessions (a session it lacks, or another number of queries in a session, is a
    FormatError with the run's line), then scored per session against the latest session qrels.
    Runs of up to ``RAGBENCH_INLINE_SCORING_LINES`` lines are scored here (status ``scored``);
    larger ones are stored ``pending`` for :func:`process_pending`. A system name belongs to the
    first user who submits under it on the benchmark; later runs under it add to that system and
    update its description, url and metadata when given.

    Args:
        s: The session; the caller commits (one transaction).
        actor: The submitting user.
        slug: The benchmark.
        run_bytes: The TREC run file.
        name: System name (1 to 200 printable characters).
        description: System description.
        url: System link, ``http://`` or ``https://``.
        metadata: JSON object describing the system.
        filename: Name used in error messages (``problems[].file``).
        kind: ``"adhoc"`` (a TREC run), ``"session"`` (a session run) or ``"rag"`` (a TREC RAG or
            QA answer file, checked against the benchmark's topics and judged by the worker).

    Raises:
        AuthError: no actor.
        TooLargeError: the file is larger than ``RAGBENCH_MAX_UPLOAD_BYTES``.
        NotFoundError: no such benchmark.
        FormatError: the run is malformed (every problem with line and column), or its
            ir_metadata header is (it is stored as the run's ``ir_metadata``).
        InputError: a bad system name, url, metadata or kind; a session run on a benchmark without
            sessions.
        ConflictError: the same file was already submitted to this benchmark (and did not fail),
            or the system name belongs to another user.
        QuotaExceeded: a member's submission quota on a hidden benchmark is used up.

    On a hidden benchmark a member's run must also have the minimum shape and fit the quotas
    (:mod:`ragbench.store._quotas`); every stored run is logged in ``submission``, kept when the
    run is deleted. A file whose earlier run failed may be submitted again: the failed run makes
    way for it.
    """
    owner = require_user(actor, "submit a run")
    settings = get_settings()
    if len(run_bytes) > settings.max_upload_bytes:
        raise TooLargeError(
            f"the run is {len(run_bytes):,} bytes; the limit is {settings.max_upload_bytes:,} bytes "
            "(RAGBENCH_MAX_UPLOAD_BYTES)"
        )
    name, metadata_ = _check_system(name, url, metadata)
    check_kind(kind)
    benchmark = benchmark_by_slug(s, slug, lock="scoring")
    check_quota(s, benchmark, owner)
    sha256 = hashlib.sha256(run_bytes).hexdigest()
    _refuse_duplicate(s, benchmark, sha256)
    version = latest_version(s, benchmark.id, kind)

    parsed: Parsed
    if kind == "session":
        parsed = parse_session_run(version.content, run_bytes, filename, benchmark_sessions(benchmark))
    elif kind == "rag":
        parsed = parse_rag_run(benchmark, run_bytes, filename)
    else:
        parsed = parse_run(version.content, run_bytes, filename)
    check_shape(benchmark, owner, parsed)
    num_lines, num_topics = parsed_size(parsed)
    header = read_ir_metadata(run_bytes, filename) if kind == "adhoc" else None
    # RAG runs are judged by an LM: always the worker's job, never inside the request.
    inline = kind != "rag" and num_lines <= settings.inline_scoring_lines
    rows = score_rows(parsed, benchmark.measures_of(kind), 0, version.id) if inline else []  # type: ignore[arg-type]
    # Compressing cannot overlap the parse: the C reader holds the GIL, which zlib needs between blocks.
    content = pack(run_bytes)

    system = _system(s, benchmark, owner, name, description, url, metadata_)
    run = Run(
        system=system,
        benchmark_id=benchmark.id,
        owner_id=owner.id,
        sha256=sha256,
        kind=kind,
        content=content,
        ir_metadata=header,
        num_lines=num_lines,
        num_topics=num_topics,
        status="pending",
        attempts=0,
        created_at=now(),
    )
    s.add(run)
    try:
        s.flush()
    except IntegrityError:  # the same file, submitted concurrently
        raise ConflictError(f"this run file was already submitted to {slug!r}") from None
    record_submission(s, run)
    if inline:
        for row in rows:
            row["run_id"] = run.id
        store_scores(s, run, rows, version.id)
        # the other versions a leaderboard view reads (human, LLM-filled, LLM-only)
        for other in current_versions(s, benchmark.id, kind):
            if other.id != version.id:
                store_scores(s, run, compute_rows(s, run, other), other.id)
        requeue_if_outdated(s, run, version.id)
        s.flush()
    else:
        hand_off(s, run, version.id, parsed)
    return run


def _refuse_duplicate(s: Session, benchmark: Benchmark, sha256: str) -> None:
    """Refuse a file already stored on the benchmark, unless its run failed: that run is deleted
    (with its system, when it was the system's last run) to make way for the new submission."""
    found = s.execute(
        select(Run.id, Run.status, Run.system_id).where(
            Run.benchmark_id == benchmark.id, Run.sha256 == sha256
        )
    ).first()
    if found is None:
        return
    existing, status, system_id = found
    if status != "failed":
        raise ConflictError(f"this run file was already submitted to {benchmark.slug!r} (run {existing})")
    _delete(s, existing, system_id)


def get_run(s: Session, run_id: int, actor: User | None = None) -> Run:
    """A run (aggregate information is public, also on hidden benchmarks).

    Raises:
        NotFoundError: no such run (also for an id no table can hold, e.g. 2^63).
    """
    run = s.get(Run, check_id(run_id, "run"))
    if run is None:
        raise NotFoundError(f"no run {run_id}")
    return run


def run_scores(
    s: Session, run_id: int, actor: User | None, per_topic: bool = False, *, version: int | None = None
) -> dict[str, dict[str, float]]:
    """A run's scores: ``{measure: {"all": mean, query_id: value, ...}}``.

    Measures come in the benchmark's order, topics in the qrels' order after ``"all"``; for a
    session run the measures are the benchmark's session measures and the ids are session ids (in
    the sessions' order), against the session qrels. On a hidden benchmark the per-topic (and
    per-session) values are withheld (only ``"all"``) unless ``actor`` is an admin, whatever
    ``per_topic`` says. A run not scored against the version yet has ``{}``.

    Args:
        s: The session.
        run_id: The run.
        actor: Who asks (None: anonymous).
        per_topic: Include one value per topic.
        version: Qrels version number of the run's kind (default: the latest).

    Raises:
        NotFoundError: no such run or version.
    """
    run = get_run(s, run_id, actor)
    benchmark = run.benchmark
    if version is None:
        version_id = latest_version(s, benchmark.id, run.kind).id
    else:
        found = s.scalar(
            select(QrelsVersion.id).where(
                QrelsVersion.benchmark_id == benchmark.id,
                QrelsVersion.kind == run.kind,
                QrelsVersion.version == version,
            )
        )
        if found is None:
            what = "session qrels" if run.kind == "session" else "qrels"
            raise NotFoundError(f"benchmark {benchmark.slug!r} has no {what} version {version}")
        version_id = found
    query = select(Score.measure, Score.query_id, Score.value).where(
        Score.run_id == run.id, Score.qrels_version_id == version_id
    )
    if not (per_topic and per_topic_visible(benchmark, actor)):
        query = query.where(Score.query_id == ALL_TOPICS)
    found_rows = s.execute(query.order_by(Score.id)).all()
    order = {m: i for i, m in enumerate(benchmark.measures_of(run.kind))}
    scores: dict[str, dict[str, float]] = {}
    for measure in sorted({r.measure for r in found_rows}, key=lambda m: (order.get(m, len(order)), m)):
        scores[measure] = {ALL_TOPICS: float("nan")}
    for measure, query_id, value in found_rows:
        scores[measure][query_id] = value
    return scores


def delete_run(s: Session, actor: User | None, run_id: int) -> None:
    """Delete a run and its scores (its owner or an admin). A system left without runs goes too,
    which frees its name. Arena votes on it stay in the vote log (no longer rated).

    Raises:
        AuthError: no actor.
        NotFoundError: no such run.
        PermissionDenied: the actor is neither the owner nor an admin.
    """
    user = require_user(actor, "delete a run")
    run = get_run(s, run_id, user)
    if run.owner_id != user.id and not user.is_admin:
        raise PermissionDenied(f"run {run_id} belongs to another user; only they or an admin may delete it")
    _delete(s, run.id, run.system_id)


def _delete(s: Session, run_id: int, system_id: int) -> None:
    """Delete a run, its scores and votes, and its system when no other run is left in it (its
    ``submission`` record stays)."""
    s.execute(delete(Score).where(Score.run_id == run_id))
    # Its arena battles keep their votes (the vote log is never rewritten): the database sets the
    # battles' run to NULL, and the ratings leave those votes out.
    s.execute(delete(Run).where(Run.id == run_id))
    s.flush()
    if not s.scalar(select(func.count()).select_from(Run).where(Run.system_id == system_id)):
        s.execute(delete(System).where(System.id == system_id))

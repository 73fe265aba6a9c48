"""The background worker's step: claim waiting runs and score them, one transaction each.

A run is claimed by committing ``status='scoring'`` and ``attempts + 1``; it is then scored in
a second transaction that locks its row (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL).
A run left ``scoring`` whose row nobody locks was abandoned by a worker that stopped (a crash,
a restart), and is claimed again, with backoff: each claim sets ``retry_at`` (30 s after the
first claim, doubling up to an hour), and an abandoned run is claimed again only after it, so a
server that restarts a few times in a row does not fail a valid run, and a run that kills its
worker every time is tried again less and less often. After :data:`MAX_ATTEMPTS` claims (hours
of retrying) it is marked failed, so it cannot hold a worker forever; its file may then be
submitted again. SQLite has no row locks: there a process skips
the runs it is scoring itself, and one worker process per SQLite file is assumed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, and_, or_, select, update
from sqlalchemy.orm import Session

from ragbench.errors import RagbenchError
from ragbench.store._common import lock_benchmark, now
from ragbench.store._scoring import database_of, failure_reason, requeue_if_outdated, score_current
from ragbench.store.models import Run

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
"""Claims of one run before the worker gives up on it (it stopped while scoring each time):
with :func:`backoff` that is about three hours of retrying."""
BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 3600.0
CLAIM_BATCH = 20

_in_progress: set[tuple[str, int]] = set()
_in_progress_lock = threading.Lock()


def backoff(attempts: int) -> timedelta:
    """How long after its ``attempts``-th claim an unfinished run waits before it is claimed again:
    30 s, 60 s, 120 s, ... up to an hour."""
    return timedelta(seconds=min(BACKOFF_FIRST_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def _claim(factory: Callable[[], Session], database: str) -> tuple[int | None, int]:
    """Claim the oldest run waiting or abandoned; returns (run id or None, runs given up on)."""
    gave_up = 0
    moment = now()
    with factory() as s, s.begin():
        due = or_(
            Run.status == "pending",
            and_(Run.status == "scoring", or_(Run.retry_at.is_(None), Run.retry_at <= moment)),
        )
        candidates = s.execute(
            select(Run.id, Run.status, Run.attempts)
            .where(due)
            .order_by(Run.id)
            .limit(CLAIM_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for run_id, status, attempts in candidates:
            with _in_progress_lock:
                if (database, run_id) in _in_progress:
                    continue
            # Conditional on what was read, so that without row locks (SQLite) two processes
            # cannot both claim a run: the second UPDATE matches no row.
            unchanged = update(Run).where(Run.id == run_id, Run.status == status, Run.attempts == attempts)
            if attempts >= MAX_ATTEMPTS:
                reason = f"scoring did not finish after {attempts} attempts (the worker stopped each time)"
                gave_up += _updated(s, unchanged.values(status="failed", error=reason))
                continue
            claim = unchanged.values(
                status="scoring", attempts=attempts + 1, retry_at=moment + backoff(attempts + 1)
            )
            if _updated(s, claim) != 1:
                continue
            with _in_progress_lock:
                _in_progress.add((database, run_id))
            return run_id, gave_up
    return None, gave_up


def _score_claimed(factory: Callable[[], Session], run_id: int) -> bool:
    """Score a claimed run in its own transaction; False when another worker holds it."""
    with factory() as s, s.begin():
        benchmark_id = s.scalar(select(Run.benchmark_id).where(Run.id == run_id))
        if benchmark_id is None:  # deleted meanwhile
            return False
        lock_benchmark(s, benchmark_id, "scoring")  # the benchmark first, then the run
        run = s.scalar(
            select(Run)
            .where(Run.id == run_id, Run.status == "scoring")
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if run is None:
            return False
        version = score_current(s, run)
        requeue_if_outdated(s, run, version.id)
    return True


def _mark_failed(factory: Callable[[], Session], run_id: int, reason: str) -> None:
    with factory() as s, s.begin():
        s.execute(update(Run).where(Run.id == run_id).values(status="failed", error=reason))


def process_pending(s_factory: Callable[[], Session], limit: int | None = None) -> int:
    """One step of the background worker: score waiting runs, oldest first.

    Runs ``pending``, and runs left ``scoring`` by a worker that stopped, are claimed one at a
    time (see the module docstring) and scored against their benchmark's latest qrels version of
    their kind (session qrels for session runs), each in its own transaction. A run that cannot be
    scored is marked ``failed`` with the reason in ``error``; the worker goes on with the next.

    Args:
        s_factory: Makes sessions (:func:`ragbench.store.db.session_factory`).
        limit: Most runs to finish in this call (default: until none is waiting).

    Returns:
        The number of runs finished: scored, or marked failed.
    """
    with s_factory() as s:
        database = database_of(s)
    finished = 0
    while limit is None or finished < limit:
        run_id, gave_up = _claim(s_factory, database)
        finished += gave_up
        if run_id is None:
            break
        try:
            if _score_claimed(s_factory, run_id):
                finished += 1
        except Exception as exc:  # the worker must survive any run, and say why it failed
            if not isinstance(exc, RagbenchError):
                log.exception("scoring run %s failed", run_id)
            _mark_failed(s_factory, run_id, failure_reason(exc))
            finished += 1
        finally:
            with _in_progress_lock:
                _in_progress.discard((database, run_id))
    return finished


def _updated(s: Session, statement: Update) -> int:
    """Execute an UPDATE; the number of rows it matched."""
    # Session.execute is annotated to return a Result; for an UPDATE it returns a CursorResult,
    # which has the rowcount.
    return cast("CursorResult[Any]", s.execute(statement)).rowcount

"""Against qrels probing on hidden benchmarks: submission quotas and a minimum run shape.

A member who may submit any run and read its mean back can learn judgments: a run with one
document in one topic scores P@10 = relevance / (10 * topics). Two defences, both on hidden
benchmarks only (a public benchmark has nothing to hide) and for members only (admins see the
qrels anyway):

- **Quotas.** At most ``RAGBENCH_SUBMISSIONS_PER_DAY`` runs per member per benchmark in any 24
  hours and ``RAGBENCH_SUBMISSIONS_TOTAL`` in all (0: no limit). Every stored run leaves a
  :class:`~ragbench.store.models.Submission` row that outlives the run, so deleting probes gives
  nothing back. A refused request stores nothing and does not count.
- **Minimum shape.** A run must rank at least ``RAGBENCH_HIDDEN_MIN_DOCS`` documents for at least
  ``RAGBENCH_HIDDEN_MIN_TOPIC_SHARE`` of the judged topics (a session run: answer that share of
  the sessions). One-document probes are refused before anything is scored or stored.

What is left, and why it is bounded: a run of the minimum shape padded with documents that are
not in the qrels can still isolate one candidate document, so each accepted run can tell at most
a few judgments (one number per measure). The quotas bound that to their size per member and
benchmark; ``docs/security.md`` works through the numbers.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragbench.errors import InputError, QuotaExceeded
from ragbench.settings import get_settings
from ragbench.store._common import now
from ragbench.store.models import Benchmark, Run, Submission, User

if TYPE_CHECKING:
    from ragbench.store._scoring import Parsed

WINDOW = timedelta(days=1)


def quotas_apply(benchmark: Benchmark, user: User) -> bool:
    """Whether quotas and the minimum shape hold for ``user`` on ``benchmark``: hidden, not an admin."""
    return bool(benchmark.hidden) and not user.is_admin


def check_quota(s: Session, benchmark: Benchmark, user: User) -> None:
    """Refuse a submission beyond the member's quotas on a hidden benchmark.

    On PostgreSQL the user's row is locked first, so that concurrent submissions of one member
    are counted one after the other (SQLite serialises writers, but counts before its write lock:
    two submissions racing for the last slot may both pass there).

    Raises:
        QuotaExceeded: the daily quota (``retry_after``: seconds until the oldest submission of
            the last 24 hours leaves the window) or the total quota (``retry_after`` None).
    """
    if not quotas_apply(benchmark, user):
        return
    settings = get_settings()
    per_day, total = settings.submissions_per_day, settings.submissions_total
    if not per_day and not total:
        return
    s.execute(select(User.id).where(User.id == user.id).with_for_update())
    mine = (Submission.benchmark_id == benchmark.id) & (Submission.user_id == user.id)
    if total:
        count = s.scalar(select(func.count()).select_from(Submission).where(mine)) or 0
        if count >= total:
            raise QuotaExceeded(
                f"you have submitted {count} runs to {benchmark.slug!r}, the most a member may "
                f"submit to a hidden benchmark (RAGBENCH_SUBMISSIONS_TOTAL={total}); deleted runs count too"
            )
    if per_day:
        since = now() - WINDOW
        recent = list(
            s.scalars(
                select(Submission.created_at)
                .where(mine, Submission.created_at > since)
                .order_by(Submission.created_at)
            )
        )
        if len(recent) >= per_day:
            oldest = recent[len(recent) - per_day]
            wait = max(1, math.ceil((oldest + WINDOW - now()).total_seconds()))
            raise QuotaExceeded(
                f"you have submitted {len(recent)} runs to {benchmark.slug!r} in the last 24 hours, the "
                f"most a member may submit to a hidden benchmark (RAGBENCH_SUBMISSIONS_PER_DAY={per_day}); "
                f"deleted runs count too; try again in {wait} s",
                retry_after=wait,
            )


def record_submission(s: Session, run: Run) -> None:
    """Log a stored run (kept when the run is deleted)."""
    s.add(
        Submission(
            benchmark_id=run.benchmark_id,
            user_id=run.owner_id,
            kind=run.kind,
            sha256=run.sha256,
            run_id=run.id,
            created_at=now(),
        )
    )


def check_shape(benchmark: Benchmark, user: User, parsed: Parsed) -> None:
    """Refuse a run on a hidden benchmark that answers too few judged topics with too few documents.

    The message says how many topics qualify and how many are needed, never which: it depends on
    the set of judged topics only, not on any judgment.

    Raises:
        InputError: the run is below the minimum shape (422).
    """
    from ragbench.store._rag import ParsedRag, benchmark_topics
    from ragbench.store._scoring import ParsedSessionRun

    if not quotas_apply(benchmark, user):
        return
    settings = get_settings()
    share, min_docs = settings.hidden_min_topic_share, settings.hidden_min_docs
    if isinstance(parsed, ParsedSessionRun):
        wanted = parsed.topics.session_ids
        answered = len(set(parsed.run.session_ids) & set(wanted))
        unit, need = "sessions", math.ceil(share * len(wanted))
        if answered < need:
            raise InputError(
                f"on a hidden benchmark a session run must answer at least {need} of its {len(wanted)} "
                f"sessions (RAGBENCH_HIDDEN_MIN_TOPIC_SHARE={share:g}); this one answers {answered}"
            )
        return
    if isinstance(parsed, ParsedRag):  # answers: the share of the benchmark's topics answered
        topics = set(benchmark_topics(benchmark) or ())
        answered = len(set(parsed.run.answers) & topics)
        need = math.ceil(share * len(topics))
        if answered < need:
            raise InputError(
                f"on a hidden benchmark a RAG run must answer at least {need} of its {len(topics)} "
                f"topics (RAGBENCH_HIDDEN_MIN_TOPIC_SHARE={share:g}); this one answers {answered}"
            )
        return
    judged = np.unique(parsed.qrels.query)
    per_topic = np.bincount(parsed.run.query, minlength=len(parsed.qrels.strings))
    full = int(np.count_nonzero(per_topic[judged] >= min_docs)) if judged.size else 0
    unit, need = "topics", math.ceil(share * judged.size)
    if full < need:
        raise InputError(
            f"on a hidden benchmark a run must rank at least {min_docs} documents "
            f"(RAGBENCH_HIDDEN_MIN_DOCS) for at least {need} of the {judged.size} judged {unit} "
            f"(RAGBENCH_HIDDEN_MIN_TOPIC_SHARE={share:g}); this one does for {full}"
        )

"""The arena's vote log: votes and retractions (see :mod:`ragbench.store._arena` for battles).

One vote per voter per battle (a unique index; a second is a ``ConflictError``), appended to a
log that is never updated or deleted; a retraction is a new row. Human voters (signed-in users
and anonymous sessions) are rate limited per voter (``RAGBENCH_ARENA_VOTES_PER_MINUTE`` and
``_PER_DAY``); on PostgreSQL one voter's votes are serialised by an advisory lock, so concurrent
requests cannot pass the limit together.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragbench.errors import ConflictError, InputError, NotFoundError, PermissionDenied, QuotaExceeded
from ragbench.settings import get_settings
from ragbench.store._arena import Voter, asks_of, get_battle, vote_of
from ragbench.store._common import now
from ragbench.store.models import VERDICTS, ArenaBattle, ArenaVote


def _check_verdicts(battle: ArenaBattle, answer: str | None, evidence: str | None) -> None:
    for what, value in (("answer", answer), ("evidence", evidence)):
        if value is not None and value not in VERDICTS:
            raise InputError(f"{what} verdict {value!r} is not one of {', '.join(VERDICTS)}")
    if answer is None and evidence is None:
        raise InputError("a vote needs a verdict on the answer or on the evidence")
    asks = asks_of(battle)
    if answer is not None and "answer" not in asks:
        raise InputError(f"battle {battle.id} compares rankings: vote on the evidence, not on an answer")
    if evidence is not None and "evidence" not in asks:
        raise InputError(f"battle {battle.id} shows answers without citations: vote on the answer")


def _serialise(s: Session, voter: Voter) -> None:
    """PostgreSQL: one transaction at a time per voter (the rate limit counts, then inserts)."""
    if s.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(voter.key.encode()).digest()[:8], "big", signed=True)
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _check_rate(s: Session, voter: Voter) -> None:
    settings = get_settings()
    moment = now()
    for limit, window, what in (
        (settings.arena_votes_per_minute, timedelta(minutes=1), "a minute"),
        (settings.arena_votes_per_day, timedelta(days=1), "a day"),
    ):
        if not limit:
            continue
        since = moment - window
        recent = s.execute(
            select(func.count(), func.min(ArenaVote.created_at)).where(
                ArenaVote.voter_key == voter.key, ArenaVote.created_at > since
            )
        ).one()
        if recent[0] >= limit:
            wait = max(1, int((recent[1] + window - moment).total_seconds()) + 1)
            raise QuotaExceeded(
                f"at most {limit} arena votes in {what}: try again in {wait} s", retry_after=wait
            )


def cast_vote(
    s: Session,
    battle_id: int,
    voter: Voter,
    *,
    answer: str | None = None,
    evidence: str | None = None,
    label: int | None = None,
    provenance: dict[str, Any] | None = None,
) -> ArenaVote:
    """Append a vote to the log.

    Args:
        s: The session; the caller commits.
        battle_id: The battle.
        voter: Who votes (users and anonymous sessions are rate limited).
        answer: Verdict on the answers: ``a``, ``b``, ``tie`` or ``bad`` (None: not given).
        evidence: Verdict on the evidence.
        label: An imported vote's original label.
        provenance: Where an LM or imported vote came from.

    Raises:
        NotFoundError: no such battle.
        InputError: no verdict, a verdict not in ``a b tie bad``, an answer verdict on a battle of
            two rankings, a battle whose run was deleted.
        QuotaExceeded: the voter is over the rate limit (429, with the seconds to wait).
        ConflictError: the voter has voted on this battle already (409).
    """
    battle = get_battle(s, battle_id)
    _check_verdicts(battle, answer, evidence)
    if battle.run_a_id is None or battle.run_b_id is None:
        raise InputError(f"battle {battle_id} lost a run (deleted); it takes no more votes")
    _serialise(s, voter)
    if vote_of(s, battle_id, voter) is not None:
        raise ConflictError(f"you have voted on battle {battle_id} already (one vote per battle)")
    if voter.kind in ("user", "anon"):
        _check_rate(s, voter)
    vote = ArenaVote(
        benchmark_id=battle.benchmark_id,
        battle_id=battle.id,
        query_id=battle.query_id,
        answer=answer,
        evidence=evidence,
        voter_kind=voter.kind,
        voter_key=voter.key,
        voter_id=voter.user_id,
        label=label,
        provenance=provenance,
        created_at=now(),
    )
    s.add(vote)
    try:
        s.flush()
    except IntegrityError:  # the same voter, concurrently (SQLite; PostgreSQL waits on the lock)
        raise ConflictError(f"you have voted on battle {battle_id} already (one vote per battle)") from None
    return vote


def retract_vote(s: Session, vote_id: int, voter: Voter) -> ArenaVote:
    """Withdraw one's vote: a new row pointing at it (the log is never rewritten). The voter
    cannot vote on that battle again.

    Raises:
        NotFoundError: no such vote.
        PermissionDenied: it is another voter's.
        ConflictError: it is a retraction, or retracted already.
    """
    vote = s.get(ArenaVote, vote_id)
    if vote is None:
        raise NotFoundError(f"no arena vote {vote_id}")
    if vote.voter_key != voter.key:
        raise PermissionDenied(f"vote {vote_id} is another voter's")
    if vote.retracts_id is not None:
        raise ConflictError(f"vote {vote_id} is a retraction")
    _serialise(s, voter)
    if s.scalar(select(ArenaVote.id).where(ArenaVote.retracts_id == vote_id)) is not None:
        raise ConflictError(f"vote {vote_id} is retracted already")
    retraction = ArenaVote(
        benchmark_id=vote.benchmark_id,
        battle_id=vote.battle_id,
        query_id=vote.query_id,
        voter_kind=vote.voter_kind,
        voter_key=vote.voter_key,
        voter_id=vote.voter_id,
        retracts_id=vote.id,
        created_at=now(),
    )
    s.add(retraction)
    try:
        s.flush()
    except IntegrityError:
        raise ConflictError(f"vote {vote_id} is retracted already") from None
    return retraction

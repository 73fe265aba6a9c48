"""Conversions shared by the JSON controllers and the pages (so both show the same numbers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.dto import LeaderboardRead, LeaderboardRow, finite
from ragbench.errors import InputError
from ragbench.store import service

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ragbench.store.models import User

MAX_COMPARED = 20


def parse_run_ids(text: str) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``.

    Raises:
        InputError: not a comma-separated list of 2 to 20 distinct positive integers.
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdecimal() for p in parts):
        raise InputError(f"runs must be comma-separated run ids, e.g. 1,2,3 (got {text!r})")
    ids = [int(p) for p in parts]
    if len(set(ids)) != len(ids):
        raise InputError("each run may be listed once")
    if not 2 <= len(ids) <= MAX_COMPARED:
        raise InputError(f"compare needs 2 to {MAX_COMPARED} runs, got {len(ids)}")
    return ids


def leaderboard_read(
    s: Session,
    slug: str,
    measure: str | None,
    *,
    offset: int,
    limit: int,
    actor: User | None,
    kind: str = "adhoc",
    qrels: str = "human",
) -> LeaderboardRead:
    """One page of a benchmark's leaderboard (``measure`` None: the benchmark's first measure of
    ``kind``; ``kind="session"``: the session runs on a session measure)."""
    if not measure:
        measures = service.get_benchmark(s, slug, actor).measures_of(kind)
        if not measures:
            raise InputError(f"benchmark {slug!r} has no {'nugget set' if kind == 'rag' else 'sessions'}")
        measure = measures[0]
    board = service.leaderboard(
        s, slug, measure, offset=offset, limit=limit, actor=actor, kind=kind, qrels=qrels
    )
    failed = service.rag_failures(s, slug, [r.run_id for r in board.rows]) if kind == "rag" else {}
    rows = [
        LeaderboardRow(
            rank=row.rank,
            run_id=row.run_id,
            system=row.system_name,
            owner=row.owner_name,
            created_at=row.created_at,
            value=finite(row.value),
            judged_at_10=finite(row.judged_at_10),
            tier=row.tier,
            values={m: finite(v) for m, v in row.values.items()},
            human_judged_at_10=finite(row.human_judged_at_10),
            llm_share_at_10=finite(row.llm_share_at_10),
            llm_badge=row.llm_badge,
            failed=failed.get(row.run_id, 0) if kind == "rag" else None,
        )
        for row in board.rows
    ]
    return LeaderboardRead(
        benchmark=board.slug,
        measure=board.measure,
        measures=list(board.measures),
        per_topic_withheld=board.per_topic_withheld,
        qrels_version=board.qrels_version,
        tier_test=board.tier_test,
        offset=board.offset,
        limit=board.limit,
        total=board.total,
        rows=rows,
        kind=board.kind,
        qrels=board.qrels_view,
        views=list(board.views),
        badge_threshold=board.badge_threshold,
        topics=_topic_policy(s, slug, board.kind),
    )


def _topic_policy(s: Session, slug: str, kind: str) -> str:
    """The one missing-topic policy of the service (every judged topic counts), as eval -c says it."""
    from ragbench.evaluation.topic_policy import describe_policy

    if kind == "session":
        return "sessions: every session of the benchmark; a session a run lacks counts 0"
    return describe_policy("complete", service.qrels_statistics(s, slug).topics)

"""``GET /api/v1/benchmarks/{slug}/leaderboard``: runs ranked on one measure, with significance tiers."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from litestar import Controller, Response, get
from litestar.params import Parameter

from api.bounds import Offset, SlugPath
from api.cache import ResponseCache
from api.deps import Database, Principal
from api.dto import LeaderboardRead
from api.views import leaderboard_read


def _read(
    db: Database,
    principal: Principal | None,
    slug: str,
    measure: str | None,
    offset: int,
    limit: int,
    kind: str,
    qrels: str,
) -> LeaderboardRead:
    with db.begin(principal) as (s, actor):
        return leaderboard_read(
            s, slug, measure, offset=offset, limit=limit, actor=actor, kind=kind, qrels=qrels
        )


class LeaderboardController(Controller):
    """The leaderboard as JSON (the page at ``/benchmarks/{slug}`` shows the same rows)."""

    path = "/api/v1/benchmarks"
    tags = ("Leaderboard",)

    @get("/{slug:str}/leaderboard", operation_id="GetLeaderboard")
    async def leaderboard(
        self,
        db: Database,
        cache: ResponseCache,
        principal: Principal | None,
        slug: SlugPath,
        measure: Annotated[
            str | None,
            Parameter(
                description="ir-measures name (a session measure for kind=session); default: the first"
            ),
        ] = None,
        offset: Offset = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
        kind: Annotated[
            Literal["adhoc", "session", "rag"],
            Parameter(
                description="adhoc: runs per topic; session: session runs on a session measure; "
                "rag: RAG runs (answers) on a RAG measure, with the count of answers whose judging failed"
            ),
        ] = "adhoc",
        qrels: Annotated[
            Literal["human", "filled", "llm"],
            Parameter(
                description="human: human labels only (holes non-relevant); filled: LLM-filled holes; "
                "llm: LLM labels only"
            ),
        ] = "human",
    ) -> Response[LeaderboardRead]:
        """Scored runs ranked by mean (best first) with their significance tier, Judged@10 and their
        means on every measure; ``kind=session`` ranks the session runs on a session measure.

        Aggregates are public, so the answer is the same for every non-admin (admins also see
        the tiers of hidden benchmarks) and is cached briefly (see :mod:`api.cache`)."""
        read = partial(_read, db, principal, slug, measure, offset, limit, kind, qrels)
        admin = principal is not None and principal.is_admin
        response: Response[Any] = await cache.json_response(
            ("leaderboard", slug, measure, offset, limit, kind, qrels, admin), read
        )
        return response

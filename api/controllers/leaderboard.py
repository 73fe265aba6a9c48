"""``GET /api/v1/benchmarks/{slug}/leaderboard``: runs ranked on one measure, with significance tiers."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter

from api.cache import ResponseCache
from api.deps import Database, Principal
from api.dto import LeaderboardRead
from api.views import leaderboard_read


def _read(
    db: Database, principal: Principal | None, slug: str, measure: str | None, offset: int, limit: int
) -> LeaderboardRead:
    with db.begin(principal) as (s, actor):
        return leaderboard_read(s, slug, measure, offset=offset, limit=limit, actor=actor)


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
        slug: str,
        measure: Annotated[str | None, Parameter(description="ir-measures name; default: the first")] = None,
        offset: Annotated[int, Parameter(ge=0)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
    ) -> Response[LeaderboardRead]:
        """Scored runs ranked by mean (best first) with their significance tier and Judged@10.

        Aggregates are public, so the answer is the same for everyone and is cached briefly (see
        :mod:`api.cache`)."""
        read = partial(_read, db, principal, slug, measure, offset, limit)
        response: Response[Any] = await cache.json_response(
            ("leaderboard", slug, measure, offset, limit), read
        )
        return response

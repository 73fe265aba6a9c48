"""``/api/v1/suites``: suites of benchmarks, their leaderboards and reproduction matrices."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from api.auth import requires_admin
from api.deps import Database, Principal
from api.suite_dto import ReproductionRead, SuiteCreate, SuiteLeaderboardRead, SuiteRead
from ragbench.errors import NotFoundError
from ragbench.store import service


class SuiteController(Controller):
    """Suites: everyone may read them; only admins create them."""

    path = "/api/v1/suites"
    tags = ("Suites",)

    @get(operation_id="ListSuites", sync_to_thread=True)
    def list_suites(self, db: Database, principal: Principal | None) -> list[SuiteRead]:
        """Every suite with its benchmarks, measures and aggregation settings."""
        with db.begin(principal) as (s, _):
            return [SuiteRead.from_model(suite) for suite in service.list_suites(s)]

    @post(operation_id="CreateSuite", guards=[requires_admin], sync_to_thread=True)
    def create_suite(self, db: Database, principal: Principal, data: SuiteCreate) -> SuiteRead:
        """Create a suite of registered benchmarks (admin only; 422 naming unknown benchmarks or a
        measure a benchmark is not scored on, 409 when the slug is taken)."""
        with db.begin(principal) as (s, actor):
            suite = service.create_suite(
                s,
                actor,
                data.slug,
                benchmarks=data.benchmarks,
                groups=data.groups,
                title=data.title,
                description=data.description,
                measures=data.measures,
                aggregation=data.aggregation,
            )
            return SuiteRead.from_model(suite)

    @get("/{slug:str}", operation_id="GetSuite", sync_to_thread=True)
    def get_suite(self, db: Database, principal: Principal | None, slug: str) -> SuiteRead:
        """One suite (404 when the slug is unknown)."""
        with db.begin(principal) as (s, _):
            return SuiteRead.from_model(service.get_suite(s, slug))

    @get("/{slug:str}/leaderboard", operation_id="GetSuiteLeaderboard", sync_to_thread=True)
    def leaderboard(
        self,
        db: Database,
        principal: Principal | None,
        slug: str,
        measure: Annotated[
            str | None, Parameter(description="one of the suite's measures; default the first")
        ] = None,
    ) -> SuiteLeaderboardRead:
        """Per-benchmark scores with CIs and tiers, the mean over systems covering every benchmark
        (the others apart), Borda ranks, Friedman with its post-hoc, and random-effects
        meta-analyses against the reference system. Hidden benchmarks: means only, for non-admins."""
        with db.begin(principal) as (s, actor):
            return SuiteLeaderboardRead.from_board(service.suite_leaderboard(s, slug, measure, actor))

    @get("/{slug:str}/reproduction", operation_id="GetSuiteReproduction", sync_to_thread=True)
    def reproduction(self, db: Database, principal: Principal | None, slug: str) -> ReproductionRead:
        """The newest reproduction matrix of the suite (404 when it was never reproduced)."""
        with db.begin(principal) as (s, _):
            found = service.latest_reproduction(s, slug)
            if found is None:
                raise NotFoundError(
                    f"suite {slug!r} has not been reproduced yet (ragbench reproduce SUITE.yaml)"
                )
            return ReproductionRead.from_model(slug, found)

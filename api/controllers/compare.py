"""``GET /api/v1/compare?runs=1,2,3&measure=AP``: paired comparison of runs with corrected tests.

The most expensive read of the API (randomization tests and bootstrap CIs over every topic), so:
its own rate limit (:mod:`api.security`), at most ``RAGBENCH_EXPENSIVE_CONCURRENCY`` computed at
once (:mod:`api.limits`), and answers cached for a second (:mod:`api.cache`), so that the same
comparison asked by many clients is computed once. On a hidden benchmark a non-admin gets the
means only (:mod:`ragbench.store._blinding`).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter

from api.cache import ResponseCache
from api.deps import Database, Principal
from api.dto import ComparisonRead
from api.limits import WorkLimits
from api.views import MAX_COMPARED, parse_run_ids
from ragbench.store import service

RUNS_PATTERN = rf"^[0-9]{{1,19}}(,[0-9]{{1,19}}){{1,{MAX_COMPARED - 1}}}$"


def _compare(
    db: Database, principal: Principal | None, run_ids: list[int], measures: list[str] | None
) -> ComparisonRead:
    with db.begin(principal) as (s, actor):
        return ComparisonRead.from_report(run_ids, service.compare_runs(s, run_ids, measures, actor))


class CompareController(Controller):
    """Compare two or more runs of one benchmark, topic by topic (aggregate numbers in the answer)."""

    path = "/api/v1/compare"
    tags = ("Compare",)

    @get(operation_id="CompareRuns")
    async def compare(
        self,
        db: Database,
        cache: ResponseCache,
        limits: WorkLimits,
        principal: Principal | None,
        runs: Annotated[
            str,
            Parameter(
                description=f"2 to {MAX_COMPARED} distinct comma-separated run ids of one benchmark, "
                "the baseline first, e.g. 1,2,3",
                pattern=RUNS_PATTERN,
                max_length=20 * MAX_COMPARED,
            ),
        ],
        measure: Annotated[
            list[str] | None, Parameter(description="repeat; default: the benchmark's", max_items=50)
        ] = None,
    ) -> Response[ComparisonRead]:
        """Wins/ties/losses, mean differences with bootstrap CIs and Holm-corrected paired tests
        (on a hidden benchmark, for non-admins: the means only)."""
        run_ids = parse_run_ids(runs)
        measures = list(measure) if measure else None
        admin = principal is not None and principal.is_admin

        def compute() -> ComparisonRead:
            return limits.expensive_call(lambda: _compare(db, principal, run_ids, measures))

        key = ("compare", tuple(run_ids), tuple(measures or ()), admin)
        response: Response[Any] = await cache.json_response(key, compute)
        return response

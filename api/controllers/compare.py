"""``GET /api/v1/compare?runs=1,2,3&measure=AP``: paired comparison of runs with corrected tests."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from api.deps import Database, Principal
from api.dto import ComparisonRead
from api.views import parse_run_ids
from ragbench.store import service


class CompareController(Controller):
    """Compare two or more runs of one benchmark, topic by topic (aggregate numbers in the answer)."""

    path = "/api/v1/compare"
    tags = ("Compare",)

    @get(operation_id="CompareRuns", sync_to_thread=True)
    def compare(
        self,
        db: Database,
        principal: Principal | None,
        runs: Annotated[str, Parameter(description="comma-separated run ids, e.g. 1,2,3")],
        measure: Annotated[
            list[str] | None, Parameter(description="repeat; default: the benchmark's")
        ] = None,
    ) -> ComparisonRead:
        """Wins/ties/losses, mean differences with bootstrap CIs and Holm-corrected paired tests."""
        run_ids = parse_run_ids(runs)
        with db.begin(principal) as (s, actor):
            return ComparisonRead.from_report(run_ids, service.compare_runs(s, run_ids, measure, actor))

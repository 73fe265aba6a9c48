"""LLM judges over REST: ask the worker to judge a benchmark (admin), poll the job, add qrels a
judge made elsewhere with their provenance (admin), and the judge leaderboard."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get, post
from litestar.status_codes import HTTP_202_ACCEPTED

from api.auth import requires_admin
from api.bounds import JobId, SlugPath, parse_id
from api.deps import Database, Principal
from api.dto import QrelsVersionRead
from api.judge_dto import JudgedQrelsCreate, JudgeJobRead, JudgeRequest, JudgeRowRead
from ragbench.store import service


def job_read(s: Any, job: Any) -> JudgeJobRead:
    from ragbench.store.models import QrelsVersion

    version = s.get(QrelsVersion, job.result_version_id) if job.result_version_id is not None else None
    return JudgeJobRead.from_model(job, version.version if version is not None else None)


class JudgingController(Controller):
    """``/api/v1/benchmarks/{slug}/judge``, ``/judged-qrels``, ``/judges`` and ``/api/v1/judge-jobs/{id}``."""

    path = "/api/v1"
    tags = ("Judges",)

    @post(
        "/benchmarks/{slug:str}/judge",
        operation_id="RequestJudging",
        guards=[requires_admin],
        sync_to_thread=True,
    )
    def request(
        self, db: Database, principal: Principal, slug: SlugPath, data: JudgeRequest, request: Any
    ) -> Response[JudgeJobRead]:
        """Queue a judge job (admin only): 202 with the job; poll ``GET /api/v1/judge-jobs/{id}``
        until ``status`` is ``done`` (``result_version`` is the new qrels version) or ``failed``."""
        with db.begin(principal) as (s, actor):
            job = service.request_judging(s, actor, slug, data.config, data.mode)
            body = job_read(s, job)
        worker = getattr(request.app.state, "judge_worker", None)
        if worker is not None:
            worker.notify()
        return Response(body, status_code=HTTP_202_ACCEPTED)

    @get("/judge-jobs/{job_id:str}", operation_id="GetJudgeJob", sync_to_thread=True)
    def job(self, db: Database, principal: Principal | None, job_id: JobId) -> JudgeJobRead:
        """A judge job's status and progress (``done`` of ``total`` pairs)."""
        number = parse_id(job_id, "judge job")
        with db.begin(principal) as (s, actor):
            return job_read(s, service.get_judge_job(s, number, actor))

    @post(
        "/benchmarks/{slug:str}/judged-qrels",
        operation_id="AddJudgedQrels",
        guards=[requires_admin],
        sync_to_thread=True,
    )
    def add_judged(
        self, db: Database, principal: Principal, slug: SlugPath, data: JudgedQrelsCreate
    ) -> QrelsVersionRead:
        """Add qrels an LLM judge made (the provenance sidecar of ``ragbench judge --out``) as the next
        version; every run is re-scored (admin only)."""
        with db.begin(principal) as (s, actor):
            return QrelsVersionRead.from_model(service.add_judged_qrels(s, actor, slug, data.provenance))

    @get("/benchmarks/{slug:str}/judges", operation_id="GetJudgeLeaderboard", sync_to_thread=True)
    def judges(
        self, db: Database, principal: Principal | None, slug: SlugPath, measure: str | None = None
    ) -> list[JudgeRowRead]:
        """The benchmark's LLM judges ranked by Kendall's tau of the system rankings (then kappa)."""
        with db.begin(principal) as (s, actor):
            return [JudgeRowRead.from_row(r) for r in service.judge_board(s, slug, actor, measure)]

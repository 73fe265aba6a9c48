"""Runs: submit (member), read, scores, delete (owner or admin)."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import Provide
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from api.auth import requires_member
from api.bounds import RunId, SlugPath, parse_id
from api.deps import Database, Principal
from api.dto import Problem, RunRead, ScoresRead
from api.limits import provide_upload_slot
from api.uploads import RunUpload, RunUploadOperation, provide_run_upload
from api.worker import ScoringWorker
from ragbench.formats.lines import line_break_notes
from ragbench.store import service


class RunController(Controller):
    """Run files: validated and stored on submission, scored inline or by the background worker."""

    path = "/api/v1"
    tags = ("Runs",)

    @post(
        "/benchmarks/{slug:str}/runs",
        operation_id="SubmitRun",
        guards=[requires_member],
        dependencies={"upload": Provide(provide_run_upload), "slot": Provide(provide_upload_slot)},
        operation_class=RunUploadOperation,
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
    )
    def submit(
        self, db: Database, worker: ScoringWorker, principal: Principal, slug: SlugPath, upload: RunUpload
    ) -> Response[RunRead]:
        """Submit a TREC run: multipart field ``file`` with ``name``, ``description``, ``url`` and
        ``metadata`` (a JSON object) fields, or a ``text/plain`` body with those as query
        parameters. ``kind=session`` submits a session run (scored per session against the session
        qrels). 201 when scored at once, 202 when queued for the background worker; 400 lists
        every malformed line; ``warnings`` say how the file was read when that needs saying (lines
        ended by a lone CR are line breaks). On a hidden benchmark a member's run must have the
        minimum shape (422) and fit the submission quotas (429)."""
        with db.begin(principal) as (s, actor):
            run = service.submit_run(
                s,
                actor,
                slug,
                upload.content,
                name=upload.name,
                description=upload.description,
                url=upload.url,
                metadata=upload.metadata,
                filename=upload.filename,
                kind=upload.kind,
            )
            scores = service.run_scores(s, run.id, actor) if run.status == "scored" else {}
            notes = [
                Problem(file=p.file, line=p.line, message=p.message, column=p.column, severity=p.severity)
                for p in line_break_notes(upload.content, upload.filename)
            ]
            body = msgspec.structs.replace(RunRead.from_model(run, scores), warnings=notes)
        if body.status == "scored":
            return Response(body, status_code=HTTP_201_CREATED)
        worker.notify()  # after the commit, so the worker sees the run
        return Response(body, status_code=HTTP_202_ACCEPTED)

    @get("/runs/{run_id:str}", operation_id="GetRun", sync_to_thread=True)
    def get_run(self, db: Database, principal: Principal | None, run_id: RunId) -> RunRead:
        """A run, its status and its aggregate scores."""
        number = parse_id(run_id, "run")
        with db.begin(principal) as (s, actor):
            run = service.get_run(s, number, actor)
            return RunRead.from_model(run, service.run_scores(s, number, actor))

    @get("/runs/{run_id:str}/scores", operation_id="GetRunScores", sync_to_thread=True)
    def get_scores(
        self, db: Database, principal: Principal | None, run_id: RunId, per_topic: bool = False
    ) -> ScoresRead:
        """A run's scores; ``per_topic=true`` adds per-topic values (per-session values for a
        session run), withheld (null) on a hidden benchmark unless the caller is an admin."""
        number = parse_id(run_id, "run")
        with db.begin(principal) as (s, actor):
            run = service.get_run(s, number, actor)
            visible = per_topic and service.per_topic_visible(run.benchmark, actor)
            scores = service.run_scores(s, number, actor, per_topic=visible)
            return ScoresRead.from_scores(run, scores, per_topic=visible, withheld=per_topic and not visible)

    @delete("/runs/{run_id:str}", operation_id="DeleteRun", guards=[requires_member], sync_to_thread=True)
    def delete_run(self, db: Database, principal: Principal, run_id: RunId) -> None:
        """Delete a run and its scores (its owner or an admin; 403 for anyone else). Its submission
        still counts against the owner's quota on a hidden benchmark."""
        with db.begin(principal) as (s, actor):
            service.delete_run(s, actor, parse_id(run_id, "run"))

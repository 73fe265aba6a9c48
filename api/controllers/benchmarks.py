"""``/api/v1/benchmarks``: list, read, create (admin), add a qrels version (admin), add sessions and
session qrels versions (admin), hide/unhide."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import Parameter

from api.auth import requires_admin
from api.bounds import SlugPath
from api.deps import Database, Principal
from api.dto import (
    BenchmarkCreate,
    BenchmarkRead,
    NuggetsCreate,
    QrelsCreate,
    QrelsVersionRead,
    SessionsCreate,
)
from ragbench.store import service


class VisibilityUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /api/v1/benchmarks/{slug}``: hide a benchmark, or unblind it (``hidden: false``)."""

    hidden: bool


class BenchmarkController(Controller):
    """Benchmarks: everyone may list them; only admins create or change them."""

    path = "/api/v1/benchmarks"
    tags = ("Benchmarks",)

    @get(operation_id="ListBenchmarks", sync_to_thread=True)
    def list_benchmarks(self, db: Database, principal: Principal | None) -> list[BenchmarkRead]:
        """Every benchmark, hidden ones included (they show aggregate results only)."""
        with db.begin(principal) as (s, actor):
            return [BenchmarkRead.from_model(b) for b in service.list_benchmarks(s, actor)]

    @get("/{slug:str}", operation_id="GetBenchmark", sync_to_thread=True)
    def get_benchmark(self, db: Database, principal: Principal | None, slug: SlugPath) -> BenchmarkRead:
        """One benchmark (404 when the slug is unknown)."""
        with db.begin(principal) as (s, actor):
            return BenchmarkRead.from_model(service.get_benchmark(s, slug, actor))

    @post(operation_id="CreateBenchmark", guards=[requires_admin], sync_to_thread=True)
    def create_benchmark(self, db: Database, principal: Principal, data: BenchmarkCreate) -> BenchmarkRead:
        """Create a benchmark with its first qrels version (admin only; 400 with lines for bad qrels),
        optionally with its sessions (``sessions``, ``session_qrels``, ``session_measures``)."""
        with db.begin(principal) as (s, actor):
            benchmark = service.create_benchmark(
                s,
                actor,
                data.slug,
                title=data.title,
                description=data.description,
                topics_text=data.topics,
                qrels_text=data.qrels,
                corpus_ref=data.corpus_ref,
                hidden=data.hidden,
                measures=data.measures,
                sessions_text=data.sessions,
                session_qrels_text=data.session_qrels,
                session_measures=data.session_measures,
            )
            return BenchmarkRead.from_model(benchmark)

    @post("/{slug:str}/qrels", operation_id="AddQrelsVersion", guards=[requires_admin], sync_to_thread=True)
    def add_qrels(
        self, db: Database, principal: Principal, slug: SlugPath, data: QrelsCreate
    ) -> QrelsVersionRead:
        """Add a qrels version and re-score every run against it (admin only)."""
        with db.begin(principal) as (s, actor):
            version = service.add_qrels_version(s, actor, slug, data.qrels, label_source=data.label_source)
            return QrelsVersionRead.from_model(version)

    @post("/{slug:str}/sessions", operation_id="AddSessions", guards=[requires_admin], sync_to_thread=True)
    def add_sessions(
        self, db: Database, principal: Principal, slug: SlugPath, data: SessionsCreate
    ) -> BenchmarkRead:
        """Give a benchmark its sessions, their first session qrels version and the session measures
        (admin only, once; 400 with file and line for bad files, 409 when it has sessions already)."""
        with db.begin(principal) as (s, actor):
            benchmark = service.add_sessions(
                s,
                actor,
                slug,
                data.sessions,
                data.qrels,
                measures=data.measures,
                label_source=data.label_source,
            )
            return BenchmarkRead.from_model(benchmark)

    @post(
        "/{slug:str}/session-qrels",
        operation_id="AddSessionQrelsVersion",
        guards=[requires_admin],
        sync_to_thread=True,
    )
    def add_session_qrels(
        self, db: Database, principal: Principal, slug: SlugPath, data: QrelsCreate
    ) -> QrelsVersionRead:
        """Add a session qrels version and re-score every session run against it (admin only)."""
        with db.begin(principal) as (s, actor):
            version = service.add_session_qrels_version(
                s, actor, slug, data.qrels, label_source=data.label_source
            )
            return QrelsVersionRead.from_model(version)

    @post("/{slug:str}/nuggets", operation_id="AddNuggetSet", guards=[requires_admin], sync_to_thread=True)
    def add_nuggets(
        self, db: Database, principal: Principal, slug: SlugPath, data: NuggetsCreate
    ) -> QrelsVersionRead:
        """Add a nugget set version (admin only): the benchmark then takes RAG runs, and the RAG runs
        it has are evaluated again against the new set by the worker (400 for a malformed set)."""
        import json

        with db.begin(principal) as (s, actor):
            version = service.add_nugget_set(s, actor, slug, json.dumps(data.nuggets), measures=data.measures)
            return QrelsVersionRead.from_model(version)

    @get("/{slug:str}/nuggets", operation_id="GetNuggetSet", guards=[requires_admin], sync_to_thread=True)
    def get_nuggets(
        self,
        db: Database,
        principal: Principal,
        slug: SlugPath,
        version: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
    ) -> dict[str, Any]:
        """Export a nugget set as JSON (admin only: nuggets are judgments; latest version by default).
        Edit it and post it back to make a new version (human nuggets allowed)."""
        with db.begin(principal) as (s, actor):
            found, nuggets = service.nugget_set(s, actor, slug, version)
            return {"version": found.version, "label_source": found.label_source, **nuggets.to_dict()}

    @patch("/{slug:str}", operation_id="SetBenchmarkVisibility", guards=[requires_admin], sync_to_thread=True)
    def set_visibility(
        self, db: Database, principal: Principal, slug: SlugPath, data: VisibilityUpdate
    ) -> BenchmarkRead:
        """Hide a benchmark's per-topic results, or unblind it (admin only)."""
        with db.begin(principal) as (s, actor):
            return BenchmarkRead.from_model(service.set_hidden(s, actor, slug, data.hidden))

"""Request and response bodies of the LLM judges' endpoints (``api.controllers.judging``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from api.dto import finite


class JudgeRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/judge``: judge the benchmark's holes (``mode`` ``holes``) or
    its whole pool (``all``) on the worker. ``config``: ``backend``, ``model``, ``base_url``,
    ``api_key_env`` (the NAME of the worker's variable), ``prompt`` (``umbrela`` | ``basic``),
    ``method``, ``samples``, ``temperature``, ``depth``, ``max_topics``..."""

    config: dict[str, Any] = msgspec.field(default_factory=dict)
    mode: Literal["holes", "all"] = "holes"


class JudgedQrelsCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/benchmarks/{slug}/judged-qrels``: the provenance sidecar of ``ragbench judge
    --out`` (the qrels are rebuilt from it, so every label has its provenance)."""

    provenance: str


class JudgeJobRead(msgspec.Struct, frozen=True):
    """A judge job: ``status`` pending, running, done or failed; ``done``/``total`` pairs judged;
    ``result_version``: the qrels version it made."""

    id: int
    benchmark: str
    status: str
    mode: str
    config: dict[str, Any]
    done: int
    total: int
    counts: dict[str, Any]
    error: str | None
    result_version: int | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_model(cls, job: Any, result_version: int | None) -> JudgeJobRead:
        return cls(
            id=job.id,
            benchmark=job.benchmark.slug,
            status=job.status,
            mode=job.mode,
            config=dict(job.config),
            done=job.done,
            total=job.total,
            counts=dict(job.counts or {}),
            error=job.error,
            result_version=result_version,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


class JudgeRowRead(msgspec.Struct, frozen=True):
    """One judge on the judge leaderboard (figures null when withheld or not computable)."""

    version: int
    judge: str
    label_sources: str
    llm_labels: int
    failures: int
    pairs: int
    kappa: float | None
    kappa_at_1: float | None
    kappa_at_2: float | None
    alpha: float | None
    measure: str | None
    runs: int
    kendall_tau: float | None
    kendall_ci: list[float | None] | None
    spearman_rho: float | None
    mean_change: float | None
    details: dict[str, Any]

    @classmethod
    def from_row(cls, row: Any) -> JudgeRowRead:
        return cls(
            version=row.version, judge=row.judge, label_sources=row.label_sources, llm_labels=row.llm_labels,
            failures=row.failures, pairs=row.pairs, kappa=finite(row.kappa),
            kappa_at_1=finite(row.kappa_at_1), kappa_at_2=finite(row.kappa_at_2), alpha=finite(row.alpha),
            measure=row.measure, runs=row.runs,
            kendall_tau=finite(row.kendall_tau),
            kendall_ci=[finite(v) for v in row.kendall_ci] if row.kendall_ci is not None else None,
            spearman_rho=finite(row.spearman_rho), mean_change=finite(row.mean_change),
            details=dict(row.details),
        )  # fmt: skip

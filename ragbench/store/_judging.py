"""LLM labels in the service: judged qrels versions with per-label provenance, judge jobs, and the
qrels views the leaderboard is read under.

A qrels version an LM judged has a :class:`QrelsOrigin` (``llm``: every label the judge's; or
``mixed``: a human version's labels with the judge's filling its holes) and one :class:`LLMLabel`
per judged pair. The leaderboard is read under one *view*, never a silent mix: ``human`` (the
latest all-human version; holes count non-relevant), ``filled`` (the latest mixed version) or
``llm`` (the latest LLM-only version). A judge job is an admin's request that the worker judge a
benchmark's holes (or whole pool); its progress is polled like a large run's scoring.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ragbench.errors import InputError, NotFoundError
from ragbench.formats.judgments import LabelRecord, qrels_text
from ragbench.store._common import (
    benchmark_by_slug,
    now,
    require_admin,
    unpack,
    view_version,
)
from ragbench.store.models import (
    JUDGE_MODES,
    JudgeJob,
    LLMLabel,
    QrelsOrigin,
    QrelsVersion,
    Run,
    User,
)

JOB_KEYS = {
    "backend", "model", "base_url", "api_key_env", "prompt", "method", "samples", "temperature",
    "max_tokens", "doc_words", "depth", "max_topics", "concurrency", "batch_size", "timeout", "retries",
}  # fmt: skip
"""What a judge job's config may say (the API key stays in the worker's environment)."""


def version_sources(s: Session, version: QrelsVersion) -> str:
    """``human``, ``llm`` or ``mixed``: where the version's labels come from."""
    origin = s.get(QrelsOrigin, version.id)
    return origin.label_sources if origin is not None else "human"


def attach_llm_labels(
    s: Session,
    version: QrelsVersion,
    records: Iterable[LabelRecord],
    judge: Mapping[str, Any],
    based_on: QrelsVersion | None,
) -> QrelsOrigin:
    """Record that ``version`` was (partly) judged by an LM: its origin and one row per LLM label
    or failure. ``label_sources`` is ``mixed`` when the records include human labels, else ``llm``.

    Raises:
        InputError: no record is an LLM label.
    """
    rows = list(records)
    llm = [r for r in rows if r.source == "llm"]
    if not any(r.relevance is not None for r in llm):
        raise InputError("these qrels carry no LLM label: add them as human qrels")
    sources = "mixed" if any(r.source == "human" for r in rows) else "llm"
    origin = QrelsOrigin(
        qrels_version_id=version.id,
        label_sources=sources,
        based_on_id=based_on.id if based_on is not None and sources == "mixed" else None,
        judge=dict(judge),
        created_at=now(),
    )
    s.add(origin)
    s.add_all(
        LLMLabel(
            qrels_version_id=version.id,
            query_id=r.query_id,
            doc_id=r.doc_id,
            relevance=r.relevance,
            failure=r.failure,
            provenance=dict(r.provenance or {}),
        )
        for r in llm
    )
    s.flush()
    return origin


def check_sidecar_matches(qrels: bytes, records: Sequence[LabelRecord]) -> None:
    """The qrels must be exactly the labelled records (no label without provenance).

    Raises:
        InputError: naming the first pair that differs.
    """
    from ragbench.formats.trec import read_qrels

    given = read_qrels(qrels, name="qrels").to_dict()
    recorded: dict[str, dict[str, int]] = {}
    for r in records:
        if r.relevance is not None:
            recorded.setdefault(r.query_id, {})[r.doc_id] = r.relevance
    for query_id in sorted(set(given) | set(recorded)):
        a, b = given.get(query_id, {}), recorded.get(query_id, {})
        for doc in sorted(set(a) | set(b)):
            if a.get(doc) != b.get(doc):
                raise InputError(
                    f"the qrels and their provenance disagree on topic {query_id} document {doc} "
                    f"(qrels: {a.get(doc)}, provenance: {b.get(doc)})"
                )


def add_judged_qrels(
    s: Session,
    actor: User | None,
    slug: str,
    provenance_text: str | bytes,
    *,
    judge: Mapping[str, Any] | None = None,
) -> QrelsVersion:
    """Add LLM-judged qrels with their provenance sidecar (``ragbench judge --out``'s two files) as
    the next qrels version (admin only): the qrels are rebuilt from the sidecar, so every label has
    its provenance; runs are re-scored as for any new version.

    Raises:
        AuthError, PermissionDenied: not an admin.
        InputError: a malformed sidecar, or one without LLM labels.
    """
    from ragbench.formats.judgments import parse_sidecar
    from ragbench.store._benchmarks import add_qrels_version

    require_admin(actor, "add judged qrels")
    sidecar = parse_sidecar(provenance_text)
    records = list(sidecar.records.values())
    text = qrels_text(records)
    if not text:
        raise InputError("the provenance holds no label")
    benchmark = benchmark_by_slug(s, slug)
    based_on = view_version(s, benchmark.id, "human")
    version = add_qrels_version(s, actor, slug, text, label_source="llm")
    attach_llm_labels(s, version, records, judge or sidecar.header.get("judge") or {}, based_on)
    return version


def label_provenance(s: Session, version: QrelsVersion) -> dict[tuple[str, str], LLMLabel]:
    """The LLM labels (and failures) of a version by ``(query_id, doc_id)``."""
    rows = s.scalars(select(LLMLabel).where(LLMLabel.qrels_version_id == version.id))
    return {(r.query_id, r.doc_id): r for r in rows}


def qrels_dict(version: QrelsVersion) -> dict[str, dict[str, int]]:
    from ragbench.formats.trec import read_qrels

    return read_qrels(unpack(version.content, "qrels"), name=f"qrels version {version.version}").to_dict()


# -- judge jobs ----------------------------------------------------------------------------------


def request_judging(
    s: Session, actor: User | None, slug: str, config: Mapping[str, Any], mode: str = "holes"
) -> JudgeJob:
    """Ask the worker to judge a benchmark's holes (``mode="holes"``: pairs of its runs' top
    ``depth`` that the latest human qrels lack) or its whole pool (``"all"``) (admin only).

    The benchmark's ``corpus_ref`` must be a JSONL corpus the worker can read; the config names
    the judge (``backend``, ``model``, ``base_url``, ``api_key_env``, ``prompt``: ``umbrela`` or
    ``basic``, ``method``, ``samples``, ``depth``...).

    Raises:
        AuthError, PermissionDenied: not an admin.
        NotFoundError: no such benchmark.
        InputError: an unknown mode or config key, a prompt that is not built in, no corpus.
    """
    require_admin(actor, "ask for LLM judgments")
    benchmark = benchmark_by_slug(s, slug)
    if mode not in JUDGE_MODES:
        raise InputError(f"mode {mode!r} is not one of {', '.join(JUDGE_MODES)}")
    unknown = sorted(set(config) - JOB_KEYS)
    if unknown:
        raise InputError(f"unknown judge option {', '.join(unknown)}; use {', '.join(sorted(JOB_KEYS))}")
    if config.get("prompt", "umbrela") not in ("umbrela", "basic"):
        raise InputError("prompt: the service judges with a built-in prompt (umbrela or basic)")
    if "api_key" in str(config).lower() and "api_key_env" not in config:
        raise InputError("give api_key_env, the name of the worker's variable holding the key")
    if not benchmark.corpus_ref:
        raise InputError(f"benchmark {slug!r} has no corpus_ref: the judge needs the documents' texts")
    job = JudgeJob(
        benchmark=benchmark,
        requested_by_id=actor.id if actor is not None else None,
        status="pending",
        mode=mode,
        config=dict(config),
        counts={},
        created_at=now(),
    )
    s.add(job)
    s.flush()
    return job


def get_judge_job(s: Session, job_id: int, actor: User | None = None) -> JudgeJob:
    """A judge job (its status, progress and counts; anyone may poll it).

    Raises:
        NotFoundError: there is none.
    """
    job = s.get(JudgeJob, job_id)
    if job is None:
        raise NotFoundError(f"no judge job {job_id}")
    return job


JudgeFn = Callable[
    [Mapping[str, Any], list[tuple[str, str, str, str]], Callable[[int], None]],
    tuple[list[Any], dict[str, Any]],
]
"""``(config, pairs, progress) -> (judgments, judge description)``: the LM work, supplied by the
caller (the API's worker), so the store never imports the LM layer."""


def process_judge_jobs(factory: Callable[[], Session], judge: JudgeFn, limit: int | None = 1) -> int:
    """Claim pending judge jobs (oldest first) and run them, each ending ``done`` with a new qrels
    version or ``failed`` with the reason; returns the number finished."""
    finished = 0
    while limit is None or finished < limit:
        with factory() as s, s.begin():
            job_id = s.scalar(
                select(JudgeJob.id).where(JudgeJob.status == "pending").order_by(JudgeJob.id).limit(1)
            )
            if job_id is None:
                break
            claimed = s.execute(
                update(JudgeJob)
                .where(JudgeJob.id == job_id, JudgeJob.status == "pending")
                .values(status="running")
            )
            if getattr(claimed, "rowcount", 1) != 1:
                continue
        try:
            _run_job(factory, job_id, judge)
        except Exception as exc:  # the worker survives any job, and says why it failed
            from ragbench.store._scoring import failure_reason

            with factory() as s, s.begin():
                s.execute(
                    update(JudgeJob)
                    .where(JudgeJob.id == job_id)
                    .values(status="failed", error=failure_reason(exc), finished_at=now())
                )
        finished += 1
    return finished


def _run_job(factory: Callable[[], Session], job_id: int, judge: JudgeFn) -> None:
    from ragbench.evaluation.pooling import common_topics, holes, pool
    from ragbench.formats.corpus import iter_corpus
    from ragbench.formats.topics import read_topics

    with factory() as s:
        job = get_judge_job(s, job_id)
        benchmark = job.benchmark
        config, mode = dict(job.config), job.mode
        human_version = view_version(s, benchmark.id, "human")
        assert human_version is not None  # version 1 is human
        human = qrels_dict(human_version)
        runs = {
            f"run {r.id}": _run_dict(unpack(r.content, "run file"), r.id)
            for r in s.scalars(
                select(Run).where(
                    Run.benchmark_id == benchmark.id, Run.kind == "adhoc", Run.status == "scored"
                )
            )
        }
        topics_text, corpus_ref, human_id = benchmark.topics, benchmark.corpus_ref, human_version.id
    if not runs:
        raise InputError("the benchmark has no scored run to judge the documents of")
    depth = int(config.get("depth", 10))
    common = common_topics(human, list(runs.values()))[: config.get("max_topics") or None]
    pooled = pool(list(runs.values()), depth, common)
    wanted = pooled if mode == "all" else holes(pooled, human)
    texts = (
        {
            t.query_id: " ".join(t.title.split())
            for t in read_topics((topics_text or "").encode(), name="topics")
        }
        if topics_text
        else {}
    )
    docs: dict[str, str] = {}
    need = {d for ds in wanted.values() for d in ds}
    for doc in iter_corpus(str(corpus_ref), empty="warning"):
        if doc.doc_id in need:
            docs[doc.doc_id] = doc.contents
    pairs = [(q, texts[q], d, docs[d]) for q, ds in wanted.items() if q in texts for d in ds if d in docs]
    _progress(factory, job_id, 0, len(pairs))
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % 16 < n or done[0] >= len(pairs):
            _progress(factory, job_id, done[0], len(pairs))

    judgments, describe = judge(config, pairs, tick) if pairs else ([], {})
    records = [LabelRecord(j.query_id, j.doc_id, j.label, "llm", j.provenance, j.failure) for j in judgments]
    if mode == "holes":
        records += [LabelRecord(q, d, g, "human") for q, ds in human.items() for d, g in ds.items() if g >= 0]
    labels = sum(1 for r in records if r.source == "llm" and r.relevance is not None)
    counts = {"pairs": len(pairs), "llm_labels": labels, "failures": len(judgments) - labels}
    with factory() as s, s.begin():
        from ragbench.store._benchmarks import add_qrels_version

        job = get_judge_job(s, job_id)
        admin = s.get(User, job.requested_by_id) if job.requested_by_id is not None else None
        if labels == 0:
            raise InputError(
                f"the judge labelled no pair ({counts['failures']} failures of {len(pairs)} pairs)"
            )
        version = add_qrels_version(s, admin, benchmark_slug(s, job), qrels_text(records), label_source="llm")
        attach_llm_labels(s, version, records, {**describe, **counts}, s.get(QrelsVersion, human_id))
        job.status, job.result_version_id, job.counts, job.finished_at = "done", version.id, counts, now()


def benchmark_slug(s: Session, job: JudgeJob) -> str:
    return job.benchmark.slug


def _run_dict(content: bytes, run_id: int) -> dict[str, dict[str, float]]:
    from ragbench.formats.trec import read_run

    return read_run(content, name=f"run {run_id}").to_dict()


def _progress(factory: Callable[[], Session], job_id: int, done: int, total: int) -> None:
    with factory() as s, s.begin():
        s.execute(update(JudgeJob).where(JudgeJob.id == job_id).values(done=done, total=total))


# -- the judge leaderboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeRow:
    """One judge (model + prompt) of a benchmark, as the judge leaderboard shows it.

    ``pairs`` are the pairs both the judge and the human qrels label (the label figures are over
    them; ``None`` when there is none, e.g. a judge that filled holes only); ``kendall_tau`` and
    ``spearman_rho`` compare the system rankings on ``measure`` under the human qrels and under
    the judge's version, with bootstrap CIs over topics. On a hidden benchmark non-admins see
    the judges and counts only (every figure derives from the hidden qrels).
    """

    version: int
    judge: str
    label_sources: str
    llm_labels: int
    failures: int
    pairs: int
    kappa: float | None = None
    kappa_at_1: float | None = None
    kappa_at_2: float | None = None
    alpha: float | None = None
    measure: str | None = None
    runs: int = 0
    kendall_tau: float | None = None
    kendall_ci: tuple[float, float] | None = None
    spearman_rho: float | None = None
    mean_change: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def judge_board(
    s: Session, slug: str, actor: User | None = None, measure: str | None = None
) -> list[JudgeRow]:
    """The judges of a benchmark's LLM-judged qrels versions, ranked by Kendall's tau between the
    system rankings (then Cohen's kappa), as the LLMJudge challenge ranks them.

    Raises:
        NotFoundError: no such benchmark.
        MeasureError, InputError: a measure the benchmark does not score.
    """
    from ragbench.errors import RagbenchError
    from ragbench.stats import label_agreement, ranking_agreement
    from ragbench.store._blinding import per_topic_visible
    from ragbench.store._leaderboard import canonical_measure

    benchmark = benchmark_by_slug(s, slug)
    name = canonical_measure(benchmark, measure or benchmark.measures[0])
    visible = per_topic_visible(benchmark, actor)
    human = view_version(s, benchmark.id, "human")
    origins = s.execute(
        select(QrelsOrigin, QrelsVersion)
        .join(QrelsVersion, QrelsVersion.id == QrelsOrigin.qrels_version_id)
        .where(QrelsVersion.benchmark_id == benchmark.id)
        .order_by(QrelsVersion.version)
    ).all()
    rows: list[JudgeRow] = []
    human_labels = qrels_dict(human) if human is not None and visible else {}
    human_scores = _per_topic(s, human.id, name) if human is not None and visible else {}
    for origin, version in origins:
        labels = label_provenance(s, version)
        judged = {k: v.relevance for k, v in labels.items() if v.relevance is not None}
        judge = origin.judge or {}
        row: dict[str, Any] = {
            "version": version.version,
            "judge": str(judge.get("judge") or f"{judge.get('model', '?')} + {judge.get('prompt', '?')}"),
            "label_sources": origin.label_sources,
            "llm_labels": len(judged),
            "failures": len(labels) - len(judged),
            "pairs": 0,
            "measure": name,
            "details": {k: judge.get(k) for k in ("model", "backend", "prompt", "method", "samples")},
        }
        if visible:
            llm_qrels: dict[str, dict[str, int]] = {}
            for (q, d), g in judged.items():
                llm_qrels.setdefault(q, {})[d] = int(g)
            try:
                agreement = label_agreement(human_labels, llm_qrels)
                row.update(
                    pairs=agreement.pairs, kappa=agreement.kappa, kappa_at_1=agreement.kappa_at_1,
                    kappa_at_2=agreement.kappa_at_2, alpha=agreement.alpha,
                )  # fmt: skip
            except RagbenchError:
                pass
            try:
                found = ranking_agreement(human_scores, _per_topic(s, version.id, name), name, trials=500)
                row.update(
                    runs=found.runs, kendall_tau=found.kendall_tau, kendall_ci=found.kendall_ci,
                    spearman_rho=found.spearman_rho, mean_change=found.mean_change,
                )  # fmt: skip
            except RagbenchError:
                pass
        rows.append(JudgeRow(**row))
    return sorted(rows, key=lambda r: (-(r.kendall_tau if r.kendall_tau is not None else -2.0),
                                       -(r.kappa if r.kappa is not None else -2.0), r.version))  # fmt: skip


def _per_topic(s: Session, version_id: int, measure: str) -> dict[str, dict[str, float]]:
    from ragbench.store.models import ALL_TOPICS, Score

    found: dict[str, dict[str, float]] = {}
    for run_id, query_id, value in s.execute(
        select(Score.run_id, Score.query_id, Score.value).where(
            Score.qrels_version_id == version_id, Score.measure == measure, Score.query_id != ALL_TOPICS
        )
    ):
        found.setdefault(str(run_id), {})[query_id] = value
    return found

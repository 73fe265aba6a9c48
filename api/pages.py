"""The web pages: server-rendered Jinja templates (autoescaped), usable without JavaScript.

``/`` benchmarks · ``/benchmarks/{slug}?measure=&session_measure=`` leaderboard (and, for a
benchmark with sessions, the sessions leaderboard with one column per session measure) ·
``/runs/{id}?measure=`` run page with per-topic (per-session) scores and an SVG chart ·
``/compare?a=&b=`` two runs side by side. Pages are anonymous: a hidden benchmark shows aggregates
only (:func:`ragbench.store.service.per_topic_visible`: no per-topic table, chart, tier or
comparison statistic). The comparison page shares the API's bound on concurrent comparisons.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Controller, get
from litestar.params import Parameter
from litestar.response import Template
from litestar.template import TemplateConfig

try:  # litestar >= 2.22; older releases have it in contrib
    from litestar.plugins.jinja import JinjaTemplateEngine
except ImportError:  # pragma: no cover
    from litestar.contrib.jinja import JinjaTemplateEngine

from api.bounds import MAX_ID, Offset, RunId, parse_id
from api.charts import difference_chart, distribution_chart
from api.deps import Database
from api.dto import BenchmarkRead, LeaderboardRow, RunRead, per_topic_of
from api.limits import WorkLimits
from api.views import leaderboard_read
from ragbench.store import service

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 50
VIEW_NAMES = {"human": "human labels only", "filled": "LLM-filled holes", "llm": "LLM labels only"}
_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)


def _score(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _pvalue(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def _date(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja with autoescaping always on and undefined variables as errors."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    env.filters["score"] = _score
    env.filters["date"] = _date
    env.filters["pvalue"] = _pvalue
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def topic_order(query_id: str) -> tuple[int, int, str]:
    """Sort key: numeric topic ids by number, then the others alphabetically."""
    return (0, int(query_id), "") if query_id.isdecimal() else (1, 0, query_id)


class PageController(Controller):
    """The HTML pages (not in the OpenAPI schema)."""

    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(self, db: Database) -> Template:
        """The benchmarks."""
        with db.begin() as (s, _):
            benchmarks = [BenchmarkRead.from_model(b) for b in service.list_benchmarks(s, None)]
        return Template("index.html", context={"benchmarks": benchmarks})

    @get("/benchmarks/{slug:str}", sync_to_thread=True)
    def leaderboard(
        self,
        db: Database,
        slug: str,
        measure: str | None = None,
        offset: Offset = 0,
        session_measure: str | None = None,
        session_offset: Offset = 0,
        qrels: str = "human",
        rag_measure: str | None = None,
    ) -> Template:
        """A benchmark's leaderboard on one measure, with a GET form to switch measure; for a
        benchmark with sessions also the sessions leaderboard, ranked on ``session_measure``."""
        with db.begin() as (s, _):
            benchmark = BenchmarkRead.from_model(service.get_benchmark(s, slug, None))
            board = leaderboard_read(
                s, slug, measure or None, offset=offset, limit=PAGE_SIZE, actor=None, qrels=qrels
            )
            sessions = None
            if benchmark.has_sessions:
                sessions = leaderboard_read(
                    s,
                    slug,
                    session_measure or None,
                    offset=session_offset,
                    limit=PAGE_SIZE,
                    actor=None,
                    kind="session",
                )
            extra = board_extras(s, slug, board.measure, [row.run_id for row in board.rows])
            rag = None
            if benchmark.has_rag:
                rag = leaderboard_read(
                    s, slug, rag_measure or None, offset=0, limit=PAGE_SIZE, actor=None, kind="rag"
                )
        state = {
            "rag_measure": rag.measure if rag else None,
            "measure": board.measure,
            "offset": offset,
            "session_measure": sessions.measure if sessions else None,
            "session_offset": session_offset,
            "qrels": board.qrels if board.qrels != "human" else None,
        }
        context = {
            "benchmark": benchmark,
            "board": board,
            "sessions": sessions,
            "rag": rag,
            "link": _linker(state),
            "view_names": VIEW_NAMES,
            "prev_offset": max(offset - PAGE_SIZE, 0) if offset > 0 else None,
            "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < board.total else None,
            "session_prev_offset": max(session_offset - PAGE_SIZE, 0) if session_offset > 0 else None,
            "session_next_offset": (
                session_offset + PAGE_SIZE
                if sessions and session_offset + PAGE_SIZE < sessions.total
                else None
            ),
            **extra,
        }
        return Template("leaderboard.html", context=context)

    @get("/benchmarks/{slug:str}/judges", sync_to_thread=True)
    def judges(self, db: Database, slug: str, measure: str | None = None) -> Template:
        """The benchmark's LLM judges (model + prompt) ranked by how well they reproduce the human
        system ranking (Kendall's tau), then label agreement (Cohen's kappa)."""
        from api.judge_dto import JudgeRowRead

        with db.begin() as (s, _):
            benchmark = BenchmarkRead.from_model(service.get_benchmark(s, slug, None))
            rows = [JudgeRowRead.from_row(r) for r in service.judge_board(s, slug, None, measure)]
        measure_name = (
            rows[0].measure if rows else (measure or (benchmark.measures[0] if benchmark.measures else ""))
        )
        context = {"benchmark": benchmark, "rows": rows, "measure": measure_name}
        return Template("judges.html", context=context)

    @get("/benchmarks/{slug:str}/significance", sync_to_thread=True)
    def significance(self, db: Database, slug: str, measure: str | None = None) -> Template:
        """Every pair of runs on one measure: mean difference, randomization test, Holm-corrected."""
        with db.begin() as (s, _):
            benchmark_model = service.get_benchmark(s, slug, None)
            benchmark = BenchmarkRead.from_model(benchmark_model)
            name = measure or benchmark_model.scored_measures[0]
            visible = service.per_topic_visible(benchmark_model, None)
            matrix = service.significance_matrix(s, slug, name, None) if visible else None
        context = {
            "benchmark": benchmark,
            "measures": benchmark_model.scored_measures,
            "measure": matrix.measure if matrix else name,
            "matrix": matrix,
            "visible": visible,
        }
        return Template("significance.html", context=context)

    @get("/runs/{run_id:str}", sync_to_thread=True)
    def run(self, db: Database, run_id: RunId, measure: str | None = None) -> Template:
        """A run: facts, aggregate scores, per-topic scores and a chart against the best run."""
        number = parse_id(run_id, "run")
        with db.begin() as (s, _):
            context = run_context(s, number, measure)
        return Template("run.html", context=context)

    @get("/runs/{run_id:str}/answers/{topic_id:str}", sync_to_thread=True)
    def answer(self, db: Database, run_id: RunId, topic_id: str) -> Template:
        """One answer of a RAG run: each sentence with its citations and their support labels, the
        topic's nuggets with their assignment (judgments withheld on a hidden benchmark)."""
        number = parse_id(run_id, "run")
        with db.begin() as (s, _):
            context = answer_context(s, number, topic_id)
        return Template("answer.html", context=context)

    @get("/compare", sync_to_thread=True)
    def compare(
        self,
        db: Database,
        limits: WorkLimits,
        a: Annotated[int | None, Parameter(ge=0, le=MAX_ID)] = None,
        b: Annotated[int | None, Parameter(ge=0, le=MAX_ID)] = None,
    ) -> Template:
        """Two runs compared measure by measure (a form asks for the ids when they are missing)."""
        context: dict[str, Any] = {"a": a, "b": b, "report": None, "chart": None, "hidden": False}
        if a is not None and b is not None:

            def work() -> dict[str, Any]:
                with db.begin() as (s, _):
                    return compare_context(s, a, b)

            context.update(limits.expensive_call(work))
        return Template("compare.html", context=context)


def board_extras(s: Session, slug: str, measure: str, run_ids: list[int]) -> dict[str, Any]:
    """The leaderboard page's statistics: qrels statistics for everyone; CIs of the means and the
    per-topic distribution plot only where per-topic scores are visible (not on a hidden benchmark)."""
    benchmark = service.get_benchmark(s, slug, None)
    visible = service.per_topic_visible(benchmark, None)
    extra: dict[str, Any] = {
        "visible": visible,
        "qrels": service.qrels_statistics(s, slug),
        "ci": {},
        "distribution": None,
    }
    if not visible or not run_ids:
        return extra
    detail = service.board_detail(s, slug, None)
    extra["ci"] = {f"{run_id}|{m}": bounds for (run_id, m), bounds in detail.ci.items()}
    by_id = {run.run_id: run for run in detail.runs}
    series = [
        (f"#{run_id} {by_id[run_id].system}", by_id[run_id].values[measure].tolist())
        for run_id in run_ids
        if run_id in by_id and measure in by_id[run_id].values
    ]
    if series:
        extra["distribution"] = distribution_chart(series, measure=measure)
    return extra


def _linker(state: dict[str, Any]) -> Callable[..., str]:
    """``link(**changes)``: the query string of the leaderboard page with ``changes`` applied, so
    that changing one table's measure or page keeps the other's (defaults left out)."""

    def link(**changes: Any) -> str:
        params = {**state, **changes}
        kept = {k: v for k, v in params.items() if v not in (None, "", 0)}
        return "?" + urlencode(kept)

    return link


def _baseline(s: Session, run: RunRead, measure: str) -> LeaderboardRow | None:
    """The best scored run of the same kind on ``measure``, or the runner-up when ``run`` is the best."""
    board = leaderboard_read(s, run.benchmark, measure, offset=0, limit=2, actor=None, kind=run.kind)
    return next((row for row in board.rows if row.run_id != run.id), None)


def _differences(mine: dict[str, float | None], theirs: dict[str, float | None]) -> dict[str, float]:
    return {q: (mine.get(q) or 0.0) - (theirs.get(q) or 0.0) for q in mine.keys() | theirs.keys()}


def _as_yaml(header: dict[str, Any] | None) -> str | None:
    """The ir_metadata header as the run file wrote it (YAML), for the run page."""
    if not header:
        return None
    import yaml

    return str(
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    )


def run_context(s: Session, run_id: int, measure: str | None) -> dict[str, Any]:
    """Everything the run page shows (per-topic values only when the benchmark is not hidden)."""
    model = service.get_run(s, run_id, None)
    run = RunRead.from_model(model, service.run_scores(s, run_id, None))
    hidden = bool(model.benchmark.hidden)
    measures = list(run.scores)
    if measure not in measures:
        measure = measures[0] if measures else (measure or "")
    context: dict[str, Any] = {
        "run": run,
        "measure": measure,
        "hidden": hidden,
        "safe_url": run.url if run.url and _SAFE_URL.match(run.url) else None,
        "per_topic": None,
        "topics": [],
        "chart": None,
        "baseline": None,
        "ir_metadata": _as_yaml(run.ir_metadata),
    }
    context["answers"] = service.rag_run_answers(s, run_id) if run.kind == "rag" else []
    if hidden or run.status != "scored" or not measures:
        return context
    per_topic = per_topic_of(service.run_scores(s, run_id, None, per_topic=True))
    context["per_topic"] = per_topic
    context["topics"] = sorted({q for values in per_topic.values() for q in values}, key=topic_order)
    baseline = _baseline(s, run, measure)
    if baseline is not None:
        theirs = per_topic_of(service.run_scores(s, baseline.run_id, None, per_topic=True)).get(measure, {})
        context["baseline"] = baseline
        context["chart"] = difference_chart(
            _differences(per_topic.get(measure, {}), theirs),
            measure=measure,
            run_label=run.system,
            baseline_label=baseline.system,
            unit="session" if run.kind == "session" else "topic",
        )
    return context


def compare_context(s: Session, a: int, b: int) -> dict[str, Any]:
    """The comparison of run ``b`` against baseline run ``a`` (on a hidden benchmark: the means,
    no statistic and no chart)."""
    from api.dto import ComparisonRead

    run_a = RunRead.from_model(service.get_run(s, a, None))
    run_b = RunRead.from_model(service.get_run(s, b, None))
    report = ComparisonRead.from_report([a, b], service.compare_runs(s, [a, b], None, None))
    hidden = report.per_topic_withheld
    chart = None
    if not hidden and report.comparisons:
        measure = report.comparisons[0].measure
        scores_a = per_topic_of(service.run_scores(s, a, None, per_topic=True)).get(measure, {})
        scores_b = per_topic_of(service.run_scores(s, b, None, per_topic=True)).get(measure, {})
        chart = difference_chart(
            _differences(scores_b, scores_a),
            measure=measure,
            run_label=run_b.system,
            baseline_label=run_a.system,
            unit="session" if run_a.kind == "session" else "topic",
        )
    return {"run_a": run_a, "run_b": run_b, "report": report, "chart": chart, "hidden": hidden}


def answer_context(s: Session, run_id: int, topic_id: str) -> dict[str, Any]:
    """The answer page: sentences with citations and support labels, nuggets with assignments."""
    page = service.rag_answer(s, run_id, topic_id, None)
    judged = page["judged"]
    support = judged.support if judged is not None and judged.support is not None else None
    answer = page["answer"]
    sentences = [
        {
            "text": sentence.text,
            "citations": [
                {
                    "number": c + 1,
                    "segment": answer.references[c],
                    "label": support[i][j] if support else None,
                }
                for j, c in enumerate(sentence.citations)
            ],
        }
        for i, sentence in enumerate(answer.sentences)
    ]
    return {
        "run": RunRead.from_model(page["run"]),
        "answer": answer,
        "sentences": sentences,
        "nuggets": page["nuggets"],
        "failed": page["failed"],
        "hidden": bool(page["run"].benchmark.hidden),
        "judged": judged is not None,
    }

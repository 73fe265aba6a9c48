"""The ``ragbench`` command line (Typer + Rich).

Every command turns a :class:`~ragbench.errors.RagbenchError` (bad file, bad measure name, bad
argument) into its message on stderr and exit status 2, never a traceback. Heavy work is imported
inside each command, so ``ragbench --help`` stays instant.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ragbench.errors import FormatError, RagbenchError

app = typer.Typer(
    name="ragbench",
    help="Retrieval and RAG evaluation: trec_eval-exact measures, honest statistics, leaderboards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output gets a wide fixed width rather than Rich's 80 columns, so tables are not truncated.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_MEASURES = ["nDCG@10", "AP", "P@10", "R@1000"]
BIG_INPUT = 50 * 2**20  # show progress when the inputs add up to more than this many bytes


def user_errors(command: F) -> F:
    """Report RagbenchError as ``ragbench: error: ...`` on stderr and exit with status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FormatError as exc:
            for problem in exc.problems:
                err.print(problem.render(), markup=False)
            if exc.more:
                err.print(f"... and {exc.more} more problems", markup=False)
            raise typer.Exit(2) from None
        except RagbenchError as exc:
            err.print(f"ragbench: error: {exc}", markup=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


class Format(str, Enum):
    table = "table"
    trec = "trec"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"


MeasureOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-m", "--measure", help="Measure in ir-measures syntax (repeat); default nDCG@10 AP P@10 R@1000."
    ),
]
FormatOpt = Annotated[Format, typer.Option("-f", "--format", help="Output format.")]
CompleteOpt = Annotated[
    bool, typer.Option("-c", "--complete", help="Score qrels topics missing from a run as 0 (trec_eval -c).")
]
MaxDocsOpt = Annotated[
    int | None,
    typer.Option("-M", "--max-docs", help="Read only the top N documents of each topic (trec_eval -M)."),
]


def _progress_needed(paths: Sequence[Path]) -> bool:
    try:
        return err.is_terminal and sum(p.stat().st_size for p in paths) > BIG_INPUT
    except OSError:
        return False


def _evaluate_all(
    qrels: Path, runs: Sequence[Path], measures: Sequence[str], complete: bool, max_docs: int | None
) -> list[Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ragbench.evaluation.engine import evaluate, read_qrels_like

    if not _progress_needed([qrels, *runs]):
        table = read_qrels_like(qrels)
        return [evaluate(table, run, measures, complete=complete, max_docs=max_docs) for run in runs]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(f"reading {qrels.name}", total=len(runs) + 1)
        table = read_qrels_like(qrels)
        results = []
        for run in runs:
            progress.update(task, advance=1, description=f"scoring {run.name}")
            results.append(evaluate(table, run, measures, complete=complete, max_docs=max_docs))
        progress.update(task, advance=1)
    return results


def _print_table(results: Sequence[Any], per_query: bool) -> None:
    from rich.table import Table

    from ragbench.evaluation.render import _value, measure_names, rows

    measures = measure_names(results)
    table = Table(show_edge=False, header_style="bold")
    table.add_column("run")
    if per_query:
        table.add_column("query")
    for m in measures:
        table.add_column(m, justify="right")
    for run, query_id, values in rows(results, per_query):
        if query_id != "all" or not per_query:
            cells = [run, *([query_id] if per_query else [])]
        else:
            cells = [f"[bold]{run}[/]", "[bold]all[/]"]
        table.add_row(*cells, *(_value(values[m]) if m in values else "" for m in measures))
    out.print(table)
    if results:
        fp = results[0].fingerprints
        engines = sorted({str(f) for f in fp.values()})
        err.print(f"[dim]{len(results[0].query_ids)} topics; " + " | ".join(engines) + "[/]")


@app.command("eval")
@user_errors
def eval_command(
    qrels: Annotated[Path, typer.Argument(help="TREC qrels file.")],
    runs: Annotated[list[Path], typer.Argument(help="One or more TREC run files.")],
    measure: MeasureOpt = None,
    per_query: Annotated[
        bool, typer.Option("-q", "--per-query", help="Also print per-topic values.")
    ] = False,
    fmt: FormatOpt = Format.table,
    complete: CompleteOpt = False,
    max_docs: MaxDocsOpt = None,
) -> None:
    """Score runs against qrels with trec_eval 10.0 semantics (measures named as in ir-measures)."""
    from ragbench.evaluation.render import RENDERERS

    results = _evaluate_all(qrels, runs, measure or DEFAULT_MEASURES, complete, max_docs)
    if fmt is Format.table:
        _print_table(results, per_query)
    else:
        sys.stdout.write(RENDERERS[fmt.value](results, per_query))


@app.command(
    "trec-eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
@user_errors
def trec_eval_command(ctx: typer.Context) -> None:
    """trec_eval itself: same flags (-q -c -n -M N -l N -J -m measure[.params] -Z FILE), same output.

    Usage: ragbench trec-eval [-q] [-c] [-m all_trec] ... QRELS RUN
    """
    from ragbench.evaluation.trec_eval.cli import main

    code = main(list(ctx.args), sys.stdout)
    raise typer.Exit(code)


@app.command("validate")
@user_errors
def validate_command(
    files: Annotated[
        list[Path], typer.Argument(help="Runs, qrels, topics or corpora (kind detected from content).")
    ],
    qrels: Annotated[
        Path | None, typer.Option("--qrels", help="Qrels to check runs against (missing topics).")
    ] = None,
) -> None:
    """Check files and list every error and warning with file, line and column."""
    from ragbench.formats.validate import validate

    report = validate(files, qrels=qrels)
    for problem in report.problems:
        err.print(problem.render(), style="red" if problem.severity == "error" else "yellow", markup=False)
    if report.truncated:
        err.print(f"... and {report.truncated} more problems", markup=False)
    n_err, n_warn = len(report.errors), len(report.warnings)
    verdict = "OK" if report.ok else "FAILED"
    out.print(f"{verdict}: {len(files)} file(s), {n_err} error(s), {n_warn} warning(s)", markup=False)
    if not report.ok:
        raise typer.Exit(2)


class CompareFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    latex = "latex"
    csv = "csv"
    json = "json"


@app.command("compare")
@user_errors
def compare_command(
    qrels: Annotated[Path, typer.Argument(help="TREC qrels file.")],
    runs: Annotated[
        list[Path], typer.Argument(help="Two or more TREC run files (the first is the baseline).")
    ],
    measure: MeasureOpt = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option("-b", "--baseline", help="Baseline run (file name; repeat for several)."),
    ] = None,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "-t",
            "--test",
            help="Paired test (repeat); the first is corrected. randomization ttest wilcoxon bootstrap.",
        ),
    ] = None,
    correction: Annotated[str, typer.Option("--correction", help="holm, bonferroni, bh or none.")] = "holm",
    alpha: Annotated[float, typer.Option("--alpha", help="Family-wise significance level.")] = 0.05,
    trials: Annotated[int, typer.Option("--trials", help="Permutations / bootstrap resamples.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    complete: CompleteOpt = False,
    fmt: Annotated[
        CompareFormat, typer.Option("-f", "--format", help="Output format.")
    ] = CompareFormat.table,
) -> None:
    """Compare runs pairwise: wins/ties/losses, mean difference with a 95% bootstrap CI, paired tests
    corrected across every pair and measure."""
    from ragbench.errors import InputError
    from ragbench.stats import compare

    if len(runs) < 2:
        raise InputError("compare needs at least two runs")
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        raise InputError("run files must have distinct names (they name the systems)")
    results = _evaluate_all(qrels, runs, measure or DEFAULT_MEASURES, complete, None)
    scores = {
        r.run: {m: dict(zip(r.query_ids, r.per_query[m].tolist(), strict=True)) for m in r.measures}
        for r in results
    }
    report = compare(
        scores,
        baselines=baseline or names[0],
        tests=tuple(test or ("randomization", "ttest")),
        correction=correction,  # type: ignore[arg-type]
        alpha=alpha,
        trials=trials,
        seed=seed,
    )
    if fmt is CompareFormat.table:
        out.print(report.to_markdown(), markup=False)
    elif fmt is CompareFormat.json:
        import json

        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(
            {"markdown": report.to_markdown, "latex": report.to_latex, "csv": report.to_csv}[fmt.value]()
        )


@app.command("demo")
@user_errors
def demo_command(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="trec_eval's test folder (default ../shared/data/trec_eval)."),
    ] = None,
) -> None:
    """The main job, end to end: score and compare the sample runs of trec_eval's test suite."""
    from ragbench.demo import run_demo

    run_demo(data, out, err)


@app.command("serve")
@user_errors
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
) -> None:
    """Run the web service (REST API, leaderboard pages, OpenAPI at /schema) with uvicorn, one worker."""
    import uvicorn

    from api.app import create_app

    application = create_app()  # DatabaseNotMigrated -> "run `ragbench db upgrade`", exit 2
    err.print(f"ragbench: serving on http://{host}:{port} (API docs at /schema)", markup=False)
    uvicorn.run(application, host=host, port=port, workers=1, log_level="info", access_log=False)


db_app = typer.Typer(help="The service database (RAGBENCH_DATABASE_URL).", no_args_is_help=True)
benchmark_app = typer.Typer(help="Benchmarks (run on the server, as its local admin).", no_args_is_help=True)
user_app = typer.Typer(help="Users of the service.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(benchmark_app, name="benchmark")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _read_text(path: Path, what: str) -> str:
    from ragbench.errors import InputError

    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} file {path} is not UTF-8 (byte {exc.start})") from None


def _in_transaction(work: Callable[[Any], Any]) -> Any:
    """Run ``work(session)`` in one transaction on the migrated database of the settings."""
    from ragbench.store.db import database_errors, open_database
    from ragbench.store.settings import get_settings

    engine, factory = open_database()
    try:
        with database_errors(get_settings().database_url), factory() as s, s.begin():
            return work(s)
    finally:
        engine.dispose()


@db_app.command("upgrade")
@user_errors
def db_upgrade_command() -> None:
    """Create the tables, or apply the migrations not yet applied (safe to repeat)."""
    from ragbench.store.db import display_url, upgrade
    from ragbench.store.settings import get_settings

    url = get_settings().database_url
    upgrade(url)
    err.print(f"ragbench: database {display_url(url)} is up to date", markup=False)


@benchmark_app.command("add")
@user_errors
def benchmark_add_command(
    slug: Annotated[str, typer.Argument(help="URL name: a-z 0-9 . _ - (e.g. robust04).")],
    topics: Annotated[Path, typer.Option("--topics", help="Topics file (TREC, SGML, TSV or JSONL).")],
    qrels: Annotated[Path, typer.Option("--qrels", help="TREC qrels (version 1).")],
    corpus: Annotated[
        str | None, typer.Option("--corpus", help="Where the corpus is (stored as given).")
    ] = None,
    hidden: Annotated[bool, typer.Option("--hidden", help="Blind: per-topic scores withheld.")] = False,
    title: Annotated[str, typer.Option("--title", help="Display title.")] = "",
    description: Annotated[str, typer.Option("--description", help="Free text.")] = "",
    measure: Annotated[
        list[str] | None,
        typer.Option(
            "-m", "--measure", help="Leaderboard measure (repeat); default nDCG@10 AP P@10 R@1000 RR Bpref."
        ),
    ] = None,
) -> None:
    """Register a benchmark, acting as the local admin (created as user 'admin' if none exists)."""
    from ragbench.store import service

    topics_text, qrels_text = _read_text(topics, "topics"), _read_text(qrels, "qrels")

    def add(s: Any) -> str:
        benchmark = service.create_benchmark(
            s,
            service.local_admin(s),
            slug,
            title=title,
            description=description,
            topics_text=topics_text,
            qrels_text=qrels_text,
            corpus_ref=corpus,
            hidden=hidden,
            measures=measure,
        )
        hidden_note = " (hidden)" if benchmark.hidden else ""
        return f"{benchmark.slug}{hidden_note}: {', '.join(benchmark.scored_measures)}"

    out.print(f"added benchmark {_in_transaction(add)}", markup=False)


@user_app.command("add")
@user_errors
def user_add_command(
    name: Annotated[str, typer.Argument(help="User (or team) name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
) -> None:
    """Add a user (a member unless --admin)."""
    from ragbench.store import service

    role = _in_transaction(lambda s: service.create_user(s, name, role="admin" if admin else "member").role)
    out.print(f"added {role} {name}", markup=False)


@token_app.command("create")
@user_errors
def token_create_command(user: Annotated[str, typer.Argument(help="The user the token acts as.")]) -> None:
    """Create an API token and print it (once: only its hash is stored)."""
    from ragbench.store import service

    token = _in_transaction(lambda s: service.create_token(s, user))
    sys.stdout.write(token + "\n")
    err.print(f"ragbench: token for {user}; keep it: it cannot be shown again", markup=False)


@app.command("submit")
@user_errors
def submit_command(
    slug: Annotated[str, typer.Argument(help="The benchmark.")],
    run: Annotated[Path, typer.Argument(help="TREC run file.")],
    name: Annotated[str, typer.Option("--name", help="System name (yours once used).")],
    description: Annotated[str, typer.Option("--description", help="What the system does.")],
    url: Annotated[str | None, typer.Option("--url", help="Link to the paper or code.")] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a queued run's scores.")] = 300.0,
) -> None:
    """Submit a run to a ragbench server (RAGBENCH_URL, token RAGBENCH_TOKEN) and print its scores."""
    import os

    from ragbench.client import DEFAULT_URL, RejectedError, ServerError, submit

    base_url = os.environ.get("RAGBENCH_URL") or DEFAULT_URL
    try:
        result = submit(
            base_url,
            os.environ.get("RAGBENCH_TOKEN"),
            slug,
            run,
            name=name,
            description=description,
            url=url,
            wait_s=wait,
        )
    except RejectedError as exc:
        err.print(f"ragbench: error: {exc}", markup=False)
        for problem in exc.problems:
            where = ":".join(str(problem[k]) for k in ("file", "line", "column") if problem.get(k))
            err.print(
                f"{where}: {problem.get('severity', 'error')}: {problem.get('message', '')}", markup=False
            )
        raise typer.Exit(2) from None
    except ServerError as exc:
        err.print(f"ragbench: error: {exc}", markup=False)
        raise typer.Exit(1) from None
    _print_submitted(result.run, result.waited_out)


def _print_submitted(run: dict[str, Any], waited_out: bool) -> None:
    status = run.get("status", "?")
    out.print(f"run {run.get('id', '?')} ({run.get('system', '')}): {status}", markup=False)
    if status == "failed":
        err.print(f"ragbench: error: scoring failed: {run.get('error') or 'no reason given'}", markup=False)
        raise typer.Exit(2)
    if waited_out:
        err.print("ragbench: the run is still waiting to be scored; look it up later", markup=False)
        return
    scores = run.get("scores") or {}
    width = max((len(m) for m in scores), default=0)
    for measure, value in scores.items():
        shown = "-" if value is None else f"{value:.4f}"
        out.print(f"{measure:<{width}}  {shown}", markup=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

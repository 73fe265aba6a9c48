"""The evaluation commands of ``ragbench``: eval, trec-eval, validate, compare, conformance.

They need only the core's dependencies (``pip install ragbench``): formats, evaluation, stats.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli.console import Format, FormatOpt, err, out, print_table, user_errors
from ragbench.evaluation.registry import default_measures

BIG_INPUT = 50 * 2**20  # show progress when the inputs add up to more than this many bytes


def register(app: typer.Typer) -> None:
    """Add ``eval``, ``trec-eval``, ``validate``, ``compare`` and ``conformance`` to ``app``."""
    app.command("eval")(eval_command)
    app.command(
        "trec-eval",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    )(trec_eval_command)
    app.command("validate")(validate_command)
    app.command("compare")(compare_command)
    app.command("conformance")(conformance_command)


MeasureOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-m", "--measure", help="Measure in ir-measures syntax (repeat); default nDCG@10 AP P@10 R@1000."
    ),
]
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
    from ragbench.evaluation.topic_policy import describe_policy, policy_of

    results = _evaluate_all(qrels, runs, measure or default_measures("eval"), complete, max_docs)
    if fmt is Format.table:
        print_table(results, per_query)
    else:
        sys.stdout.write(RENDERERS[fmt.value](results, per_query))
    for result in results:
        prefix = f"{result.run}: " if len(results) > 1 else ""
        err.print(prefix + describe_policy(policy_of(complete), len(result.query_ids)), style="dim")


@user_errors
def trec_eval_command(ctx: typer.Context) -> None:
    """trec_eval itself: same flags (-q -c -n -M N -l N -J -m measure[.params] -Z FILE), same output.

    Usage: ragbench trec-eval [-q] [-c] [-m all_trec] ... QRELS RUN
    """
    from ragbench.evaluation.trec_eval.cli import main

    code = main(list(ctx.args), sys.stdout)
    raise typer.Exit(code)


@user_errors
def validate_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Runs, qrels, topics, corpora, session or lengths files (kind detected from content)."
        ),
    ],
    qrels: Annotated[
        Path | None, typer.Option("--qrels", help="Qrels to check runs against (missing topics).")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="auto (from content, then name), run, qrels, topics, corpus, session-run, "
            "session-qrels, sessions, ratings, lengths.",
        ),
    ] = "auto",
) -> None:
    """Check files: say what each one is (kind, format, what it holds) and list every error and
    warning with file, line and column."""
    from ragbench.formats.validate import validate

    report = validate(files, kind=kind, qrels=qrels)
    for problem in report.problems:
        err.print(problem.render(), style="red" if problem.severity == "error" else "yellow")
    if report.truncated:
        err.print(f"... and {report.truncated} more problems not listed")
    for summary in report.files:
        verdict = "OK" if not summary.errors else _count(summary.errors, "error")
        if summary.warnings:
            verdict += ", " + _count(summary.warnings, "warning")
        out.print(f"{summary.file}: {summary.describe()} - {verdict}")
    n_err, n_warn = report.error_count, report.warning_count
    verdict = "OK" if report.ok else "FAILED"
    files_read = _count(len(report.files), "file")
    out.print(f"{verdict}: {files_read}, {_count(n_err, 'error')}, {_count(n_warn, 'warning')}")
    if not report.ok:
        raise typer.Exit(2)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


class Correction(str, Enum):
    holm = "holm"
    bonferroni = "bonferroni"
    bh = "bh"
    none = "none"


class CompareFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    latex = "latex"
    csv = "csv"
    json = "json"


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
    correction: Annotated[
        Correction, typer.Option("--correction", help="Multiple-comparison correction.")
    ] = Correction.holm,
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
    results = _evaluate_all(qrels, runs, measure or default_measures("eval"), complete, None)
    scores = {
        r.run: {m: dict(zip(r.query_ids, r.per_query[m].tolist(), strict=True)) for m in r.measures}
        for r in results
    }
    from ragbench.evaluation.topic_policy import describe_policy, policy_of

    # One policy with eval: -c scores every judged topic (a run's missing ones 0); without it, the
    # judged topics every run has results for (a paired test needs the same topics on both sides).
    report = compare(
        scores,
        baselines=baseline or names[0],
        tests=tuple(test or ("randomization", "ttest")),
        correction=correction.value,
        alpha=alpha,
        trials=trials,
        seed=seed,
        missing="zero" if complete else "common",
    )
    judged = {q for r in results for q in r.query_ids}
    shared = set.intersection(*(set(r.query_ids) for r in results))
    policy = describe_policy(policy_of(complete), len(shared), shared=True, left_out=sorted(judged - shared))
    if fmt is CompareFormat.table:
        out.print(report.to_markdown())
        err.print(policy, style="dim")
    elif fmt is CompareFormat.json:
        import json

        sys.stdout.write(json.dumps({**report.to_dict(), "topics": policy}, indent=2) + "\n")
    else:
        writers: dict[str, Callable[[], str]] = {
            "markdown": report.to_markdown,
            "latex": report.to_latex,
            "csv": report.to_csv,
        }
        sys.stdout.write(writers[fmt.value]())
        err.print(policy, style="dim")


@user_errors
def conformance_command(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="trec_eval's test folder (default ../shared/data/trec_eval)."),
    ] = None,
) -> None:
    """Score trec_eval's sample runs and check `ragbench trec-eval` against trec_eval 10.0's own outputs."""
    from ragbench.cli.conformance import run_conformance

    run_conformance(data, out, err)

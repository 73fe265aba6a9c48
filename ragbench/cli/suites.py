"""Suite commands: ``ragbench suite add|show|reproduce`` and ``ragbench reproduce``.

A suite file (YAML, :mod:`ragbench.jobs.suite_config`) names a suite's benchmarks (files as they
are, SMART originals, or ir_datasets ids), measures, aggregation and reproduction conditions.
Lucene, torch and Ray load only when ``reproduce`` runs a pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ragbench.cli.console import err, out, progress_bars, user_errors

suite_app = typer.Typer(help="Suites of benchmarks ranked together (BEIR-style).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``suite`` and ``reproduce`` to ``app``."""
    app.add_typer(suite_app, name="suite")
    app.command("reproduce")(reproduce_command)
    suite_app.command("reproduce")(reproduce_command)  # the same command under `ragbench suite`


@suite_app.command("add")
@user_errors
def suite_add_command(
    suite_file: Annotated[Path, typer.Argument(help="Suite file (YAML).")],
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where converted files go (default: the file's workdir).")
    ] = None,
) -> None:
    """Register a suite and its new benchmarks (read from their files, SMART originals converted, or
    from ir_datasets' local cache), as the local admin."""
    from ragbench.jobs.reproduce import prepare_benchmarks, register
    from ragbench.jobs.suite_config import load_suite

    spec = load_suite(suite_file, workdir=workdir)
    prepared = prepare_benchmarks(spec)
    for files in prepared.values():
        for warning in files.warnings:
            err.print(warning, style="yellow")
    done = register(spec, prepared)
    for line in done or [f"suite {spec.slug!r} and its benchmarks are registered already"]:
        out.print(line)


@suite_app.command("show")
@user_errors
def suite_show_command(
    slug: Annotated[str, typer.Argument(help="The suite.")],
    measure: Annotated[
        str | None, typer.Option("-m", "--measure", help="Measure (default: the first).")
    ] = None,
    fmt: Annotated[str, typer.Option("-f", "--format", help="table, markdown or json.")] = "table",
) -> None:
    """The suite leaderboard: per-benchmark scores with CIs and tiers, the mean over systems covering
    every benchmark (the others apart), Borda ranks, Friedman/Nemenyi and the meta-analyses."""
    from ragbench.cli.db import transaction
    from ragbench.errors import InputError
    from ragbench.store import service

    if fmt not in ("table", "markdown", "json"):
        raise InputError(f"--format {fmt!r}: use table, markdown or json")
    with transaction() as s:
        board = service.suite_leaderboard(s, slug, measure, service.local_admin(s))
    if fmt == "json":
        out.print_json(json.dumps({"suite": board.slug, "runs": board.runs, **board.aggregate.to_dict()}))
        return
    _print_board(board, markdown=fmt == "markdown")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _print_board(board: Any, *, markdown: bool) -> None:
    agg = board.aggregate
    header = ["rank", "system", *agg.benchmarks, "mean", f"{agg.confidence:.0%} CI"]
    rows = []
    for row in agg.complete:
        cells = [_cell(row.cells.get(b)) for b in agg.benchmarks]
        ci = "" if row.low is None else f"[{row.low:.4f}, {row.high:.4f}]"
        rows.append([str(row.rank), row.system, *cells, _fmt(row.mean), ci])
    apart = [
        [row.system, *[_cell(row.cells.get(b)) for b in agg.benchmarks], "lacks " + ", ".join(row.missing)]
        for row in agg.incomplete
    ]
    if markdown:
        out.print(f"## {board.title or board.slug}: {board.measure}\n")
        out.print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
        for r in rows:
            out.print("| " + " | ".join(r) + " |")
        for r in apart:
            out.print("| – | " + " | ".join(r[:-1]) + f" | {r[-1]} | |")
    else:
        table = Table(title=f"{board.title or board.slug}: {board.measure}", show_edge=False)
        for column in header:
            table.add_column(column, justify="left" if column == "system" else "right")
        for r in rows:
            table.add_row(*r)
        for r in apart:
            table.add_row("–", *r[:-1], r[-1], "")
        out.print(table)
    _print_aggregates(agg)


def _cell(cell: Any) -> str:
    if cell is None:
        return "–"
    text = f"{cell.mean:.4f}"
    if cell.low is not None:
        text += f" [{cell.low:.3f}, {cell.high:.3f}]"
    if cell.tier is not None:
        text += f" T{cell.tier}"
    return text


def _print_aggregates(agg: Any) -> None:
    if agg.borda is not None:
        ranks = ", ".join(f"{e.rank}. {e.system} ({e.score:g})" for e in agg.borda.entries)
        out.print(f"Borda (missing benchmarks: {agg.borda.policy}): {ranks}")
    if agg.friedman is not None:
        f = agg.friedman
        stat = "" if f.statistic is None else f"chi2 = {f.statistic:.3f}, p = {f.p_value:.4g}; "
        cd = "" if f.critical_difference is None else f", CD = {f.critical_difference:.3f}"
        ranks = ", ".join(f"{s} {r:.2f}" for s, r in f.average_ranks.items())
        out.print(f"Friedman over {f.blocks} benchmarks: {stat}average ranks {ranks} ({f.posthoc}{cd})")
    for row in agg.complete:
        if row.meta is not None:
            m = row.meta
            i2 = "" if m.i2 is None else f", I2 = {m.i2:.0%}"
            out.print(
                f"{row.system} - {agg.reference}: {m.effect:+.4f} [{m.low:+.4f}, {m.high:+.4f}] "
                f"(random effects, tau2 = {m.tau2:.3g}{i2}, Q = {m.q:.3f}, k = {m.k})"
            )
    for note in agg.notes:
        out.print(note, style="dim")


@user_errors
def reproduce_command(
    suite_file: Annotated[Path, typer.Argument(help="Suite file (YAML).")],
    only: Annotated[
        list[str] | None, typer.Option("--only", help="A condition or benchmark (repeat).")
    ] = None,
    ray: Annotated[bool | None, typer.Option("--ray/--no-ray", help="Run stages on Ray.")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Store benchmarks, runs, matrix.")] = True,
    workdir: Annotated[Path | None, typer.Option("--workdir", help="Indexes, runs, converted files.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the matrix as HTML here.")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write the matrix as Markdown here.")
    ] = None,
    expected: Annotated[
        Path | None, typer.Option("--expected", help="Expected scores (YAML) replacing the file's.")
    ] = None,
    write_expected: Annotated[
        Path | None, typer.Option("--write-expected", help="Write the observed scores as expected scores.")
    ] = None,
) -> None:
    """Reproduce a suite: run its conditions on its benchmarks, score, store, and render the matrix
    (green: within tolerance; red: off, by how much); exit status 1 on any red cell."""
    from ragbench.jobs.reproduce import expected_yaml, reproduce
    from ragbench.jobs.suite_config import load_suite

    spec = load_suite(suite_file, workdir=workdir)
    given = _read_expected(expected) if expected is not None else None
    with progress_bars() as progress:
        matrix = reproduce(spec, only=only or (), use_ray=ray, store=store, progress=progress, expected=given)
    text = matrix.to_markdown()
    out.print(text, end="")
    if markdown is not None:
        markdown.write_text(text, encoding="utf-8")
    if html is not None:
        html.write_text(matrix.to_html(), encoding="utf-8")
    if write_expected is not None:
        write_expected.write_text(expected_yaml(matrix), encoding="utf-8")
        err.print(f"observed scores written to {write_expected}")
    if not matrix.passed:
        raise typer.Exit(1)


def _read_expected(path: Path) -> dict[str, dict[str, dict[str, float]]]:
    from ragbench.errors import InputError
    from ragbench.evaluation.registry import canonical
    from ragbench.formats.located_yaml import LocatedYaml

    doc = LocatedYaml(path, "expected-scores file")
    data = doc.data or {}
    if not isinstance(data, dict):
        raise doc.fail("", "expected {condition: {benchmark: {measure: score}}}")
    result: dict[str, dict[str, dict[str, float]]] = {}
    for condition, per in data.items():
        if not isinstance(per, dict):
            raise doc.fail(str(condition), "expected {benchmark: {measure: score}}")
        for bench, scores in per.items():
            if not isinstance(scores, dict):
                raise doc.fail(f"{condition}.{bench}", "expected {measure: score}")
            for measure, value in scores.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise doc.fail(f"{condition}.{bench}.{measure}", f"expected a number, got {value!r}")
                try:
                    name = canonical(str(measure), "adhoc")
                except InputError as exc:
                    raise doc.fail(f"{condition}.{bench}.{measure}", str(exc)) from None
                result.setdefault(str(condition), {}).setdefault(str(bench), {})[name] = float(value)
    return result

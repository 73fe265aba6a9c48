"""What every ``ragbench`` command shares: the consoles, the user-error wrapper, tables and
progress bars. Nothing else in the CLI creates a console or draws a table of scores."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ragbench.errors import FormatError, RagbenchError

# Piped output gets a wide fixed width rather than Rich's 80 columns, so tables are not truncated.
# No markup, emoji codes or highlighting: user text (file names, ids, messages) is printed as it
# is; styles are given as arguments (style="bold"), never inside the text.
out = Console(
    highlight=False, markup=False, emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200
)
err = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(command: F) -> F:
    """Report RagbenchError (and a missing optional dependency, naming its extra, and running out of
    memory) as ``ragbench: error: ...`` on stderr and exit with status 2: a user never sees a
    traceback for them."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FormatError as exc:
            for problem in exc.problems:
                err.print(problem.render())
            if exc.more:
                err.print(f"... and {exc.more} more problems")
            raise typer.Exit(2) from None
        except RagbenchError as exc:
            err.print(f"ragbench: error: {exc}")
            raise typer.Exit(2) from None
        except MemoryError:
            # Bound the input first (RAGBENCH_MAX_INPUT_BYTES); a memory limit hit anyway is said
            # in one line, never as a traceback.
            err.print(
                "ragbench: error: out of memory; the input is too large for this machine's memory "
                "limit (lower RAGBENCH_MAX_INPUT_BYTES to refuse such files up front)"
            )
            raise typer.Exit(2) from None
        except ModuleNotFoundError as exc:
            # An optional dependency imported inside a command: name the extra that installs it.
            from ragbench.extras import extra_for, missing_extra_error

            if extra_for(exc.name) is None:
                raise
            err.print(f"ragbench: error: {missing_extra_error(exc.name or '')}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


class Format(str, Enum):
    table = "table"
    trec = "trec"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"


FormatOpt = Annotated[Format, typer.Option("-f", "--format", help="Output format.")]


def print_table(results: Sequence[Any], per_query: bool, unit: str = "topic") -> None:
    """Results as a Rich table; ``unit`` names what each row is (``topic`` or ``session``)."""
    from rich.table import Table
    from rich.text import Text

    from ragbench.evaluation.render import format_value, measure_names, rows

    measures = measure_names(results)
    table = Table(show_edge=False, header_style="bold")
    table.add_column("run")
    if per_query:
        table.add_column("query" if unit == "topic" else unit)
    for m in measures:
        table.add_column(m, justify="right")
    for run, query_id, values in rows(results, per_query):
        style = "bold" if per_query and query_id == "all" else ""
        cells = [Text(run, style=style), *([Text(query_id, style=style)] if per_query else [])]
        table.add_row(*cells, *(format_value(values[m]) if m in values else "" for m in measures))
    out.print(table)
    if results:
        fp = results[0].fingerprints
        engines = sorted({str(f) for f in fp.values()})
        err.print(f"{len(results[0].query_ids)} {unit}s; " + " | ".join(engines), style="dim")


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """A ``(label, done, total)`` callback drawing one rich progress bar per label (on stderr)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bars.add_task(label, total=total)
        bars.update(tasks[label], completed=done, total=total)

    with bars:
        yield update


def print_scores(rows: Sequence[tuple[str, dict[str, float]]], title: str | None = None) -> None:
    """One row of mean scores per run (the union of their measures as columns)."""
    from rich.table import Table

    measures: list[str] = []
    for _, scores in rows:
        measures += [m for m in scores if m not in measures]
    table = Table(title=title, show_edge=False)
    table.add_column("run")
    for measure in measures:
        table.add_column(measure, justify="right")
    for name, scores in rows:
        table.add_row(name, *(f"{scores[m]:.4f}" if m in scores else "" for m in measures))
    out.print(table)

"""What every ``ragbench`` command shares: the consoles and the user-error wrapper."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ragbench.errors import FormatError, RagbenchError

# Piped output gets a wide fixed width rather than Rich's 80 columns, so tables are not truncated.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


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


FormatOpt = Annotated[Format, typer.Option("-f", "--format", help="Output format.")]


def print_table(results: Sequence[Any], per_query: bool, unit: str = "topic") -> None:
    """Results as a Rich table; ``unit`` names what each row is (``topic`` or ``session``)."""
    from rich.table import Table

    from ragbench.evaluation.render import _value, measure_names, rows

    measures = measure_names(results)
    table = Table(show_edge=False, header_style="bold")
    table.add_column("run")
    if per_query:
        table.add_column("query" if unit == "topic" else unit)
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
        err.print(f"[dim]{len(results[0].query_ids)} {unit}s; " + " | ".join(engines) + "[/]")

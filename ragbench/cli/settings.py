"""``ragbench settings``: the effective settings and where each came from."""

from __future__ import annotations

import typer

from ragbench.cli.console import out, user_errors


def register(app: typer.Typer) -> None:
    """Add ``settings`` to ``app``."""
    app.command("settings")(settings_command)


@user_errors
def settings_command() -> None:
    """Print every setting: variable, effective value, source (variable or default), meaning.

    Precedence: a command's own option, then the RAGBENCH_* variable, then the default (paths
    default under RAGBENCH_HOME).
    """
    from rich.table import Table
    from rich.text import Text

    from ragbench.settings import get_settings

    table = Table(show_edge=False, header_style="bold")
    for column in ("variable", "value", "source", "meaning"):
        table.add_column(column, overflow="fold")
    for row in get_settings().describe():
        table.add_row(*(Text(cell) for cell in row))
    out.print(table)

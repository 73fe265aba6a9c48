"""What every ``ragbench`` command shares: the consoles and the user-error wrapper."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

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

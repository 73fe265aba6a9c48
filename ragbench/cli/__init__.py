"""The ``ragbench`` command line (Typer + Rich): the composition root.

This package is the only part of ``ragbench`` that may import the adapters (``api``, ``indexers``,
``rankers``), and it does so inside commands, so ``ragbench --help`` and ``ragbench eval`` never
load Lucene, torch, Ray or the web stack. Every command turns a
:class:`~ragbench.errors.RagbenchError` (bad file, bad measure name, bad argument, a missing extra)
into its message on stderr and exit status 2, never a traceback.

Modules: :mod:`~ragbench.cli.console` (consoles, tables, progress bars, the error wrapper),
:mod:`~ragbench.cli.db` (the one database transaction helper), and one module per group of
commands.
"""

from __future__ import annotations

import typer

from ragbench.cli import (
    arena,
    cluster,
    demo,
    evaluate,
    jobs,
    judge,
    rag,
    service,
    sessions,
    settings,
    suites,
    train,
)

app = typer.Typer(
    name="ragbench",
    help="Retrieval and RAG evaluation: trec_eval-exact measures, honest statistics, leaderboards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for group in (evaluate, sessions, jobs, cluster, demo, service, train, judge, settings, suites, arena, rag):
    group.register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()


__all__ = ["app", "main"]

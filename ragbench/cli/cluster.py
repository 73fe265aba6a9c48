"""``ragbench ray start|stop|status``: a local Ray cluster that repeated runs join.

Registered on the main Typer app by :func:`register`; Ray is imported inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ragbench.cli.console import err, out, user_errors

ray_app = typer.Typer(
    help="A local Ray cluster that later `ragbench run` and `index` commands join (no start-up per run).",
    no_args_is_help=True,
)


@ray_app.command("start")
@user_errors
def ray_start_command(
    cpus: Annotated[
        int | None, typer.Option("--cpus", min=1, help="CPUs the cluster offers (default: all).")
    ] = None,
) -> None:
    """Start the cluster (or report the running one); it runs until `ragbench ray stop`."""
    from ragbench.jobs.cluster import cluster_file, start_cluster

    info, started = start_cluster(cpus)
    verb = "started" if started else "already running:"
    out.print(f"{verb} {info.describe()}")
    err.print(f"ragbench: processes that use Ray join it while {cluster_file()} names it", style="dim")


@ray_app.command("stop")
@user_errors
def ray_stop_command() -> None:
    """Stop the cluster started by `ragbench ray start` (no other Ray process is touched)."""
    from ragbench.jobs.cluster import stop_cluster

    info = stop_cluster()
    out.print(f"stopped the {info.describe()}" if info else "no ragbench Ray cluster is running")


@ray_app.command("status")
@user_errors
def ray_status_command() -> None:
    """Say whether the cluster runs, and where."""
    from ragbench.jobs.cluster import running_cluster

    info = running_cluster()
    out.print(f"running: {info.describe()}" if info else "no ragbench Ray cluster is running")


def register(app: typer.Typer) -> None:
    app.add_typer(ray_app, name="ray")

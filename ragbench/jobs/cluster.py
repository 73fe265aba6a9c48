"""Connecting to Ray: ``RAY_ADDRESS`` for an existing cluster, the ragbench cluster that
``ragbench ray start`` keeps running on this machine, else a new local one per process.

A new local cluster costs seconds to start on every ``ragbench run``. ``ragbench ray start`` starts
one that outlives the command: a small daemon process (``python -m ragbench.jobs.cluster``) starts
a local Ray cluster, writes its address to ``RAGBENCH_HOME/ray/cluster.json`` and waits; every
later :func:`ensure_ray` in a process without ``RAY_ADDRESS`` joins it while the daemon lives (a
stale file is removed). ``ragbench ray stop`` ends the daemon, which shuts its cluster down. Only
processes this daemon started are stopped (never ``ray stop``, which would stop every cluster of
the user on the machine).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
START_TIMEOUT = 180.0
STOP_TIMEOUT = 60.0


@dataclass(frozen=True)
class ClusterInfo:
    """The ragbench cluster of this machine: the Ray address to join and the daemon keeping it."""

    address: str
    pid: int
    num_cpus: int
    started: str

    def describe(self) -> str:
        return (
            f"Ray cluster at {self.address} ({self.num_cpus} CPUs, daemon pid {self.pid}, "
            f"since {self.started})"
        )


def cluster_file() -> Path:
    """Where the running ragbench cluster's address is kept: ``RAGBENCH_HOME/ray/cluster.json``."""
    from ragbench.settings import get_settings

    return get_settings().home / "ray" / "cluster.json"


def _prepare_environment() -> None:
    # Read by Ray when it is imported (and passed on to its workers): no usage reporting, and no
    # SIGSEGV handler of Ray's (absl's failure handler) in front of the JVM's. The JVM that runs
    # Lucene uses SIGSEGV on purpose (null checks, safepoints) and expects its own handler to see
    # them; with Ray's in front, a process that runs both crashes at a random moment.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
    if not os.environ.get("RAY_ADDRESS"):
        # Ray 2.60 turns token authentication on for a new local cluster and announces it on
        # every start; asking for it explicitly keeps it on (a token under ~/.ray) and silent. A
        # cluster named by RAY_ADDRESS keeps whatever mode its owner chose.
        os.environ.setdefault("RAY_AUTH_MODE", "token")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: not ours
        return False
    return True


def _reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def running_cluster() -> ClusterInfo | None:
    """The ragbench cluster if its daemon lives and its address answers; a stale file is removed."""
    path = cluster_file()
    try:
        info = ClusterInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if _alive(info.pid) and _reachable(info.address):
        return info
    if not _alive(info.pid):
        path.unlink(missing_ok=True)
    return None


def ensure_ray(num_cpus: int | None = None) -> Any:
    """Start (or join) Ray once per process and return the ``ray`` module.

    With ``RAY_ADDRESS`` set, joins that cluster; else joins the ragbench cluster of this machine
    (``ragbench ray start``) when it runs; otherwise starts a new local one with ``num_cpus`` CPUs
    (all of the machine's when None), never joining a cluster that another program started on
    this machine. Calling again when Ray is up does nothing. The dashboard and usage reporting
    are off: nothing here reaches the network.
    """
    _prepare_environment()
    from ragbench.extras import require

    require("distributed", "ray")
    import ray

    if ray.is_initialized():
        return ray
    address = os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "ignore_reinit_error": True,
        "configure_logging": False,
    }
    if address is None:
        running = running_cluster()
        if running is not None:
            address = running.address
            kwargs.pop("include_dashboard")
            logger.info("ray: joining the ragbench %s", running.describe())
    if address is None:
        # Plain ray.init() would join the newest cluster started on this machine (ray start, a
        # test's Cluster), with its resources and its code: "local" always starts our own.
        address = "local"
        kwargs["num_cpus"] = num_cpus if num_cpus is not None else os.cpu_count() or 1
    ray.init(address=address, **kwargs)
    logger.info("ray: %s", ray.cluster_resources())  # type: ignore[no-untyped-call]  # unannotated in Ray
    return ray


def start_cluster(num_cpus: int | None = None) -> tuple[ClusterInfo, bool]:
    """Start the ragbench cluster unless it runs: ``(info, started)``.

    Raises:
        InputError: the daemon did not report an address within :data:`START_TIMEOUT` seconds (its
            log, ``RAGBENCH_HOME/ray/daemon.log``, says why).
    """
    from ragbench.errors import InputError
    from ragbench.extras import require

    require("distributed", "ray")
    running = running_cluster()
    if running is not None:
        return running, False
    path = cluster_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    cpus = num_cpus if num_cpus is not None else os.cpu_count() or 1
    log = path.with_name("daemon.log")
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "ragbench.jobs.cluster", str(cpus), str(path)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        info = running_cluster()
        if info is not None and info.pid == daemon.pid:
            return info, True
        if daemon.poll() is not None:
            raise InputError(f"the Ray cluster did not start (exit status {daemon.returncode}); see {log}")
        time.sleep(0.2)
    daemon.terminate()
    raise InputError(f"the Ray cluster did not start within {START_TIMEOUT:.0f} s; see {log}")


def stop_cluster() -> ClusterInfo | None:
    """Stop the ragbench cluster (its daemon shuts Ray down); the stopped cluster, or None."""
    path = cluster_file()
    try:
        info = ClusterInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if _alive(info.pid):
        os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(info.pid):
            os.kill(info.pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return info


def _daemon(num_cpus: int, path: Path) -> None:
    """Start a local Ray cluster, publish its address in ``path``, wait for SIGTERM, shut it down."""
    import datetime

    stop = {"now": False}

    def on_term(signum: int, frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    os.environ.pop("RAY_ADDRESS", None)
    path.unlink(missing_ok=True)  # never join a cluster we are replacing
    ray = ensure_ray(num_cpus)
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    info = ClusterInfo(ray.get_runtime_context().gcs_address, os.getpid(), num_cpus, started)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(asdict(info)) + "\n", encoding="utf-8")
    os.replace(partial, path)
    try:
        while not stop["now"]:
            time.sleep(0.5)
    finally:
        path.unlink(missing_ok=True)
        ray.shutdown()


def gpu_count() -> int:
    """GPUs the running Ray cluster offers (0 without Ray or without GPUs)."""
    import ray

    if not ray.is_initialized():
        return 0
    return int(ray.cluster_resources().get("GPU", 0))  # type: ignore[no-untyped-call]  # unannotated in Ray


if __name__ == "__main__":  # the daemon of `ragbench ray start`
    _daemon(int(sys.argv[1]), Path(sys.argv[2]))

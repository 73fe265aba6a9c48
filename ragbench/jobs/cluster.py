"""Connecting to Ray: a local cluster by default, ``RAY_ADDRESS`` for an existing one."""

from __future__ import annotations

import logging
import os
from typing import Any

logger = logging.getLogger(__name__)


def ensure_ray(num_cpus: int | None = None) -> Any:
    """Start (or join) Ray once per process and return the ``ray`` module.

    With ``RAY_ADDRESS`` set, joins that cluster; otherwise starts a new local one with
    ``num_cpus`` CPUs (all of the machine's when None), never joining a cluster that another
    program started on this machine. Calling again when Ray is up does nothing. The dashboard and
    usage reporting are off: nothing here reaches the network.
    """
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
        # Plain ray.init() would join the newest cluster started on this machine (ray start, a
        # test's Cluster), with its resources and its code: "local" always starts our own.
        address = "local"
        kwargs["num_cpus"] = num_cpus if num_cpus is not None else os.cpu_count() or 1
    ray.init(address=address, **kwargs)
    logger.info("ray: %s", ray.cluster_resources())  # type: ignore[no-untyped-call]  # unannotated in Ray
    return ray


def gpu_count() -> int:
    """GPUs the running Ray cluster offers (0 without Ray or without GPUs)."""
    import ray

    if not ray.is_initialized():
        return 0
    return int(ray.cluster_resources().get("GPU", 0))  # type: ignore[no-untyped-call]  # unannotated in Ray

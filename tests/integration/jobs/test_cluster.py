"""ensure_ray and `ragbench ray start|stop`: real Ray, in child processes (a Ray driver per process).

A process that uses Ray joins the cluster `ragbench ray start` keeps running (its address from
RAGBENCH_HOME/ray/cluster.json), else starts a local cluster of its own; neither prints Ray's
token-authentication banner. `ragbench ray stop` ends the daemon and its cluster, and nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.cli_runner import ragbench

JOIN = """
from ragbench.jobs.cluster import ensure_ray
ray = ensure_ray(1)
@ray.remote
def double(x):
    return 2 * x
print(ray.get_runtime_context().gcs_address, ray.get(double.remote(21)))
"""


def driver(env: dict[str, str]) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", JOIN],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_runs_join_the_started_cluster_until_it_stops(tmp_path: Path) -> None:
    env = {"RAGBENCH_HOME": str(tmp_path / "home"), "RAY_ADDRESS": ""}
    started = ragbench("ray", "start", "--cpus", "1", env=env)
    assert started.returncode == 0, started.stderr
    info = json.loads((tmp_path / "home" / "ray" / "cluster.json").read_text())
    try:
        assert started.stdout.startswith(
            f"started Ray cluster at {info['address']} (1 CPUs, daemon pid {info['pid']}"
        )
        again = ragbench("ray", "start", env=env)
        assert again.stdout.startswith(f"already running: Ray cluster at {info['address']}")
        out, err = driver(env)
        assert out.split() == [info["address"], "42"]  # joined, and ran a task there
        assert "Token authentication" not in out + err + started.stdout + started.stderr
    finally:
        stopped = ragbench("ray", "stop", env=env)
    assert stopped.returncode == 0 and stopped.stdout.startswith("stopped the Ray cluster")
    assert not alive(info["pid"])
    assert not (tmp_path / "home" / "ray" / "cluster.json").exists()
    assert ragbench("ray", "status", env=env).stdout == "no ragbench Ray cluster is running\n"

    # Without the cluster (and with a stale file naming a dead daemon) a driver starts its own, silently.
    (tmp_path / "home" / "ray" / "cluster.json").write_text(json.dumps({**info}))
    out, err = driver(env)
    address, answer = out.split()
    assert (address != info["address"], answer) == (True, "42")
    assert "Token authentication" not in out + err
    assert not (tmp_path / "home" / "ray" / "cluster.json").exists()  # the stale file is gone

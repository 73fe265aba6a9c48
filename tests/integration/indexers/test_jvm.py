"""The embedded JVM leaves the Python process alone: its main thread keeps its whole stack, and
SIGINT/SIGTERM are Python's (before -Xrs, SIGTERM made a JVM thread call exit() under a running
torch call: "RuntimeError: unknown parameter type", then a segfault in Python's GC)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.paths import TESTS

pytest.importorskip("jnius_config")  # not jnius: importing it starts a JVM


def child(mode: str, cwd: Path) -> subprocess.Popen[str]:
    """The child runs in ``cwd`` (a JVM that crashes writes its hs_err_pid*.log there)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "support.jvm_child", mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=cwd,
    )  # fmt: skip


def test_the_main_thread_keeps_its_stack(tmp_path: Path) -> None:
    from indexers.jvm import stack_option

    option = stack_option()
    assert option is not None  # the tests run with the usual 8 MiB limit
    proc = child("stack", tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "parsed" in out, err[-2000:]


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, -signal.SIGTERM)]
)
def test_signals_are_pythons_with_torch_running(sig: signal.Signals, code: int, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    proc = child("torch", tmp_path)
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    while proc.stdout.readline().strip() != "ready":
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
    time.sleep(1.0)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-3000:]
    assert "unknown parameter type" not in err and "fatal error" not in out + err
    if sig == signal.SIGINT:  # Python's handler: KeyboardInterrupt, then Python ends itself by SIGINT
        assert "KeyboardInterrupt" in err

"""``ragbench demo --serve`` as a user runs it: a real process, real Ray, Lucene, FAISS, SQLite, HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ragbench.evaluation.engine import evaluate


@pytest.fixture
def small_cacm(cacm_data: Path, tmp_path: Path) -> Path:
    """CACM with its first 500 documents (the demo encodes every document on two cores)."""
    folder = tmp_path / "cacm"
    folder.mkdir()
    lines = (cacm_data / "cacm.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "cacm.jsonl").write_text("".join(lines[:500]), encoding="utf-8")
    for name in ("topics.cacm.txt", "qrels.cacm.txt"):
        (folder / name).write_bytes((cacm_data / name).read_bytes())
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_demo_runs_the_pipelines_stores_them_and_serves_the_leaderboard(
    small_cacm: Path, tmp_path: Path
) -> None:
    port = free_port()
    workdir = tmp_path / "work"
    env = {**os.environ, "RAGBENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "COLUMNS": "200"}
    command = [
        sys.executable,
        "-m",
        "ragbench.cli",
        "demo",
        "--data",
        str(small_cacm),
        "--workdir",
        str(workdir),
    ]
    process = subprocess.Popen(
        [*command, "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 900
        page = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                page = get(f"http://127.0.0.1:{port}/benchmarks/cacm").decode()
                break
            except OSError:
                time.sleep(2)
        assert page is not None, process.stderr.read() if process.poll() is not None else "timed out"
        for system in ("bm25", "bm25-rm3", "dense", "hybrid"):
            assert f">{system}<" in page
        board = json.loads(get(f"http://127.0.0.1:{port}/api/v1/benchmarks/cacm/leaderboard?measure=AP"))
    finally:
        process.terminate()
        out, err = process.communicate(timeout=60)

    # the scores the demo printed and served are the run files' scores, computed here independently
    served = {row["system"]: row["value"] for row in board["rows"]}
    assert set(served) == {"bm25", "bm25-rm3", "dense", "hybrid"}
    for system, value in served.items():
        run = workdir / "runs" / f"{system}.run"
        expected = evaluate(small_cacm / "qrels.cacm.txt", run, ["AP"], complete=True).aggregate["AP"]
        assert value == pytest.approx(expected, abs=1e-12)
        assert f"{expected:.4f}" in out
    assert "Anserini bm25 (reference)" in out
    assert "| bm25 | hybrid | AP | 52 |" in out  # the paired comparison
    assert "Traceback" not in err
    assert "stored as run 4 (scored)" in err
    assert (workdir / "hybrid.yaml").is_file()

    # a second demo finds the indexes and the runs already there and stores nothing twice
    again = subprocess.run([*command], capture_output=True, text=True, env=env, timeout=900, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("not stored again") == 4

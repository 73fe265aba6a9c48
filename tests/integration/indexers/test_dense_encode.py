"""Dense encoding on a real local Ray cluster: same bits as in-process, and a killed worker's chunk
is re-run to the same bits."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from indexers.dense import encode_corpus
from ragbench.jobs.cluster import ensure_ray

DOCS = 160


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray = ensure_ray(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(cacm_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cacm") / "cacm160.jsonl"
    with (cacm_data / "cacm.jsonl").open(encoding="utf-8") as src:
        path.write_text("".join(next(src) for _ in range(DOCS)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local(corpus: Path) -> tuple[list[str], np.ndarray]:
    return encode_corpus(corpus, use_ray=False, chunk_size=20)


def test_ray_tasks_give_the_in_process_vectors(ray_cluster: None, corpus: Path, local) -> None:
    progress: list[tuple[int, int]] = []
    ids, vectors = encode_corpus(
        corpus, use_ray=True, chunk_size=20, on_progress=lambda d, t: progress.append((d, t))
    )
    assert ids == local[0]
    assert np.array_equal(vectors, local[1])
    assert [d for d, _ in progress] == list(range(20, DOCS + 1, 20)) and {t for _, t in progress} == {DOCS}


def encoding_workers() -> list[psutil.Process]:
    """This test's Ray worker processes running an encode_chunk task (Ray names the process after
    the task). Only descendants of this process count: the local cluster's raylet is our child, and
    another test running beside this one may have encoders of its own."""
    found = []
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        try:
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        if cmdline and cmdline[0].startswith("ray::encode_chunk"):
            found.append(proc)
    return found


def test_a_killed_worker_does_not_change_the_vectors(ray_cluster: None, corpus: Path, local) -> None:
    result: dict[str, object] = {}
    progress: list[int] = []

    def run() -> None:
        try:
            result["value"] = encode_corpus(
                corpus, use_ray=True, chunk_size=20, on_progress=lambda d, t: progress.append(d)
            )
        except BaseException as exc:  # surfaced by the assertion below
            result["error"] = exc

    job = threading.Thread(target=run)
    job.start()
    killed: int | None = None
    deadline = time.monotonic() + 120
    while killed is None and job.is_alive() and time.monotonic() < deadline:
        workers = encoding_workers()
        if workers and len(progress) >= 1:  # a chunk is done: the job is well under way
            victim = workers[0]
            victim.send_signal(signal.SIGKILL)
            killed = victim.pid
        time.sleep(0.05)
    job.join(timeout=300)
    assert killed is not None, "no encode_chunk worker was found to kill"
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == psutil.STATUS_ZOMBIE
    assert "error" not in result, result.get("error")
    ids, vectors = result["value"]  # type: ignore[misc]
    assert ids == local[0]
    assert np.array_equal(vectors, local[1])
    assert progress[-1] == DOCS

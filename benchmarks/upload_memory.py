"""Benchmark: the server's peak memory under concurrent large uploads, with and without the bound.

Starts ``ragbench serve`` (SQLite, one worker) with ``RAGBENCH_SCORING_SLOTS`` set to each value
asked for, registers a benchmark of 5,000 topics (20 judgments each) and posts ``--uploads``
(default 8) different 5M-line runs (5,000 topics x 1,000 documents, 161 MB each) at once, streamed
from one file on disk so the client holds none of them in memory. The server's resident set
(process and children, sampled every 20 ms) is recorded from before the uploads until every run
is scored; each upload's answer (202: stored, queued for the worker) and time are recorded too.

    python benchmarks/upload_memory.py [--slots 8 2] [--uploads 8] [--lines 5000000]

Writes benchmarks/results/upload_memory.json (with machine information) and prints a summary.
Slots = uploads means no bound (every upload is read and parsed at once); the default is 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from machine_info import base_machine
from support.webserver import create_users, free_port, migrate

RESULTS = Path(__file__).parent / "results" / "upload_memory.json"
CHUNK = 1 << 20


def write_files(folder: Path, lines: int, depth: int = 1000, judged: int = 20) -> tuple[Path, Path]:
    """A run of ``lines`` lines (topics x ``depth``) and qrels of ``judged`` documents per topic."""
    topics = lines // depth
    rng = random.Random(0)
    run, qrels = folder / "run.txt", folder / "qrels.txt"
    with run.open("w") as out:
        for t in range(topics):
            out.write("".join(f"T{t} Q0 D{t}-{d} {d + 1} {depth - d} bench\n" for d in range(depth)))
    with qrels.open("w") as out:
        for t in range(topics):
            docs = rng.sample(range(depth * 2), judged)
            out.write("".join(f"T{t} 0 D{t}-{d} {rng.choice((0, 1, 2))}\n" for d in docs))
    return run, qrels


def body(run: Path, k: int) -> Iterator[bytes]:
    """The run file with a line of its own at the end (so every upload is a different file)."""
    with run.open("rb") as data:
        while chunk := data.read(CHUNK):
            yield chunk
    yield f"T0 Q0 EXTRA-{k} 1001 -1 bench\n".encode()


def rss(proc: psutil.Process) -> int:
    try:
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        return 0


def measure(run: Path, qrels: Path, slots: int, uploads: int, folder: Path) -> dict[str, Any]:
    url = f"sqlite:///{folder / f'slots{slots}.db'}"
    migrate(url)
    tokens = create_users(url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBENCH_")}
    env.update(
        RAGBENCH_DATABASE_URL=url,
        RAGBENCH_SCORING_SLOTS=str(slots),
        RAGBENCH_MAX_UPLOAD_BYTES=str(512 * 2**20),
        RAGBENCH_RATE_LIMIT="0",
    )
    log = (folder / f"server{slots}.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "ragbench.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/benchmarks", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        created = httpx.post(
            f"{base}/api/v1/benchmarks",
            json={"slug": "big", "qrels": qrels.read_text()},
            headers=admin,
            timeout=300,
        )
        assert created.status_code == 201, created.text[:500]
        proc = psutil.Process(server.pid)
        idle = rss(proc)
        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(rss(proc))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        answers: list[dict[str, Any]] = []
        start = time.monotonic()

        def upload(k: int) -> None:
            t0 = time.monotonic()
            response = httpx.post(
                f"{base}/api/v1/benchmarks/big/runs",
                params={"name": f"run{k}"},
                content=body(run, k),
                headers={**admin, "Content-Type": "text/plain"},
                timeout=1800,
            )
            answers.append({"status": response.status_code, "seconds": round(time.monotonic() - t0, 2)})

        threads = [threading.Thread(target=upload, args=(k,)) for k in range(uploads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        accepted = time.monotonic() - start
        while True:  # until the worker has scored every run
            runs = [httpx.get(f"{base}/api/v1/runs/{i}", timeout=60).json() for i in range(1, uploads + 1)]
            if all(r.get("status") in ("scored", "failed") for r in runs) or time.monotonic() - start > 1800:
                break
            time.sleep(1)
        stop.set()
        sampler.join()
        return {
            "slots": slots,
            "uploads": uploads,
            "idle_rss_mib": round(idle / 2**20),
            "peak_rss_mib": round(max(samples) / 2**20),
            "all_accepted_s": round(accepted, 1),
            "all_scored_s": round(time.monotonic() - start, 1),
            "answers": sorted(a["status"] for a in answers),
            "statuses": sorted(r.get("status", "?") for r in runs),
        }
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, nargs="+", default=[8, 2])
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--lines", type=int, default=5_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run, qrels = write_files(folder, args.lines)
        size = run.stat().st_size
        rows = [measure(run, qrels, slots, args.uploads, folder) for slots in args.slots]
    result = {
        "benchmark": "upload_memory",
        "run_lines": args.lines,
        "run_bytes": size,
        "results": rows,
        "machine": {**base_machine(), "note": "client and server share the machine; loopback only"},
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for row in rows:
        print(
            f"slots {row['slots']}: {row['uploads']} uploads of {args.lines:,} lines: peak RSS "
            f"{row['peak_rss_mib']:,} MiB (idle {row['idle_rss_mib']} MiB), all accepted in "
            f"{row['all_accepted_s']} s, all scored in {row['all_scored_s']} s; answers {row['answers']}"
        )


if __name__ == "__main__":
    main()

"""Benchmark: the store's part of submitting a 1M-line run, and leaderboard reads, in process.

For SQLite (a temporary file) and, when ``RAGBENCH_TEST_POSTGRES_URL`` names a server role that
may create databases, PostgreSQL (a temporary database):

1. ``submit_run`` of a 1,000 topics x 1,000 documents run (37 MB; above the inline limit, so it
   is validated, compressed and stored ``pending``), committed; then ``process_pending`` scoring
   it (the parsed tables handed over in process), committed. Also the worker step when it must
   read the stored file (a worker in another process), and inline scoring of a 300,000-line run.
2. A leaderboard of 20 scored runs: the first call (computes the significance tiers) and the
   latency of 1,000 further calls (tiers cached).

    python benchmarks/store_speed.py [--repeats 3]

Writes benchmarks/results/store_speed.json. The synthetic files are eval_speed.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from eval_speed import generate  # noqa: E402

RESULTS = HERE / "results"


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """An empty database URL of ``kind`` (dropped afterwards)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    from ragbench.store.db import scratch_postgres_database

    with scratch_postgres_database(os.environ["RAGBENCH_TEST_POSTGRES_URL"], prefix="ragbench_bench") as url:
        yield url


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def bench(kind: str, run_path: Path, qrels_path: Path, repeats: int) -> dict[str, Any]:
    from ragbench.store import _scoring, service
    from ragbench.store.db import make_engine, session_factory, upgrade

    run_bytes = run_path.read_bytes()
    lines = run_bytes.splitlines(keepends=True)
    with fresh_database(kind) as url:
        upgrade(url)
        engine = make_engine(url)
        factory = session_factory(engine)
        with factory() as s, s.begin():
            root = service.create_user(s, "root", role="admin")
            alice = service.create_user(s, "alice")
            service.create_benchmark(s, root, "b", qrels_text=qrels_path.read_text())

        def submit(data: bytes, name: str) -> Any:
            with factory() as s, s.begin():
                return service.submit_run(s, alice, "b", data, name=name)

        rows: list[dict[str, float]] = []
        for k in range(repeats):
            submit_s, run = timed(
                lambda k=k: submit(run_bytes.replace(b" bench\n", f" r{k}\n".encode()), "big")
            )
            assert run.status == "pending"
            worker_s, n = timed(lambda: service.process_pending(factory))
            assert n == 1
            cold = submit(run_bytes.replace(b" bench\n", f" c{k}\n".encode()), "big")
            _scoring._handoffs.clear()  # as a worker in another process: read the stored file
            stored_s, _ = timed(lambda: service.process_pending(factory))
            with factory() as s:
                assert {service.get_run(s, r).status for r in (run.id, cold.id)} == {"scored"}
            inline_data = b"".join(lines[:300_000]).replace(b" bench\n", f" i{k}\n".encode())
            inline_s, small = timed(lambda data=inline_data: submit(data, "inline"))
            assert small.status == "scored"
            rows.append({"submit_s": submit_s, "worker_s": worker_s, "worker_from_stored_file_s": stored_s,
                         "inline_300k_lines_s": inline_s})  # fmt: skip

        # A leaderboard of 20 runs: 1,000 topics x 100 documents each, noisy copies of the big run.
        per_topic = [b"".join(lines[t * 1000 : t * 1000 + 100]) for t in range(1000)]
        with factory() as s:
            total = service.leaderboard(s, "b", "nDCG@10").total
        for k in range(20 - total):
            data = b"".join(per_topic[t] for t in range(1000) if (t + k) % 7).replace(
                b" bench\n", f" l{k}\n".encode()
            )
            submit(data, f"sys{k}")
        service.clear_tier_cache()
        with factory() as s:
            first_s, board = timed(lambda: service.leaderboard(s, "b", "nDCG@10"))
            assert board.total == 20 and all(r.tier is not None for r in board.rows)
            latencies = []
            for _ in range(1000):
                t, _ = timed(lambda: service.leaderboard(s, "b", "nDCG@10"))
                latencies.append(t * 1000)
        engine.dispose()
    latencies.sort()
    return {
        "database": kind,
        "submit_1m_lines": rows,
        "median": {key: statistics.median(r[key] for r in rows) for key in rows[0]},
        "leaderboard_20_runs": {
            "first_call_with_tiers_s": first_s,
            "cached_ms": {
                "p50": latencies[len(latencies) // 2],
                "p99": latencies[int(len(latencies) * 0.99)],
                "max": latencies[-1],
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run_path, qrels_path = generate(1000, 1000)
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("RAGBENCH_TEST_POSTGRES_URL") else [])
    import sqlalchemy

    report = {
        "benchmark": "store_speed",
        "run": {"path": run_path.name, "lines": 1_000_000, "bytes": run_path.stat().st_size},
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlalchemy": sqlalchemy.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        },
        "results": [bench(kind, run_path, qrels_path, args.repeats) for kind in kinds],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_speed.json").write_text(json.dumps(report, indent=2) + "\n")
    for result in report["results"]:
        print(result["database"], json.dumps(result["median"]), json.dumps(result["leaderboard_20_runs"]))


if __name__ == "__main__":
    main()

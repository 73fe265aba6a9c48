"""Benchmark: the web service under load, over loopback HTTP, against a freshly migrated database.

For SQLite (and PostgreSQL when ``RAGBENCH_BENCH_POSTGRES_URL`` names a server role that may
create databases), it migrates a new database, creates an admin and a member, starts
``ragbench serve`` (uvicorn, one worker) in a subprocess and measures:

1. **Submit -> scored**: a generated 1,000,000-line run (1,000 topics x 1,000 documents; qrels of
   50 graded judgments per topic) posted as multipart; timed from the start of the upload until
   ``GET /api/v1/runs/{id}`` says ``scored`` (the run is above the inline limit, so the background
   worker scores it after the 202). Floor: 3 s end to end.
2. **Leaderboard reads**: 50 concurrent clients (asyncio + httpx, one connection each) GET the
   leaderboard JSON of a benchmark with 20 scored runs for 30 s, first as fast as they can
   (saturation), then paced to 250 requests/s in total: requests/s and p50/p95/p99 latency.
   Floor: p99 <= 100 ms at >= 200 requests/s.

    python benchmarks/api_load.py [--duration 30] [--clients 50] [--paced-rate 250] [--skip-submit]

Writes benchmarks/results/api_load.json (with machine information) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from machine_info import base_machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from eval_speed import generate  # noqa: E402  (the same synthetic run/qrels generator)

SMALL_RUNS = 20
SMALL_DEPTH = 20
MEASURE = "nDCG@10"
SUBMIT_FLOOR_S = 3.0
P99_FLOOR_MS = 100.0
RATE_FLOOR = 200.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fresh_database(kind: str, admin_url: str | None, folder: Path) -> Iterator[str]:
    """A new, empty database: an SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from ragbench.store.db import scratch_postgres_database

    assert admin_url
    with scratch_postgres_database(admin_url, prefix="ragbench_bench") as url:
        yield url


def prepare(url: str) -> dict[str, str]:
    """Migrate the database and create an admin and a member; returns their tokens."""
    from ragbench.store.db import make_engine, session_factory, upgrade
    from ragbench.store.service import create_token, create_user

    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s, s.begin():
            create_user(s, "admin", role="admin")
            create_user(s, "member")
            return {"admin": create_token(s, "admin"), "member": create_token(s, "member")}
    finally:
        engine.dispose()


@contextmanager
def serve(url: str, log: Path) -> Iterator[str]:
    """``ragbench serve`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBENCH_")}
    env["RAGBENCH_DATABASE_URL"] = url
    # Every client of this benchmark is 127.0.0.1: the per-client rate limit would measure itself.
    env["RAGBENCH_RATE_LIMIT"] = "0"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ragbench.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/api/v1/benchmarks", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def submit_big_run(base: str, tokens: dict[str, str], run_path: Path, slug: str) -> dict[str, Any]:
    """Time one large submission from the start of the upload until the run is scored."""
    data = run_path.read_bytes()
    member = {"Authorization": f"Bearer {tokens['member']}"}
    with httpx.Client(base_url=base, headers=member, timeout=300) as client:
        started = time.perf_counter()
        response = client.post(
            f"/api/v1/benchmarks/{slug}/runs", data={"name": "big-run"}, files={"file": (run_path.name, data)}
        )
        answered = time.perf_counter() - started
        if response.status_code not in (201, 202):
            raise RuntimeError(f"submission failed: {response.status_code} {response.text[:500]}")
        run = response.json()
        while run["status"] not in ("scored", "failed"):
            time.sleep(0.01)
            run = client.get(f"/api/v1/runs/{run['id']}").json()
        scored = time.perf_counter() - started
    return {
        "lines": run["num_lines"],
        "bytes": len(data),
        "http_status": response.status_code,
        "status": run["status"],
        "response_s": answered,
        "submit_to_scored_s": scored,
        "floor_s": SUBMIT_FLOOR_S,
        "meets_floor": run["status"] == "scored" and scored <= SUBMIT_FLOOR_S,
        "scores": run["scores"],
    }


def seed_leaderboard(base: str, tokens: dict[str, str], qrels_path: Path, slug: str) -> None:
    """A benchmark on the big qrels with SMALL_RUNS runs of different quality (scored inline)."""
    rng = np.random.default_rng(1)
    judged: dict[str, list[str]] = {}
    for line in qrels_path.read_text().splitlines():
        q, _, d, rel = line.split()
        if int(rel) > 0:
            judged.setdefault(q, []).append(d)
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {tokens['member']}"}, timeout=300
    ) as c:
        for i in range(SMALL_RUNS):
            lines = []
            for q, docs in judged.items():
                hits = [d for d in docs if rng.random() < i / SMALL_RUNS]
                ranked = hits + [f"X{q}-{k}" for k in range(SMALL_DEPTH - len(hits))]
                lines += [f"{q} Q0 {d} {r + 1} {100 - r} r{i}" for r, d in enumerate(ranked[:SMALL_DEPTH])]
            response = c.post(
                f"/api/v1/benchmarks/{slug}/runs",
                data={"name": f"system-{i:02d}"},
                files={"file": (f"r{i}", "\n".join(lines).encode())},
            )
            if response.status_code != 201:
                raise RuntimeError(f"seeding failed: {response.status_code} {response.text[:300]}")


async def load(base: str, path: str, clients: int, duration: float, rate: float | None) -> dict[str, Any]:
    """``clients`` concurrent clients GET ``path`` for ``duration`` s, as fast as they can or paced
    to ``rate`` requests/s in total; latencies in ms.

    Each client has one keep-alive connection, opened (and warmed with one request) before the
    clock starts: creating 50 httpx clients costs about a second of CPU, which is not the server's.
    """
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    https = [httpx.AsyncClient(base_url=base, limits=limits, timeout=30) for _ in range(clients)]
    try:
        await asyncio.gather(*(http.get(path) for http in https))
        start = time.perf_counter()
        deadline = start + duration
        interval = clients / rate if rate else 0.0

        async def client(index: int, http: httpx.AsyncClient) -> None:
            next_at = start + interval * index / clients
            while True:
                if rate:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at += interval
                t0 = time.perf_counter()
                if t0 >= deadline:
                    return
                try:
                    response = await http.get(path)
                    key = None if response.status_code == 200 else str(response.status_code)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                if key is None:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors[key] = errors.get(key, 0) + 1

        await asyncio.gather(*(client(i, http) for i, http in enumerate(https)))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(http.aclose() for http in https))
    quantiles = np.percentile(latencies, [50, 95, 99]) if latencies else [float("nan")] * 3
    return {
        "clients": clients,
        "target_rate": rate,
        "duration_s": elapsed,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": len(latencies) / elapsed,
        "latency_ms": {
            "p50": float(quantiles[0]),
            "p95": float(quantiles[1]),
            "p99": float(quantiles[2]),
            "mean": statistics.fmean(latencies) if latencies else float("nan"),
            "max": max(latencies, default=float("nan")),
        },
    }


def bench_database(kind: str, admin_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    run_path, qrels_path = generate(args.topics, args.depth)
    with (
        tempfile.TemporaryDirectory(prefix="ragbench-bench-") as tmp,
        fresh_database(kind, admin_url, Path(tmp)) as url,
    ):
        tokens = prepare(url)
        with serve(url, Path(tmp) / "server.log") as base:
            admin = {"Authorization": f"Bearer {tokens['admin']}"}
            for slug in ("big", "board"):
                response = httpx.post(
                    f"{base}/api/v1/benchmarks",
                    headers=admin,
                    timeout=120,
                    json={"slug": slug, "qrels": qrels_path.read_text()},
                )
                response.raise_for_status()
            result: dict[str, Any] = {"database": kind}
            if not args.skip_submit:
                result["submit"] = submit_big_run(base, tokens, run_path, "big")
            seed_leaderboard(base, tokens, qrels_path, "board")
            path = f"/api/v1/benchmarks/board/leaderboard?measure={MEASURE}"
            warm = httpx.get(base + path, timeout=120).json()  # computes (and caches) the tiers
            result["leaderboard_rows"] = len(warm["rows"])
            result["saturated"] = asyncio.run(load(base, path, args.clients, args.duration, None))
            result["paced"] = asyncio.run(load(base, path, args.clients, args.duration, args.paced_rate))
            paced = result["paced"]
            result["meets_floor"] = (
                not paced["errors"]
                and paced["requests_per_s"] >= RATE_FLOOR
                and paced["latency_ms"]["p99"] <= P99_FLOOR_MS
            )
    return result


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        **base_machine(),
        **{package: version(package) for package in ("litestar", "uvicorn", "sqlalchemy", "httpx")},
        "note": "client and server share the machine's cores; loopback only",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each load phase")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--paced-rate", type=float, default=250.0, help="total requests/s of the paced phase")
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=1000)
    parser.add_argument("--skip-submit", action="store_true", help="only the leaderboard load")
    args = parser.parse_args()
    targets: list[tuple[str, str | None]] = [("sqlite", None)]
    if os.environ.get("RAGBENCH_BENCH_POSTGRES_URL"):
        targets.append(("postgresql", os.environ["RAGBENCH_BENCH_POSTGRES_URL"]))
    results = [bench_database(kind, url, args) for kind, url in targets]
    doc = {
        "benchmark": "api_load",
        "run": {"topics": args.topics, "depth": args.depth, "judgments_per_topic": 50},
        "leaderboard": {
            "runs": SMALL_RUNS,
            "measure": MEASURE,
            "clients": args.clients,
            "duration_s": args.duration,
        },
        "floors": {
            "submit_to_scored_s": SUBMIT_FLOOR_S,
            "p99_ms": P99_FLOOR_MS,
            "requests_per_s": RATE_FLOOR,
        },
        "machine": machine(),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "api_load.json").write_text(json.dumps(doc, indent=2) + "\n")
    for r in results:
        print(f"[{r['database']}]")
        if "submit" in r:
            s = r["submit"]
            print(
                f"  submit {s['lines']:,} lines ({s['bytes'] / 2**20:.0f} MiB): answered {s['http_status']} in "
                f"{s['response_s']:.2f} s, {s['status']} after {s['submit_to_scored_s']:.2f} s "
                f"(floor {SUBMIT_FLOOR_S:.0f} s: {'ok' if s['meets_floor'] else 'MISSED'})"
            )
        for phase in ("saturated", "paced"):
            p = r[phase]
            lat = p["latency_ms"]
            print(
                f"  leaderboard {phase:9s} {p['clients']} clients: {p['requests_per_s']:7.1f} req/s  "
                f"p50 {lat['p50']:6.1f} ms  p95 {lat['p95']:6.1f} ms  p99 {lat['p99']:6.1f} ms  "
                f"errors {sum(p['errors'].values())}"
            )
        print(
            f"  floor p99 <= {P99_FLOOR_MS:.0f} ms at >= {RATE_FLOOR:.0f} req/s: {'ok' if r['meets_floor'] else 'MISSED'}"
        )


if __name__ == "__main__":
    main()

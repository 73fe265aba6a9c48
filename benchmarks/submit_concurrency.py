"""Benchmark: many clients submitting at once, with the service's limits on; nothing lost or doubled.

Starts ``ragbench serve`` on a new PostgreSQL database (``RAGBENCH_BENCH_POSTGRES_URL``: a role
that may create databases; SQLite without it), with the default settings (scoring slots, rate
limits), creates ``--clients`` members, and has each post ``--runs`` different small runs (TREC's
``results.trunc`` with a tag of its own) at once, plus one copy of another client's file. A 429
(rate limit) is retried after its ``Retry-After``, as a client should. Counts the answers and the
rows: every file must be stored exactly once (0 lost, 0 duplicated), each copy refused with 409.

    RAGBENCH_BENCH_POSTGRES_URL=postgresql+psycopg://u:p@127.0.0.1/db \\
        python benchmarks/submit_concurrency.py [--clients 50] [--runs 20]

Writes benchmarks/results/submit_concurrency.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from machine_info import base_machine
from support.paths import SHARED
from support.webserver import free_port, migrate, table_counts

from ragbench.store.db import make_engine, scratch_postgres_database, session_factory
from ragbench.store.service import create_token, create_user

RESULTS = Path(__file__).parent / "results" / "submit_concurrency.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    data = SHARED / "data" / "trec_eval"
    qrels, run = (data / "qrels.test").read_text(), (data / "results.trunc").read_bytes()
    with ExitStack() as stack:
        admin_url = os.environ.get("RAGBENCH_BENCH_POSTGRES_URL")
        if admin_url:
            url = stack.enter_context(scratch_postgres_database(admin_url, prefix="ragbench_bench"))
        else:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        migrate(url)
        engine = make_engine(url)
        tokens: dict[str, str] = {}
        with session_factory(engine)() as s, s.begin():
            create_user(s, "admin", role="admin")
            tokens["admin"] = create_token(s, "admin")
            for c in range(args.clients):
                create_user(s, f"c{c}")
                tokens[f"c{c}"] = create_token(s, f"c{c}")
        engine.dispose()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBENCH_")}
        env["RAGBENCH_DATABASE_URL"] = url
        log = stack.enter_context(tempfile.TemporaryFile())
        server = subprocess.Popen(
            [sys.executable, "-m", "ragbench.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/api/v1/benchmarks", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {tokens['admin']}"}
            created = httpx.post(
                f"{base}/api/v1/benchmarks", json={"slug": "busy", "qrels": qrels}, headers=headers
            )
            assert created.status_code == 201, created.text

            def file(c: int, k: int) -> bytes:
                return run.replace(b"STANDARD", f"c{c}r{k}".encode())

            def client(c: int) -> list[tuple[str, int, int]]:
                jobs = [(f"c{c}-r{k}", file(c, k)) for k in range(args.runs)]
                jobs.insert(args.runs // 2, (f"c{c}-copy", file((c + 1) % args.clients, 0)))
                out = []
                with httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {tokens[f'c{c}']}"}
                ) as http:
                    for name, content in jobs:
                        retries = 0
                        while True:
                            response = http.post(
                                "/api/v1/benchmarks/busy/runs",
                                data={"name": name},
                                files={"file": (name, content)},
                                timeout=300,
                            )
                            if response.status_code != 429:
                                break
                            retries += 1
                            time.sleep(float(response.headers.get("retry-after", "1")))
                        out.append((name, response.status_code, retries))
                return out

            start = time.monotonic()
            with ThreadPoolExecutor(args.clients) as pool:
                answers = [a for chunk in pool.map(client, range(args.clients)) for a in chunk]
            seconds = time.monotonic() - start
        finally:
            server.terminate()
            server.wait(timeout=60)
        counts = table_counts(url)
    statuses: dict[str, int] = {}
    for _, status, _ in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    accepted = {name for name, status, _ in answers if status in (201, 202)}
    originals = {f"c{c}-r{k}" for c in range(args.clients) for k in range(args.runs)}
    copies_stored = sum(f"c{c}-copy" in accepted for c in range(args.clients))
    firsts_stored = sum(f"c{(c + 1) % args.clients}-r0" in accepted for c in range(args.clients))
    files = args.clients * args.runs
    result: dict[str, Any] = {
        "benchmark": "submit_concurrency",
        "database": "postgresql" if admin_url else "sqlite",
        "clients": args.clients,
        "submissions": len(answers),
        "distinct_files": files,
        "seconds": round(seconds, 1),
        "statuses": statuses,
        "rate_limited_retries": sum(r for _, _, r in answers),
        "rows": counts,
        "lost": files - counts["run"],
        "duplicated": counts["run"] - len(set(accepted)),
        "every_original_or_its_copy_once": (originals - accepted) <= {f"c{c}-r0" for c in range(args.clients)}
        and copies_stored + firsts_stored == args.clients,
        "machine": {**base_machine(), "note": "client and server share the machine; loopback only"},
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{len(answers)} submissions from {args.clients} clients ({result['database']}) in {seconds:.1f} s: "
        f"{statuses}; runs stored {counts['run']} of {files} files: lost {result['lost']}, "
        f"duplicated {result['duplicated']}"
    )


if __name__ == "__main__":
    main()

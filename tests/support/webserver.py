"""Helpers of the API and browser tests: a real ``ragbench serve`` in a subprocess, users, data.

Imported by ``conftest.py`` here and by ``tests/e2e``; not a test module.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ragbench_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the ``ragbench`` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "ragbench.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def create_users(database_url: str) -> dict[str, str]:
    """An admin ``admin`` and members ``alice`` and ``bob``; returns ``{name: plain token}``."""
    from ragbench.store.db import make_engine, session_factory
    from ragbench.store.service import create_token, create_user

    engine = make_engine(database_url)
    try:
        factory = session_factory(engine)
        tokens = {}
        with factory() as s, s.begin():
            for name, role in (("admin", "admin"), ("alice", "member"), ("bob", "member")):
                create_user(s, name, role=role)
                tokens[name] = create_token(s, name)
        return tokens
    finally:
        engine.dispose()


def table_counts(
    database_url: str, tables: tuple[str, ...] = ("system", "run", "score", "submission")
) -> dict[str, int]:
    """Row counts of some tables (to check that failed requests left nothing behind)."""
    from sqlalchemy import text

    from ragbench.store.db import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return {t: int(conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()) for t in tables}
    finally:
        engine.dispose()


@dataclass
class Server:
    """A running ``ragbench serve`` and what the tests need to talk to it."""

    url: str
    database_url: str
    tokens: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def client(self, user: str | None = None, **options: object) -> httpx.Client:
        """An HTTP client for the server, sending ``user``'s token (None: anonymous)."""
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120.0, **options)  # type: ignore[arg-type]

    def start(self) -> None:
        """Start the server and wait until it answers."""
        port = int(self.url.rsplit(":", 1)[1])
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ragbench.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/v1/benchmarks", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer within {STARTUP_TIMEOUT_S} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 15 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def counts(self) -> dict[str, int]:
        """Row counts of ``system``, ``run`` and ``score``."""
        return table_counts(self.database_url)

    def wait_scored(self, run_id: int, timeout: float = 120.0) -> dict[str, object]:
        """Poll ``GET /api/v1/runs/{id}`` until the run is scored or failed; returns it."""
        deadline = time.monotonic() + timeout
        with self.client("admin") as c:
            while True:
                body = c.get(f"/api/v1/runs/{run_id}").json()
                if body["status"] in ("scored", "failed") or time.monotonic() > deadline:
                    return body
                time.sleep(0.2)


def base_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without RAGBENCH_* variables, pointed at ``database_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBENCH_")}
    env.update({"RAGBENCH_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(extra or {})})
    return env


def migrate(database_url: str) -> None:
    """``ragbench db upgrade`` on ``database_url``."""
    proc = ragbench_cli("db", "upgrade", env=base_env(database_url))
    assert proc.returncode == 0, proc.stderr


def start_server(database_url: str, tokens: dict[str, str], log: Path, **extra_env: str) -> Server:
    """Start ``ragbench serve`` on a free port against a migrated database."""
    server = Server(
        url=f"http://127.0.0.1:{free_port()}",
        database_url=database_url,
        tokens=tokens,
        log=log,
        env=base_env(database_url, extra_env),
    )
    server.start()
    return server


@contextmanager
def sqlite_server(folder: Path, **extra_env: str) -> Iterator[Server]:
    """A server on a new SQLite database in ``folder`` (migrated, with the three users), for a
    module of tests that share one server; stopped on exit."""
    url = f"sqlite:///{folder / 'ragbench.db'}"
    migrate(url)
    server = start_server(url, create_users(url), folder / "server.log", **extra_env)
    try:
        yield server
    finally:
        server.stop()


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: relevance}}`` of a TREC qrels file."""
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4:
            qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return qrels


def synthetic_run(
    qrels: Mapping[str, Mapping[str, int]], *, quality: float, seed: int, depth: int = 100, tag: str = "synth"
) -> str:
    """A CACM-like TREC run: per topic, the judged documents plus unjudged ones, scored by
    ``quality * relevance + noise`` (higher quality ranks relevant documents higher)."""
    rng = random.Random(seed)
    lines = []
    for query_id in sorted(qrels):
        judged = dict(qrels[query_id])
        docs = list(judged) + [f"SYN-{query_id}-{i:04d}" for i in range(max(0, depth - len(judged)))]
        scored = sorted(
            ((quality * judged.get(d, 0) + rng.gauss(0.0, 1.0), d) for d in docs),
            key=lambda sd: (-sd[0], sd[1]),
        )[:depth]
        lines += [f"{query_id} Q0 {d} {rank} {score:.6f} {tag}" for rank, (score, d) in enumerate(scored, 1)]
    return "\n".join(lines) + "\n"


def synthetic_sessions(n_sessions: int = 8, *, seed: int = 0, docs: int = 12) -> tuple[str, str]:
    """A sessions file (``session_id query_index query``, TSV) and its session-level qrels: sessions
    ``s01``... of 1 to 3 queries, ``docs`` judged documents each (grades 0 to 2)."""
    rng = random.Random(seed)
    sessions, qrels = ["session_id\tquery_index\tquery"], []
    for i in range(1, n_sessions + 1):
        sid = f"s{i:02d}"
        for q in range(1, rng.randint(1, 3) + 1):
            sessions.append(f"{sid}\t{q}\tquery {q} of {sid}")
        qrels += [f"{sid} 0 {sid}-d{d:02d} {rng.choice((0, 0, 1, 1, 2))}" for d in range(docs)]
    return "\n".join(sessions) + "\n", "\n".join(qrels) + "\n"


def synthetic_session_run(
    sessions_text: str, qrels_text: str, *, quality: float, seed: int, depth: int = 10
) -> str:
    """A session run (``session_id query_index rank doc_id clicked``) over every query of every
    session: judged and unjudged documents ranked by ``quality * grade + noise``; relevant documents
    in the top 3 are clicked."""
    rng = random.Random(seed)
    queries: dict[str, int] = {}
    for line in sessions_text.splitlines()[1:]:
        sid, q, _ = line.split("\t")
        queries[sid] = max(queries.get(sid, 0), int(q))
    grades: dict[str, dict[str, int]] = {}
    for line in qrels_text.splitlines():
        sid, _, doc, grade = line.split()
        grades.setdefault(sid, {})[doc] = int(grade)
    lines = []
    for sid, n in queries.items():
        pool = [*grades.get(sid, {}), *(f"{sid}-junk{j:02d}" for j in range(depth))]
        for q in range(1, n + 1):
            scored = sorted(pool, key=lambda d: -(quality * grades[sid].get(d, 0) + rng.gauss(0.0, 1.0)))
            for rank, doc in enumerate(scored[:depth], 1):
                clicked = int(rank <= 3 and grades[sid].get(doc, 0) > 0)
                lines.append(f"{sid}\t{q}\t{rank}\t{doc}\t{clicked}")
    return "\n".join(lines) + "\n"

"""The store's CLI commands as a user runs them: real processes, a real database, a stub server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_runner import ragbench

from ragbench.store import service
from ragbench.store.db import make_engine, session_factory

TOPICS = "".join(f"<top>\n<num> Number: {q}\n<title> topic {q}\n</top>\n" for q in (301, 302, 303))


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"RAGBENCH_DATABASE_URL": database_url}


def test_database_commands(
    env: dict[str, str], database_url: str, trec_eval_data: Path, tmp_path: Path
) -> None:
    (tmp_path / "topics.txt").write_text(TOPICS)
    add = (
        "benchmark",
        "add",
        "te",
        "--topics",
        tmp_path / "topics.txt",
        "--qrels",
        trec_eval_data / "qrels.test",
    )

    refused = ragbench(*add, env=env)
    assert refused.returncode == 2
    assert "database is not migrated: run `ragbench db upgrade`" in refused.stderr
    assert "Traceback" not in refused.stderr

    for _ in range(2):
        upgraded = ragbench("db", "upgrade", env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        assert "up to date" in upgraded.stderr

    added = ragbench(*add, "--hidden", "--title", "T", "-m", "AP", "-m", "NDCG@10", env=env)
    assert added.returncode == 0, added.stderr
    assert "te (hidden): AP, nDCG@10, Judged@10" in added.stdout

    assert ragbench("user", "add", "alice", env=env).stdout.strip() == "added member alice"
    assert ragbench("user", "add", "carol", "--admin", env=env).stdout.strip() == "added admin carol"
    again = ragbench("user", "add", "alice", env=env)
    assert (again.returncode, again.stderr.strip()) == (2, "ragbench: error: user 'alice' exists")

    token = ragbench("token", "create", "alice", env=env)
    assert token.returncode == 0 and "cannot be shown again" in token.stderr
    nobody = ragbench("token", "create", "nobody", env=env)
    assert (nobody.returncode, nobody.stderr.strip()) == (2, "ragbench: error: no user 'nobody'")

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            assert service.authenticate(s, token.stdout.strip()).name == "alice"
            benchmark = service.get_benchmark(s, "te")
            assert (benchmark.hidden, benchmark.title, benchmark.topics) == (True, "T", TOPICS)
            # the benchmark was added by the local admin, created for it
            assert service.user_by_name(s, "admin").role == "admin"
    finally:
        engine.dispose()

    (tmp_path / "bad.qrels").write_text("301 0 d1 1\n301 0 d2 high\n")
    bad = ragbench(
        "benchmark",
        "add",
        "b2",
        "--topics",
        tmp_path / "topics.txt",
        "--qrels",
        tmp_path / "bad.qrels",
        env=env,
    )
    assert bad.returncode == 2
    assert "qrels:2:" in bad.stderr and "not an integer" in bad.stderr and "Traceback" not in bad.stderr
    missing = ragbench(
        "benchmark",
        "add",
        "b3",
        "--topics",
        tmp_path / "none.txt",
        "--qrels",
        tmp_path / "bad.qrels",
        env=env,
    )
    assert missing.returncode == 2 and "cannot read the topics file" in missing.stderr


class StubApi(BaseHTTPRequestHandler):
    """Answers like the ragbench API: ``behaviour`` picks the answer to the upload."""

    behaviour = "scored"
    seen: ClassVar[list[dict[str, Any]]] = []
    polls = 0

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        StubApi.seen.append(
            {
                "path": self.path,
                "auth": self.headers["Authorization"],
                "type": self.headers["Content-Type"],
                "body": body,
            }
        )
        run = {
            "id": 7,
            "system": "bm25",
            "status": "scored",
            "error": None,
            "scores": {"AP": 0.25, "nDCG@10": None},
        }
        if self.behaviour == "scored":
            self._send(201, run)
        elif self.behaviour == "pending":
            self._send(202, {**run, "status": "pending", "scores": {}})
        elif self.behaviour == "bad":
            problem = {
                "file": "run.txt",
                "line": 2,
                "column": 14,
                "message": "score 'x' is not a number",
                "severity": "error",
            }
            self._send(
                400, {"detail": "run.txt:2:14: error: score 'x' is not a number", "problems": [problem]}
            )
        else:
            self._send(500, {"detail": "Internal Server Error"})

    def do_GET(self) -> None:
        StubApi.polls += 1
        status = "scored" if StubApi.polls >= 2 else "scoring"
        self._send(200, {"id": 7, "system": "bm25", "status": status, "scores": {"AP": 0.5}})


@pytest.fixture
def stub() -> Iterator[Callable[[str], str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def behave(behaviour: str) -> str:
        StubApi.behaviour, StubApi.seen, StubApi.polls = behaviour, [], 0
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield behave
    server.shutdown()


def test_submit(stub: Callable[[str], str], tmp_path: Path, trec_eval_data: Path) -> None:
    run = trec_eval_data / "results.test"
    args = ("submit", "te", run, "--name", "bm25", "--description", "plain BM25")

    env = {"RAGBENCH_URL": stub("scored"), "RAGBENCH_TOKEN": "rb_secret"}
    done = ragbench(*args, "--url", "https://example.org", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["run 7 (bm25): scored", "AP       0.2500", "nDCG@10  -"]
    (seen,) = StubApi.seen
    assert (seen["path"], seen["auth"]) == ("/api/v1/benchmarks/te/runs", "Bearer rb_secret")
    assert seen["type"].startswith("multipart/form-data")
    for part in (
        b'name="file"; filename="results.test"',
        b"plain BM25",
        b"https://example.org",
        run.read_bytes(),
    ):
        assert part in seen["body"]

    queued = ragbench(*args, env={**env, "RAGBENCH_URL": stub("pending")})
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout.splitlines() == ["run 7 (bm25): scored", "AP  0.5000"]
    assert StubApi.polls == 2

    rejected = ragbench(*args, env={**env, "RAGBENCH_URL": stub("bad")})
    assert rejected.returncode == 2
    assert "refused the run (400)" in rejected.stderr
    assert "run.txt:2:14: error: score 'x' is not a number" in rejected.stderr
    assert "Traceback" not in rejected.stderr

    failed = ragbench(*args, env={**env, "RAGBENCH_URL": stub("broken")})
    assert failed.returncode == 1 and "the server failed (500)" in failed.stderr

    anonymous = ragbench(*args, env={"RAGBENCH_URL": stub("scored"), "RAGBENCH_TOKEN": ""})
    assert anonymous.returncode == 2 and "RAGBENCH_TOKEN" in anonymous.stderr

    unreachable = ragbench(*args, env={**env, "RAGBENCH_URL": "http://127.0.0.1:9"})
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr

    no_file = ragbench("submit", "te", tmp_path / "none.txt", "--name", "x", "--description", "y", env=env)
    assert no_file.returncode == 2 and "cannot read" in no_file.stderr

"""The store's CLI commands as a user runs them: real processes, a real database, a stub server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from support.cli_runner import ragbench
from support.paths import FIXTURES

from ragbench.errors import AuthError
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


SESSIONS = FIXTURES / "sessions"


def test_benchmark_with_sessions_commands(
    env: dict[str, str], database_url: str, trec_eval_data: Path, tmp_path: Path
) -> None:
    assert ragbench("db", "upgrade", env=env).returncode == 0
    (tmp_path / "topics.txt").write_text(TOPICS)
    base = ("benchmark", "add", "--topics", tmp_path / "topics.txt", "--qrels", trec_eval_data / "qrels.test")
    sessions = ("--sessions", SESSIONS / "sessions.tsv", "--session-qrels", SESSIONS / "qrels.txt")

    added = ragbench(
        *base[:2],
        "ses",
        *base[2:],
        *sessions,
        "--session-measure",
        "NUM",
        "--session-measure",
        "sessDCG@10",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert "sessions: NUM(L=1000), sessDCG(b=2,bq=4)@10" in added.stdout

    half = ragbench(*base[:2], "half", *base[2:], *sessions[:2], env=env)
    assert half.returncode == 2 and "go together" in half.stderr and "Traceback" not in half.stderr
    (tmp_path / "gap.tsv").write_text("s1\t1\tone\ns1\t3\tthree\n")
    gap = ragbench(*base[:2], "gap", *base[2:], "--sessions", tmp_path / "gap.tsv", *sessions[2:], env=env)
    assert gap.returncode == 2 and "sessions:2:" in gap.stderr and "Traceback" not in gap.stderr
    measure = ragbench(*base[:2], "m", *base[2:], *sessions, "--session-measure", "nDCG@10", env=env)
    assert measure.returncode == 2 and "Traceback" not in measure.stderr

    assert ragbench(*base[:2], "plain", *base[2:], env=env).returncode == 0
    later = ragbench("benchmark", "sessions", "plain", *sessions, env=env)
    assert later.returncode == 0, later.stderr
    assert later.stdout.startswith("added sessions to plain: NUM(L=1000)")
    again = ragbench("benchmark", "sessions", "plain", *sessions, env=env)
    assert again.returncode == 2 and "already has sessions" in again.stderr
    (tmp_path / "qrels2.txt").write_text((SESSIONS / "qrels.txt").read_text() + "\n# a comment\n")
    version = ragbench("benchmark", "session-qrels", "plain", tmp_path / "qrels2.txt", env=env)
    assert version.returncode == 0, version.stderr
    assert "session qrels version 2 of plain" in version.stdout
    missing = ragbench("benchmark", "session-qrels", "plain", tmp_path / "none.txt", env=env)
    assert missing.returncode == 2 and "cannot read the session qrels file" in missing.stderr

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            benchmark = service.get_benchmark(s, "ses")
            assert benchmark.sessions == (SESSIONS / "sessions.tsv").read_text()
            assert benchmark.session_measures == ["NUM(L=1000)", "sessDCG(b=2,bq=4)@10"]
            assert [v.version for v in service.qrels_versions(s, "plain", kind="session")] == [1, 2]
            assert {b.slug for b in service.list_benchmarks(s, None)} == {"ses", "plain"}
    finally:
        engine.dispose()


def test_submit_a_session_run(stub: Callable[[str], str]) -> None:
    run = SESSIONS / "run.tsv"
    env = {"RAGBENCH_URL": stub("scored"), "RAGBENCH_TOKEN": "rb_secret"}
    done = ragbench("submit", "ses", run, "--name", "sess", "--description", "d", "--session", env=env)
    assert done.returncode == 0, done.stderr
    (seen,) = StubApi.seen
    assert seen["path"] == "/api/v1/benchmarks/ses/runs"
    assert b'name="kind"\r\n\r\nsession' in seen["body"] and run.read_bytes() in seen["body"]

    rejected = ragbench(
        "submit",
        "ses",
        run,
        "--name",
        "s",
        "--description",
        "d",
        "--session",
        env={**env, "RAGBENCH_URL": stub("bad")},
    )
    assert (
        rejected.returncode == 2 and "run.txt:2:14" in rejected.stderr and "Traceback" not in rejected.stderr
    )
    plain = ragbench(
        "submit", "ses", run, "--name", "s", "--description", "d", env={**env, "RAGBENCH_URL": stub("scored")}
    )
    assert plain.returncode == 0 and b'name="kind"' not in StubApi.seen[0]["body"]


def test_token_list_and_revoke(env: dict[str, str], database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip(
            "the commands are the same on PostgreSQL; tests/integration/store/test_access.py covers both"
        )
    from ragbench.store.db import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s, s.begin():
            for name in ("alice", "bob"):
                service.create_user(s, name)
            first = service.create_token(s, "alice")
            bobs = service.create_token(s, "bob", 7)
            service.authenticate(s, first)  # used once: last use is shown
    finally:
        engine.dispose()
    created = ragbench("token", "create", "alice", "--days", "0", env=env)
    assert created.returncode == 0 and "cannot be shown again" in created.stderr
    second = created.stdout.strip()

    listed = ragbench("token", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    cells = [[c.strip() for c in line.split("│")] for line in listed.stdout.splitlines() if "rb_" in line]
    rows = {row[2]: row for row in cells}  # id, user, prefix, created, last used, expires, state
    assert set(rows) == {first[:8], second[:8], bobs[:8]}
    assert first not in listed.stdout and second not in listed.stdout  # never the token itself
    assert rows[first[:8]][4] != "-" and rows[second[:8]][4] == "-"  # last used
    assert rows[first[:8]][5] != "-" and rows[second[:8]][5] == "-"  # expiry (--days 0: none)
    assert {row[6] for row in cells} == {"active"}

    one = ragbench("token", "revoke", "alice", "--prefix", first[:8], env=env)
    assert one.returncode == 0 and one.stdout.strip().startswith("revoked token") and first[:8] in one.stdout
    everything = ragbench("token", "revoke", "alice", env=env)
    assert (
        everything.returncode == 0 and second[:8] in everything.stdout and first[:8] not in everything.stdout
    )
    only_alice = ragbench("token", "list", "alice", env=env).stdout
    assert [line.split("│")[-1].strip() for line in only_alice.splitlines() if "rb_" in line] == [
        "revoked"
    ] * 2
    nobody = ragbench("token", "revoke", "carol", env=env)
    assert (nobody.returncode, nobody.stderr.strip()) == (2, "ragbench: error: no user 'carol'")
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s, s.begin():
            for token in (first, second):
                with pytest.raises(AuthError, match="revoked"):
                    service.authenticate(s, token)
            assert service.authenticate(s, bobs).name == "bob"
    finally:
        engine.dispose()


def test_benchmark_add_twice_is_a_no_op_and_other_files_say_what_differs(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from ragbench.cli import app
    from ragbench.settings import get_settings
    from ragbench.store.db import upgrade

    upgrade(database_url)
    monkeypatch.setenv("RAGBENCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    (tmp_path / "topics.txt").write_text(TOPICS)
    (tmp_path / "qrels.txt").write_text("301 0 d1 1\n302 0 d2 1\n303 0 d3 0\n")
    (tmp_path / "other.txt").write_text("301 0 d1 1\n302 0 d2 2\n303 0 d3 0\n")
    add = ["benchmark", "add", "coll", "--topics", str(tmp_path / "topics.txt"), "--corpus", "../c/x.trec"]
    runner = CliRunner()
    try:
        first = runner.invoke(app, [*add, "--qrels", str(tmp_path / "qrels.txt")])
        assert (first.exit_code, first.stdout) == (
            0,
            "added benchmark coll: nDCG@10, AP, P@10, R@1000, RR, Bpref, Judged@10\n",
        )
        again = runner.invoke(app, [*add, "--qrels", str(tmp_path / "qrels.txt")])
        assert again.exit_code == 0
        assert (
            again.stdout == "benchmark coll exists with the same topics, qrels and measures: nothing to do\n"
        )
        other = runner.invoke(app, [*add, "--qrels", str(tmp_path / "other.txt")])
        assert other.exit_code == 2
        assert other.stderr.startswith(
            "ragbench: error: benchmark 'coll' exists with other files: qrels differ from version 1: "
            "1 judgment(s) regraded (e.g. topic '302', document 'd2')"
        )
    finally:
        get_settings.cache_clear()
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s:
            stored = service.get_benchmark(s, "coll").corpus_ref
            assert stored == str(Path.cwd().parent / "c" / "x.trec")  # absolute, without ".."
    finally:
        engine.dispose()


def test_serve_on_a_busy_port_says_so_before_anything_else(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = ragbench(
            "serve", "--port", str(port), env={"RAGBENCH_HOME": str(tmp_path / "home")}, timeout=120
        )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"ragbench: error: cannot listen on 127.0.0.1:{port}: the port is in use\n"
    assert not (tmp_path / "home").exists()  # nothing was created before the port was checked

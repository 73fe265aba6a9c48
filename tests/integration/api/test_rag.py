"""RAG runs over REST: a RAG benchmark with a nugget set; every malformed answer file is a 400 naming
its line and writes nothing; a valid one is stored pending for the worker; nugget sets are admin-only."""

from __future__ import annotations

import json
from collections.abc import Callable

from support.paths import FIXTURES
from support.webserver import Server

BAD = FIXTURES / "bad_rag"
TOPICS = (BAD / "topics.tsv").read_text(encoding="utf-8")
QRELS = "1 0 d1 1\n1 0 d2 0\n2 0 d3 2\n"
NUGGETS = {
    "topics": {"1": [{"text": "time is shared", "importance": "vital"}], "2": ["a compiler translates"]}
}
GOOD = json.dumps({"run_id": "r1", "topic_id": "1", "topic": "time sharing", "references": ["d1"],
                   "answer": [{"text": "Time is shared.", "citations": [0]}]}) + "\n"  # fmt: skip


DOWN_JUDGE = json.dumps(
    {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "retries": 0}
)


def test_rag_submissions(server_factory: Callable[..., Server]) -> None:
    # The judge's endpoint is down: the worker marks the good run failed, saying why (no silent 0).
    server = server_factory(RAGBENCH_RAG_JUDGE=DOWN_JUDGE)
    with server.client("admin") as admin:
        created = admin.post("/api/v1/benchmarks", json={"slug": "ragb", "topics": TOPICS, "qrels": QRELS})
        assert created.status_code == 201, created.text
    with server.client("alice") as alice:  # no nugget set yet: no RAG runs
        early = alice.post("/api/v1/benchmarks/ragb/runs", data={"name": "x", "kind": "rag"},
                           files={"file": ("a.jsonl", GOOD.encode())})  # fmt: skip
        assert early.status_code == 422 and "nugget set" in early.json()["detail"]
        assert alice.post("/api/v1/benchmarks/ragb/nuggets", json={"nuggets": NUGGETS}).status_code == 403
    with server.client("admin") as admin:
        added = admin.post("/api/v1/benchmarks/ragb/nuggets", json={"nuggets": NUGGETS})
        assert added.status_code == 201, added.text
        assert added.json()["kind"] == "rag" and added.json()["num_judgments"] == 2
        exported = admin.get("/api/v1/benchmarks/ragb/nuggets").json()
        assert (
            exported["version"] == 1
            and exported["topics"]["2"]["nuggets"][0]["text"] == "a compiler translates"
        )
        assert admin.get("/api/v1/benchmarks/ragb").json()["has_rag"] is True
    before = server.counts()
    failures = []
    rows = [r.split("\t") for r in (BAD / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines() if r]
    assert len(rows) >= 25
    with server.client("alice") as alice:
        assert alice.get("/api/v1/benchmarks/ragb/nuggets").status_code == 403
        for name, line, message in rows:
            response = alice.post("/api/v1/benchmarks/ragb/runs", data={"name": f"bad-{name}", "kind": "rag"},
                                  files={"file": (name, (BAD / name).read_bytes())})  # fmt: skip
            problems = response.json().get("problems", [])
            if response.status_code != 400 or not any(
                p["line"] == int(line) and message in p["message"] and p["file"] == name for p in problems
            ):
                failures.append(f"{name}: {response.status_code} {response.text[:200]}")
        assert not failures, "\n".join(failures)
        assert server.counts() == before  # nothing written by any of them
        good = alice.post("/api/v1/benchmarks/ragb/runs", data={"name": "good", "kind": "rag"},
                          files={"file": ("good.jsonl", GOOD.encode())})  # fmt: skip
        assert good.status_code == 202, good.text
        assert good.json()["kind"] == "rag" and good.json()["num_topics"] == 1
    finished = server.wait_scored(good.json()["id"], timeout=60)
    assert finished["status"] == "failed" and "127.0.0.1:9" in str(finished["error"]), finished

"""``ragbench arena`` as a user runs it: real processes on a real SQLite database; the LM judge is
the packaged SmolLM2 on CPU."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support.arena import RAG_PAIRWISE, rag_pairwise_benchmark
from support.cli_runner import ragbench

from ragbench.store import service
from ragbench.store.db import make_engine, session_factory, upgrade

# One question, so one battle and two model calls: loading the model is most of the time.
QUESTIONS = (
    (
        "capital",
        "What is the capital of France?",
        "Paris is the capital of France.",
        "France has many cities.",
    ),
)


def _database(tmp_path: Path) -> tuple[str, dict[str, str]]:
    url = f"sqlite:///{tmp_path / 'rb.db'}"
    upgrade(url)
    return url, {"RAGBENCH_DATABASE_URL": url, "RAGBENCH_CACHE_DIR": str(tmp_path / "cache")}


@pytest.fixture
def rp_env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with benchmark ``rp``: the rag-pairwise topics, a placeholder run
    per system."""
    if not RAG_PAIRWISE.is_file():
        pytest.skip("../shared/data/rag-pairwise is not beside this checkout")
    url, env = _database(tmp_path)
    engine = make_engine(url)
    topics, qrels, runs = rag_pairwise_benchmark()
    with session_factory(engine)() as s, s.begin():
        admin = service.local_admin(s)
        service.create_benchmark(s, admin, "rp", topics_text=topics, qrels_text=qrels, measures=["P@1"])
        for name, content in runs.items():
            service.submit_run(s, admin, "rp", content.encode(), name=name)
    engine.dispose()
    return env


@pytest.fixture
def tiny_env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with benchmark ``tiny``: one question, systems ``good`` and
    ``bad``, one imported battle between them (a human tie)."""
    url, env = _database(tmp_path)
    engine = make_engine(url)
    lines = [
        json.dumps(
            {
                "instance_id": q,
                "query_id": q,
                "query": text,
                "overall_label": 0,
                "model1": {"model_name": "good", "response": good},
                "model2": {"model_name": "bad", "response": bad},
            }
        )
        for q, text, good, bad in QUESTIONS
    ]
    with session_factory(engine)() as s, s.begin():
        admin = service.local_admin(s)
        topics = "".join(json.dumps({"query_id": q, "query": text}) + "\n" for q, text, _, _ in QUESTIONS)
        qrels = "capital 0 d 1\n"
        service.create_benchmark(s, admin, "tiny", topics_text=topics, qrels_text=qrels, measures=["P@1"])
        for name in ("good", "bad"):
            run = "".join(f"{q} Q0 {name}-{q} 1 1 {name}\n" for q, *_ in QUESTIONS)
            service.submit_run(s, admin, "tiny", run.encode(), name=name)
        service.import_pairwise(s, admin, "tiny", "\n".join(lines).encode(), source="people")
    engine.dispose()
    return env


def test_import_ratings_export_and_errors(rp_env: dict[str, str], tmp_path: Path) -> None:
    env = rp_env
    imported = ragbench("arena", "import", "rp", RAG_PAIRWISE, "--source", "ragchecker", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "imported 140 comparisons (280 votes)" in imported.stdout
    assert "annotators on labels -2..2: n=140 agreement=0.564" in imported.stdout

    # A bad import exits 2 with the file and line, no traceback. (Unknown systems, a second import
    # of a source and a battle of a run with itself are refused the same way through the same
    # errors: tests/integration/api/test_arena.py and tests/integration/store/.)
    rows = RAG_PAIRWISE.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(rows[0].replace('"overall_label": ', '"overall_label": 7, "was": ', 1) + "\n")
    refused = ragbench("arena", "import", "rp", bad, env=env)
    assert refused.returncode == 2 and "bad.jsonl:1: error: overall_label is 7" in refused.stderr
    assert "Traceback" not in refused.stderr

    table = ragbench("arena", "ratings", "rp", "--rounds", "100", env=env)
    assert table.returncode == 0 and "280 human votes on the answer" in table.stdout
    body = json.loads(
        ragbench("arena", "ratings", "rp", "--rounds", "100", "--seed", "3", "-f", "json", env=env).stdout
    )
    assert (
        body["rounds"] == 100
        and len(body["systems"]) == 8
        and {"run_id", "rating", "low", "high"} <= set(body["systems"][0])
    )
    log = list(csv.DictReader(io.StringIO(ragbench("arena", "export", "rp", "-f", "csv", env=env).stdout)))
    assert len(log) == 280 and {r["voter_kind"] for r in log} == {"import"}


def test_an_lm_votes_in_both_orders_with_provenance(tiny_env: dict[str, str]) -> None:
    pytest.importorskip("torch")
    # One real process with the model (loading it is most of the time); the rest in-process.
    judged = ragbench("arena", "judge", "tiny", "--backend", "local", "--device", "cpu", env=tiny_env)
    assert judged.returncode in (0, 1), judged.stderr  # 1: some replies could not be read
    assert "failures" in judged.stdout and "2 model calls, 0 from the cache" in judged.stdout
    engine = make_engine(tiny_env["RAGBENCH_DATABASE_URL"])
    try:
        with session_factory(engine)() as s:
            admin = service.local_admin(s)
            log = service.export_votes(s, admin, "tiny")
            people = service.arena_board(s, "tiny", voters="human", rounds=50)
            judge = service.arena_board(s, "tiny", voters="llm", rounds=50)
            keys = {row["voter"] for row in log if row["voter_kind"] == "llm"}
            # A rerun judges only what is left: the battles whose replies could not be read.
            left = [len(service.unvoted_battles(s, "tiny", service.Voter("llm", key))) for key in keys]
    finally:
        engine.dispose()
    lm = [row for row in log if row["voter_kind"] == "llm"]
    stored = int(judged.stdout.split(": ", 1)[1].split(" votes")[0])
    failures = int(judged.stdout.split("; ")[1].split(" failures")[0])
    assert len(lm) == stored and stored + failures == 1  # the battle: a vote or a counted failure
    assert judged.returncode == (1 if failures else 0)
    for row in lm:
        orders = row["provenance"]["orders"]
        assert [o["shown_first"] for o in orders] == ["a", "b"]
        assert all(
            o["model"] and o["fingerprint"] and o["prompt_hash"] and o["backend"] == "local" for o in orders
        )
        assert row["answer"] in ("a", "b", "tie")
    # The judge's votes are rated apart from the people's.
    assert people.votes == 1 and judge.votes == stored
    assert left == ([0] if stored else [])

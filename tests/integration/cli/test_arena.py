"""``ragbench arena`` as a user runs it: real processes on a real SQLite database; the LM judge is
the packaged SmolLM2 on CPU."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support.arena import RAG_PAIRWISE, rag_pairwise_benchmark, rag_pairwise_rows
from support.cli_runner import ragbench

from ragbench.store import service
from ragbench.store.db import make_engine, session_factory, upgrade

QUESTIONS = (
    (
        "capital",
        "What is the capital of France?",
        "Paris is the capital of France.",
        "France has many cities.",
    ),
    ("spider", "How many legs does a spider have?", "A spider has eight legs.", "Spiders have six legs."),
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with benchmark ``rp`` (the rag-pairwise topics, a placeholder
    run per system) and benchmark ``tiny`` (two questions, systems ``good`` and ``bad``)."""
    if not RAG_PAIRWISE.is_file():
        pytest.skip("../shared/data/rag-pairwise is not beside this checkout")
    url = f"sqlite:///{tmp_path / 'rb.db'}"
    upgrade(url)
    engine = make_engine(url)
    topics, qrels, runs = rag_pairwise_benchmark()
    with session_factory(engine)() as s, s.begin():
        admin = service.local_admin(s)
        service.create_benchmark(s, admin, "rp", topics_text=topics, qrels_text=qrels, measures=["P@1"])
        for name, content in runs.items():
            service.submit_run(s, admin, "rp", content.encode(), name=name)
        tiny_topics = "".join(
            json.dumps({"query_id": q, "query": text}) + "\n" for q, text, _, _ in QUESTIONS
        )
        service.create_benchmark(
            s,
            admin,
            "tiny",
            topics_text=tiny_topics,
            qrels_text="capital 0 d 1\nspider 0 d 1\n",
            measures=["P@1"],
        )
        for name in ("good", "bad"):
            service.submit_run(
                s,
                admin,
                "tiny",
                "".join(f"{q} Q0 {name}-{q} 1 1 {name}\n" for q, *_ in QUESTIONS).encode(),
                name=name,
            )
    engine.dispose()
    return {"RAGBENCH_DATABASE_URL": url, "RAGBENCH_CACHE_DIR": str(tmp_path / "cache")}


def test_import_ratings_export_and_errors(env: dict[str, str], tmp_path: Path) -> None:
    imported = ragbench("arena", "import", "rp", RAG_PAIRWISE, "--source", "ragchecker", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "imported 140 comparisons (280 votes)" in imported.stdout
    assert "annotators on labels -2..2: n=140 agreement=0.564" in imported.stdout
    again = ragbench("arena", "import", "rp", RAG_PAIRWISE, "--source", "ragchecker", env=env)
    assert again.returncode == 2 and "imported into 'rp' already" in again.stderr

    rows = RAG_PAIRWISE.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(rows[0].replace('"overall_label": ', '"overall_label": 7, "was": ', 1) + "\n")
    refused = ragbench("arena", "import", "rp", bad, env=env)
    assert refused.returncode == 2 and "bad.jsonl:1: error: overall_label is 7" in refused.stderr
    unknown = tmp_path / "unknown.jsonl"
    name = rag_pairwise_rows()[0]["model1"]["model_name"]
    unknown.write_text(rows[0].replace(f'"{name}"', '"nobody"') + "\n")
    refused = ragbench("arena", "import", "rp", unknown, env=env)
    assert refused.returncode == 2 and "unknown.jsonl:1: error: unknown system 'nobody'" in refused.stderr
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
    again = json.loads(
        ragbench("arena", "ratings", "rp", "--rounds", "100", "--seed", "3", "-f", "json", env=env).stdout
    )
    assert again["systems"] == body["systems"]
    log = list(csv.DictReader(io.StringIO(ragbench("arena", "export", "rp", "-f", "csv", env=env).stdout)))
    assert len(log) == 280 and {r["voter_kind"] for r in log} == {"import"}
    assert ragbench("arena", "draw", "rp", "--run", "1", "--run", "1", env=env).returncode == 2


def test_an_lm_votes_in_both_orders_with_provenance(env: dict[str, str]) -> None:
    pytest.importorskip("torch")
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
    source = Path(env["RAGBENCH_CACHE_DIR"]).parent / "tiny.jsonl"
    source.write_text("\n".join(lines) + "\n")
    assert ragbench("arena", "import", "tiny", source, env=env).returncode == 0
    judged = ragbench("arena", "judge", "tiny", "--backend", "local", "--device", "cpu", env=env)
    assert judged.returncode in (0, 1), judged.stderr  # 1: some replies could not be read
    assert "failures" in judged.stdout and "4 model calls, 0 from the cache" in judged.stdout
    log = [json.loads(line) for line in ragbench("arena", "export", "tiny", env=env).stdout.splitlines()]
    lm = [row for row in log if row["voter_kind"] == "llm"]
    stored = int(judged.stdout.split(": ", 1)[1].split(" votes")[0])
    failures = int(judged.stdout.split("; ")[1].split(" failures")[0])
    assert len(lm) == stored and stored + failures == 2  # each battle: a vote or a counted failure
    assert judged.returncode == (1 if failures else 0)
    for row in lm:
        orders = row["provenance"]["orders"]
        assert [o["shown_first"] for o in orders] == ["a", "b"]
        assert all(
            o["model"] and o["fingerprint"] and o["prompt_hash"] and o["backend"] == "local" for o in orders
        )
        assert row["answer"] in ("a", "b", "tie")
    # A rerun has nothing left to judge; the judge's votes are rated apart from the people's.
    rerun = ragbench("arena", "judge", "tiny", "--backend", "local", "--device", "cpu", env=env)
    if stored == 2:
        assert "has judged every battle" in rerun.stdout
    people = json.loads(ragbench("arena", "ratings", "tiny", "--rounds", "50", "-f", "json", env=env).stdout)
    assert people["votes"] == 2

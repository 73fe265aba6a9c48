"""The application as a process: start-up checks, the background worker, errors, OpenAPI."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from support.webserver import Server, base_env, free_port, ragbench_cli

from ragbench.evaluation.engine import evaluate

MEASURES = ["nDCG@10", "AP", "P@10", "R@1000", "RR", "Bpref", "Judged@10"]


def test_refuses_to_start_on_an_unmigrated_database(database_url: str) -> None:
    proc = ragbench_cli("serve", "--port", str(free_port()), env=base_env(database_url))
    assert proc.returncode == 2, proc.stderr
    assert "database is not migrated: run `ragbench db upgrade`" in proc.stderr
    assert "Traceback" not in proc.stderr

    from api.app import DatabaseNotMigrated, create_app
    from ragbench.settings import Settings

    with pytest.raises(DatabaseNotMigrated, match="ragbench db upgrade"):
        create_app(dataclasses.replace(Settings.from_environ(), database_url=database_url))


def test_large_runs_are_scored_by_the_background_worker(
    server_factory: Callable[..., Server], trec_eval_data: Path
) -> None:
    server = server_factory(RAGBENCH_INLINE_SCORING_LINES="100")
    qrels, run = trec_eval_data / "qrels.test", trec_eval_data / "results.test"
    with server.client("admin") as admin:
        assert (
            admin.post("/api/v1/benchmarks", json={"slug": "bg", "qrels": qrels.read_text()}).status_code
            == 201
        )
    with server.client("alice") as alice:
        response = alice.post(
            "/api/v1/benchmarks/bg/runs", data={"name": "big"}, files={"file": ("r", run.read_bytes())}
        )
    assert response.status_code == 202, response.text
    assert (
        response.json()["status"] in ("pending", "scoring", "scored") and response.json()["num_lines"] == 1500
    )
    body = server.wait_scored(response.json()["id"], timeout=30)
    assert body["status"] == "scored", body
    expected = evaluate(qrels, run, MEASURES, complete=True).aggregate
    assert body["scores"] == pytest.approx(expected, abs=1e-12)
    with server.client() as anon:
        board = anon.get("/api/v1/benchmarks/bg/leaderboard", params={"measure": "AP"}).json()
    assert [r["run_id"] for r in board["rows"]] == [body["id"]]


def test_runs_left_pending_are_scored_after_a_restart(
    server_factory: Callable[..., Server],
    migrated_url: str,
    trec_eval_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ragbench.settings import get_settings
    from ragbench.store.db import make_engine, session_factory
    from ragbench.store.service import create_benchmark, submit_run, user_by_name

    qrels, runs = (
        trec_eval_data / "qrels.test",
        [trec_eval_data / "results.test", trec_eval_data / "results.trunc"],
    )
    server_factory()  # creates the users; this server stands for the process that stopped
    engine = make_engine(migrated_url)
    with monkeypatch.context() as env:
        env.setenv("RAGBENCH_INLINE_SCORING_LINES", "10")
        get_settings.cache_clear()
        try:
            with session_factory(engine)() as s, s.begin():
                create_benchmark(s, user_by_name(s, "admin"), "restart", qrels_text=qrels.read_text())
                alice = user_by_name(s, "alice")
                stored = [submit_run(s, alice, "restart", p.read_bytes(), name=p.name) for p in runs]
                stored[1].status, stored[1].attempts = "scoring", 1  # a worker died while scoring it
                ids = [r.id for r in stored]
                assert stored[0].status == "pending"
        finally:
            get_settings.cache_clear()
            engine.dispose()
    server = server_factory()  # the restart
    for run_id, path in zip(ids, runs, strict=True):
        body = server.wait_scored(run_id, timeout=30)
        assert body["status"] == "scored", body
        assert body["scores"] == pytest.approx(
            evaluate(qrels, path, MEASURES, complete=True).aggregate, abs=1e-12
        )


def test_errors_are_json_for_the_api_and_html_for_pages(server: Server) -> None:
    with server.client() as anon:
        for path, status in (
            ("/api/v1/runs/999", 404),
            ("/api/v1/benchmarks/nope", 404),
            ("/api/v1/nope", 404),
            ("/api/v1/benchmarks/nope/leaderboard?limit=0", 400),
            ("/api/v1/compare?runs=1", 400),  # the documented pattern: 2 to 20 ids
            ("/api/v1/compare?runs=a,b", 400),
            ("/api/v1/compare?runs=1,1", 422),
            ("/api/v1/runs/x", 400),  # ids are ASCII digits
            ("/api/v1/runs/99999999999", 404),
        ):
            response = anon.get(path)
            assert response.status_code == status, (path, response.text)
            assert response.headers["content-type"] == "application/json", path
            assert set(response.json()) == {"detail", "problems"} and response.json()["detail"], path
        response = anon.get("/api/v1/benchmarks/nope/leaderboard?offset=-3")
        assert "offset" in response.json()["problems"][0]["message"]
        assert anon.put("/api/v1/benchmarks").status_code == 405
        for path in ("/benchmarks/nope", "/runs/999", "/no-such-page"):
            response = anon.get(path)
            assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
            assert "Error 404" in response.text
        schema = anon.get("/schema/openapi.json")
        assert schema.status_code == 200 and schema.json()["info"]["title"] == "ragbench"
        assert "/benchmarks/{slug}" not in schema.json()["paths"]  # pages are not API

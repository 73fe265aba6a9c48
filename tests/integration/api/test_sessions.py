"""Sessions over HTTP: benchmarks with sessions, session runs, per-session scores, the sessions
leaderboard (JSON and page), hidden benchmarks and escaping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.paths import FIXTURES
from support.webserver import Server, synthetic_session_run, synthetic_sessions, table_counts

from ragbench.evaluation.session import DEFAULT_SESSION_MEASURES, evaluate_sessions
from ragbench.formats.sessions import read_sessions

SESSION_FILES = FIXTURES / "sessions"
NUM, SDCG = "NUM(L=1000)", "sessDCG(b=2,bq=4)@10"
EXAMPLE = "s1"
"""The session of the spec's running example in ``tests/fixtures/sessions``."""
XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TABLES = ("user", "api_token", "benchmark", "qrels_version", "system", "run", "score", "arena_vote")


def upload(
    client: Any, slug: str, content: bytes, name: str, filename: str = "run.tsv", **fields: str
) -> Any:
    return client.post(
        f"/api/v1/benchmarks/{slug}/runs",
        data={"name": name, "kind": "session", **fields},
        files={"file": (filename, content, "text/plain")},
    )


def all_counts(server: Server) -> dict[str, int]:
    return table_counts(server.database_url, TABLES)


def test_session_benchmark_runs_scores_and_leaderboard(server: Server, trec_eval_data: Path) -> None:
    qrels = (trec_eval_data / "qrels.test").read_text()
    sessions, session_qrels = (
        (SESSION_FILES / "sessions.tsv").read_text(),
        (SESSION_FILES / "qrels.txt").read_text(),
    )
    example = (SESSION_FILES / "run.tsv").read_bytes()
    create = {"slug": "ses", "qrels": qrels, "sessions": sessions, "session_qrels": session_qrels}
    with server.client() as anon, server.client("alice") as alice, server.client("admin") as admin:
        assert anon.post("/api/v1/benchmarks", json=create).status_code == 401
        assert alice.post("/api/v1/benchmarks", json=create).status_code == 403
        half = admin.post("/api/v1/benchmarks", json={**create, "session_qrels": None})
        assert half.status_code == 422 and "together" in half.json()["detail"]
        created = admin.post("/api/v1/benchmarks", json=create)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["has_sessions"] is True and body["session_measures"] == list(DEFAULT_SESSION_MEASURES)
        assert sessions not in created.text and session_qrels not in created.text

        # a benchmark without sessions gets them later, once, from an admin
        assert admin.post("/api/v1/benchmarks", json={"slug": "plain", "qrels": qrels}).status_code == 201
        later = {"sessions": sessions, "qrels": session_qrels, "measures": ["NUM", "sessDCG@10"]}
        assert alice.post("/api/v1/benchmarks/plain/sessions", json=later).status_code == 403
        assert anon.post("/api/v1/benchmarks/plain/sessions", json=later).status_code == 401
        bad = admin.post("/api/v1/benchmarks/plain/sessions", json={**later, "qrels": "s1 0 d1 high\n"})
        assert bad.status_code == 400
        assert bad.json()["problems"][0]["file"] == "session qrels" and bad.json()["problems"][0]["line"] == 1
        unknown = admin.post("/api/v1/benchmarks/plain/sessions", json={**later, "measures": ["NUM(L=x)"]})
        assert unknown.status_code == 422, unknown.text
        no_sessions = upload(alice, "plain", example, "too-early")
        assert no_sessions.status_code == 422 and "no sessions" in no_sessions.json()["detail"]
        assert anon.get("/api/v1/benchmarks/plain/leaderboard?kind=session").status_code == 422
        added = admin.post("/api/v1/benchmarks/plain/sessions", json=later)
        assert added.status_code == 201, added.text
        assert added.json()["session_measures"] == [NUM, SDCG]
        assert admin.post("/api/v1/benchmarks/plain/sessions", json=later).status_code == 409

        # the running example, scored as the spec works it out by hand
        run = upload(alice, "ses", example, "example")
        assert run.status_code == 201, run.text
        run_id = run.json()["id"]
        assert run.json()["kind"] == "session" and set(run.json()["scores"]) == set(DEFAULT_SESSION_MEASURES)
        scores = anon.get(f"/api/v1/runs/{run_id}/scores", params={"per_topic": "true"}).json()
        assert scores["kind"] == "session" and scores["per_topic_withheld"] is False
        assert round(scores["per_topic"][NUM][EXAMPLE], 6) == 0.628067
        assert round(scores["per_topic"][SDCG][EXAMPLE], 6) == 4.884502
        assert upload(alice, "ses", example, "again").status_code == 409
        assert anon.get(f"/api/v1/runs/{run_id}").json()["kind"] == "session"

        # a gap in a session's query indexes: 400 with the file and the line, and not one row added
        lines = example.decode().splitlines(keepends=True)
        second = next(i for i, line in enumerate(lines) if line.split("\t")[:2] == [EXAMPLE, "2"])
        gap = "".join(
            line.replace(f"{EXAMPLE}\t2\t", f"{EXAMPLE}\t3\t", 1)
            if line.startswith(f"{EXAMPLE}\t2\t")
            else line
            for line in lines
        )
        before = all_counts(server)
        refused = upload(alice, "ses", gap.encode(), "gappy", filename="gap.tsv")
        assert refused.status_code == 400, refused.text
        problem = refused.json()["problems"][0]
        assert (problem["file"], problem["line"]) == ("gap.tsv", second + 1)
        assert EXAMPLE in problem["message"]
        wrong_kind = upload(alice, "ses", example, "x", kind="sessions")
        assert wrong_kind.status_code == 422 and "kind" in wrong_kind.json()["detail"]
        assert all_counts(server) == before

        # synthetic runs on the second benchmark: text/plain uploads, an escaped name, ranking
        synthetic_sessions_text, synthetic_qrels = synthetic_sessions(8, seed=5)
        assert (
            admin.post(
                "/api/v1/benchmarks",
                json={
                    "slug": "syn",
                    "qrels": qrels,
                    "sessions": synthetic_sessions_text,
                    "session_qrels": synthetic_qrels,
                },
            ).status_code
            == 201
        )
        ids, contents = {}, {}
        for name, quality, seed in ((XSS, 3.0, 1), ("fair", 1.0, 2), ("poor", 0.0, 3)):
            content = synthetic_session_run(
                synthetic_sessions_text, synthetic_qrels, quality=quality, seed=seed
            )
            contents[name] = content
            response = alice.post(
                "/api/v1/benchmarks/syn/runs",
                params={"name": name, "kind": "session"},
                content=content.encode(),
                headers={"Content-Type": "text/plain"},
            )
            assert response.status_code == 201, response.text
            ids[name] = response.json()["id"]
        with server.client("bob") as bob:
            assert bob.delete(f"/api/v1/runs/{ids['poor']}").status_code == 403
        for measure in ("NUM", "sessDCG@10", "esNDCG@10"):
            board = anon.get(
                "/api/v1/benchmarks/syn/leaderboard", params={"kind": "session", "measure": measure}
            )
            assert board.status_code == 200, board.text
            data = board.json()
            assert data["kind"] == "session" and data["total"] == 3
            assert data["measures"] == list(DEFAULT_SESSION_MEASURES)
            values = [row["value"] for row in data["rows"]]
            assert values == sorted(values, reverse=True)
            assert all(row["values"][data["measure"]] == row["value"] for row in data["rows"])
            means = {
                r["run_id"]: anon.get(f"/api/v1/runs/{r['run_id']}").json()["scores"] for r in data["rows"]
            }
            assert values == [means[r["run_id"]][data["measure"]] for r in data["rows"]]
        assert data["rows"][0]["system"] == XSS
        default = anon.get("/api/v1/benchmarks/syn/leaderboard", params={"kind": "session"}).json()
        assert default["measure"] == NUM
        assert anon.get("/api/v1/benchmarks/syn/leaderboard").json()["total"] == 0  # no ad hoc run
        assert anon.get("/api/v1/benchmarks/syn/leaderboard", params={"kind": "x"}).status_code == 400
        assert (
            anon.get(
                "/api/v1/benchmarks/syn/leaderboard", params={"kind": "session", "measure": "AP"}
            ).status_code
            == 422
        )

        # the pages: a sessions table with one column per session measure, sorted by the chosen one
        page = anon.get("/benchmarks/syn", params={"session_measure": "sessDCG@10"})
        assert page.status_code == 200
        text = page.text
        assert 'id="sessions-leaderboard"' in text and f'data-measure="{SDCG}"' in text
        assert "<script" not in text.lower() and ESCAPED in text
        assert text.count('<th class="num measure') == len(DEFAULT_SESSION_MEASURES)
        assert f'<th class="num measure sorted" data-measure="{SDCG}" aria-sort="descending">' in text
        run_page = anon.get(f"/runs/{ids[XSS]}").text
        assert "Per-session" in run_page and ESCAPED in run_page and "<script" not in run_page.lower()
        compared = anon.get(f"/compare?a={ids['fair']}&b={ids[XSS]}")
        assert compared.status_code == 200 and NUM in compared.text
        assert "syn" in anon.get("/").text and "sessions:" in anon.get("/").text

        # a second session qrels version re-scores the session runs
        changed = "".join(
            (line.rsplit(" ", 1)[0] + " 2\n") if line.startswith("s01 ") else line + "\n"
            for line in synthetic_qrels.splitlines()
        )
        assert alice.post("/api/v1/benchmarks/syn/session-qrels", json={"qrels": changed}).status_code == 403
        version = admin.post("/api/v1/benchmarks/syn/session-qrels", json={"qrels": changed})
        assert version.status_code == 201, version.text
        assert (version.json()["kind"], version.json()["version"]) == ("session", 2)
        topics = read_sessions(synthetic_sessions_text.encode())
        for name, run_id in ids.items():
            scored = anon.get(f"/api/v1/runs/{run_id}/scores", params={"per_topic": "true"}).json()
            content = contents[name]
            expected = evaluate_sessions(changed.encode(), content.encode(), [NUM], sessions=topics)
            assert abs(scored["aggregate"][NUM] - expected.aggregate[NUM]) < 1e-12, name
        board = anon.get("/api/v1/benchmarks/syn/leaderboard", params={"kind": "session"}).json()
        assert board["qrels_version"] == 2 and board["total"] == 3
        same = admin.post("/api/v1/benchmarks/syn/session-qrels", json={"qrels": changed})
        assert same.status_code == 409
        assert alice.delete(f"/api/v1/runs/{ids['poor']}").status_code == 204


def test_hidden_session_benchmark_leaks_no_per_session_scores_or_session_qrels(
    server: Server, trec_eval_data: Path
) -> None:
    sessions, qrels = synthetic_sessions(8, seed=9)
    with server.client("admin") as admin:
        response = admin.post(
            "/api/v1/benchmarks",
            json={
                "slug": "blind",
                "qrels": (trec_eval_data / "qrels.test").read_text(),
                "hidden": True,
                "sessions": sessions,
                "session_qrels": qrels,
            },
        )
        assert response.status_code == 201, response.text
    topics = read_sessions(sessions.encode())
    run_ids, per_session = [], []
    with server.client("alice") as alice:
        for seed, quality in enumerate((2.0, 0.5)):
            content = synthetic_session_run(sessions, qrels, quality=quality, seed=seed)
            response = upload(alice, "blind", content.encode(), f"blind-{seed}")
            assert response.status_code == 201, response.text
            run_ids.append(response.json()["id"])
            result = evaluate_sessions(
                qrels.encode(), content.encode(), list(DEFAULT_SESSION_MEASURES), sessions=topics
            )
            per_session += [
                repr(v) for m in result.measures for v in result.per_query[m].tolist() if len(repr(v)) >= 10
            ]
    per_session = sorted(set(per_session))[:20]
    never = qrels.splitlines()[:3] + qrels.splitlines()[-3:]
    assert len(per_session) == 20

    pages = [
        "/",
        "/benchmarks/blind",
        "/api/v1/benchmarks",
        "/api/v1/benchmarks/blind",
        f"/compare?a={run_ids[0]}&b={run_ids[1]}",
        f"/api/v1/compare?runs={run_ids[0]},{run_ids[1]}",
    ]
    for measure in DEFAULT_SESSION_MEASURES:
        pages += [
            f"/benchmarks/blind?session_measure={measure}",
            f"/api/v1/benchmarks/blind/leaderboard?kind=session&measure={measure}",
            *(f"/runs/{r}?measure={measure}" for r in run_ids),
        ]
    for r in run_ids:
        pages += [f"/api/v1/runs/{r}", f"/api/v1/runs/{r}/scores", f"/api/v1/runs/{r}/scores?per_topic=true"]

    def leaks() -> list[str]:
        found = []
        for user in (None, "alice", "bob"):
            with server.client(user) as c:
                for page in pages:
                    response = c.get(page)
                    assert response.status_code == 200, (user, page, response.text[:300])
                    found += [f"{user}:{page} shows {s!r}" for s in per_session + never if s in response.text]
        return found

    assert not leaks()
    with server.client("bob") as bob:
        scores = bob.get(f"/api/v1/runs/{run_ids[0]}/scores?per_topic=true").json()
        assert scores["per_topic"] is None and scores["per_topic_withheld"] is True
        assert set(scores["aggregate"]) == set(DEFAULT_SESSION_MEASURES)
    with server.client("admin") as admin:
        scores = admin.get(f"/api/v1/runs/{run_ids[0]}/scores?per_topic=true").json()
        assert len(scores["per_topic"][NUM]) == 8
        assert admin.patch("/api/v1/benchmarks/blind", json={"hidden": False}).status_code == 200
    found = leaks()  # positive control: unblinded, the per-session values appear; qrels never do
    assert any("shows" in f for f in found) and not any(q in f for f in found for q in never)

"""The arena over HTTP: REST battles and votes, bad input, the vote log, the pages and their cookies.

One server per database (SQLite, then PostgreSQL when available), limited to 3 votes a minute per
voter, for both the REST half and the pages half; each half has a benchmark of its own."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from support.arena import RAG_PAIRWISE
from support.webserver import Server, read_qrels, synthetic_run, table_counts

QUALITY = {"strong": 3.0, "fair": 0.8, "weak": 0.0}


def arena(server: Server, trec_eval_data: Path, slug: str = "te") -> dict[str, int]:
    """Benchmark ``slug`` on qrels.test with three runs of alice's; returns {name: run id}."""
    qrels_path = trec_eval_data / "qrels.test"
    with server.client("admin") as admin:
        assert (
            admin.post("/api/v1/benchmarks", json={"slug": slug, "qrels": qrels_path.read_text()}).status_code
            == 201
        )
    qrels, ids = read_qrels(qrels_path), {}
    with server.client("alice") as alice:
        for seed, (name, quality) in enumerate(QUALITY.items()):
            content = synthetic_run(qrels, quality=quality, seed=seed, depth=20, tag=name).encode()
            response = alice.post(
                f"/api/v1/benchmarks/{slug}/runs", data={"name": name}, files={"file": (name, content)}
            )
            assert response.status_code == 201, response.text
            ids[name] = response.json()["id"]
    return ids


def test_rest_api_and_pages(server_factory: Callable[..., Server], trec_eval_data: Path) -> None:
    """One server per database for both halves (starting one is most of the time)."""
    server = server_factory(RAGBENCH_ARENA_VOTES_PER_MINUTE="3", RAGBENCH_ARENA_ROUNDS="200")
    battles_votes_ratings_and_bad_input(server, trec_eval_data)
    pages_anonymous_and_signed_in_voting(server, trec_eval_data)


def battles_votes_ratings_and_bad_input(server: Server, trec_eval_data: Path) -> None:
    counted = ("arena_vote", "arena_battle")
    before = table_counts(server.database_url, counted)
    runs = arena(server, trec_eval_data)
    with server.client("alice") as alice:
        assert alice.post("/api/v1/benchmarks/te/arena/draw", json={}).status_code == 403
    with server.client("admin") as admin:
        response = admin.post("/api/v1/benchmarks/te/arena/draw", json={"per_pair": 2, "k": 4, "seed": 1})
        assert response.status_code == 201, response.text
        drawn = response.json()
        assert len(drawn["battles"]) == 6 and sorted(drawn["players"]) == sorted(runs.values())
        strong = runs["strong"]
        for body in ({"run_a": strong, "run_b": strong, "query_id": "301"},):
            response = admin.post("/api/v1/benchmarks/te/arena/battles", json=body)
            assert response.status_code == 422 and "itself" in response.json()["detail"]
        response = admin.post("/api/v1/benchmarks/te/arena/draw", json={"runs": [strong, strong]})
        assert response.status_code == 422 and "itself" in response.json()["detail"]
        assert admin.post("/api/v1/benchmarks/nope/arena/draw", json={}).status_code == 404

    with server.client("bob") as bob:
        battle = bob.get("/api/v1/benchmarks/te/arena/next").json()
        assert battle["revealed"] is False and battle["asks"] == ["evidence"]
        assert battle["run_a"] is None and battle["system_a"] is None and battle["a"]["kind"] == "ranking"
        assert "strong" not in json.dumps(battle)  # no name anywhere before the vote
        response = bob.post(f"/api/v1/arena/battles/{battle['id']}/votes", json={"evidence": "a"})
        assert response.status_code == 201, response.text
        voted = response.json()
        assert voted["revealed"] and voted["system_a"] in QUALITY and voted["vote"]["evidence"] == "a"
        again = bob.post(f"/api/v1/arena/battles/{battle['id']}/votes", json={"evidence": "b"})
        assert again.status_code == 409 and "already" in again.json()["detail"]
        assert bob.post("/api/v1/arena/battles/999999/votes", json={"evidence": "a"}).status_code == 404
        bad = bob.post(f"/api/v1/arena/battles/{drawn['battles'][1]}/votes", json={"evidence": "left"})
        assert bad.status_code == 400 and bad.json()["problems"], bad.text
        assert bob.post(f"/api/v1/arena/battles/{drawn['battles'][1]}/votes", json={}).status_code == 422
        assert (
            bob.post(f"/api/v1/arena/battles/{drawn['battles'][1]}/votes", json={"answer": "a"}).status_code
            == 422
        )
        others = [b for b in drawn["battles"] if b != battle["id"]]
        statuses = [
            bob.post(f"/api/v1/arena/battles/{b}/votes", json={"evidence": "tie"}).status_code
            for b in others[:3]
        ]
        assert statuses == [201, 201, 429]  # 3 a minute
        limited = bob.post(f"/api/v1/arena/battles/{others[3]}/votes", json={"evidence": "tie"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        retraction = bob.post(f"/api/v1/arena/votes/{voted['vote']['id']}/retract")
        assert retraction.status_code == 201 and retraction.json()["retracts"] == voted["vote"]["id"]
    with server.client() as anon:
        assert (
            anon.post(f"/api/v1/arena/battles/{others[4]}/votes", json={"evidence": "a"}).status_code == 401
        )
        hidden = anon.get(f"/api/v1/arena/battles/{battle['id']}").json()
        assert hidden["revealed"] is False
        ratings = anon.get("/api/v1/benchmarks/te/arena/ratings", params={"rounds": 200}).json()
        assert ratings["votes"] == 2 and ratings["aspect"] == "evidence" and ratings["rounds"] == 200
        assert (
            anon.get("/api/v1/benchmarks/te/arena/ratings", params={"cluster": "planet"}).status_code == 400
        )
        agreement = anon.get("/api/v1/benchmarks/te/arena/agreement").json()
        assert {m["measure"] for m in agreement["measures"]} <= {
            "nDCG@10",
            "AP",
            "P@10",
            "R@1000",
            "RR",
            "Bpref",
            "Judged@10",
        }
        paths = anon.get("/schema/openapi.json").json()["paths"]
        assert (
            "/api/v1/arena/battles/{battle_id}/votes" in paths
            and "/api/v1/benchmarks/{slug}/arena/ratings" in paths
        )

    with server.client("alice") as alice:
        assert alice.get("/api/v1/benchmarks/te/arena/votes").status_code == 403
    with server.client("admin") as admin:
        log = [json.loads(line) for line in admin.get("/api/v1/benchmarks/te/arena/votes").text.splitlines()]
        assert len(log) == 4 and log[-1]["retracts"] == log[0]["vote_id"]  # 3 votes, then the retraction
        assert {row["voter"] for row in log} == {log[0]["voter"]} and log[0]["system_a"] in QUALITY
        table = list(
            csv.DictReader(
                io.StringIO(admin.get("/api/v1/benchmarks/te/arena/votes", params={"format": "csv"}).text)
            )
        )
        assert [int(r["vote_id"]) for r in table] == [r["vote_id"] for r in log]

        # Imports: unknown systems and labels outside -2..2 are 400s naming the line; nothing stored.
        if RAG_PAIRWISE.is_file():
            first = RAG_PAIRWISE.read_text().splitlines()[0]
            response = admin.post("/api/v1/benchmarks/te/arena/import", json={"content": first})
            assert response.status_code == 400
            assert any(
                "unknown system" in p["message"] and p["line"] == 1 for p in response.json()["problems"]
            )
        row = {
            "instance_id": 1,
            "query_id": "301",
            "query": "q",
            "overall_label": 5,
            "model1": {"model_name": "strong", "response": "x"},
            "model2": {"model_name": "weak", "response": "y"},
        }
        response = admin.post("/api/v1/benchmarks/te/arena/import", json={"content": json.dumps(row)})
        assert (
            response.status_code == 400
            and "labels are integers from -2 to 2" in response.json()["problems"][0]["message"]
        )
        row["overall_label"] = -1
        response = admin.post(
            "/api/v1/benchmarks/te/arena/import", json={"content": json.dumps(row), "source": "s"}
        )
        assert response.status_code == 201 and response.json()["votes"] == 1
        assert (
            admin.post(
                "/api/v1/benchmarks/te/arena/import", json={"content": json.dumps(row), "source": "s"}
            ).status_code
            == 409
        )
    # 3 votes, a retraction and an imported vote; 6 drawn battles and 1 imported.
    after = table_counts(server.database_url, counted)
    assert {t: after[t] - before[t] for t in counted} == {"arena_vote": 5, "arena_battle": 7}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def pages_anonymous_and_signed_in_voting(server: Server, trec_eval_data: Path) -> None:
    runs = arena(server, trec_eval_data, slug="pg")
    with server.client("admin") as admin:
        assert (
            admin.post("/api/v1/benchmarks/pg/arena/draw", json={"per_pair": 1, "seed": 2}).status_code == 201
        )
    with server.client() as browser:
        page = browser.get("/benchmarks/pg/arena")
        assert page.status_code == 200 and 'id="no-votes"' in page.text and "style=" not in page.text
        response = browser.get("/benchmarks/pg/arena/vote")
        assert response.status_code == 303 and "rb_voter" in response.headers.get("set-cookie", "")
        assert (
            "httponly" in response.headers["set-cookie"].lower()
            and "samesite=lax" in response.headers["set-cookie"].lower()
        )
        battle_url = response.headers["location"]
        page = browser.get(battle_url)
        assert page.status_code == 200 and 'id="vote-form"' in page.text and 'id="system-a"' not in page.text
        assert (
            not any(name in page.text for name in QUALITY)
            and "<script" not in page.text
            and "style=" not in page.text
        )
        forged = browser.post(f"{battle_url}/vote", data={"evidence": "a", "csrf": "x"})
        assert forged.status_code == 403
        voted = browser.post(f"{battle_url}/vote", data={"evidence": "b", "csrf": _csrf(page.text)})
        assert voted.status_code == 303
        page = browser.get(battle_url)
        assert 'id="system-a"' in page.text and 'id="your-evidence">b<' in page.text
        again = browser.post(
            f"{battle_url}/vote",
            data={
                "evidence": "a",
                "csrf": _csrf(browser.get(battle_url).text) if 'name="csrf"' in page.text else "x",
            },
        )
        assert again.status_code in (403, 409)
        board = browser.get("/benchmarks/pg/arena")
        assert 'id="arena-leaderboard"' in board.text and "<svg" in board.text
    with server.client() as fresh:  # another anonymous voter has its own session
        response = fresh.get(battle_url)
        assert 'id="vote-form"' in response.text
        # The sign-in cookie names the user on pages, never on the API.
        signin = fresh.post("/signin", data={"token": server.tokens["alice"], "next": battle_url})
        assert signin.status_code == 303 and signin.headers["location"] == battle_url
        page = fresh.get(battle_url)
        assert '<span class="who">alice</span>' in page.text and 'id="vote-form"' in page.text
        assert fresh.get("/api/v1/benchmarks/pg/arena/next").status_code == 401
        voted = fresh.post(f"{battle_url}/vote", data={"evidence": "tie", "csrf": _csrf(page.text)})
        assert voted.status_code == 303
        assert fresh.post("/signin", data={"token": "rb_wrong", "next": "//evil.example"}).status_code == 401
        assert (
            fresh.post("/signin", data={"token": server.tokens["alice"], "next": "//evil.example"}).headers[
                "location"
            ]
            == "/"
        )
    with server.client("alice") as alice:  # alice's page vote is her API vote
        battle_id = int(battle_url.rsplit("/", 1)[1])
        body = alice.get(f"/api/v1/arena/battles/{battle_id}").json()
        assert body["revealed"] and body["vote"]["evidence"] == "tie"
    assert sorted(runs.values())

"""1,000 votes from 50 clients at once against PostgreSQL: none lost, none duplicated, and a
second vote by the same voter on the same battle refused with 409 even when both race."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text
from support.webserver import Server, read_qrels, synthetic_run

from ragbench.store.db import make_engine, session_factory

CLIENTS = 50
VOTES_PER_CLIENT = 20


def _voters(database_url: str) -> dict[str, str]:
    from ragbench.store.service import create_token, create_user

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as s, s.begin():
            return {f"v{c:02d}": create_token(s, create_user(s, f"v{c:02d}").name) for c in range(CLIENTS)}
    finally:
        engine.dispose()


def test_concurrent_votes_are_stored_exactly_once(
    postgres_url: str, server: Server, trec_eval_data: Path
) -> None:
    qrels_path = trec_eval_data / "qrels.test"
    with server.client("admin") as admin:
        assert (
            admin.post(
                "/api/v1/benchmarks", json={"slug": "busy", "qrels": qrels_path.read_text()}
            ).status_code
            == 201
        )
    qrels = read_qrels(qrels_path)
    with server.client("alice") as alice:
        for seed, name in enumerate(("r1", "r2", "r3", "r4")):
            content = synthetic_run(qrels, quality=seed * 0.7, seed=seed, depth=10, tag=name).encode()
            assert (
                alice.post(
                    "/api/v1/benchmarks/busy/runs", data={"name": name}, files={"file": (name, content)}
                ).status_code
                == 201
            )
    with server.client("admin") as admin:
        battles = admin.post("/api/v1/benchmarks/busy/arena/draw", json={"per_pair": 4, "seed": 0}).json()[
            "battles"
        ]
    assert len(battles) == 24
    server.tokens.update(_voters(server.database_url))
    start = threading.Barrier(CLIENTS)

    def client(c: int) -> list[tuple[int, int]]:
        mine = [battles[(c + i) % len(battles)] for i in range(VOTES_PER_CLIENT)]
        verdict = ("a", "b", "tie", "bad")[c % 4]
        results = []
        with server.client(f"v{c:02d}") as http, ThreadPoolExecutor(2) as twin:
            start.wait()
            # The first vote twice at the same moment: exactly one is stored.
            both = [
                twin.submit(http.post, f"/api/v1/arena/battles/{mine[0]}/votes", json={"evidence": verdict})
                for _ in range(2)
            ]
            results += [(mine[0], f.result().status_code) for f in both]
            for battle in mine[1:]:
                results.append(
                    (
                        battle,
                        http.post(
                            f"/api/v1/arena/battles/{battle}/votes", json={"evidence": verdict}
                        ).status_code,
                    )
                )
        return results

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(client, range(CLIENTS)))
    statuses = Counter(status for chunk in outcomes for _, status in chunk)
    assert statuses == {201: CLIENTS * VOTES_PER_CLIENT, 409: CLIENTS}, statuses
    engine = make_engine(server.database_url)
    try:
        with engine.connect() as c:
            total, distinct = c.execute(
                text("SELECT COUNT(*), COUNT(DISTINCT (battle_id, voter_key)) FROM arena_vote")
            ).one()
            per_voter = dict(
                c.execute(text("SELECT voter_id, COUNT(*) FROM arena_vote GROUP BY voter_id")).all()
            )
    finally:
        engine.dispose()
    assert total == distinct == CLIENTS * VOTES_PER_CLIENT
    assert set(per_voter.values()) == {VOTES_PER_CLIENT} and len(per_voter) == CLIENTS
    with server.client() as anon:
        ratings = anon.get("/api/v1/benchmarks/busy/arena/ratings", params={"rounds": 100}).json()
    assert ratings["votes"] == CLIENTS * VOTES_PER_CLIENT
    assert sum(r["votes"] for r in ratings["rows"]) == 2 * CLIENTS * VOTES_PER_CLIENT

"""Many clients submitting at once to PostgreSQL: every run stored once, none lost, all scored."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support.webserver import Server, read_qrels, synthetic_run

CLIENTS = 20
RUNS_PER_CLIENT = 10


def test_concurrent_submissions_store_every_run_once(
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
    files = {
        (c, k): synthetic_run(
            qrels, quality=0.5 + (c * RUNS_PER_CLIENT + k) / 100, seed=c * 1000 + k, depth=60
        ).encode()
        for c in range(CLIENTS)
        for k in range(RUNS_PER_CLIENT)
    }

    def client_work(c: int) -> list[tuple[str, int, int | None]]:
        """Submit this client's runs, plus a copy of the next client's first file under another name."""
        jobs = [(f"c{c}-r{k}", files[c, k]) for k in range(RUNS_PER_CLIENT)]
        jobs.insert(RUNS_PER_CLIENT // 2, (f"c{c}-copy", files[(c + 1) % CLIENTS, 0]))
        results = []
        with server.client("alice" if c % 2 else "bob") as http:
            for name, content in jobs:
                response = http.post(
                    "/api/v1/benchmarks/busy/runs", data={"name": name}, files={"file": (name, content)}
                )
                run_id = response.json().get("id") if response.status_code in (201, 202) else None
                results.append((name, response.status_code, run_id))
        return results

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for chunk in pool.map(client_work, range(CLIENTS)) for r in chunk]

    statuses = [status for _, status, _ in results]
    assert statuses.count(201) == CLIENTS * RUNS_PER_CLIENT, sorted(set(statuses))
    assert statuses.count(409) == CLIENTS  # each file once: the original or its copy, whichever came first
    accepted = {name: run_id for name, status, run_id in results if status == 201}
    assert len(set(accepted.values())) == len(accepted)
    for c in range(CLIENTS):  # of a file and its copy, exactly one was stored
        assert (f"c{(c + 1) % CLIENTS}-r0" in accepted) != (f"c{c}-copy" in accepted)

    counts = server.counts()
    assert counts["run"] == counts["system"] == CLIENTS * RUNS_PER_CLIENT
    with server.client() as anon:
        board = anon.get("/api/v1/benchmarks/busy/leaderboard", params={"measure": "AP", "limit": 500}).json()
    assert board["total"] == CLIENTS * RUNS_PER_CLIENT
    assert {r["run_id"]: r["system"] for r in board["rows"]} == {v: k for k, v in accepted.items()}
    assert all(r["value"] is not None and r["tier"] is not None for r in board["rows"])

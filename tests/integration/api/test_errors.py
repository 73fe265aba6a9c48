"""A database outage: 503 with Retry-After on the API and the pages, nothing written, nothing lost.

The outage is real: the server's PostgreSQL database stops taking connections
(``ALLOW_CONNECTIONS false``) and its open connections are terminated, as when the database
server restarts; then it comes back.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support.webserver import Server


def _set_available(database_url: str, available: bool) -> None:
    name = make_url(database_url).database
    admin = create_engine(os.environ["RAGBENCH_TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(available).lower()}'))
            if not available:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )
    finally:
        admin.dispose()


def test_an_unreachable_database_is_503_with_retry_after_and_loses_nothing(
    postgres_url: str, server: Server, trec_eval_data: Path
) -> None:
    qrels = (trec_eval_data / "qrels.test").read_text()
    first, second = (
        (trec_eval_data / "results.test").read_bytes(),
        (trec_eval_data / "results.trunc").read_bytes(),
    )
    with server.client("admin") as admin:
        assert admin.post("/api/v1/benchmarks", json={"slug": "away", "qrels": qrels}).status_code == 201
    with server.client("alice") as alice:
        kept = alice.post("/api/v1/benchmarks/away/runs", data={"name": "kept"}, files={"file": ("a", first)})
        assert kept.status_code == 201
    before = server.counts()

    _set_available(postgres_url, False)
    try:
        with server.client() as anon, server.client("alice") as alice:
            for path in (
                "/api/v1/benchmarks",
                f"/api/v1/runs/{kept.json()['id']}",
                "/api/v1/benchmarks/away",
            ):
                response = anon.get(path)
                assert response.status_code == 503, (path, response.text)
                assert (
                    response.headers["retry-after"].isdigit() and "unavailable" in response.json()["detail"]
                )
            page = anon.get("/benchmarks/away")
            assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
            assert page.headers["retry-after"].isdigit()
            refused = alice.post(
                "/api/v1/benchmarks/away/runs", data={"name": "during"}, files={"file": ("b", second)}
            )
            assert refused.status_code == 503 and refused.json()["detail"].startswith(
                "the database is unavailable"
            )
    finally:
        _set_available(postgres_url, True)

    assert server.counts() == before  # nothing half-written, nothing lost
    with server.client("alice") as alice:  # the client sends it again once the database is back
        again = alice.post(
            "/api/v1/benchmarks/away/runs", data={"name": "during"}, files={"file": ("b", second)}
        )
        assert again.status_code == 201, again.text
        assert alice.get(f"/api/v1/runs/{kept.json()['id']}").json()["status"] == "scored"
    after = server.counts()
    assert (after["run"], after["system"]) == (before["run"] + 1, before["system"] + 1)

"""The suite endpoints and pages against a real server: create, leaderboard, blinding, CD diagram."""

from __future__ import annotations

import pytest
from support.paths import CACM
from support.webserver import Server, read_qrels, synthetic_run

MEASURES = ["nDCG@10", "R@100"]


@pytest.fixture
def populated(server: Server) -> Server:
    qrels_path = CACM / "qrels.cacm.txt"
    if not qrels_path.is_file():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    qrels = read_qrels(qrels_path)
    text = qrels_path.read_text()
    with server.client("admin") as admin, server.client("alice") as alice:
        for slug, hidden in (("open-a", False), ("open-b", False), ("blind", True)):
            body = {"slug": slug, "qrels": text, "measures": MEASURES, "hidden": hidden}
            assert admin.post("/api/v1/benchmarks", json=body).status_code == 201
        for k, (system, quality) in enumerate((("good", 3.0), ("fair", 1.0), ("poor", 0.2))):
            for j, slug in enumerate(("open-a", "open-b", "blind")):
                if system == "poor" and slug == "open-b":
                    continue  # poor lacks one benchmark
                run = synthetic_run(qrels, quality=quality, seed=10 * k + j, tag=system)
                response = alice.post(f"/api/v1/benchmarks/{slug}/runs", content=run, params={"name": system},
                                      headers={"Content-Type": "text/plain"})  # fmt: skip
                assert response.status_code in (200, 201), response.text
    return server


def test_suite_endpoints_and_pages(populated: Server) -> None:
    body = {"slug": "trio", "benchmarks": ["open-a", "open-b", "blind"], "measures": MEASURES,
            "aggregation": {"reference": "fair"}, "title": "Trio"}  # fmt: skip
    with populated.client("alice") as alice:
        assert alice.post("/api/v1/suites", json=body).status_code == 403
    with populated.client("admin") as admin:
        bad = admin.post("/api/v1/suites", json={**body, "benchmarks": ["open-a", "trec8"]})
        assert bad.status_code == 422 and "unknown benchmarks: trec8" in bad.json()["detail"]
        conflict = admin.post("/api/v1/suites", json={**body, "measures": ["AP"]})
        assert conflict.status_code == 422 and "not scored on AP" in conflict.json()["detail"]
        created = admin.post("/api/v1/suites", json=body)
        assert created.status_code == 201, created.text
        assert [b["slug"] for b in created.json()["benchmarks"]] == ["open-a", "open-b", "blind"]
        assert admin.post("/api/v1/suites", json=body).status_code == 409
        full = admin.get("/api/v1/suites/trio/leaderboard", params={"measure": "nDCG@10"}).json()
    with populated.client() as anonymous:
        assert [s["slug"] for s in anonymous.get("/api/v1/suites").json()] == ["trio"]
        board = anonymous.get("/api/v1/suites/trio/leaderboard").json()
        assert board["measure"] == "nDCG@10"
        assert [r["system"] for r in board["incomplete"]] == ["poor"]
        assert board["incomplete"][0]["missing"] == ["open-b"] and board["incomplete"][0]["mean"] is None
        assert [r["system"] for r in board["complete"]] == ["good", "fair"]
        # the hidden benchmark: means only for anonymous callers; CIs and tiers for the admin
        assert board["withheld"] == ["blind"] and full["withheld"] == []
        for row in board["complete"]:
            assert row["cells"]["blind"]["low"] is None and row["cells"]["blind"]["tier"] is None
            assert row["cells"]["open-a"]["low"] is not None and row["meta"] is None and row["low"] is None
        assert full["complete"][0]["cells"]["blind"]["low"] is not None
        assert next(r for r in full["complete"] if r["system"] == "good")["meta"]["k"] == 3
        assert anonymous.get("/api/v1/suites/trio/leaderboard", params={"measure": "AP"}).status_code == 422
        assert anonymous.get("/api/v1/suites/nope").status_code == 404
        assert anonymous.get("/api/v1/suites/trio/reproduction").status_code == 404
        schema = anonymous.get("/schema/openapi.json").json()
        assert "/api/v1/suites/{slug}/leaderboard" in schema["paths"]
        page = anonymous.get("/suites/trio").text
        assert 'id="suite-leaderboard"' in page and 'id="suite-incomplete"' in page and "<svg" in page
        assert "style=" not in page and "<script" not in page
        svg = anonymous.get("/suites/trio/cd.svg")
        assert svg.headers["content-type"].startswith("image/svg+xml") and "Critical difference" in svg.text
        assert "not been reproduced" in anonymous.get("/suites/trio/reproduction").text
        assert 'href="/suites/trio"' in anonymous.get("/suites").text

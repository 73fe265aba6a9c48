"""Submitted runs reach the leaderboard JSON and pages with the scores of ``evaluate(complete=True)``."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import SHARED
from support.webserver import Server, read_qrels, synthetic_run

from ragbench.evaluation.engine import evaluate

MEASURES = ["nDCG@10", "AP", "P@10", "R@1000", "RR", "Bpref", "Judged@10"]


def create_benchmark(server: Server, slug: str, qrels: Path, **fields: object) -> dict[str, object]:
    with server.client("admin") as admin:
        response = admin.post("/api/v1/benchmarks", json={"slug": slug, "qrels": qrels.read_text(), **fields})
    assert response.status_code == 201, response.text
    return response.json()


def submit(
    server: Server, slug: str, path: Path, name: str, *, plain: bool = False, user: str = "alice"
) -> dict:
    with server.client(user) as c:
        if plain:
            response = c.post(
                f"/api/v1/benchmarks/{slug}/runs",
                params={"name": name, "description": f"{name} as text/plain"},
                content=path.read_bytes(),
                headers={"Content-Type": "text/plain"},
            )
        else:
            response = c.post(
                f"/api/v1/benchmarks/{slug}/runs",
                data={"name": name, "description": f"{name} as multipart", "metadata": '{"k1": 0.9}'},
                files={"file": (path.name, path.read_bytes(), "text/plain")},
            )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def trec_runs(trec_eval_data: Path, tmp_path: Path) -> dict[str, Path]:
    """results.test, results.trunc and three synthetic runs over qrels.test's topics."""
    qrels = read_qrels(trec_eval_data / "qrels.test")
    runs = {
        "results.test": trec_eval_data / "results.test",
        "results.trunc": trec_eval_data / "results.trunc",
    }
    for i, quality in enumerate((4.0, 1.5, 0.2)):
        path = tmp_path / f"synthetic{i}.txt"
        path.write_text(synthetic_run(qrels, quality=quality, seed=i, depth=200, tag=f"syn{i}"))
        runs[f"synthetic-{i}"] = path
    return runs


def test_leaderboard_json_and_page_match_evaluate(
    server: Server, trec_eval_data: Path, trec_runs: dict[str, Path]
) -> None:
    qrels = trec_eval_data / "qrels.test"
    create_benchmark(server, "trec-test", qrels, title="trec_eval's test collection")
    submitted = {
        name: submit(server, "trec-test", path, name, plain=i % 2 == 1)
        for i, (name, path) in enumerate(trec_runs.items())
    }
    expected = {name: evaluate(qrels, path, MEASURES, complete=True) for name, path in trec_runs.items()}
    for name, run in submitted.items():
        assert run["status"] == "scored" and run["system"] == name and run["owner"] == "alice"
        for measure in MEASURES:
            assert run["scores"][measure] == pytest.approx(expected[name].aggregate[measure], abs=1e-12)

    with server.client() as anon:
        for measure in MEASURES:
            board = anon.get("/api/v1/benchmarks/trec-test/leaderboard", params={"measure": measure}).json()
            assert board["measure"] == measure and board["total"] == len(trec_runs)
            judged = len({line.split()[0] for line in qrels.read_text().splitlines() if line.strip()})
            assert board["topics"] == (
                f"topics: all {judged} judged topics; a topic a run lacks counts 0 (-c, as trec_eval -c)"
            )
            rows = board["rows"]
            assert {r["system"] for r in rows} == set(trec_runs)
            values = [r["value"] for r in rows]
            assert values == sorted(values, reverse=True)
            assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
            assert rows[0]["tier"] == 1 and all(r["tier"] >= 1 for r in rows)
            for row in rows:
                want = expected[row["system"]]
                assert row["value"] == pytest.approx(want.aggregate[measure], abs=1e-12)
                assert row["judged_at_10"] == pytest.approx(want.aggregate["Judged@10"], abs=1e-12)
                assert row["run_id"] == submitted[row["system"]]["id"] and row["owner"] == "alice"

            page = anon.get("/benchmarks/trec-test", params={"measure": measure})
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            for row in rows:
                assert f'href="/runs/{row["run_id"]}?' in page.text
                assert f"{row['value']:.4f}" in page.text
            assert f'<option value="{measure}" selected>' in page.text

        for name, run in submitted.items():
            scores = anon.get(f"/api/v1/runs/{run['id']}/scores", params={"per_topic": "true"}).json()
            want = expected[name]
            for measure in MEASURES:
                got = scores["per_topic"][measure]
                assert set(got) == set(want.query_ids)
                for query_id, value in zip(want.query_ids, want.per_query[measure].tolist(), strict=True):
                    assert got[query_id] == pytest.approx(value, abs=1e-12)
            page = anon.get(f"/runs/{run['id']}", params={"measure": "AP"})
            assert page.status_code == 200
            assert "<svg" in page.text and 'id="per-topic"' in page.text
            assert f"{want.aggregate['AP']:.4f}" in page.text

        index = anon.get("/")
        assert index.status_code == 200 and 'href="/benchmarks/trec-test"' in index.text


def test_tiers_and_compare_on_cacm(server: Server, tmp_path: Path) -> None:
    qrels_path = SHARED / "data" / "cacm" / "qrels.cacm.txt"
    if not qrels_path.is_file():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    create_benchmark(server, "cacm", qrels_path, title="CACM", measures=["AP", "nDCG@10"])
    qrels = read_qrels(qrels_path)
    runs = {}
    for name, quality, seed in (("strong", 3.0, 1), ("strong-too", 3.0, 2), ("weak", 0.3, 3)):
        path = tmp_path / f"{name}.txt"
        path.write_text(synthetic_run(qrels, quality=quality, seed=seed, tag=name))
        runs[name] = submit(server, "cacm", path, name, user="bob")
    with server.client() as anon:
        board = anon.get("/api/v1/benchmarks/cacm/leaderboard").json()
        assert board["measure"] == "AP" and board["measures"][:2] == ["AP", "nDCG@10"]
        tiers = {r["system"]: r["tier"] for r in board["rows"]}
        assert board["rows"][0]["tier"] == 1 and tiers["weak"] > 1
        assert board["rows"][-1]["system"] == "weak"

        page = anon.get("/benchmarks/cacm")
        assert page.text.count('class="tier-1 top-tier"') == sum(t == 1 for t in tiers.values())
        assert 'class="badge tier-1"' in page.text

        a, b = runs["weak"]["id"], runs["strong"]["id"]
        report = anon.get("/api/v1/compare", params={"runs": f"{a},{b}", "measure": ["AP", "nDCG@10"]})
        assert report.status_code == 200, report.text
        comparisons = report.json()["comparisons"]
        assert {c["measure"] for c in comparisons} == {"AP", "nDCG@10"}
        ap = next(c for c in comparisons if c["measure"] == "AP")
        assert (
            ap["mean_diff"] > 0 and ap["significant"] and ap["wins"] + ap["ties"] + ap["losses"] == len(qrels)
        )

        page = anon.get("/compare", params={"a": a, "b": b})
        assert page.status_code == 200 and "<svg" in page.text and "strong" in page.text

        schema = anon.get("/schema/openapi.json").json()
        for path in (
            "/api/v1/benchmarks",
            "/api/v1/benchmarks/{slug}/runs",
            "/api/v1/compare",
            "/api/v1/benchmarks/{slug}/leaderboard",
            "/api/v1/runs/{run_id}",
        ):
            assert path in schema["paths"], path

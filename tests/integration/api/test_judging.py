"""LLM judges through a real ``ragbench serve``: a judge job done by the server's worker with the
packaged SmolLM2 (log-probability grades, a few short pairs), the leaderboard views and the judge
leaderboard page; admin-only writes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support.webserver import Server

from ragbench.formats.judgments import LabelRecord, sidecar_text

DOCS = {
    "D1": "Time sharing systems let many users share a computer.",
    "D2": "Apple pie recipes.",
    "D3": "Sorting algorithms such as quicksort.",
    "D4": "Roman emperors.",
    "D5": "Merge sort divides and merges.",
}


@pytest.fixture
def benchmark(server: Server, tmp_path: Path) -> str:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": d, "contents": t}) + "\n" for d, t in DOCS.items()))
    with server.client("admin") as admin:
        response = admin.post(
            "/api/v1/benchmarks",
            json={"slug": "tiny", "qrels": "1 0 D1 1\n1 0 D2 0\n2 0 D3 1\n", "topics": "1\ttime sharing\n2\tsorting\n",
                  "corpus_ref": str(corpus), "measures": ["P@2", "nDCG@10"]},
        )  # fmt: skip
        assert response.status_code == 201, response.text
    runs = {"a": "1 Q0 D4 1 3 a\n1 Q0 D1 2 2 a\n2 Q0 D5 1 3 a\n2 Q0 D3 2 2 a\n",
            "b": "1 Q0 D1 1 3 b\n1 Q0 D2 2 2 b\n2 Q0 D3 1 3 b\n2 Q0 D4 2 1 b\n"}  # fmt: skip
    with server.client("alice") as alice:
        for name, text in runs.items():
            response = alice.post(
                "/api/v1/benchmarks/tiny/runs", files={"file": ("r.txt", text)}, data={"name": name}
            )
            assert response.status_code == 201, response.text
    return "tiny"


def test_a_judge_job_on_the_worker_and_the_views(server: Server, benchmark: str) -> None:
    config = {"method": "logprobs", "prompt": "basic", "doc_words": 20, "depth": 2}
    with server.client("alice") as alice:
        assert alice.post(f"/api/v1/benchmarks/{benchmark}/judge", json={"config": config}).status_code == 403
    with server.client("admin") as admin:
        response = admin.post(f"/api/v1/benchmarks/{benchmark}/judge", json={"config": config})
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["status"] in ("pending", "running")
        deadline = time.monotonic() + 400
        while job["status"] in ("pending", "running") and time.monotonic() < deadline:
            time.sleep(1)
            job = admin.get(f"/api/v1/judge-jobs/{job['id']}").json()
    assert job["status"] == "done", job
    # holes of the two runs' top 2: D4 (topic 1), D5 and D4 (topic 2)
    assert (job["done"], job["total"]) == (3, 3) and job["counts"]["llm_labels"] == 3
    assert job["result_version"] == 2
    with server.client() as anyone:
        human = anyone.get(f"/api/v1/benchmarks/{benchmark}/leaderboard", params={"measure": "P@2"}).json()
        filled = anyone.get(
            f"/api/v1/benchmarks/{benchmark}/leaderboard", params={"measure": "P@2", "qrels": "filled"}
        ).json()
        page = anyone.get(f"/benchmarks/{benchmark}", params={"qrels": "filled"}).text
        judges = anyone.get(f"/api/v1/benchmarks/{benchmark}/judges").json()
        judges_page = anyone.get(f"/benchmarks/{benchmark}/judges")
    assert (human["qrels"], human["qrels_version"], filled["qrels"], filled["qrels_version"]) == (
        "human",
        1,
        "filled",
        2,
    )
    assert human["views"] == ["human", "filled"]
    rows = {r["system"]: r for r in filled["rows"]}
    # run a: one of its top 2 is an LLM-labelled hole in each topic -> share 0.5, above the 0.2 badge
    assert rows["a"]["llm_share_at_10"] == pytest.approx(0.5) and rows["a"]["llm_badge"] is True
    assert rows["b"]["llm_share_at_10"] == pytest.approx(0.25) and rows["a"][
        "human_judged_at_10"
    ] == pytest.approx(0.5)
    assert "LLM-filled holes" in page and "LLM share@10" in page and 'class="badge llm"' in page
    assert len(judges) == 1 and judges[0]["label_sources"] == "mixed" and judges[0]["llm_labels"] == 3
    assert judges[0]["pairs"] == 0 and judges[0]["kappa"] is None  # holes only: nothing to compare
    assert judges_page.status_code == 200 and "SmolLM2-135M-Instruct + basic" in judges_page.text


def test_judged_qrels_with_provenance_and_bad_requests(server: Server, benchmark: str) -> None:
    records = [LabelRecord("1", "D1", 1, "llm", {"model": "m"}), LabelRecord("1", "D2", 1, "llm", {"model": "m"}),
               LabelRecord("2", "D3", 0, "llm", {"model": "m"})]  # fmt: skip
    sidecar = sidecar_text(records, {"judge": {"judge": "m + umbrela", "model": "m", "prompt": "umbrela"}})
    with server.client("alice") as alice:
        assert (
            alice.post(
                f"/api/v1/benchmarks/{benchmark}/judged-qrels", json={"provenance": sidecar}
            ).status_code
            == 403
        )
    with server.client("admin") as admin:
        response = admin.post(f"/api/v1/benchmarks/{benchmark}/judged-qrels", json={"provenance": sidecar})
        assert response.status_code == 201, response.text
        assert response.json()["label_source"] == "llm"
        bad = admin.post(f"/api/v1/benchmarks/{benchmark}/judged-qrels", json={"provenance": "not json\n"})
        assert bad.status_code == 422 and "provenance:1: not JSON" in bad.json()["detail"]
        bad = admin.post(f"/api/v1/benchmarks/{benchmark}/judge", json={"config": {"prompt": "/tmp/x.txt"}})
        assert bad.status_code in (400, 422) and "built-in prompt" in bad.json()["detail"]
        judges = admin.get(f"/api/v1/benchmarks/{benchmark}/judges", params={"measure": "P@2"}).json()
        llm = admin.get(
            f"/api/v1/benchmarks/{benchmark}/leaderboard", params={"measure": "P@2", "qrels": "llm"}
        )
    (row,) = judges
    assert row["judge"] == "m + umbrela" and row["pairs"] == 3 and row["kappa"] is not None
    assert row["runs"] == 2 and llm.json()["qrels"] == "llm"

"""Authentication, ownership, hidden benchmarks and escaping, checked over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.paths import SHARED
from support.webserver import Server, read_qrels, synthetic_run

from ragbench.evaluation.engine import evaluate

XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def make_benchmark(server: Server, slug: str, qrels_text: str, **fields: Any) -> None:
    with server.client("admin") as admin:
        response = admin.post("/api/v1/benchmarks", json={"slug": slug, "qrels": qrels_text, **fields})
    assert response.status_code == 201, response.text


def upload(client: Any, slug: str, content: bytes, name: str, **fields: str) -> Any:
    return client.post(
        f"/api/v1/benchmarks/{slug}/runs",
        data={"name": name, **fields},
        files={"file": ("run.txt", content, "text/plain")},
    )


def test_tokens_roles_and_ownership(server: Server, trec_eval_data: Path) -> None:
    qrels = (trec_eval_data / "qrels.test").read_text()
    run = (trec_eval_data / "results.test").read_bytes()
    with server.client() as anon:
        response = anon.post("/api/v1/benchmarks", json={"slug": "x", "qrels": qrels})
        assert response.status_code == 401 and response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    with server.client("alice") as alice:
        assert alice.post("/api/v1/benchmarks", json={"slug": "x", "qrels": qrels}).status_code == 403
    make_benchmark(server, "sec", qrels)
    before = server.counts()
    with server.client() as anon:
        response = upload(anon, "sec", run, "anonymous")
        assert response.status_code == 401, response.text
        assert set(response.json()) == {"detail", "problems"}
    for header in ("Bearer rb_not-a-token", "Basic YWxpY2U6c2VjcmV0", "Bearer", "Token rb_x"):
        with server.client() as c:
            response = c.post(
                "/api/v1/benchmarks/sec/runs",
                data={"name": "forged"},
                files={"file": ("run.txt", run)},
                headers={"Authorization": header},
            )
            assert response.status_code == 401, (header, response.text)
            # a bad token is refused on reads too, rather than silently treated as anonymous
            assert c.get("/api/v1/benchmarks", headers={"Authorization": header}).status_code == 401
    assert server.counts() == before

    with server.client("alice") as alice, server.client("bob") as bob, server.client("admin") as admin:
        alice_run = upload(alice, "sec", run, "alice-system").json()["id"]
        bob_run = upload(bob, "sec", (trec_eval_data / "results.trunc").read_bytes(), "bob-system").json()[
            "id"
        ]
        assert bob.delete(f"/api/v1/runs/{alice_run}").status_code == 403
        with server.client() as anon:
            assert anon.delete(f"/api/v1/runs/{alice_run}").status_code == 401
        assert alice.get(f"/api/v1/runs/{alice_run}").status_code == 200
        assert alice.delete(f"/api/v1/runs/{alice_run}").status_code == 204
        assert alice.get(f"/api/v1/runs/{alice_run}").status_code == 404
        assert admin.delete(f"/api/v1/runs/{bob_run}").status_code == 204
        assert admin.get("/api/v1/benchmarks/sec/leaderboard").json()["total"] == 0


def _bodies(server: Server, slug: str, run_ids: list[int], measures: list[str]) -> dict[str, str]:
    """Every response a non-admin can get about a benchmark and its runs."""
    pages = [
        "/",
        f"/benchmarks/{slug}",
        "/api/v1/benchmarks",
        f"/api/v1/benchmarks/{slug}",
        "/schema/openapi.json",
        f"/compare?a={run_ids[0]}&b={run_ids[1]}",
        f"/api/v1/compare?runs={','.join(map(str, run_ids))}",
    ]
    for measure in measures:
        pages += [
            f"/benchmarks/{slug}?measure={measure}",
            f"/api/v1/benchmarks/{slug}/leaderboard?measure={measure}",
        ]
        pages += [f"/runs/{r}?measure={measure}" for r in run_ids]
        pages += [f"/api/v1/compare?runs={run_ids[0]},{run_ids[1]}&measure={measure}"]
    for r in run_ids:
        pages += [f"/api/v1/runs/{r}", f"/api/v1/runs/{r}/scores", f"/api/v1/runs/{r}/scores?per_topic=true"]
    bodies = {}
    for user in (None, "alice", "bob"):
        with server.client(user) as c:
            for page in pages:
                response = c.get(page)
                assert response.status_code == 200, (user, page, response.status_code, response.text[:300])
                bodies[f"{user}:{page}"] = response.text
    return bodies


def _leaks(bodies: dict[str, str], secrets: list[str]) -> list[str]:
    return [
        f"{where} shows {secret!r}" for where, body in bodies.items() for secret in secrets if secret in body
    ]


def test_hidden_benchmark_leaks_no_qrels_or_per_topic_scores(server: Server, tmp_path: Path) -> None:
    qrels_path = SHARED / "data" / "cacm" / "qrels.cacm.txt"
    if not qrels_path.is_file():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    qrels = read_qrels(qrels_path)
    measures = ["AP", "nDCG@10"]
    make_benchmark(server, "blind", qrels_path.read_text(), hidden=True, measures=measures)
    run_ids, per_topic = [], []
    with server.client("alice") as alice:
        for seed, quality in enumerate((2.0, 1.0)):
            path = tmp_path / f"run{seed}.txt"
            # depth 10: documents judged but never retrieved appear in the qrels only
            path.write_text(synthetic_run(qrels, quality=quality, seed=seed, depth=10))
            response = upload(alice, "blind", path.read_bytes(), f"blind-{seed}")
            assert response.status_code == 201, response.text
            run_ids.append(response.json()["id"])
            result = evaluate(qrels_path, path, measures, complete=True)
            # Only values with long decimal forms: a short one such as '0.2' also occurs in timestamps.
            per_topic += [
                repr(v) for m in measures for v in result.per_query[m].tolist() if len(repr(v)) >= 10
            ]
    lines = qrels_path.read_text().splitlines()
    retrieved = {line.split()[2] for p in tmp_path.glob("run*.txt") for line in p.read_text().splitlines()}
    unretrieved = sorted({line.split()[2] for line in lines} - retrieved)
    never = [lines[0], lines[len(lines) // 2], lines[-1], *unretrieved[:5]]  # qrels: never served
    per_topic = sorted(set(per_topic))[:20]
    assert len(unretrieved) >= 5 and len(per_topic) == 20

    leaks = _leaks(_bodies(server, "blind", run_ids, measures), never + per_topic)
    assert not leaks, "\n".join(leaks[:20])
    with server.client("bob") as bob:
        scores = bob.get(f"/api/v1/runs/{run_ids[0]}/scores?per_topic=true").json()
        assert scores["per_topic"] is None and scores["per_topic_withheld"] is True
        assert set(scores["aggregate"]) >= set(measures)  # aggregates stay public
        # comparisons: the means only (CIs, W/T/L, p-values give per-topic values away)
        compared = bob.get(f"/api/v1/compare?runs={run_ids[0]},{run_ids[1]}").json()
        assert compared["per_topic_withheld"] is True
        assert all(
            c["ci_low"] is None and c["wins"] is None and c["p_values"] == {} for c in compared["comparisons"]
        )
        assert 'id="withheld"' in bob.get(f"/compare?a={run_ids[0]}&b={run_ids[1]}").text
    with server.client("admin") as admin:  # admins see per-topic scores of hidden benchmarks
        compared = admin.get(f"/api/v1/compare?runs={run_ids[0]},{run_ids[1]}").json()
        assert compared["per_topic_withheld"] is False and compared["comparisons"][0]["ci_low"] is not None
        scores = admin.get(f"/api/v1/runs/{run_ids[0]}/scores?per_topic=true").json()
        assert len(scores["per_topic"]["AP"]) == len(qrels) and scores["per_topic_withheld"] is False

    # Positive control: once unblinded, the per-topic values the search looked for do appear.
    with server.client("admin") as admin:
        response = admin.patch("/api/v1/benchmarks/blind", json={"hidden": False})
        assert response.status_code == 200 and response.json()["hidden"] is False
    after = _bodies(server, "blind", run_ids, measures)
    assert len(_leaks(after, per_topic)) > 0
    assert not _leaks(after, never), "qrels are never served"


def test_script_in_names_is_escaped_everywhere(server: Server, trec_eval_data: Path) -> None:
    qrels = (trec_eval_data / "qrels.test").read_text()
    make_benchmark(server, "xss", qrels, title=XSS, description=XSS)
    with server.client("alice") as alice:
        refused = upload(
            alice, "xss", (trec_eval_data / "results.test").read_bytes(), "js", url="javascript:x()"
        )
        assert refused.status_code == 422 and "url" in refused.json()["detail"]
        first = upload(
            alice,
            "xss",
            (trec_eval_data / "results.test").read_bytes(),
            XSS,
            description=XSS,
            url=f"https://example.org/?q={XSS}",
        )
        assert first.status_code == 201, first.text
        second = upload(alice, "xss", (trec_eval_data / "results.trunc").read_bytes(), f"plain {XSS}")
        assert second.status_code == 201, second.text
        assert alice.get(f"/api/v1/runs/{first.json()['id']}").json()["system"] == XSS  # stored as given
    a, b = first.json()["id"], second.json()["id"]
    with server.client() as anon:
        for page in (
            "/",
            "/benchmarks/xss",
            "/benchmarks/xss?measure=AP",
            f"/runs/{a}",
            f"/runs/{b}",
            f"/compare?a={a}&b={b}",
            f"/compare?a={b}&b={a}",
        ):
            response = anon.get(page)
            assert response.status_code == 200, (page, response.text[:300])
            assert "<script" not in response.text.lower(), page
            assert ESCAPED in response.text, page
            assert 'href="javascript:' not in response.text.lower(), page
        run_page = anon.get(f"/runs/{b}").text
        svg = run_page[run_page.index("<svg") : run_page.index("</svg>")]
        assert ESCAPED in svg  # the chart's labels are escaped too

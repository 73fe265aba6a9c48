"""Input bounds over HTTP: deep JSON, ids out of range, strict booleans; never a 500, never a row
left by a refused request. Also the REST side of CR-only files (a warning in the answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.webserver import Server, sqlite_server

from api.bounds import json_nesting


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trec_eval_data: Path) -> Iterator[Server]:
    with sqlite_server(tmp_path_factory.mktemp("bounds")) as server:
        with server.client("admin") as admin:
            qrels = (trec_eval_data / "qrels.test").read_text()
            body = {"slug": "hid", "qrels": qrels, "hidden": True}
            assert admin.post("/api/v1/benchmarks", json=body).status_code == 201
            assert (
                admin.post("/api/v1/benchmarks", json={**body, "slug": "pub", "hidden": False}).status_code
                == 201
            )
        yield server


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "text",
    ["{}", "[]", "1", '"[[["', '{"a": "x\\"]]]["}', '[{"a": [1, {"b": []}]}]', '"\\\\"', '[["\\\\\\""]]'],
)
def test_json_nesting_agrees_with_a_parser(text: str) -> None:
    def depth(value: object) -> int:
        if isinstance(value, dict):
            return 1 + max(map(depth, value.values()), default=0)
        if isinstance(value, list):
            return 1 + max(map(depth, value), default=0)
        return 0

    assert json_nesting(text.encode()) == depth(json.loads(text))


def test_deep_json_is_refused_before_anything_is_stored(server: Server, trec_eval_data: Path) -> None:
    run = (trec_eval_data / "results.test").read_bytes()
    before = server.counts()
    deep_970 = "{" + '"k":{' * 969 + "}" * 970  # stored, then a 500 forever, before the bound
    with server.client("alice") as alice:
        for metadata, why in (
            (deep_970, "nested deeper than 32"),
            (nested(1000), "nested deeper than 32"),
            (nested(100_000), "larger than 65,536 bytes"),
        ):
            response = alice.post(
                "/api/v1/benchmarks/pub/runs",
                data={"name": "deep", "metadata": metadata},
                files={"file": ("r", run)},
            )
            assert response.status_code == 422, response.text[:300]
            assert why in response.json()["detail"]
    with server.client("admin") as admin:
        for body in (
            '{"slug": "x", "qrels": "301 0 d 1\\n", "measures": ' + nested(5000) + "}",
            '{"hidden": ' + nested(100_000) + "}",
        ):
            for method, path in (("POST", "/api/v1/benchmarks"), ("PATCH", "/api/v1/benchmarks/hid")):
                response = admin.request(
                    method, path, content=body, headers={"Content-Type": "application/json"}
                )
                assert response.status_code == 400 and "RAGBENCH_MAX_JSON_DEPTH" in response.json()["detail"]
    assert server.counts() == before
    with server.client("alice") as alice:  # within the bound: stored and readable
        shallow = json.dumps({"a": [{"b": [1, {"c": None}]}]})
        ok = alice.post(
            "/api/v1/benchmarks/pub/runs",
            data={"name": "ok", "metadata": shallow},
            files={"file": ("r", run)},
        )
        assert ok.status_code == 201, ok.text
        assert alice.get(f"/api/v1/runs/{ok.json()['id']}").json()["metadata"] == json.loads(shallow)


def test_ids_and_offsets_out_of_range_are_4xx_never_500(server: Server) -> None:
    paths = []
    for big in ("2147483648", "9223372036854775807", "9223372036854775808", "99999999999999999999"):
        paths += [f"/api/v1/runs/{big}", f"/api/v1/runs/{big}/scores?per_topic=true", f"/runs/{big}"]
        paths += [f"/api/v1/compare?runs=1,{big}", f"/compare?a={big}&b=1"]
        paths += [f"/api/v1/benchmarks/pub/leaderboard?offset={big}", f"/benchmarks/pub?offset={big}"]
        paths += [f"/benchmarks/pub?session_offset={big}"]
    for odd in (
        "+1",
        "-1",
        "%D9%A1",
        "%EF%BC%91",
        "1_0",
        "0x1",
        "%201",
        "1.0",
    ):  # signs, Arabic and fullwidth digits
        paths += [f"/api/v1/runs/{odd}", f"/runs/{odd}"]
    with server.client("admin") as admin:
        for path in paths:
            response = admin.get(path)
            assert response.status_code in (400, 404), (path, response.status_code, response.text[:200])
        for path in ("/api/v1/runs/9223372036854775808", "/api/v1/tokens/9223372036854775808"):
            assert admin.delete(path).status_code == 404


def test_booleans_are_strict(server: Server) -> None:
    with server.client("admin") as admin:
        for value in ("0", "false", 0, 1, "", None, [], "no"):
            response = admin.patch("/api/v1/benchmarks/hid", json={"hidden": value})
            assert response.status_code == 400, (value, response.text)
        assert admin.get("/api/v1/benchmarks/hid").json()["hidden"] is True  # still blind
        refused = admin.post("/api/v1/benchmarks", json={"slug": "b2", "qrels": "301 0 d 1\n", "hidden": "1"})
        assert refused.status_code == 400
        assert admin.get("/api/v1/benchmarks/b2").status_code == 404


def test_a_cr_only_run_is_read_line_by_line_and_said_so(server: Server, trec_eval_data: Path) -> None:
    lines = (trec_eval_data / "results.trunc").read_bytes()
    with server.client("bob") as bob:
        response = bob.post(
            "/api/v1/benchmarks/pub/runs",
            data={"name": "mac"},
            files={"file": ("mac.txt", lines.replace(b"\n", b"\r"))},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["num_lines"] == lines.count(b"\n") and body["num_topics"] == 2
        [warning] = body["warnings"]
        assert warning["severity"] == "warning" and warning["file"] == "mac.txt"
        assert "lone carriage return" in warning["message"]
        lf = bob.post(
            "/api/v1/benchmarks/pub/runs", data={"name": "unix"}, files={"file": ("unix.txt", lines)}
        )
        assert lf.status_code == 201 and lf.json()["warnings"] == []
        assert lf.json()["scores"] == body["scores"]

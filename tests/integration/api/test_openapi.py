"""The OpenAPI document describes the API: schemathesis against a real server finds no 5xx, no
undocumented status code, no body, header or content type that breaks the document.

Bounded to a few hundred generated requests per operation set (``MAX_EXAMPLES``), seeded, so it
runs in well under a minute; the server holds a hidden and a public benchmark with runs, and the
requests carry an admin token so that the guarded operations are reached too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.webserver import Server, sqlite_server

MAX_EXAMPLES = 15
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trec_eval_data: Path) -> Iterator[Server]:
    limits = {"RAGBENCH_RATE_LIMIT": "0", "RAGBENCH_RATE_LIMIT_EXPENSIVE": "0"}  # test the logic, not 429s
    with sqlite_server(tmp_path_factory.mktemp("openapi"), **limits) as server:
        qrels = (trec_eval_data / "qrels.test").read_text()
        with server.client("admin") as admin:
            for slug, hidden in (("te", False), ("blind", True)):
                body = {"slug": slug, "qrels": qrels, "hidden": hidden}
                assert admin.post("/api/v1/benchmarks", json=body).status_code == 201
        with server.client("alice") as alice:
            for slug in ("te", "blind"):
                for name in ("results.test", "results.trunc"):
                    files = {"file": (name, (trec_eval_data / name).read_bytes())}
                    response = alice.post(f"/api/v1/benchmarks/{slug}/runs", data={"name": name}, files=files)
                    assert response.status_code == 201, response.text
        yield server


def test_the_document_names_the_error_body_and_the_constraints(server: Server) -> None:
    with server.client() as anon:
        schema = anon.get("/schema/openapi.json").json()
    assert set(schema["components"]["schemas"]["ErrorBody"]["required"]) == {"detail", "problems"}
    compare = schema["paths"]["/api/v1/compare"]["get"]
    runs = next(p for p in compare["parameters"] if p["name"] == "runs")
    assert "{1,19}$" in runs["schema"]["pattern"] and "2 to 20" in runs["description"]
    assert set(compare["responses"]) == {"200", "400", "401", "404", "422", "429", "503"}
    assert "Retry-After" in compare["responses"]["429"]["headers"]
    slug = next(
        p for p in schema["paths"]["/api/v1/benchmarks/{slug}"]["get"]["parameters"] if p["name"] == "slug"
    )
    assert slug["schema"]["pattern"] == "^[a-z0-9][a-z0-9._-]{0,99}$"
    for item in schema["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorBody"
                    }


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: Server, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {server.tokens['admin']}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "15",
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "60",
        "--no-color",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    report = proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, report
    assert " 0 failed" in report or "failed" not in report.split("SUMMARY")[-1], report
    with server.client() as anon:
        assert anon.get("/api/v1/benchmarks").status_code == 200  # the server survived it all
    log = server.log.read_text()
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]

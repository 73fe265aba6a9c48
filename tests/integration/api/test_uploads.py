"""Malformed and oversized uploads: each a 4xx JSON answer naming what is wrong, nothing stored."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.paths import FIXTURES
from support.webserver import Server

BAD = FIXTURES / "bad"
GOOD_LINE = "301 Q0 FR940202-2-00150 1 2.5 tag\n"
DEEP = 60_000


def good_lines(start: int, stop: int) -> str:
    """Valid run lines (one topic, distinct documents) numbered ``start`` to ``stop - 1``."""
    return "".join(f"301 Q0 DOC-{i} {i} {1e6 - i} tag\n" for i in range(start, stop))


@dataclass
class Case:
    """One bad request: what is sent and what must come back."""

    id: str
    status: int
    line: int | None = None  # the line a problem must name (None: no file problem expected)
    files: dict[str, Any] | None = None
    data: dict[str, str] = field(default_factory=lambda: {"name": "bad-run"})
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    detail: str = ""  # a fragment of ``detail``


def fixture_cases() -> list[Case]:
    """Every bad run file of tests/fixtures/bad, with the line EXPECTED.tsv names."""
    cases = []
    for row in (BAD / "EXPECTED.tsv").read_text().splitlines():
        name, kind, line, message = row.split("\t")
        if kind == "run":
            path = BAD / name
            cases.append(
                Case(
                    name,
                    400,
                    int(line),
                    files={"file": (name, path.read_bytes(), "text/plain")},
                    detail=message,
                )
            )
    return cases


def own_cases() -> list[Case]:
    deep = (good_lines(1, DEEP) + "301 Q0 doc 1 2.5\n" + good_lines(DEEP + 1, DEEP + 11)).encode()
    junk = bytes(range(256)) * 64
    return [
        Case(
            "json-content-type",
            415,
            content=b'{"run": 1}',
            headers={"Content-Type": "application/json"},
            params={"name": "x"},
            detail="unsupported content type",
        ),
        Case(
            "no-content-type",
            415,
            content=GOOD_LINE.encode(),
            headers={"Content-Type": ""},
            params={"name": "x"},
        ),
        Case(
            "missing-name",
            422,
            files={"file": ("r.txt", GOOD_LINE.encode(), "text/plain")},
            data={},
            detail="'name'",
        ),
        Case(
            "blank-name",
            422,
            files={"file": ("r.txt", GOOD_LINE.encode(), "text/plain")},
            data={"name": "  "},
        ),
        Case("plain-missing-name", 422, content=GOOD_LINE.encode(), headers={"Content-Type": "text/plain"}),
        Case(
            "missing-file",
            422,
            data={"name": "x", "description": "no file"},
            files={"other": ("a", b"x")},
            detail="'file'",
        ),
        Case("empty-body", 400, 0, content=b"", headers={"Content-Type": "text/plain"}, params={"name": "x"}),
        Case("empty-file", 400, 0, files={"file": ("empty.txt", b"", "text/plain")}),
        Case("binary-junk", 400, 1, files={"file": ("junk.bin", junk, "application/octet-stream")}),
        Case(
            "binary-junk-plain",
            400,
            1,
            content=junk,
            headers={"Content-Type": "application/octet-stream"},
            params={"name": "x"},
        ),
        Case(
            f"bad-line-{DEEP}-of-{DEEP + 10}",
            400,
            DEEP,
            content=deep,
            headers={"Content-Type": "text/plain"},
            params={"name": "deep"},
        ),
        Case(
            "metadata-not-json",
            422,
            files={"file": ("r.txt", GOOD_LINE.encode(), "text/plain")},
            data={"name": "x", "metadata": "{not json"},
            detail="metadata",
        ),
        Case(
            "metadata-not-object",
            422,
            files={"file": ("r.txt", GOOD_LINE.encode(), "text/plain")},
            data={"name": "x", "metadata": "[1, 2]"},
            detail="metadata",
        ),
        Case(
            "broken-multipart",
            400,
            content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nab',
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        ),
        Case("unknown-benchmark", 404, files={"file": ("r.txt", GOOD_LINE.encode(), "text/plain")}),
        Case(
            "ir-metadata-unclosed",
            400,
            1,
            files={"file": ("r.txt", f"# ir_metadata.start\n# tag: x\n{GOOD_LINE}".encode(), "text/plain")},
            detail="ir_metadata header: no '# ir_metadata.end' line before the results",
        ),
        Case(
            "ir-metadata-not-yaml",
            400,
            3,
            files={
                "file": (
                    "r.txt",
                    f"# ir_metadata.start\n# tag: x\n# method: [unclosed\n# ir_metadata.end\n{GOOD_LINE}".encode(),
                    "text/plain",
                )
            },
            detail="ir_metadata header is not YAML",
        ),
    ]


def send(client: Any, slug: str, case: Case) -> Any:
    url = f"/api/v1/benchmarks/{'nope' if case.id == 'unknown-benchmark' else slug}/runs"
    if case.content is not None:
        headers = {k: v for k, v in case.headers.items() if v}
        if case.headers.get("Content-Type") == "":
            return client.post(url, content=case.content, params=case.params)
        return client.post(url, content=case.content, headers=headers, params=case.params)
    return client.post(url, data=case.data, files=case.files, params=case.params)


@pytest.fixture
def benchmark(server: Server, trec_eval_data: Path) -> str:
    with server.client("admin") as admin:
        qrels = (trec_eval_data / "qrels.test").read_text()
        assert (
            admin.post("/api/v1/benchmarks", json={"slug": "bad-uploads", "qrels": qrels}).status_code == 201
        )
    return "bad-uploads"


def test_malformed_uploads_answer_4xx_json_and_store_nothing(
    server: Server, benchmark: str, trec_eval_data: Path
) -> None:
    cases = fixture_cases() + own_cases()
    assert len(cases) >= 15
    with server.client("alice") as alice:
        good = alice.post(
            f"/api/v1/benchmarks/{benchmark}/runs",
            data={"name": "good"},
            files={"file": ("results.test", (trec_eval_data / "results.test").read_bytes())},
        )
        assert good.status_code == 201, good.text
        before = server.counts()
        failures = []
        for case in cases:
            response = send(alice, benchmark, case)
            body = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            problems = body.get("problems")
            ok = (
                response.status_code == case.status
                and isinstance(body.get("detail"), str)
                and isinstance(problems, list)
                and case.detail in body["detail"]
                and (case.line is None or any(p["line"] == case.line for p in problems))
            )
            if not ok:
                failures.append(f"{case.id}: {response.status_code} {response.text[:300]}")
        # The same file twice is a conflict, not a second copy.
        again = alice.post(
            f"/api/v1/benchmarks/{benchmark}/runs",
            data={"name": "good-again"},
            files={"file": ("results.test", (trec_eval_data / "results.test").read_bytes())},
        )
        assert again.status_code == 409 and again.json()["detail"]
    assert not failures, "\n".join(failures)
    assert server.counts() == before


def test_problem_lines_name_the_file_and_every_bad_line(server: Server, benchmark: str) -> None:
    text = "".join(good_lines(i, i + 1) if i % 1000 else f"301 Q0 d{i} 1 x tag\n" for i in range(1, 3001))
    with server.client("alice") as alice:
        response = alice.post(
            f"/api/v1/benchmarks/{benchmark}/runs",
            data={"name": "many"},
            files={"file": ("many.txt", text.encode(), "text/plain")},
        )
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert {p["line"] for p in problems} >= {1000, 2000, 3000}
    assert all(p["file"] == "many.txt" and p["severity"] == "error" and p["message"] for p in problems)


def test_upload_over_the_limit_is_413(server_factory: Callable[..., Server], trec_eval_data: Path) -> None:
    server = server_factory(RAGBENCH_MAX_UPLOAD_BYTES="20000")
    with server.client("admin") as admin:  # the limit holds for every request body
        qrels = "".join((trec_eval_data / "qrels.test").read_text().splitlines(keepends=True)[:500])
        assert admin.post("/api/v1/benchmarks", json={"slug": "small", "qrels": qrels}).status_code == 201
    big = (trec_eval_data / "results.test").read_bytes()  # 65 KB
    assert len(big) > 20000
    before = server.counts()
    with server.client("alice") as alice:
        multipart = alice.post(
            "/api/v1/benchmarks/small/runs", data={"name": "big"}, files={"file": ("big", big)}
        )
        plain = alice.post(
            "/api/v1/benchmarks/small/runs",
            params={"name": "big"},
            content=big,
            headers={"Content-Type": "text/plain"},
        )

        def chunks() -> Any:  # no Content-Length: the limit holds on the bytes actually received
            for i in range(0, len(big), 4096):
                yield big[i : i + 4096]

        streamed = alice.post(
            "/api/v1/benchmarks/small/runs",
            params={"name": "big"},
            content=chunks(),
            headers={"Content-Type": "text/plain"},
        )
        for response in (multipart, plain, streamed):
            assert response.status_code == 413, response.text
            assert "20000" in response.json()["detail"] and response.json()["problems"] == []
        small = (trec_eval_data / "results.trunc").read_bytes()[:15000]
        small = small[: small.rindex(b"\n") + 1]
        assert server.counts() == before
        ok = alice.post("/api/v1/benchmarks/small/runs", data={"name": "small"}, files={"file": ("s", small)})
        assert ok.status_code == 201, ok.text


def test_fixture_list_is_complete() -> None:
    names = {c.id for c in fixture_cases()}
    assert names == {p.name for p in BAD.glob("run_*")}, sorted(os.listdir(BAD))


def test_the_ir_metadata_header_is_stored_and_shown(server: Server, benchmark: str) -> None:
    header = (
        "# ir_metadata.start\n# tag: bm25-<b>bold</b>\n# method:\n#   retrieval:\n"
        "#   - {name: bm25, k1: 0.9, b: 0.4}\n# platform: {software: {libraries: {pyserini: 1.6.0}}}\n"
        "# ir_metadata.end\n"
    )
    with server.client("alice") as alice:
        response = alice.post(
            f"/api/v1/benchmarks/{benchmark}/runs",
            data={"name": "with-header"},
            files={"file": ("r.txt", (header + GOOD_LINE).encode(), "text/plain")},
        )
        assert response.status_code == 201, response.text
        run = response.json()
        expected = {
            "tag": "bm25-<b>bold</b>",
            "method": {"retrieval": [{"name": "bm25", "k1": 0.9, "b": 0.4}]},
            "platform": {"software": {"libraries": {"pyserini": "1.6.0"}}},
        }
        assert run["ir_metadata"] == expected
        assert alice.get(f"/api/v1/runs/{run['id']}").json()["ir_metadata"] == expected
        page = alice.get(f"/runs/{run['id']}").text
        assert (
            'id="ir-metadata"' in page and "tag: bm25-&lt;b&gt;bold&lt;/b&gt;" in page and "k1: 0.9" in page
        )
        plain = alice.post(
            f"/api/v1/benchmarks/{benchmark}/runs",
            data={"name": "no-header"},
            files={"file": ("r.txt", GOOD_LINE.encode(), "text/plain")},
        )
        assert plain.status_code == 201 and plain.json()["ir_metadata"] is None
        assert 'id="ir-metadata"' not in alice.get(f"/runs/{plain.json()['id']}").text

"""The web layer's pure pieces, without a server: charts, the response cache, error mapping, parsing."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

from api.auth import parse_bearer
from api.cache import ResponseCache
from api.charts import difference_chart, nice_limit
from api.errors import STATUS, problems_of, status_of
from api.uploads import build_upload
from api.views import parse_run_ids
from ragbench.errors import (
    AuthError,
    ConflictError,
    FormatError,
    InputError,
    MeasureError,
    NotFoundError,
    PermissionDenied,
    RagbenchError,
    TooLargeError,
)
from ragbench.formats.problems import Problem


def test_chart_bars_are_sorted_and_labelled() -> None:
    svg = str(
        difference_chart(
            {"q1": -0.2, "q2": 0.5, "q3": 0.0, "q4": 0.1}, measure="AP", run_label="A", baseline_label="B"
        )
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    bars = re.findall(r'<rect class="bar" x="([\d.]+)".*?<title>topic (\w+): ([+-][\d.]+)</title>', svg)
    assert [q for _, q, _ in bars] == ["q2", "q4", "q3", "q1"]  # largest gain first
    assert [float(x) for x, _, _ in bars] == sorted(float(x) for x, _, _ in bars)
    assert "Δ AP" in svg and "topics, sorted by difference (n = 4)" in svg and "+0.5" in svg


def test_chart_escapes_every_text() -> None:
    evil = "<script>alert(1)</script>"
    svg = str(
        difference_chart({evil: 0.3, 'x" onload="y': -0.1}, measure=evil, run_label=evil, baseline_label=evil)
    )
    assert "<script" not in svg and "&lt;script&gt;" in svg and 'x" onload' not in svg
    assert "no topics" in str(difference_chart({}, measure="AP", run_label="a", baseline_label="b"))


@pytest.mark.parametrize(
    ("value", "limit"),
    [(0.0, 0.01), (0.003, 0.01), (0.3, 0.5), (0.51, 1.0), (1.0, 1.0), (1.7, 2.0), (3.2, 5.0), (12.0, 20.0)],
)
def test_nice_limit(value: float, limit: float) -> None:
    assert nice_limit(value) == pytest.approx(limit)


def test_every_ragbench_error_has_one_status() -> None:
    cases = {
        FormatError([Problem("run", 3, "bad")]): 400,
        TooLargeError("x"): 413,
        NotFoundError("x"): 404,
        PermissionDenied("x"): 403,
        AuthError("x"): 401,
        ConflictError("x"): 409,
        InputError("x"): 422,
        MeasureError("x"): 422,
        RagbenchError("x"): 400,
    }
    assert {type(e): status_of(e) for e in cases} == {type(e): s for e, s in cases.items()}
    classes = [cls for cls, _ in STATUS]
    for i, cls in enumerate(classes):  # first match wins: no class may follow one of its bases
        assert not any(issubclass(cls, base) for base in classes[:i]), cls
    problems = problems_of(FormatError([Problem("run", 3, "bad", column=2)]))
    assert problems == [{"file": "run", "line": 3, "column": 2, "message": "bad", "severity": "error"}]


def test_parse_bearer() -> None:
    assert parse_bearer(None) is None
    assert parse_bearer("Bearer rb_abc") == "rb_abc" and parse_bearer("bearer  rb_abc ") == "rb_abc"
    for bad in ("", "Bearer", "Basic abc", "rb_abc"):
        with pytest.raises(AuthError):
            parse_bearer(bad)


def test_upload_fields_are_checked() -> None:
    upload = build_upload(b"x", {"name": " bm25 ", "metadata": '{"k1": 0.9}', "url": ""}, "r.txt")
    assert (upload.name, upload.metadata, upload.url, upload.filename) == ("bm25", {"k1": 0.9}, None, "r.txt")
    for fields in ({}, {"name": " "}, {"name": "a", "metadata": "[1]"}, {"name": "a", "metadata": "{"}):
        with pytest.raises(InputError):
            build_upload(b"x", fields, None)


def test_parse_run_ids() -> None:
    assert parse_run_ids("1, 2,3") == [1, 2, 3]
    for bad in ("1", "1,1", "a,b", "1;2", ",".join(map(str, range(1, 30)))):
        with pytest.raises(InputError):
            parse_run_ids(bad)


def test_cache_computes_once_for_concurrent_readers_and_drops_entries_on_writes() -> None:
    calls = []

    def compute() -> dict[str, int]:
        calls.append(threading.get_ident())
        time.sleep(0.05)
        return {"n": len(calls)}

    async def scenario() -> None:
        cache = ResponseCache(ttl=60)
        bodies = await asyncio.gather(*(cache.json_response("k", compute) for _ in range(20)))
        assert {b.content for b in bodies} == {b'{"n":1}'} and len(calls) == 1
        assert (await cache.json_response("k", compute)).content == b'{"n":1}'
        cache.invalidate()
        assert (await cache.json_response("k", compute)).content == b'{"n":2}'
        generation = cache.generation
        cache.invalidate()
        cache.put("k", b"stale", generation)  # computed before the write: not kept
        assert (await cache.json_response("k", compute)).content == b'{"n":3}'

    asyncio.run(scenario())


def test_cache_serves_an_expired_entry_while_it_refreshes() -> None:
    async def scenario() -> None:
        cache = ResponseCache(ttl=0.0)
        values = iter(range(100))
        first = await cache.json_response("k", lambda: next(values))
        second = await cache.json_response("k", lambda: next(values))  # expired: old value, refresh started
        assert (first.content, second.content) == (b"0", b"0")
        await asyncio.sleep(0.2)
        assert (await cache.json_response("k", lambda: next(values))).content == b"1"

        def fail() -> None:
            raise NotFoundError("gone")

        with pytest.raises(NotFoundError):
            await cache.json_response("missing", fail)

    asyncio.run(scenario())


def test_every_operation_lists_its_error_statuses() -> None:
    """A new endpoint without an entry in ``STATUSES`` would turn /schema/openapi.json into a 500."""
    from pathlib import Path

    from api.openapi import STATUSES

    controllers = Path(__file__).parents[3] / "api" / "controllers"
    ids = {m for f in controllers.glob("*.py") for m in re.findall(r'operation_id="(\w+)"', f.read_text())}
    assert len(ids) > 10
    assert ids - set(STATUSES) == set()

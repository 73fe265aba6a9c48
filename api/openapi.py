"""The OpenAPI document as the API really answers, and the Swagger page served without a CDN.

Litestar documents errors as ``{status_code, detail, extra}`` and only the 400 of its own
validation; this API answers every error as ``{"detail", "problems"}`` (:mod:`api.errors`) with
the statuses of :data:`STATUSES`. :func:`document` rewrites the generated schema once: an
``ErrorBody`` component, every error status of every operation (401 for a bad token, 429 for a
rate limit and 503 while the database is away apply to all of them, with ``Retry-After``), the
202 of a queued submission. A schemathesis run in the tests (``tests/integration/api/
test_openapi.py``) checks the server against this document: no 5xx, no undocumented status,
no body or header that breaks its schema.

The Swagger page (``/schema``, ``/schema/swagger``) loads Swagger UI from ``/static/swagger/``
(the files of the ``swagger-ui-bundle-v2`` package: Swagger UI 5, which reads OpenAPI 3.1) and
starts it from ``/static/swagger-init.js``: no third-party host, no inline script, so it works
under the strict CSP of :mod:`api.security`.
"""

from __future__ import annotations

import copy
import threading
from html import escape
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

ERROR = {"$ref": "#/components/schemas/ErrorBody"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file", "line", "column", "message", "severity"],
    "properties": {
        "file": {"type": "string", "description": "the file or request part at fault"},
        "line": {"type": "integer", "description": "1-based line; 0: the whole file or field"},
        "column": {"type": "integer", "description": "1-based column; 0: the whole line"},
        "message": {"type": "string"},
        "severity": {"type": "string", "enum": ["error", "warning"]},
    },
}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["detail", "problems"],
    "properties": {
        "detail": {"type": "string", "description": "what went wrong, in one sentence"},
        "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
    },
}
MEANING = {
    400: "Malformed request or file (problems name each line), or a parameter out of its bounds",
    401: "No token where one is needed, or an unknown, revoked or expired token",
    403: "Signed in, but not allowed (not an admin, not the run's owner)",
    404: "No such benchmark, run, user or token",
    409: "Conflicts with what is stored (a name taken, the same file twice)",
    413: "The request body is larger than RAGBENCH_MAX_UPLOAD_BYTES",
    415: "Unsupported content type",
    422: "Well-formed but unusable (a bad measure, metadata, run shape on a hidden benchmark)",
    429: "A rate limit or a submission quota is used up; Retry-After says when to try again",
    503: "The database cannot be reached; Retry-After says when to try again",
}
COMMON = (400, 401, 429, 503)
ADMIN_WRITE = (*COMMON, 403, 404, 409, 413, 422)
STATUSES: dict[str, tuple[int, ...]] = {
    "ListBenchmarks": COMMON,
    "GetBenchmark": (*COMMON, 404),
    "CreateBenchmark": (*COMMON, 403, 409, 413, 422),
    "AddQrelsVersion": ADMIN_WRITE,
    "AddSessions": ADMIN_WRITE,
    "AddSessionQrelsVersion": ADMIN_WRITE,
    "SetBenchmarkVisibility": (*COMMON, 403, 404, 413, 422),
    "GetLeaderboard": (*COMMON, 404, 422),
    "SubmitRun": (*COMMON, 404, 409, 413, 415, 422),
    "GetRun": (*COMMON, 404),
    "GetRunScores": (*COMMON, 404),
    "DeleteRun": (*COMMON, 403, 404),
    "CompareRuns": (*COMMON, 404, 422),
    "ListTokens": (*COMMON, 403, 404),
    "CreateToken": (*COMMON, 403, 404, 413, 422),
    "RevokeToken": (*COMMON, 403, 404),
    "RequestJudging": ADMIN_WRITE,
    "GetJudgeJob": (*COMMON, 404),
    "AddJudgedQrels": ADMIN_WRITE,
    "GetJudgeLeaderboard": (*COMMON, 404, 422),
    "DrawBattles": ADMIN_WRITE,
    "CreateBattle": ADMIN_WRITE,
    "NextBattle": (*COMMON, 403, 404),
    "GetBattle": (*COMMON, 404),
    "CastVote": (*COMMON, 403, 404, 409, 413, 422),
    "RetractVote": (*COMMON, 403, 404, 409, 413),
    "GetArenaRatings": (*COMMON, 404, 422),
    "GetArenaStyleControl": (*COMMON, 404, 422),
    "GetArenaAgreement": (*COMMON, 404, 422),
    "ExportArenaVotes": (*COMMON, 403, 404),
    "ImportArenaVotes": ADMIN_WRITE,
    "AddNuggetSet": ADMIN_WRITE,
    "GetNuggetSet": (*COMMON, 403, 404, 422),
    "ListSuites": COMMON,
    "CreateSuite": (*COMMON, 403, 409, 413, 422),
    "GetSuite": (*COMMON, 404),
    "GetSuiteLeaderboard": (*COMMON, 404, 422),
    "GetSuiteReproduction": (*COMMON, 404),
}
"""Every status other than success each operation answers (by operation id)."""
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of Litestar's generated schema with this API's error bodies and statuses.

    Raises:
        KeyError: an operation has no entry in :data:`STATUSES` (a new endpoint must list its
            statuses there).
    """
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ERROR_SCHEMA
    components["Problem"] = PROBLEM_SCHEMA
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status in [s for s in responses if not s.startswith("2")]:
                del responses[status]
            for status in STATUSES[operation["operationId"]]:
                entry: dict[str, Any] = {
                    "description": MEANING[status],
                    "content": {"application/json": {"schema": ERROR}},
                }
                if status in (429, 503):
                    entry["headers"] = RETRY_AFTER
                responses[str(status)] = entry
            if operation["operationId"] == "ExportArenaVotes" and "200" in responses:
                text = {"schema": {"type": "string"}}
                responses["200"]["content"] = {"application/x-ndjson": text, "text/csv": text}
                responses["200"]["description"] = "The vote log: one JSON object per line, or CSV"
            if operation["operationId"] == "SubmitRun" and "201" in responses:
                responses["202"] = {
                    **copy.deepcopy(responses["201"]),
                    "description": "Stored; too large to score in the request, so queued for the worker",
                }
                responses["201"]["description"] = "Stored and scored"
    return schema


class DocumentedJsonPlugin(OpenAPIRenderPlugin):
    """Serves ``/schema/openapi.json``: the generated schema passed through :func:`document`."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type="application/vnd.oai.openapi+json")  # type: ignore[arg-type]
        self._documented: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        with self._lock:
            if self._documented is None:
                self._documented = document(openapi_schema)
        return self.render_json(request, self._documented)


SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
<noscript><p>This page needs JavaScript. The schema itself is at <a href="{spec}">{spec}</a>.</p></noscript>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


class LocalSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI from this server's own static files, started without inline script."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"])

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        spec = escape(self.get_openapi_json_route(request))
        return SWAGGER_PAGE.format(title=title, spec=spec).encode()


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's files (the ``swagger-ui-bundle-v2`` package), None without it."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return Path(str(swagger_ui_path))

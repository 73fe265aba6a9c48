"""Errors to HTTP, in one place: the status of every error and the body that carries it.

API responses (``/api/...``, ``/schema``) are JSON ``{"detail": str, "problems": [...]}``, where
each problem is ``{"file", "line", "column", "message", "severity"}`` (malformed files name every
line at fault). Pages get the same status with a small HTML page. Anything that is neither a
:class:`~ragbench.errors.RagbenchError` nor a Litestar HTTP exception is a bug: it is logged with
its traceback and answered 500 without details.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from ragbench.errors import (
    AuthError,
    ConflictError,
    FormatError,
    InputError,
    NotFoundError,
    PermissionDenied,
    QuotaExceeded,
    RagbenchError,
    TooLargeError,
)

log = logging.getLogger("ragbench.api")

STATUS: tuple[tuple[type[RagbenchError], int], ...] = (
    (FormatError, 400),  # before InputError, its base
    (TooLargeError, 413),
    (NotFoundError, 404),
    (PermissionDenied, 403),
    (AuthError, 401),
    (ConflictError, 409),
    (QuotaExceeded, 429),
    (InputError, 422),
)
"""First match wins, so subclasses come before their bases; any other RagbenchError is a 400."""

JSON_PREFIXES = ("/api/", "/schema")


def status_of(exc: RagbenchError) -> int:
    """The HTTP status of a ragbench error (see :data:`STATUS`; 400 when none matches)."""
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def problems_of(exc: BaseException) -> list[dict[str, Any]]:
    """The ``problems`` list of an error body: the file problems of a FormatError, the fields of a
    Litestar validation error, else empty."""
    if isinstance(exc, FormatError):
        return [p.to_dict() for p in exc.problems]
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        return [_field_problem(item) for item in exc.extra if isinstance(item, dict)]
    return []


def _field_problem(item: dict[str, Any]) -> dict[str, Any]:
    where = " ".join(str(getattr(item[k], "value", item[k])) for k in ("source", "key") if item.get(k))
    message = str(item.get("message", "invalid value"))
    return {
        "file": "<request>",
        "line": 0,
        "column": 0,
        "message": f"{where}: {message}" if where else message,
        "severity": "error",
    }


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path.startswith(JSON_PREFIXES) or path == "/api"


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    problems: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """The response for an error: JSON for the API, an HTML page for the web pages."""
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="ragbench"'}
    if _wants_json(request):
        return Response(
            {"detail": detail, "problems": problems},
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    return Template(
        template_name="error.html",
        context={"status": status, "detail": detail, "problems": problems},
        status_code=status,
        headers=headers,
    )


def ragbench_error_handler(request: Request[Any, Any, Any], exc: RagbenchError) -> Response[Any]:
    """Every error a user can cause, by :data:`STATUS`."""
    headers = None
    if isinstance(exc, QuotaExceeded) and exc.retry_after is not None:
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(request, status_of(exc), str(exc), problems_of(exc), headers=headers)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors (validation 400, 401, 404 route, 405, 413 body too large, ...)."""
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
        return error_response(request, status, "internal server error", [])
    detail = exc.detail
    if isinstance(exc, NotAuthorizedException) and detail == "Unauthorized":
        detail = "authentication required: send 'Authorization: Bearer <token>'"
    if status == 413:
        detail = _too_large_detail(request)
    return error_response(request, status, detail, problems_of(exc), headers=exc.headers)


def _too_large_detail(request: Request[Any, Any, Any]) -> str:
    try:
        limit = request.route_handler.resolve_request_max_body_size()
    except Exception:  # no route resolved: say what we can
        limit = None
    return f"request body too large: the limit is {limit} bytes" if limit else "request body too large"


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: log it with the traceback, answer 500 without leaking anything."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR, "internal server error", [])


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    RagbenchError: ragbench_error_handler,
    HTTPException: http_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
"""Passed to ``Litestar(exception_handlers=...)``."""

"""Security headers on every response, and rate limits per client.

Headers (``before_send``, so every response gets them: API, pages, static files, errors raised
before any route matched): a strict Content-Security-Policy that the pages pass (no inline
script or style anywhere; the Swagger page loads its assets from ``/static/swagger/`` and its
start-up script from ``/static/swagger-init.js``), ``X-Content-Type-Options: nosniff``,
``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin``.

Rate limits (Litestar's :class:`~litestar.middleware.rate_limit.RateLimitMiddleware`, a fixed
window per minute): per client, where a client is its bearer token (hashed) when it sends one,
else its IP address. Endpoints that compute statistics (:data:`EXPENSIVE`: ``/api/v1/compare``,
the ``/compare`` page, a benchmark's ``/significance`` matrix page and the arena's ratings)
have a bucket of their own with a much smaller limit (``RAGBENCH_RATE_LIMIT_EXPENSIVE``, default
30 a minute); everything else shares the general one (``RAGBENCH_RATE_LIMIT``, default 1,200 a
minute). A flood of expensive requests then meets 429s (with ``Retry-After``) early, and does not use up the
client's allowance for cheap reads. Behind a proxy every client has the proxy's address: run
uvicorn with ``--proxy-headers`` and ``--forwarded-allow-ips`` so that the client's own address is used.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.types import Message, Scope

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
"""The Content-Security-Policy of every response (docs/security.md)."""
HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
EXPENSIVE = re.compile(
    r"^/(api/v1/)?compare/?$|^/benchmarks/[^/]+/significance/?$"
    r"|^/(api/v1/)?benchmarks/[^/]+/arena(/ratings|/style|/agreement)?/?$"
)
"""Paths whose answers compute statistics on request (paired tests, bootstrap CIs)."""


async def add_security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: set :data:`HEADERS` on the start of every HTTP response."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in HEADERS.items():
            headers[name] = value


def client_of(request: Request[Any, Any, Any]) -> str:
    """Who a request counts against: its bearer token (hashed, never stored plain), else its IP."""
    authorization = request.headers.get("authorization")
    if authorization:
        return "token:" + hashlib.sha256(authorization.strip().encode()).hexdigest()[:32]
    return "ip:" + (request.client.host if request.client else "unknown")


class ExpensiveRateLimitMiddleware(RateLimitMiddleware):
    """The same middleware with a bucket of its own (Litestar keys buckets by the class name)."""


def _is_expensive(request: Request[Any, Any, Any]) -> bool:
    return bool(EXPENSIVE.match(request.url.path))


def _is_cheap(request: Request[Any, Any, Any]) -> bool:
    return not _is_expensive(request)


def rate_limit_middleware(per_minute: int, expensive_per_minute: int) -> list[DefineMiddleware]:
    """The two rate limiters (a limit of 0 leaves its bucket unlimited)."""
    middleware = []
    if per_minute:
        middleware.append(
            RateLimitConfig(
                rate_limit=("minute", per_minute),
                identifier_for_request=client_of,
                check_throttle_handler=_is_cheap,
                exclude=["^/static/"],
            ).middleware
        )
    if expensive_per_minute:
        middleware.append(
            RateLimitConfig(
                rate_limit=("minute", expensive_per_minute),
                identifier_for_request=client_of,
                check_throttle_handler=_is_expensive,
                middleware_class=ExpensiveRateLimitMiddleware,
            ).middleware
        )
    return middleware

"""Bearer tokens and guards.

The middleware turns ``Authorization: Bearer <token>`` into a :class:`~api.deps.Principal` through
:func:`ragbench.store.service.authenticate` (in a thread: it queries the database and records the
token's last use). Without the header the request is anonymous (``scope["user"] = None``); a bad or
revoked token is a 401 even on a read. The web pages (every path outside ``/api``) also accept the
signed ``rb_user`` cookie that ``POST /signin`` sets (:mod:`api.cookies`); the REST API does not,
so a cookie can never act on the API. Guards then require a member (any signed-in user) or an
admin.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api.deps import Database, Principal
from ragbench.errors import AuthError, PermissionDenied

BEARER = "bearer"


def parse_bearer(header: str | None) -> str | None:
    """The token of an ``Authorization`` header, None when the header is absent.

    Raises:
        AuthError: the header is present but is not ``Bearer <token>``.
    """
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != BEARER or not token:
        raise AuthError("malformed Authorization header: expected 'Bearer <token>'")
    return token


def _signed_in(db: Database, user_id: int) -> Principal | None:
    from ragbench.store.models import User

    with db.begin() as (session, _):
        user = session.get(User, user_id)
        return None if user is None else Principal(id=user.id, name=user.name, role=user.role)


def _authenticate(db: Database, token: str) -> Principal:
    from ragbench.store.service import authenticate

    with db.begin() as (session, _):
        user = authenticate(session, token)
        return Principal(id=user.id, name=user.name, role=user.role)


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """Sets ``scope["user"]`` to the token's :class:`Principal`, or None when no token was sent."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Authenticate one request (anonymous when there is no ``Authorization`` header)."""
        token = parse_bearer(connection.headers.get("authorization"))
        db: Database = connection.app.state.db
        if token is None:
            return AuthenticationResult(user=await _page_user(connection, db), auth=None)
        principal = await anyio.to_thread.run_sync(_authenticate, db, token)
        return AuthenticationResult(user=principal, auth=token)


async def _page_user(connection: ASGIConnection[Any, Any, Any, Any], db: Database) -> Principal | None:
    """The user of a page request's ``rb_user`` cookie (None: none, forged, expired, or an API path)."""
    from api.cookies import USER_COOKIE

    signer = getattr(connection.app.state, "signer", None)
    if signer is None or connection.url.path.startswith("/api"):
        return None
    value = signer.unsign(USER_COOKIE, connection.cookies.get(USER_COOKIE))
    if value is None or not value.isdecimal():
        return None
    principal: Principal | None = await anyio.to_thread.run_sync(_signed_in, db, int(value))
    return principal


def _principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException()
    return user


def requires_member(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: any signed-in user (401 otherwise)."""
    _principal(connection)


def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: an admin (401 when anonymous, 403 for a member)."""
    if not _principal(connection).is_admin:
        raise PermissionDenied("this needs an admin token")

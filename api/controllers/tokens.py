"""``/api/v1/tokens`` (admins only): list tokens with their last use and expiry, create, revoke.

The token itself is shown once, in the answer to its creation; listings show its first 8
characters (``prefix``), never the token or its hash.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import Parameter

from api.auth import requires_admin
from api.bounds import TokenId, parse_id
from api.deps import Database, Principal
from api.dto import TokenCreate, TokenCreated, TokenRead
from ragbench.store import service


class TokenController(Controller):
    """API tokens of every user (admin only)."""

    path = "/api/v1/tokens"
    tags = ("Tokens",)
    guards = [requires_admin]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(operation_id="ListTokens", sync_to_thread=True)
    def list_tokens(
        self,
        db: Database,
        principal: Principal,
        user: Annotated[str | None, Parameter(description="only this user's tokens", max_length=100)] = None,
    ) -> list[TokenRead]:
        """Every token (of ``user``): prefix, created, last used (to the minute), expiry, revoked."""
        with db.begin(principal) as (s, _):
            return [TokenRead.from_info(t) for t in service.list_tokens(s, user)]

    @post(operation_id="CreateToken", sync_to_thread=True)
    def create_token(self, db: Database, principal: Principal, data: TokenCreate) -> TokenCreated:
        """A new token for ``user``, valid ``days`` days (default ``RAGBENCH_TOKEN_DAYS``; 0: no
        expiry); the answer is the only place the token is ever shown."""
        with db.begin(principal) as (s, _):
            token = service.create_token(s, data.user, data.days)
            info = next(t for t in reversed(service.list_tokens(s, data.user)) if token.startswith(t.prefix))
            return TokenCreated(token=token, info=TokenRead.from_info(info))

    @delete("/{token_id:str}", operation_id="RevokeToken", sync_to_thread=True)
    def revoke_token(self, db: Database, principal: Principal, token_id: TokenId) -> None:
        """Revoke a token (it answers 401 from now on; revoking twice is harmless)."""
        with db.begin(principal) as (s, _):
            service.revoke_tokens(s, token_id=parse_id(token_id, "token"))

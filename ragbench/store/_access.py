"""Users and API tokens.

A token is ``rb_`` plus 43 URL-safe random characters (256 bits). Only its sha256 (hex) is
stored, with its first 8 characters for listings; the plain token is returned once by
:func:`create_token` and cannot be recovered. Tokens expire (``RAGBENCH_TOKEN_DAYS``, default
365 days; 0: never) and can be listed (:func:`list_tokens`: prefix, created, last used, expiry)
and revoked (:func:`revoke_tokens`) by an admin, from the CLI or the REST API.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragbench.errors import AuthError, ConflictError, InputError, NotFoundError
from ragbench.settings import get_settings
from ragbench.store._common import check_id, now
from ragbench.store.models import ROLES, ApiToken, User

TOKEN_PREFIX = "rb_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often, so reading with a token is not a write each time."""
MAX_NAME = 100
LOCAL_ADMIN = "admin"


def hash_token(token: str) -> str:
    """The sha256 (hex) of a token: what is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise InputError("a user name must not be empty")
    if len(name) > MAX_NAME:
        raise InputError(f"a user name has at most {MAX_NAME} characters")
    if not name.isprintable():
        raise InputError(f"user name {name!r} contains control characters")
    return name


def user_by_name(s: Session, name: str) -> User:
    """The user called ``name``.

    Raises:
        NotFoundError: there is none.
    """
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(f"no user {name!r}")
    return user


def create_user(s: Session, name: str, role: str = "member") -> User:
    """Add a user.

    Args:
        s: The session; the caller commits.
        name: Unique, 1 to 100 printable characters (leading and trailing blanks dropped).
        role: ``"member"`` (default) or ``"admin"``.

    Raises:
        InputError: a bad name or role.
        ConflictError: the name is taken.
    """
    name = _check_name(name)
    if role not in ROLES:
        raise InputError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if s.scalar(select(User.id).where(User.name == name)) is not None:
        raise ConflictError(f"user {name!r} exists")
    user = User(name=name, role=role, created_at=now())
    s.add(user)
    try:
        s.flush()
    except IntegrityError:  # created by a concurrent request since the check above
        raise ConflictError(f"user {name!r} exists") from None
    return user


MAX_TOKEN_DAYS = 36_500


def create_token(s: Session, user_name: str, days: int | None = None) -> str:
    """Create an API token for a user and return it; only its hash is stored.

    Args:
        s: The session; the caller commits.
        user_name: Whom the token acts as.
        days: Days it is valid (None: ``RAGBENCH_TOKEN_DAYS``; 0: it never expires).

    Raises:
        NotFoundError: no such user.
        InputError: ``days`` is negative or more than 100 years.
    """
    user = user_by_name(s, user_name)
    days = get_settings().token_days if days is None else days
    if not 0 <= days <= MAX_TOKEN_DAYS:
        raise InputError(f"a token is valid for 0 (no expiry) to {MAX_TOKEN_DAYS} days, not {days}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = now()
    s.add(
        ApiToken(
            user_id=user.id,
            prefix=token[:8],
            token_hash=hash_token(token),
            created_at=created,
            expires_at=created + timedelta(days=days) if days else None,
        )
    )
    s.flush()
    return token


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a token (never the token or its hash).

    Attributes:
        id: Its id (``revoke_tokens(..., token_id=)``).
        user: Whom it acts as.
        prefix: Its first 8 characters, as printed when it was created.
        created_at: When it was created (UTC).
        last_used_at: When it last authenticated a request (to the minute), or None.
        expires_at: When it stops working, or None (never).
        revoked: Whether it was revoked.
    """

    id: int
    user: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool

    @property
    def active(self) -> bool:
        """Neither revoked nor expired."""
        return not self.revoked and (self.expires_at is None or self.expires_at > now())


def list_tokens(s: Session, user_name: str | None = None) -> list[TokenInfo]:
    """Every token (of ``user_name`` when given), oldest first.

    Raises:
        NotFoundError: no such user.
    """
    query = select(ApiToken, User.name).join(User, ApiToken.user_id == User.id).order_by(ApiToken.id)
    if user_name is not None:
        query = query.where(ApiToken.user_id == user_by_name(s, user_name).id)
    return [
        TokenInfo(t.id, name, t.prefix, t.created_at, t.last_used_at, t.expires_at, bool(t.revoked))
        for t, name in s.execute(query)
    ]


def revoke_tokens(
    s: Session, user_name: str | None = None, *, token_id: int | None = None, prefix: str | None = None
) -> list[TokenInfo]:
    """Revoke a user's tokens: all of them, or the one with ``token_id`` or ``prefix``.

    Returns:
        The tokens revoked now (already revoked ones are left out).

    Raises:
        InputError: neither a user nor a token id was given.
        NotFoundError: no such user, or no such token (of that user).
    """
    if user_name is None and token_id is None:
        raise InputError("name a user or a token to revoke")
    query = select(ApiToken)
    if user_name is not None:
        query = query.where(ApiToken.user_id == user_by_name(s, user_name).id)
    if token_id is not None:
        query = query.where(ApiToken.id == check_id(token_id, "token"))
    if prefix is not None:
        query = query.where(ApiToken.prefix == prefix)
    tokens = list(s.scalars(query))
    if not tokens and (token_id is not None or prefix is not None):
        raise NotFoundError(f"no token {token_id if token_id is not None else prefix!r}")
    revoked = [t for t in tokens if not t.revoked]
    for token in revoked:
        token.revoked = True
    s.flush()
    ids = {t.id for t in revoked}
    return [info for info in list_tokens(s) if info.id in ids]


def authenticate(s: Session, token: str) -> User:
    """The user an API token belongs to; notes when the token was last used.

    Raises:
        AuthError: no token, or an unknown, revoked or expired one.
    """
    token = (token or "").strip()
    if not token:
        raise AuthError("missing API token")
    found = s.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if found is None:
        raise AuthError("unknown API token")
    api_token, user = found
    if api_token.revoked:
        raise AuthError("this API token has been revoked")
    moment = now()
    if api_token.expires_at is not None and api_token.expires_at <= moment:
        raise AuthError(f"this API token expired on {api_token.expires_at:%Y-%m-%d %H:%M} UTC")
    if api_token.last_used_at is None or moment - api_token.last_used_at >= LAST_USED_RESOLUTION:
        api_token.last_used_at = moment
    return user


def local_admin(s: Session) -> User:
    """An admin for commands run on the server itself (the CLI): the first admin, or a new
    user ``admin`` when there is none.

    Raises:
        ConflictError: there is no admin and the name ``admin`` belongs to a member.
    """
    admin = s.scalar(select(User).where(User.role == "admin").order_by(User.id).limit(1))
    if admin is not None:
        return admin
    return create_user(s, LOCAL_ADMIN, role="admin")

"""Users and API tokens.

A token is ``rb_`` plus 43 URL-safe random characters (256 bits). Only its sha256 (hex) is
stored, with its first 8 characters for listings; the plain token is returned once by
:func:`create_token` and cannot be recovered.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ragbench.errors import AuthError, ConflictError, InputError, NotFoundError
from ragbench.store._common import now
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


def create_token(s: Session, user_name: str) -> str:
    """Create an API token for a user and return it; only its hash is stored.

    Raises:
        NotFoundError: no such user.
    """
    user = user_by_name(s, user_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    s.add(ApiToken(user_id=user.id, prefix=token[:8], token_hash=hash_token(token), created_at=now()))
    s.flush()
    return token


def authenticate(s: Session, token: str) -> User:
    """The user an API token belongs to; notes when the token was last used.

    Raises:
        AuthError: no token, or an unknown or revoked one.
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

"""What handlers receive: the database (one transaction per use) and the authenticated principal.

Handlers are synchronous and run in Litestar's thread pool, so the blocking SQLAlchemy session,
its queries and its commit never run on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.datastructures import State

from api.cache import ResponseCache
from api.worker import ScoringWorker
from ragbench.errors import AuthError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from ragbench.store.models import User


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sent the request, as read from the bearer token (not an ORM object: it outlives sessions).

    Attributes:
        id: The user's id.
        name: The user's name.
        role: ``"admin"`` or ``"member"``.
    """

    id: int
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Whether the principal may administer benchmarks."""
        return self.role == "admin"


class Database:
    """The application's session factory, handing out one transaction at a time."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    @contextmanager
    def begin(self, principal: Principal | None = None) -> Iterator[tuple[Session, User | None]]:
        """Open a session in a transaction, committed on success and rolled back on error.

        Args:
            principal: The requester, loaded as a ``User`` of this session (None: anonymous).

        Yields:
            ``(session, actor)``: the session and the requester's ``User`` (or None).

        Raises:
            AuthError: the principal's user no longer exists.
        """
        from ragbench.store.models import User

        with self.factory.begin() as session:
            actor = None
            if principal is not None:
                actor = session.get(User, principal.id)
                if actor is None:
                    raise AuthError("the token's user no longer exists")
            yield session, actor


def provide_db(state: State) -> Database:
    """Dependency: the app's :class:`Database`."""
    db: Database = state.db
    return db


def provide_worker(state: State) -> ScoringWorker:
    """Dependency: the app's background scoring worker (to wake it after a pending submission)."""
    worker: ScoringWorker = state.worker
    return worker


def provide_cache(state: State) -> ResponseCache:
    """Dependency: the app's cache of hot public reads."""
    cache: ResponseCache = state.cache
    return cache


def provide_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """Dependency: the authenticated principal, or None for an anonymous request."""
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None

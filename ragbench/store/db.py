"""Engines, sessions and migrations.

The schema is created and changed only by Alembic (``migrations/`` beside the package, found from
the package's path, so no working directory is assumed): :func:`upgrade` applies the migrations
and :func:`schema_is_current` tells whether a database is at the latest one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ragbench.errors import MissingExtraError, RagbenchError
from ragbench.settings import get_settings

if TYPE_CHECKING:
    from alembic.config import Config

NOT_MIGRATED = "database is not migrated: run `ragbench db upgrade`"
"""The message the service refuses to start with when :func:`schema_is_current` is false."""
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long an SQLite writer waits for another one to commit before giving up."""


def migrations_dir() -> Path:
    """The Alembic environment: ``migrations/`` at the root of the (editable) checkout.

    Raises:
        RagbenchError: the folder is missing (ragbench was installed without its sources).
    """
    path = Path(__file__).resolve().parents[2] / "migrations"
    if not (path / "env.py").is_file():
        raise RagbenchError(
            f"the database migrations are not at {path}; install ragbench from a checkout "
            "(pip install -e .) to manage a database"
        )
    return path


def _sqlite_file_url(url: str) -> str:
    """Expand ``~`` in an SQLite file URL and create its folder."""
    parsed = make_url(url)
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Enforce foreign keys (their ON DELETE CASCADE), let readers run beside one writer (WAL),
    # and make a writer wait for another one instead of failing at once.
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


def make_engine(url: str | None = None, **options: Any) -> Engine:
    """An engine for ``url`` (default: ``RAGBENCH_DATABASE_URL`` from the settings).

    SQLite files get ``~`` expanded, their folder created, foreign keys enforced, WAL journaling
    and a 30 s busy timeout. PostgreSQL connections are checked before use (``pool_pre_ping``).

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:////tmp/rb.db`` or ``postgresql+psycopg://u:p@h/db``.
        **options: Passed on to :func:`sqlalchemy.create_engine`.
    """
    url = url or get_settings().database_url
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        url = _sqlite_file_url(url)
        options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(url, **options)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit (``expire_on_commit=False``).

    Use one session per request or per thread, and one transaction per write::

        with factory() as s, s.begin():
            run = service.submit_run(s, user, "robust04", data, name="bm25")
    """
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration for ``url`` (default from the settings), independent of the cwd."""
    from alembic.config import Config

    folder = migrations_dir()
    config = Config(str(folder / "alembic.ini"))
    config.set_main_option("script_location", str(folder))
    # Passed as an attribute, not an ini option: configparser would read '%' in a password.
    config.attributes["url"] = url or get_settings().database_url
    return config


def head_revisions() -> set[str]:
    """The latest revision(s) of the migrations."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revision(s) the database is at (empty for a database never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the latest migration; the service refuses to start otherwise
    (with :data:`NOT_MIGRATED`)."""
    return current_revisions(engine) == head_revisions()


def display_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for another backend or an in-memory database)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser()


def ensure_default_database() -> str | None:
    """Create or migrate the default database on first use; a note saying so, or None.

    Only the zero-set-up default (``RAGBENCH_DATABASE_URL`` unset: SQLite under
    ``RAGBENCH_HOME``) is migrated here, whether new or behind: it belongs to this user alone. A
    database named in ``RAGBENCH_DATABASE_URL`` (PostgreSQL above all) is migrated only by
    ``ragbench db upgrade``.

    Raises:
        RagbenchError: the database cannot be created or migrated.
    """
    settings = get_settings()
    if settings.sources.get("database_url", "default") != "default":
        return None
    url = settings.database_url
    path = _sqlite_file(url)
    if path is None:
        return None
    new = not path.exists()
    if not new:
        with database_errors(url):
            engine = make_engine(url)
            try:
                if schema_is_current(engine):
                    return None
            finally:
                engine.dispose()
    upgrade(url)
    what = "created" if new else "migrated"
    return (
        f"ragbench: {what} the database {display_url(url)} (first use; `ragbench db upgrade` does the same)"
    )


def open_database(url: str | None = None) -> tuple[Engine, sessionmaker[Session]]:
    """An engine and a session factory for a command, on a database at the latest migration.

    An SQLite file that does not exist is not created here (it would be left behind empty); call
    :func:`ensure_default_database` first to create the default one.

    Raises:
        RagbenchError: the URL is bad, the database cannot be reached, or it is not migrated
            (:data:`NOT_MIGRATED`).
        MissingExtraError: the URL's driver is not installed (``pip install 'ragbench[postgres]'``).
    """
    url = url or get_settings().database_url
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        if path.parent.exists() and not path.parent.is_dir():
            raise RagbenchError(f"cannot open the database {display_url(url)}: {path.parent} is not a folder")
        raise RagbenchError(NOT_MIGRATED)
    with database_errors(url):
        engine = make_engine(url)
        if not schema_is_current(engine):
            engine.dispose()
            raise RagbenchError(NOT_MIGRATED)
    return engine, session_factory(engine)


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a bad URL, a missing driver or an unreachable server into a one-line RagbenchError."""
    try:
        yield
    except NoSuchModuleError as exc:
        raise MissingExtraError(f"{exc}; for PostgreSQL run: pip install 'ragbench[postgres]'") from None
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"the database driver {exc.name!r} is not installed; "
            "for PostgreSQL run: pip install 'ragbench[postgres]'"
        ) from None
    except ArgumentError as exc:
        raise RagbenchError(f"bad database URL {url!r}: {exc}") from None
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise RagbenchError(f"cannot open the database {display_url(url)}: {reason}") from None
    except OSError as exc:  # the SQLite file's folder cannot be created
        raise RagbenchError(f"cannot open the database {display_url(url)}: {exc}") from None


def upgrade(url: str | None = None) -> None:
    """Apply every migration not yet applied to ``url`` (default from the settings).

    SQLite files get their folder created first. Safe to run again: an up-to-date database is
    left as it is.
    """
    from alembic import command

    url = url or get_settings().database_url
    with database_errors(url):
        if make_url(url).get_backend_name() == "sqlite":
            url = _sqlite_file_url(url)
        command.upgrade(alembic_config(url), "head")


@contextlib.contextmanager
def scratch_postgres_database(admin_url: str, prefix: str = "ragbench_scratch") -> Iterator[str]:
    """Create an empty PostgreSQL database for tests and benchmarks; drop it on exit.

    Args:
        admin_url: a SQLAlchemy URL of a role that may create databases.
        prefix: the new database's name is ``prefix`` plus a random suffix.

    Yields:
        The new database's URL (same server and role).
    """
    import uuid

    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()

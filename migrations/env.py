"""Alembic environment of ragbench: the models' metadata, the URL from the settings.

The URL is, in order: a connection passed in ``config.attributes["connection"]``, a URL in
``config.attributes["url"]`` (what :func:`ragbench.store.db.upgrade` passes), then
``RAGBENCH_DATABASE_URL`` (or the default SQLite file). SQLite migrations run in batch mode
(copy-and-move), since SQLite's ALTER TABLE cannot change constraints.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from ragbench.settings import get_settings
from ragbench.store.db import make_engine
from ragbench.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**options: object) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True, **options)  # type: ignore[arg-type]


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``) instead of running it."""
    url = config.attributes.get("url") or get_settings().database_url
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes.get("url") or get_settings().database_url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

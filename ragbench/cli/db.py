"""The one way a command opens the database: :func:`transaction`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@contextmanager
def transaction() -> Iterator[Session]:
    """One transaction on the database of the settings (``RAGBENCH_DATABASE_URL``): committed when
    the block ends, rolled back when it raises; the engine is disposed either way.

    Raises:
        RagbenchError: the database cannot be reached or is not migrated; a bad URL.
        MissingExtraError: the ``service`` extra (SQLAlchemy) or the database driver is missing.
    """
    from ragbench.extras import require

    require("service", "sqlalchemy", "alembic")
    from ragbench.cli.console import err
    from ragbench.settings import get_settings
    from ragbench.store.db import database_errors, ensure_default_database, open_database

    note = ensure_default_database()
    if note:
        err.print(note)
    engine, factory = open_database()
    try:
        with database_errors(get_settings().database_url), factory() as s, s.begin():
            yield s
    finally:
        engine.dispose()

"""Settings of the evaluation service, read from the environment once.

:func:`get_settings` is the only reader of the environment for the store and the service; it is
cached, so tests that change a variable call ``get_settings.cache_clear()`` afterwards.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from ragbench.errors import InputError

DEFAULT_SQLITE_PATH = "~/.ragbench/ragbench.db"
DEFAULT_MAX_UPLOAD_BYTES = 200 * 2**20
DEFAULT_INLINE_SCORING_LINES = 300_000


def default_sqlite_url() -> str:
    """``sqlite:///`` plus ``~/.ragbench/ragbench.db`` with the home folder expanded.

    The folder is created by :func:`ragbench.store.db.make_engine`, not here: reading the
    settings has no side effects.
    """
    return f"sqlite:///{Path(DEFAULT_SQLITE_PATH).expanduser()}"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise InputError(f"{name}={raw!r} is not an integer") from None
    if value < 0:
        raise InputError(f"{name}={raw!r} must not be negative")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """What the store and the service are configured with.

    Attributes:
        database_url: SQLAlchemy URL (``RAGBENCH_DATABASE_URL``); default an SQLite file
            ``~/.ragbench/ragbench.db``. PostgreSQL: ``postgresql+psycopg://user:pass@host/db``.
        max_upload_bytes: Largest run upload accepted, in bytes (``RAGBENCH_MAX_UPLOAD_BYTES``,
            default 200 MiB); a larger one raises :class:`~ragbench.errors.TooLargeError` (413).
        inline_scoring_lines: Runs with up to this many lines are scored inside the request
            (``RAGBENCH_INLINE_SCORING_LINES``, default 300,000); larger ones are stored as
            ``pending`` and scored by the background worker (:func:`process_pending`).
    """

    database_url: str = field(
        default_factory=lambda: os.environ.get("RAGBENCH_DATABASE_URL", "").strip() or default_sqlite_url()
    )
    max_upload_bytes: int = field(
        default_factory=lambda: _env_int("RAGBENCH_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)
    )
    inline_scoring_lines: int = field(
        default_factory=lambda: _env_int("RAGBENCH_INLINE_SCORING_LINES", DEFAULT_INLINE_SCORING_LINES)
    )


@functools.cache
def get_settings() -> Settings:
    """The settings, read from the environment on the first call and cached.

    Raises:
        InputError: a numeric variable is not a non-negative integer.
    """
    return Settings()

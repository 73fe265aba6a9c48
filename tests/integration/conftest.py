"""Real databases for integration tests: a SQLite file, and PostgreSQL when a server is available.

PostgreSQL comes from ``RAGBENCH_TEST_POSTGRES_URL`` (a SQLAlchemy URL of a role that may create
databases; ``.ci/run`` starts Debian's server and sets it). Each test gets a database of its own,
created empty and dropped afterwards. Without the variable the PostgreSQL cases skip, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "RAGBENCH_TEST_POSTGRES_URL"


def _postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database's SQLAlchemy URL (not migrated): SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ragbench.db'}"
        return
    admin_url = _postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (.ci/run does)")
    from ragbench.store.db import scratch_postgres_database

    with scratch_postgres_database(admin_url, prefix="ragbench_test") as url:
        yield url


@pytest.fixture
def postgres_url(database_url: str) -> str:
    """Like ``database_url`` but PostgreSQL only (for tests of concurrency under a real server)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    return database_url

"""A real server for the API tests: ``ragbench serve`` (uvicorn) in a subprocess on a free port.

Each test gets a database of its own from ``database_url`` (SQLite, then PostgreSQL when
available; see ``tests/integration/conftest.py``), migrated with ``ragbench db upgrade``, with an
admin and two members (``alice``, ``bob``) created through the store service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.webserver import Server, create_users, migrate, start_server


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """``database_url`` migrated with ``ragbench db upgrade``."""
    migrate(database_url)
    return database_url


@pytest.fixture
def server_factory(migrated_url: str, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers on the migrated database: ``server_factory(RAGBENCH_X="...")`` sets variables."""
    tokens = create_users(migrated_url)
    servers: list[Server] = []

    def start(**extra_env: str) -> Server:
        server = start_server(migrated_url, tokens, tmp_path / f"server{len(servers)}.log", **extra_env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., Server]) -> Server:
    """A server with the default settings."""
    return server_factory()

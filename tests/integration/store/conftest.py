"""Fixtures of the store tests: a migrated database (SQLite, then PostgreSQL), users, a benchmark.

Every test gets an empty database of its own from ``database_url`` (tests/integration/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from ragbench.settings import get_settings
from ragbench.store import service
from ragbench.store.db import make_engine, session_factory, upgrade
from ragbench.store.models import Base, Benchmark, User

Factory = sessionmaker[Session]


@pytest.fixture(autouse=True)
def _fresh_settings_and_caches() -> Iterator[None]:
    get_settings.cache_clear()
    service.clear_tier_cache()
    yield
    get_settings.cache_clear()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test's database, migrated to the latest revision."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> Factory:
    return session_factory(engine)


@pytest.fixture
def run_in(factory: Factory) -> Callable[..., object]:
    """``run_in(fn, *args)``: call ``fn(session, *args)`` in one committed transaction."""

    def call(fn: Callable[..., object], *args: object, **kwargs: object) -> object:
        with factory() as s, s.begin():
            return fn(s, *args, **kwargs)

    return call


@pytest.fixture
def users(factory: Factory) -> dict[str, User]:
    """An admin ``root`` and members ``alice`` and ``bob``."""
    with factory() as s, s.begin():
        return {
            "root": service.create_user(s, "root", role="admin"),
            "alice": service.create_user(s, "alice"),
            "bob": service.create_user(s, "bob"),
        }


@pytest.fixture
def qrels_text(trec_eval_data: Path) -> str:
    return (trec_eval_data / "qrels.test").read_text()


@pytest.fixture
def benchmark(factory: Factory, users: dict[str, User], qrels_text: str) -> Benchmark:
    """Benchmark ``te`` on trec_eval's qrels.test with the default measures."""
    with factory() as s, s.begin():
        return service.create_benchmark(
            s, users["root"], "te", title="trec_eval tests", qrels_text=qrels_text
        )


@pytest.fixture
def table_counts(factory: Factory) -> Callable[[], dict[str, int]]:
    """``table_counts()``: the number of rows in every table."""

    def count() -> dict[str, int]:
        with factory() as s:
            return {
                t.name: s.scalar(select(func.count()).select_from(t)) or 0
                for t in Base.metadata.sorted_tables
            }

    return count

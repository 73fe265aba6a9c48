"""Engines, migrations and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from ragbench.errors import InputError, RagbenchError
from ragbench.store.db import (
    NOT_MIGRATED,
    current_revisions,
    head_revisions,
    make_engine,
    open_database,
    schema_is_current,
    upgrade,
)
from ragbench.store.models import Base
from ragbench.store.settings import DEFAULT_INLINE_SCORING_LINES, DEFAULT_MAX_UPLOAD_BYTES, get_settings


def test_schema_is_current_only_after_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert not schema_is_current(engine)
        upgrade(database_url)
        assert schema_is_current(engine)
        assert current_revisions(engine) == head_revisions()
        upgrade(database_url)  # again: nothing to do
        assert schema_is_current(engine)
    finally:
        engine.dispose()


def test_open_database_refuses_an_unmigrated_one(database_url: str) -> None:
    with pytest.raises(RagbenchError, match="ragbench db upgrade") as info:
        open_database(database_url)
    assert str(info.value) == NOT_MIGRATED


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert tables == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_needs_no_working_directory(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        assert schema_is_current(engine)
    finally:
        engine.dispose()


def test_sqlite_url_expands_home_and_creates_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    upgrade("sqlite:///~/deep/er/ragbench.db")
    assert (tmp_path / "deep" / "er" / "ragbench.db").is_file()


def test_settings_defaults_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RAGBENCH_DATABASE_URL", "RAGBENCH_MAX_UPLOAD_BYTES", "RAGBENCH_INLINE_SCORING_LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{tmp_path}/.ragbench/ragbench.db"
    assert settings.max_upload_bytes == DEFAULT_MAX_UPLOAD_BYTES == 200 * 2**20
    assert settings.inline_scoring_lines == DEFAULT_INLINE_SCORING_LINES == 300_000
    assert get_settings() is settings  # cached

    monkeypatch.setenv("RAGBENCH_DATABASE_URL", "sqlite:////tmp/x.db")
    monkeypatch.setenv("RAGBENCH_MAX_UPLOAD_BYTES", "1_000")
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "5")
    get_settings.cache_clear()
    assert get_settings().database_url == "sqlite:////tmp/x.db"
    assert (get_settings().max_upload_bytes, get_settings().inline_scoring_lines) == (1000, 5)

    monkeypatch.setenv("RAGBENCH_MAX_UPLOAD_BYTES", "lots")
    get_settings.cache_clear()
    with pytest.raises(InputError, match="RAGBENCH_MAX_UPLOAD_BYTES"):
        get_settings()


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(RagbenchError, match="cannot open the database"):
        open_database(f"sqlite:///{tmp_path}/a-file/ragbench.db")
    with pytest.raises(RagbenchError, match="cannot open the database") as info:
        open_database(f"postgresql+psycopg://nobody:secret@/nothing?host={tmp_path}&port=1")
    assert "secret" not in str(info.value)
    with pytest.raises(RagbenchError, match="bad database URL"):
        open_database("not a url")

"""Engines, migrations and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from ragbench.errors import RagbenchError
from ragbench.store.db import (
    NOT_MIGRATED,
    current_revisions,
    head_revisions,
    make_engine,
    open_database,
    schema_is_current,
    upgrade,
)
from ragbench.store.models import Base, Run


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


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(RagbenchError, match="cannot open the database"):
        open_database(f"sqlite:///{tmp_path}/a-file/ragbench.db")
    with pytest.raises(RagbenchError, match="cannot open the database") as info:
        open_database(f"postgresql+psycopg://nobody:secret@/nothing?host={tmp_path}&port=1")
    assert "secret" not in str(info.value)
    with pytest.raises(RagbenchError, match="bad database URL"):
        open_database("not a url")


def _deferred(attribute: str) -> bool:
    """Whether ``Run.<attribute>`` is deferred (not read when a run is loaded)."""
    return bool(Run.__mapper__.attrs[attribute].deferred)


def test_the_session_revision_keeps_existing_data_and_goes_both_ways(database_url: str) -> None:
    """Upgrading a database with runs and scores from the initial revision keeps every row (on
    SQLite two tables are rebuilt: their foreign keys must not cascade), makes them ``adhoc``,
    keeps ``run.content`` the last column on SQLite, and the downgrade drops only session rows."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from ragbench.store.db import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "aaa4c0df0925")
    engine = make_engine(database_url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO \"user\" (id, name, role) VALUES (1, 'u', 'admin')"))
            c.execute(
                text(
                    "INSERT INTO benchmark (id, slug, title, description, hidden, measures) "
                    "VALUES (1, 'b', '', '', false, '[\"AP\"]')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO qrels_version (id, benchmark_id, version, label_source, sha256, num_judgments, "
                    "content) VALUES (1, 1, 1, 'human', 'x', 3, :blob)"
                ),
                {"blob": b"q"},
            )
            c.execute(
                text(
                    "INSERT INTO system (id, benchmark_id, owner_id, name, description, metadata) "
                    "VALUES (1, 1, 1, 's', '', '{}')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO run (id, system_id, benchmark_id, owner_id, sha256, num_lines, num_topics, "
                    "status, content) VALUES (5, 1, 1, 1, 'h', 1, 1, 'scored', :blob)"
                ),
                {"blob": b"r"},
            )
            c.execute(
                text(
                    "INSERT INTO score (run_id, qrels_version_id, measure, query_id, value, fingerprint) "
                    "VALUES (5, 1, 'AP', 'all', 0.5, '{}')"
                )
            )
        engine.dispose()
        command.upgrade(config, "5e55b1c0a9d2")  # the session revision
        counts = "SELECT (SELECT COUNT(*) FROM score), (SELECT COUNT(*) FROM run), (SELECT COUNT(*) FROM qrels_version)"
        with engine.connect() as c:
            assert tuple(c.execute(text(counts)).one()) == (1, 1, 1)
            assert c.execute(text("SELECT kind FROM run")).scalar_one() == "adhoc"
            assert c.execute(text("SELECT kind FROM qrels_version")).scalar_one() == "adhoc"
            assert c.execute(text("SELECT sessions FROM benchmark")).scalar_one() is None
            if c.dialect.name == "sqlite":
                # content is the last column that loading a run reads: only deferred ones follow
                columns = [col["name"] for col in inspect(c).get_columns("run")]
                after = columns[columns.index("content") + 1 :]
                assert all(_deferred(name) for name in after), after
                assert [col["name"] for col in inspect(c).get_columns("qrels_version")][-1] == "content"
                assert c.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        with pytest.raises(IntegrityError), engine.begin() as c:  # the kind is checked
            c.execute(text("UPDATE run SET kind = 'other'"))
        with engine.begin() as c:  # a session version 1 beside the ad hoc version 1
            c.execute(
                text(
                    "INSERT INTO qrels_version (id, benchmark_id, kind, version, label_source, sha256, "
                    "num_judgments, content) VALUES (2, 1, 'session', 1, 'human', 'y', 1, :blob)"
                ),
                {"blob": b"s"},
            )
        engine.dispose()
        upgrade(database_url)  # the later revisions keep the rows and the blob before new columns
        with engine.connect() as c:
            assert tuple(c.execute(text(counts)).one()) == (1, 1, 2)
            assert c.execute(text("SELECT ir_metadata FROM run")).scalar_one() is None
            if c.dialect.name == "sqlite":
                columns = [col["name"] for col in inspect(c).get_columns("run")]
                # appended after the blob, in the order of their revisions
                assert columns[columns.index("content") :] == ["content", "retry_at", "ir_metadata"]
        engine.dispose()
        command.downgrade(config, "aaa4c0df0925")
        with engine.connect() as c:
            assert tuple(c.execute(text(counts)).one()) == (1, 1, 1)
            assert "kind" not in {col["name"] for col in inspect(c).get_columns("run")}
        engine.dispose()
        upgrade(database_url)
        with engine.connect() as c:
            assert tuple(c.execute(text(counts)).one()) == (1, 1, 1)
            assert schema_is_current(engine)
    finally:
        engine.dispose()

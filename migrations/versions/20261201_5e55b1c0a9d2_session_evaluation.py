"""Session evaluation: benchmarks carry sessions, qrels versions and runs have a kind.

- ``benchmark.sessions`` (the session topics file as given, null: no sessions) and
  ``benchmark.session_measures`` (JSON list of canonical session measure names, ``[]`` by default).
- ``qrels_version.kind`` (``adhoc`` | ``session``, existing rows ``adhoc``); versions are numbered
  per kind, so the unique constraint becomes (benchmark_id, kind, version).
- ``run.kind`` (``adhoc`` | ``session``, existing rows ``adhoc``).

On SQLite ``qrels_version`` and ``run`` are rebuilt (copy and move): SQLite cannot drop a unique
constraint, and the blob ``content`` stays the last column (see ``Run.content``). Foreign keys are
switched off for the rebuild, or dropping the old tables would cascade to their scores.

Revision ID: 5e55b1c0a9d2
Revises: aaa4c0df0925
Create Date: 2026-12-01 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e55b1c0a9d2"
down_revision: str | None = "aaa4c0df0925"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND_CHECK = "kind IN ('adhoc', 'session')"
NAMING = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
QRELS_COLUMNS = (
    "id",
    "benchmark_id",
    "kind",
    "version",
    "label_source",
    "sha256",
    "num_judgments",
    "created_at",
    "content",
)
RUN_COLUMNS = (
    "id",
    "system_id",
    "benchmark_id",
    "owner_id",
    "sha256",
    "kind",
    "num_lines",
    "num_topics",
    "status",
    "error",
    "attempts",
    "created_at",
    "scored_at",
    "content",
)


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _kind_column() -> sa.Column[str]:
    return sa.Column("kind", sa.String(length=16), server_default=sa.text("'adhoc'"), nullable=False)


def _tables(kind: bool) -> tuple[sa.Table, sa.Table]:
    """``qrels_version`` and ``run`` as the initial revision created them (``kind`` False) or as this
    revision leaves them (True): what SQLite's rebuild copies from, rather than reflecting them
    (reflection loses ``AUTOINCREMENT``)."""
    metadata = sa.MetaData(naming_convention=NAMING)
    sa.Table("benchmark", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    sa.Table("system", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    sa.Table("user", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    now = sa.func.now()
    qrels = sa.Table(
        "qrels_version",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "benchmark_id", sa.Integer(), sa.ForeignKey("benchmark.id", ondelete="CASCADE"), nullable=False
        ),
        *([_kind_column()] if kind else []),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("label_source", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("num_judgments", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("label_source IN ('human', 'llm')", name="label_source"),
        *(
            [
                sa.UniqueConstraint("benchmark_id", "kind", "version"),
                sa.CheckConstraint(KIND_CHECK, name="kind"),
            ]
            if kind
            else [sa.UniqueConstraint("benchmark_id", "version")]
        ),
    )
    run = sa.Table(
        "run",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("system_id", sa.Integer(), sa.ForeignKey("system.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "benchmark_id", sa.Integer(), sa.ForeignKey("benchmark.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        *([_kind_column()] if kind else []),
        sa.Column("num_lines", sa.Integer(), nullable=False),
        sa.Column("num_topics", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'scoring', 'scored', 'failed')", name="status"),
        *([sa.CheckConstraint(KIND_CHECK, name="kind")] if kind else []),
        sa.UniqueConstraint("benchmark_id", "sha256"),
        sa.Index("ix_run_owner_id", "owner_id"),
        sa.Index("ix_run_status", "status"),
        sa.Index("ix_run_system_id", "system_id"),
        sqlite_autoincrement=True,
    )
    return qrels, run


def _foreign_keys(on: bool) -> None:
    """SQLite: switch foreign key enforcement (a no-op inside a transaction, where it is not needed:
    a migration that has written anything before this one ran on a database without data)."""
    op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def upgrade() -> None:
    if _sqlite():
        _foreign_keys(False)  # before any write: the pragma is a no-op inside a transaction
    schema_upgrades()
    data_upgrades()


def downgrade() -> None:
    if _sqlite():
        _foreign_keys(False)  # before any write: the pragma is a no-op inside a transaction
    data_downgrades()
    schema_downgrades()


def schema_upgrades() -> None:
    with op.batch_alter_table("benchmark") as batch:
        batch.add_column(sa.Column("sessions", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("session_measures", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
    if _sqlite():
        qrels, run = _tables(kind=False)
        with op.batch_alter_table(
            "qrels_version", recreate="always", copy_from=qrels, partial_reordering=[QRELS_COLUMNS]
        ) as batch:
            batch.add_column(_kind_column())
            batch.drop_constraint(op.f("uq_qrels_version_benchmark_id_version"), type_="unique")
            batch.create_unique_constraint(
                op.f("uq_qrels_version_benchmark_id_kind_version"), ["benchmark_id", "kind", "version"]
            )
            batch.create_check_constraint(op.f("ck_qrels_version_kind"), KIND_CHECK)
        with op.batch_alter_table(
            "run", recreate="always", copy_from=run, partial_reordering=[RUN_COLUMNS]
        ) as batch:
            batch.add_column(_kind_column())
            batch.create_check_constraint(op.f("ck_run_kind"), KIND_CHECK)
        _foreign_keys(True)
        return
    op.add_column("qrels_version", _kind_column())
    op.drop_constraint(op.f("uq_qrels_version_benchmark_id_version"), "qrels_version", type_="unique")
    op.create_unique_constraint(
        op.f("uq_qrels_version_benchmark_id_kind_version"),
        "qrels_version",
        ["benchmark_id", "kind", "version"],
    )
    op.create_check_constraint(op.f("ck_qrels_version_kind"), "qrels_version", KIND_CHECK)
    op.add_column("run", _kind_column())
    op.create_check_constraint(op.f("ck_run_kind"), "run", KIND_CHECK)


def schema_downgrades() -> None:
    if _sqlite():
        qrels, run = _tables(kind=True)
        with op.batch_alter_table("run", recreate="always", copy_from=run) as batch:
            batch.drop_constraint(op.f("ck_run_kind"), type_="check")
            batch.drop_column("kind")
        with op.batch_alter_table("qrels_version", recreate="always", copy_from=qrels) as batch:
            batch.drop_constraint(op.f("ck_qrels_version_kind"), type_="check")
            batch.drop_constraint(op.f("uq_qrels_version_benchmark_id_kind_version"), type_="unique")
            batch.create_unique_constraint(
                op.f("uq_qrels_version_benchmark_id_version"), ["benchmark_id", "version"]
            )
            batch.drop_column("kind")
        _foreign_keys(True)
    else:
        op.drop_constraint(op.f("ck_run_kind"), "run", type_="check")
        op.drop_column("run", "kind")
        op.drop_constraint(op.f("ck_qrels_version_kind"), "qrels_version", type_="check")
        op.drop_constraint(
            op.f("uq_qrels_version_benchmark_id_kind_version"), "qrels_version", type_="unique"
        )
        op.create_unique_constraint(
            op.f("uq_qrels_version_benchmark_id_version"), "qrels_version", ["benchmark_id", "version"]
        )
        op.drop_column("qrels_version", "kind")
    with op.batch_alter_table("benchmark") as batch:
        batch.drop_column("session_measures")
        batch.drop_column("sessions")


def data_upgrades() -> None:
    """Existing rows become ``adhoc`` through the columns' server default; nothing else to fill."""


def data_downgrades() -> None:
    """Session runs and session qrels (with their scores) cannot exist before this revision: they
    are deleted, explicitly (SQLite's foreign keys are off here), with systems left without runs."""
    sessions = "SELECT id FROM run WHERE kind = 'session'"
    op.execute(f"DELETE FROM score WHERE run_id IN ({sessions})")
    op.execute(f"DELETE FROM arena_vote WHERE run_a_id IN ({sessions}) OR run_b_id IN ({sessions})")
    op.execute(
        "DELETE FROM score WHERE qrels_version_id IN (SELECT id FROM qrels_version WHERE kind = 'session')"
    )
    op.execute("DELETE FROM run WHERE kind = 'session'")
    op.execute("DELETE FROM system WHERE id NOT IN (SELECT system_id FROM run)")
    op.execute("DELETE FROM qrels_version WHERE kind = 'session'")

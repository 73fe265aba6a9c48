"""Suites: groups of benchmarks ranked together, their reproductions, and benchmark provenance.

- ``suite`` (slug, title, description, measures, aggregation settings);
- ``suite_benchmark`` (a suite's benchmarks in order, each with an optional sub-group);
- ``reproduction`` (the matrix of one ``ragbench reproduce``: cells, passed, environment);
- ``benchmark.provenance`` (JSON, ``{}`` for existing rows): where a benchmark's files came from
  (source files and hashes, SMART grade mapping, ir_datasets id and version).

Revision ID: c41f7a9e2d05
Revises: 77c3bb82b2e2
Create Date: 2026-12-10 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c41f7a9e2d05"
down_revision: str | None = "77c3bb82b2e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite, so no foreign key can cascade).
    op.add_column(
        "benchmark", sa.Column("provenance", sa.JSON(), server_default=sa.text("'{}'"), nullable=False)
    )
    op.create_table(
        "suite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("aggregation", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suite")),
        sa.UniqueConstraint("slug", name=op.f("uq_suite_slug")),
    )
    op.create_table(
        "suite_benchmark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suite_id", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("subgroup", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["suite_id"], ["suite.id"], name=op.f("fk_suite_benchmark_suite_id_suite"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["benchmark_id"],
            ["benchmark.id"],
            name=op.f("fk_suite_benchmark_benchmark_id_benchmark"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suite_benchmark")),
        sa.UniqueConstraint(
            "suite_id", "benchmark_id", name=op.f("uq_suite_benchmark_suite_id_benchmark_id")
        ),
    )
    op.create_index(op.f("ix_suite_benchmark_benchmark_id"), "suite_benchmark", ["benchmark_id"])
    op.create_table(
        "reproduction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suite_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("environment", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["suite_id"], ["suite.id"], name=op.f("fk_reproduction_suite_id_suite"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reproduction")),
    )
    op.create_index(op.f("ix_reproduction_suite_id"), "reproduction", ["suite_id"])


def downgrade() -> None:
    if _sqlite():
        # SQLite rebuilds ``benchmark`` to drop a column; dropping the old table must not cascade.
        op.execute("PRAGMA foreign_keys = OFF")  # before any write: a no-op inside a transaction
    op.drop_index(op.f("ix_reproduction_suite_id"), table_name="reproduction")
    op.drop_table("reproduction")
    op.drop_index(op.f("ix_suite_benchmark_benchmark_id"), table_name="suite_benchmark")
    op.drop_table("suite_benchmark")
    op.drop_table("suite")
    with op.batch_alter_table("benchmark") as batch:
        batch.drop_column("provenance")
    if _sqlite():
        op.execute("PRAGMA foreign_keys = ON")

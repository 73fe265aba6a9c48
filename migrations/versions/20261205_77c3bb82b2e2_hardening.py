"""Hardening: a submission log that survives deletion, token expiry, retry times of the worker.

- ``submission`` (id, benchmark_id, user_id, kind, sha256, run_id, created_at): one row per run
  stored, kept when the run is deleted (``run_id`` is a plain integer, not a foreign key), so that
  submission quotas count deleted runs too. Indexed on (benchmark_id, user_id, created_at).
- ``api_token.expires_at`` (null: never): an expired token is refused like a revoked one.
- ``run.retry_at`` (null: now): when the worker may claim the run again after a claim that did
  not finish (backoff). Added last, after the blob, and deferred in the ORM, so reading runs
  never reads it.

Revision ID: 77c3bb82b2e2
Revises: 7c3f9a2e41d8
Create Date: 2026-12-05 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "77c3bb82b2e2"
down_revision: str | None = "7c3f9a2e41d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["benchmark_id"],
            ["benchmark.id"],
            name=op.f("fk_submission_benchmark_id_benchmark"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_submission_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
    )
    op.create_index(
        op.f("ix_submission_benchmark_id_user_id_created_at"),
        "submission",
        ["benchmark_id", "user_id", "created_at"],
        unique=False,
    )
    op.add_column("api_token", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("run", sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): no batch copy, which would drop and
    # re-create ``run`` and cascade to its scores.
    op.drop_column("run", "retry_at")
    op.drop_column("api_token", "expires_at")
    op.drop_index(op.f("ix_submission_benchmark_id_user_id_created_at"), table_name="submission")
    op.drop_table("submission")

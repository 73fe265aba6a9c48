"""Runs keep their file's ir_metadata header: ``run.ir_metadata`` (JSON, null without a header).

Existing runs get null (their headers could be read again from ``content``; a run page shows the
header only where one was stored). On SQLite the column is appended after the blob ``content``
(``ALTER TABLE ... ADD COLUMN``); the model defers it, so run listings never read it.

Revision ID: 09d8a035e12c
Revises: 5e193795dbac
Create Date: 2026-12-03 12:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "09d8a035e12c"
down_revision: str | None = "5e193795dbac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("run", sa.Column("ir_metadata", sa.JSON(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (no table rebuild, so no cascade to the scores).
    op.drop_column("run", "ir_metadata")

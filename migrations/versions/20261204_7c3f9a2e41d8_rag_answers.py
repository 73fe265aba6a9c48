"""RAG answers: RAG runs, nugget sets as ``rag`` qrels versions, and the judgments of each answer.

- ``run.kind`` and ``qrels_version.kind`` may be ``rag`` (a TREC RAG answer file; a nugget set).
- ``benchmark.rag_measures`` (JSON list of canonical RAG measure names, ``[]`` by default).
- ``rag_judgment``: per (run, nugget set version, topic) the judges' labels with provenance.

On SQLite ``qrels_version`` and ``run`` are rebuilt (copy and move) to change their kind check,
with foreign keys off for the rebuild (as in the session revision).

Revision ID: 7c3f9a2e41d8
Revises: 5e55b1c0a9d2
Create Date: 2026-12-04 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3f9a2e41d8"
down_revision: str | None = "5e55b1c0a9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CHECK = "kind IN ('adhoc', 'session')"
NEW_CHECK = "kind IN ('adhoc', 'session', 'rag')"
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


def _tables(check: str) -> tuple[sa.Table, sa.Table]:
    """``qrels_version`` and ``run`` with the kind check ``check``: what SQLite's rebuild copies from,
    rather than reflecting them (reflection loses ``AUTOINCREMENT``)."""
    kind = True
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
                sa.CheckConstraint(check, name="kind"),
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
        *([sa.CheckConstraint(check, name="kind")] if kind else []),
        sa.UniqueConstraint("benchmark_id", "sha256"),
        sa.Index("ix_run_owner_id", "owner_id"),
        sa.Index("ix_run_status", "status"),
        sa.Index("ix_run_system_id", "system_id"),
        sqlite_autoincrement=True,
    )
    return qrels, run


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _kind_check(old: str, new: str) -> None:
    if _sqlite():
        qrels, run = _tables(old)
        with op.batch_alter_table("qrels_version", recreate="always", copy_from=qrels) as batch:
            batch.drop_constraint(op.f("ck_qrels_version_kind"), type_="check")
            batch.create_check_constraint(op.f("ck_qrels_version_kind"), new)
        with op.batch_alter_table("run", recreate="always", copy_from=run) as batch:
            batch.drop_constraint(op.f("ck_run_kind"), type_="check")
            batch.create_check_constraint(op.f("ck_run_kind"), new)
        op.execute("PRAGMA foreign_keys = ON")
        return
    for table in ("qrels_version", "run"):
        op.drop_constraint(op.f(f"ck_{table}_kind"), table, type_="check")
        op.create_check_constraint(op.f(f"ck_{table}_kind"), table, new)


def upgrade() -> None:
    if _sqlite():
        op.execute(
            "PRAGMA foreign_keys = OFF"
        )  # before any write: the pragma is a no-op inside a transaction
    _kind_check(OLD_CHECK, NEW_CHECK)
    with op.batch_alter_table("benchmark") as batch:
        batch.add_column(sa.Column("rag_measures", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    op.create_table(
        "rag_judgment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("qrels_version_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Text(), nullable=False),
        sa.Column("failed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("judgments", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["qrels_version_id"], ["qrels_version.id"],
            name=op.f("fk_rag_judgment_qrels_version_id_qrels_version"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["run.id"], name=op.f("fk_rag_judgment_run_id_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rag_judgment")),
        sa.UniqueConstraint(
            "run_id", "qrels_version_id", "topic_id",
            name=op.f("uq_rag_judgment_run_id_qrels_version_id_topic_id"),
        ),
    )  # fmt: skip


def downgrade() -> None:
    """RAG runs and nugget sets (with their scores and judgments) cannot exist before this revision."""
    if _sqlite():
        op.execute("PRAGMA foreign_keys = OFF")  # before any write (see upgrade)
    op.drop_table("rag_judgment")
    rag = "SELECT id FROM run WHERE kind = 'rag'"
    op.execute(f"DELETE FROM score WHERE run_id IN ({rag})")
    op.execute(f"DELETE FROM arena_vote WHERE run_a_id IN ({rag}) OR run_b_id IN ({rag})")
    op.execute(
        "DELETE FROM score WHERE qrels_version_id IN (SELECT id FROM qrels_version WHERE kind = 'rag')"
    )
    op.execute("DELETE FROM run WHERE kind = 'rag'")
    op.execute("DELETE FROM system WHERE id NOT IN (SELECT system_id FROM run)")
    op.execute("DELETE FROM qrels_version WHERE kind = 'rag'")
    with op.batch_alter_table("benchmark") as batch:
        batch.drop_column("rag_measures")
    _kind_check(NEW_CHECK, OLD_CHECK)

"""LLM judges: where a qrels version's labels come from, the LLM labels' provenance, judge jobs.

- ``qrels_origin`` (one row per qrels version an LM judged): ``label_sources`` ``llm`` | ``mixed``,
  the human version it filled (``based_on_id``) and the judge's description.
- ``llm_label``: each pair the judge labelled (or failed on: ``relevance`` null) with provenance.
- ``judge_job``: an admin's request to judge a benchmark, done by the worker.

``qrels_version`` itself is unchanged (its ``label_source`` stays ``human`` | ``llm``).

Revision ID: 5e193795dbac
Revises: c41f7a9e2d05
Create Date: 2026-12-03 15:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e193795dbac"
down_revision: str | None = "c41f7a9e2d05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "qrels_origin",
        sa.Column("qrels_version_id", sa.Integer(), nullable=False),
        sa.Column("label_sources", sa.String(length=16), nullable=False),
        sa.Column("based_on_id", sa.Integer(), nullable=True),
        sa.Column("judge", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "label_sources IN ('human', 'llm', 'mixed')", name=op.f("ck_qrels_origin_label_sources")
        ),
        sa.ForeignKeyConstraint(
            ["based_on_id"], ["qrels_version.id"], name=op.f("fk_qrels_origin_based_on_id_qrels_version"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["qrels_version_id"], ["qrels_version.id"],
            name=op.f("fk_qrels_origin_qrels_version_id_qrels_version"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("qrels_version_id", name=op.f("pk_qrels_origin")),
    )  # fmt: skip
    op.create_table(
        "llm_label",
        sa.Column("id", BigId, nullable=False),
        sa.Column("qrels_version_id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Text(), nullable=False),
        sa.Column("doc_id", sa.Text(), nullable=False),
        sa.Column("relevance", sa.Integer(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["qrels_version_id"], ["qrels_version.id"],
            name=op.f("fk_llm_label_qrels_version_id_qrels_version"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_label")),
    )  # fmt: skip
    op.create_index(op.f("ix_llm_label_qrels_version_id"), "llm_label", ["qrels_version_id"])
    op.create_table(
        "judge_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("benchmark_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("result_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')", name=op.f("ck_judge_job_status")
        ),
        sa.CheckConstraint("mode IN ('holes', 'all')", name=op.f("ck_judge_job_mode")),
        sa.ForeignKeyConstraint(
            ["benchmark_id"], ["benchmark.id"], name=op.f("fk_judge_job_benchmark_id_benchmark"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user.id"], name=op.f("fk_judge_job_requested_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["result_version_id"], ["qrels_version.id"],
            name=op.f("fk_judge_job_result_version_id_qrels_version"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judge_job")),
    )  # fmt: skip
    op.create_index(op.f("ix_judge_job_benchmark_id"), "judge_job", ["benchmark_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_judge_job_benchmark_id"), table_name="judge_job")
    op.drop_table("judge_job")
    op.drop_index(op.f("ix_llm_label_qrels_version_id"), table_name="llm_label")
    op.drop_table("llm_label")
    op.drop_table("qrels_origin")

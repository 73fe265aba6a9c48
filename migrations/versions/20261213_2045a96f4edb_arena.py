"""The arena: battles, and the vote log rebuilt around them.

- ``arena_battle`` (new): two runs on one topic as shown to voters (``a`` left, ``b`` right), what
  each side showed (JSON), the system names, where it came from (``drawn`` | ``import``).
- ``arena_vote`` (rebuilt; nothing wrote it before): a vote belongs to a battle; separate
  verdicts on the answer and on the evidence (``a`` | ``b`` | ``tie`` | ``bad``, NULL when not
  asked); the voter's kind (``user`` | ``anon`` | ``llm`` | ``import``) and key; retractions as new
  rows (``retracts_id``); an imported label and provenance. One vote per voter per battle: a
  unique index on (battle, voter) over the rows that are not retractions.

Rows of the old table (if any) are kept: each becomes a battle of its two runs (sides marked
``legacy``) and a vote with its winner as the answer verdict; the downgrade turns votes on
battles with both runs still present back into old rows (the evidence verdicts, retractions,
anonymous and LM voters' identities are lost).

Revision ID: 2045a96f4edb
Revises: 09d8a035e12c
Create Date: 2026-12-03 15:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "2045a96f4edb"
down_revision: str | None = "09d8a035e12c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMING = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
VERDICTS = "('a', 'b', 'tie', 'bad')"


def _metadata() -> sa.MetaData:
    metadata = sa.MetaData(naming_convention=NAMING)
    for name in ("benchmark", "run", "user"):
        sa.Table(name, metadata, sa.Column("id", sa.Integer(), primary_key=True))
    return metadata


def _new_tables() -> tuple[sa.Table, sa.Table]:
    metadata = _metadata()
    now = sa.func.now()
    battle = sa.Table(
        "arena_battle",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "benchmark_id", sa.Integer(), sa.ForeignKey("benchmark.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("query_id", sa.Text(), nullable=False),
        sa.Column("query_text", sa.Text(), nullable=False),
        sa.Column("run_a_id", sa.Integer(), sa.ForeignKey("run.id", ondelete="SET NULL"), nullable=True),
        sa.Column("run_b_id", sa.Integer(), sa.ForeignKey("run.id", ondelete="SET NULL"), nullable=True),
        sa.Column("system_a", sa.String(length=200), nullable=False),
        sa.Column("system_b", sa.String(length=200), nullable=False),
        sa.Column("side_a", sa.JSON(), nullable=False),
        sa.Column("side_b", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("run_a_id <> run_b_id", name="distinct_runs"),
        sa.CheckConstraint("source IN ('drawn', 'import')", name="source"),
        sa.UniqueConstraint("benchmark_id", "external_id"),
        sa.Index("ix_arena_battle_benchmark_id_query_id", "benchmark_id", "query_id"),
        sa.Index("ix_arena_battle_run_a_id", "run_a_id"),
        sa.Index("ix_arena_battle_run_b_id", "run_b_id"),
    )
    vote = sa.Table(
        "arena_vote",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "benchmark_id", sa.Integer(), sa.ForeignKey("benchmark.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "battle_id", sa.Integer(), sa.ForeignKey("arena_battle.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("query_id", sa.Text(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("evidence", sa.String(length=8), nullable=True),
        sa.Column("voter_kind", sa.String(length=8), nullable=False),
        sa.Column("voter_key", sa.String(length=200), nullable=False),
        sa.Column("voter_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("retracts_id", sa.Integer(), sa.ForeignKey("arena_vote.id"), nullable=True),
        sa.Column("label", sa.Integer(), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint(f"answer IN {VERDICTS}", name="answer"),
        sa.CheckConstraint(f"evidence IN {VERDICTS}", name="evidence"),
        sa.CheckConstraint("voter_kind IN ('user', 'anon', 'llm', 'import')", name="voter_kind"),
        sa.CheckConstraint(
            "retracts_id IS NOT NULL OR answer IS NOT NULL OR evidence IS NOT NULL", name="has_verdict"
        ),
        sa.UniqueConstraint("retracts_id"),
        sa.Index(
            "uq_arena_vote_battle_voter",
            "battle_id",
            "voter_key",
            unique=True,
            sqlite_where=sa.text("retracts_id IS NULL"),
            postgresql_where=sa.text("retracts_id IS NULL"),
        ),
        sa.Index("ix_arena_vote_benchmark_id", "benchmark_id"),
        sa.Index("ix_arena_vote_battle_id", "battle_id"),
        sa.Index("ix_arena_vote_voter_key_created_at", "voter_key", "created_at"),
        sqlite_autoincrement=True,
    )
    return battle, vote


def _old_table() -> sa.Table:
    metadata = _metadata()
    return sa.Table(
        "arena_vote",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "benchmark_id", sa.Integer(), sa.ForeignKey("benchmark.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("query_id", sa.Text(), nullable=False),
        sa.Column("run_a_id", sa.Integer(), sa.ForeignKey("run.id", ondelete="CASCADE"), nullable=False),
        sa.Column("run_b_id", sa.Integer(), sa.ForeignKey("run.id", ondelete="CASCADE"), nullable=False),
        sa.Column("winner", sa.String(length=8), nullable=False),
        sa.Column("voter_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("winner IN ('a', 'b', 'tie')", name="winner"),
        sa.Index("ix_arena_vote_benchmark_id", "benchmark_id"),
    )


def _system_names(bind: Any) -> dict[int, str]:
    rows = bind.execute(
        sa.text("SELECT run.id, system.name FROM run JOIN system ON system.id = run.system_id")
    )
    return {int(run_id): str(name) for run_id, name in rows}


def upgrade() -> None:
    bind = op.get_bind()
    old = _old_table()
    legacy = [dict(row._mapping) for row in bind.execute(sa.select(old))]
    op.drop_table("arena_vote")
    battle, vote = _new_tables()
    battle.create(bind)
    vote.create(bind)
    names = _system_names(bind) if legacy else {}
    for row in legacy:
        battle_id = bind.execute(
            battle.insert()
            .values(
                benchmark_id=row["benchmark_id"],
                query_id=row["query_id"],
                query_text="",
                run_a_id=row["run_a_id"],
                run_b_id=row["run_b_id"],
                system_a=names.get(row["run_a_id"], f"run {row['run_a_id']}"),
                system_b=names.get(row["run_b_id"], f"run {row['run_b_id']}"),
                side_a={"kind": "legacy"},
                side_b={"kind": "legacy"},
                source="drawn",
                created_at=row["created_at"],
            )
            .returning(battle.c.id)
        ).scalar_one()
        user = row["voter_id"]
        bind.execute(
            vote.insert().values(
                benchmark_id=row["benchmark_id"],
                battle_id=battle_id,
                query_id=row["query_id"],
                answer=row["winner"],
                voter_kind="user" if user is not None else "import",
                voter_key=f"user:{user}" if user is not None else f"import:legacy:{row['id']}",
                voter_id=user,
                created_at=row["created_at"],
            )
        )


def downgrade() -> None:
    bind = op.get_bind()
    battle, vote = _new_tables()
    retracted = sa.select(vote.c.retracts_id).where(vote.c.retracts_id.is_not(None))
    kept = bind.execute(
        sa.select(
            vote.c.benchmark_id,
            vote.c.query_id,
            battle.c.run_a_id,
            battle.c.run_b_id,
            vote.c.answer,
            vote.c.voter_id,
            vote.c.created_at,
        )
        .join(battle, battle.c.id == vote.c.battle_id)
        .where(
            vote.c.retracts_id.is_(None),
            vote.c.id.not_in(retracted),
            vote.c.answer.in_(("a", "b", "tie")),
            battle.c.run_a_id.is_not(None),
            battle.c.run_b_id.is_not(None),
        )
        .order_by(vote.c.id)
    ).all()
    op.drop_table("arena_vote")
    op.drop_table("arena_battle")
    old = _old_table()
    old.create(bind)
    for row in kept:
        values = dict(row._mapping)
        values["winner"] = values.pop("answer")
        bind.execute(old.insert().values(**values))

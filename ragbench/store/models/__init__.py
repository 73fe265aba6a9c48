"""The tables of the evaluation service, as typed SQLAlchemy 2.0 models.

The schema changes only through Alembic (``migrations/``); a test checks that the migrations
and these models agree. Blobs (run files, qrels) are zlib-compressed and deferred, so loading a
:class:`Run` or a :class:`QrelsVersion` never reads its file unless ``content`` is accessed.

The tables live in ``_core`` (users, benchmarks, runs, scores) and ``_features`` (the arena,
suites, LLM judging, RAG judgments), on the base of ``_base``; everything is imported from here.
"""

from __future__ import annotations

from ragbench.store.models._base import (
    ALL_TOPICS,
    BATTLE_SOURCES,
    DEFAULT_MEASURES,
    HUMAN_VOTERS,
    JUDGE_MODES,
    JUDGE_STATUSES,
    JUDGED_MEASURE,
    KINDS,
    LABEL_SOURCES,
    LLM_SHARE_BADGE,
    NAMING_CONVENTION,
    QRELS_SOURCES,
    ROLES,
    RUN_STATUSES,
    VERDICTS,
    VOTER_KINDS,
    Base,
    BigId,
    UTCDateTime,
)
from ragbench.store.models._core import (
    ApiToken,
    Benchmark,
    QrelsVersion,
    Run,
    Score,
    Submission,
    System,
    User,
)
from ragbench.store.models._features import (
    ArenaBattle,
    ArenaVote,
    JudgeJob,
    LLMLabel,
    QrelsOrigin,
    RagJudgment,
    Reproduction,
    Suite,
    SuiteBenchmark,
)

__all__ = [
    "ALL_TOPICS",
    "BATTLE_SOURCES",
    "DEFAULT_MEASURES",
    "HUMAN_VOTERS",
    "JUDGED_MEASURE",
    "JUDGE_MODES",
    "JUDGE_STATUSES",
    "KINDS",
    "LABEL_SOURCES",
    "LLM_SHARE_BADGE",
    "NAMING_CONVENTION",
    "QRELS_SOURCES",
    "ROLES",
    "RUN_STATUSES",
    "VERDICTS",
    "VOTER_KINDS",
    "ApiToken",
    "ArenaBattle",
    "ArenaVote",
    "Base",
    "Benchmark",
    "BigId",
    "JudgeJob",
    "LLMLabel",
    "QrelsOrigin",
    "QrelsVersion",
    "RagJudgment",
    "Reproduction",
    "Run",
    "Score",
    "Submission",
    "Suite",
    "SuiteBenchmark",
    "System",
    "UTCDateTime",
    "User",
]

"""The service layer: plain functions over a SQLAlchemy ``Session``, shared by the API and the CLI.

Every function takes the session first and never commits: each write is one transaction that
the caller opens and commits (``with session.begin(): ...``). They raise only
:mod:`ragbench.errors` subclasses for anything a user can cause: ``NotFoundError`` (404),
``PermissionDenied`` (403), ``AuthError`` (401), ``ConflictError`` (409), ``InputError`` and
``FormatError`` (422 / 400 with ``problems``), ``TooLargeError`` (413).

The contract is ``docs/service_design.md``; the implementation is split by concern:
``_access`` (users, tokens), ``_benchmarks`` (benchmarks, qrels versions, sessions), ``_runs``
(submit, read, delete), ``_scoring`` (scoring, the worker), ``_leaderboard`` (ranking, tiers,
comparisons), ``_rag`` and ``_rag_answers`` (nugget sets, RAG runs, their judgments).
"""

from __future__ import annotations

from ragbench.store._access import authenticate, create_token, create_user, local_admin, user_by_name
from ragbench.store._benchmarks import (
    add_qrels_version,
    add_session_qrels_version,
    add_sessions,
    create_benchmark,
    get_benchmark,
    list_benchmarks,
    qrels_versions,
    set_hidden,
)
from ragbench.store._leaderboard import (
    Leaderboard,
    LeaderboardRow,
    clear_tier_cache,
    compare_runs,
    leaderboard,
)
from ragbench.store._rag import add_nugget_set, nugget_set
from ragbench.store._rag import failures as rag_failures
from ragbench.store._rag_answers import rag_answer, rag_run_answers
from ragbench.store._runs import delete_run, get_run, per_topic_visible, run_scores, submit_run
from ragbench.store._scoring import score_run
from ragbench.store._worker import MAX_ATTEMPTS, process_pending

__all__ = (
    "MAX_ATTEMPTS",
    "Leaderboard",
    "LeaderboardRow",
    "add_nugget_set",
    "add_qrels_version",
    "add_session_qrels_version",
    "add_sessions",
    "authenticate",
    "clear_tier_cache",
    "compare_runs",
    "create_benchmark",
    "create_token",
    "create_user",
    "delete_run",
    "get_benchmark",
    "get_run",
    "leaderboard",
    "list_benchmarks",
    "local_admin",
    "nugget_set",
    "per_topic_visible",
    "process_pending",
    "qrels_versions",
    "rag_answer",
    "rag_failures",
    "rag_run_answers",
    "run_scores",
    "score_run",
    "set_hidden",
    "submit_run",
    "user_by_name",
)

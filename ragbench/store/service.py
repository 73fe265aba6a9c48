"""The service layer: plain functions over a SQLAlchemy ``Session``, shared by the API and the CLI.

Every function takes the session first and never commits: each write is one transaction that
the caller opens and commits (``with session.begin(): ...``). They raise only
:mod:`ragbench.errors` subclasses for anything a user can cause: ``NotFoundError`` (404),
``PermissionDenied`` (403), ``AuthError`` (401), ``ConflictError`` (409), ``InputError`` and
``FormatError`` (422 / 400 with ``problems``), ``TooLargeError`` (413).

The contract is ``docs/service_design.md``; the implementation is split by concern:
``_access`` (users, tokens), ``_benchmarks`` (benchmarks, qrels versions, sessions), ``_runs``
(submit, read, delete), ``_scoring`` (scoring, the worker), ``_leaderboard`` (ranking, tiers,
comparisons).
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
from ragbench.store._board import (
    BoardDetail,
    QrelsStatistics,
    SignificanceMatrix,
    board_detail,
    clear_board_cache,
    qrels_statistics,
    significance_matrix,
)
from ragbench.store._leaderboard import (
    Leaderboard,
    LeaderboardRow,
    clear_tier_cache,
    compare_runs,
    leaderboard,
)
from ragbench.store._registration import normalize_ref, public_ref, register_benchmark
from ragbench.store._runs import delete_run, get_run, per_topic_visible, run_scores, submit_run
from ragbench.store._scoring import score_run
from ragbench.store._worker import MAX_ATTEMPTS, process_pending

__all__ = (
    "MAX_ATTEMPTS",
    "BoardDetail",
    "Leaderboard",
    "LeaderboardRow",
    "QrelsStatistics",
    "SignificanceMatrix",
    "add_qrels_version",
    "add_session_qrels_version",
    "add_sessions",
    "authenticate",
    "board_detail",
    "clear_board_cache",
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
    "normalize_ref",
    "per_topic_visible",
    "process_pending",
    "public_ref",
    "qrels_statistics",
    "qrels_versions",
    "register_benchmark",
    "run_scores",
    "score_run",
    "set_hidden",
    "significance_matrix",
    "submit_run",
    "user_by_name",
)

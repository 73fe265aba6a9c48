"""The service layer: plain functions over a SQLAlchemy ``Session``, shared by the API and the CLI.

Every function takes the session first and never commits: each write is one transaction that
the caller opens and commits (``with session.begin(): ...``). They raise only
:mod:`ragbench.errors` subclasses for anything a user can cause: ``NotFoundError`` (404),
``PermissionDenied`` (403), ``AuthError`` (401), ``ConflictError`` (409), ``InputError`` and
``FormatError`` (422 / 400 with ``problems``), ``TooLargeError`` (413).

The contract is ``docs/service_design.md``; the implementation is split by concern:
``_access`` (users, tokens), ``_benchmarks`` (benchmarks, qrels versions, sessions), ``_runs``
(submit, read, delete), ``_scoring`` (scoring, the worker), ``_leaderboard`` (ranking, tiers,
comparisons), ``_arena*`` (the arena: battles and votes, ratings, agreement, imports).
"""

from __future__ import annotations

from ragbench.store._access import authenticate, create_token, create_user, local_admin, user_by_name
from ragbench.store._arena import (
    BattleView,
    DrawReport,
    Voter,
    battle_view,
    create_battle,
    draw_battles,
    get_battle,
    next_battle,
    unvoted_battles,
)
from ragbench.store._arena_agreement import ArenaAgreement, arena_agreement
from ragbench.store._arena_import import ImportReport, import_pairwise
from ragbench.store._arena_ratings import (
    ArenaBoard,
    ArenaRow,
    arena_board,
    arena_style,
    clear_arena_cache,
    effective_votes,
    export_votes,
    offline_means,
)
from ragbench.store._arena_sides import register_side_renderer, side_features
from ragbench.store._arena_votes import cast_vote, retract_vote
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
    canonical_measure,
    clear_tier_cache,
    compare_runs,
    leaderboard,
)
from ragbench.store._runs import delete_run, get_run, per_topic_visible, run_scores, submit_run
from ragbench.store._scoring import score_run
from ragbench.store._worker import MAX_ATTEMPTS, process_pending

__all__ = (
    "MAX_ATTEMPTS",
    "ArenaAgreement",
    "ArenaBoard",
    "ArenaRow",
    "BattleView",
    "DrawReport",
    "ImportReport",
    "Leaderboard",
    "LeaderboardRow",
    "Voter",
    "add_qrels_version",
    "add_session_qrels_version",
    "add_sessions",
    "arena_agreement",
    "arena_board",
    "arena_style",
    "authenticate",
    "battle_view",
    "canonical_measure",
    "cast_vote",
    "clear_arena_cache",
    "clear_tier_cache",
    "compare_runs",
    "create_battle",
    "create_benchmark",
    "create_token",
    "create_user",
    "delete_run",
    "draw_battles",
    "effective_votes",
    "export_votes",
    "get_battle",
    "get_benchmark",
    "get_run",
    "import_pairwise",
    "leaderboard",
    "list_benchmarks",
    "local_admin",
    "next_battle",
    "offline_means",
    "per_topic_visible",
    "process_pending",
    "qrels_versions",
    "register_side_renderer",
    "retract_vote",
    "run_scores",
    "score_run",
    "set_hidden",
    "side_features",
    "submit_run",
    "unvoted_battles",
    "user_by_name",
)

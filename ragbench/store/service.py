"""The service layer: plain functions over a SQLAlchemy ``Session``, shared by the API and the CLI.

Every function takes the session first and never commits: each write is one transaction that
the caller opens and commits (``with session.begin(): ...``). They raise only
:mod:`ragbench.errors` subclasses for anything a user can cause: ``NotFoundError`` (404),
``PermissionDenied`` (403), ``AuthError`` (401), ``ConflictError`` (409), ``InputError`` and
``FormatError`` (422 / 400 with ``problems``), ``TooLargeError`` (413).

The contract is ``docs/service_design.md``; the implementation is split by concern:
``_access`` (users, tokens), ``_blinding`` (what hidden benchmarks withhold), ``_quotas``
(submission quotas, the minimum run shape), ``_benchmarks`` (benchmarks, qrels versions,
sessions), ``_runs``
(submit, read, delete), ``_scoring`` (scoring, the worker), ``_leaderboard`` (ranking, tiers,
comparisons), ``_suites`` (suites of benchmarks, their leaderboards and reproductions),
``_judging`` (LLM-judged qrels, judge jobs, the judge leaderboard), ``_arena*`` (the arena:
battles and votes, ratings, agreement, imports), ``_rag`` and ``_rag_answers`` (nugget sets, RAG
runs, their judgments).
"""

from __future__ import annotations

from ragbench.store._access import (
    TokenInfo,
    authenticate,
    create_token,
    create_user,
    list_tokens,
    local_admin,
    revoke_tokens,
    user_by_name,
)
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
from ragbench.store._blinding import BlindComparison, MeanComparison, per_topic_visible
from ragbench.store._board import (
    BoardDetail,
    QrelsStatistics,
    SignificanceMatrix,
    board_detail,
    clear_board_cache,
    qrels_statistics,
    significance_matrix,
)
from ragbench.store._compare import compare_runs
from ragbench.store._judging import (
    JudgeRow,
    add_judged_qrels,
    get_judge_job,
    judge_board,
    label_provenance,
    process_judge_jobs,
    request_judging,
)
from ragbench.store._leaderboard import (
    Leaderboard,
    LeaderboardRow,
    canonical_measure,
    clear_tier_cache,
    leaderboard,
)
from ragbench.store._rag import add_nugget_set, nugget_set
from ragbench.store._rag import failures as rag_failures
from ragbench.store._rag_answers import rag_answer, rag_run_answers
from ragbench.store._registration import normalize_ref, public_ref, register_benchmark
from ragbench.store._runs import delete_run, get_run, run_scores, submit_run
from ragbench.store._scoring import score_run
from ragbench.store._suites import (
    DEFAULT_SUITE_MEASURES,
    SuiteBoard,
    add_reproduction,
    create_suite,
    get_suite,
    latest_reproduction,
    list_suites,
    run_by_file,
    suite_groups,
    suite_leaderboard,
    suite_runs,
)
from ragbench.store._worker import MAX_ATTEMPTS, process_pending

__all__ = (
    "DEFAULT_SUITE_MEASURES",
    "MAX_ATTEMPTS",
    "ArenaAgreement",
    "ArenaBoard",
    "ArenaRow",
    "BattleView",
    "BlindComparison",
    "BoardDetail",
    "DrawReport",
    "ImportReport",
    "JudgeRow",
    "Leaderboard",
    "LeaderboardRow",
    "MeanComparison",
    "QrelsStatistics",
    "SignificanceMatrix",
    "SuiteBoard",
    "TokenInfo",
    "Voter",
    "add_judged_qrels",
    "add_nugget_set",
    "add_qrels_version",
    "add_reproduction",
    "add_session_qrels_version",
    "add_sessions",
    "arena_agreement",
    "arena_board",
    "arena_style",
    "authenticate",
    "battle_view",
    "board_detail",
    "canonical_measure",
    "cast_vote",
    "clear_arena_cache",
    "clear_board_cache",
    "clear_tier_cache",
    "compare_runs",
    "create_battle",
    "create_benchmark",
    "create_suite",
    "create_token",
    "create_user",
    "delete_run",
    "draw_battles",
    "effective_votes",
    "export_votes",
    "get_battle",
    "get_benchmark",
    "get_judge_job",
    "get_run",
    "get_suite",
    "import_pairwise",
    "judge_board",
    "label_provenance",
    "latest_reproduction",
    "leaderboard",
    "list_benchmarks",
    "list_suites",
    "list_tokens",
    "local_admin",
    "next_battle",
    "normalize_ref",
    "nugget_set",
    "offline_means",
    "per_topic_visible",
    "process_judge_jobs",
    "process_pending",
    "public_ref",
    "qrels_statistics",
    "qrels_versions",
    "rag_answer",
    "rag_failures",
    "rag_run_answers",
    "register_benchmark",
    "register_side_renderer",
    "request_judging",
    "retract_vote",
    "revoke_tokens",
    "run_by_file",
    "run_scores",
    "score_run",
    "set_hidden",
    "side_features",
    "significance_matrix",
    "submit_run",
    "suite_groups",
    "suite_leaderboard",
    "suite_runs",
    "unvoted_battles",
    "user_by_name",
)

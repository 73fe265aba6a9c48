"""Arena ratings, style control, agreement with offline measures and between raters, the vote log.

Votes are read as the log's effective rows: not retractions, not retracted, on battles whose two
runs still exist. Human votes (signed-in users, anonymous sessions, imported annotators) and LM
votes are rated apart (``voters="human"`` or ``"llm"``, or one voter key). A verdict is an
outcome for the left side ``a``: ``a`` 1, ``b`` 0, ``tie`` and ``bad`` (both bad) 0.5. The
``aspect`` is the verdict rated: ``answer`` or ``evidence`` (default: ``answer`` when any vote has
an answer verdict, else ``evidence``, the only verdict of battles between rankings).

Ratings are cached in memory per process, keyed by the benchmark, the parameters and the number
and largest id of the benchmark's vote rows (the log only grows, so a new vote or retraction
changes the key).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragbench.errors import InputError
from ragbench.settings import get_settings
from ragbench.store._common import benchmark_by_slug
from ragbench.store.models import HUMAN_VOTERS, ArenaBattle, ArenaVote, Benchmark, User

Voters = str
"""``human``, ``llm``, or one voter key."""
CLUSTERS = ("battle", "topic", "voter")
ASPECTS = ("answer", "evidence")
OUTCOME = {"a": 1.0, "b": 0.0, "tie": 0.5, "bad": 0.5}
CACHE_SIZE = 64
T = TypeVar("T")
MAX_ROUNDS = 10_000
FEATURES: tuple[tuple[str, Literal["count", "share"]], ...] = (
    ("length", "count"),
    ("citations", "count"),
    ("supported", "share"),
)


@dataclass(frozen=True, slots=True)
class VoteRow:
    """One effective vote, as the statistics read it."""

    vote_id: int
    battle_id: int
    query_id: str
    run_a: int
    run_b: int
    system_a: str
    system_b: str
    answer: str | None
    evidence: str | None
    voter_kind: str
    voter_key: str
    label: int | None


def effective_votes(s: Session, benchmark: Benchmark, voters: Voters = "human") -> list[VoteRow]:
    """The benchmark's effective votes (module docstring) of ``voters``, oldest first."""
    retracted = select(ArenaVote.retracts_id).where(
        ArenaVote.benchmark_id == benchmark.id, ArenaVote.retracts_id.is_not(None)
    )
    query = (
        select(
            ArenaVote.id,
            ArenaVote.battle_id,
            ArenaVote.query_id,
            ArenaBattle.run_a_id,
            ArenaBattle.run_b_id,
            ArenaBattle.system_a,
            ArenaBattle.system_b,
            ArenaVote.answer,
            ArenaVote.evidence,
            ArenaVote.voter_kind,
            ArenaVote.voter_key,
            ArenaVote.label,
        )
        .join(ArenaBattle, ArenaBattle.id == ArenaVote.battle_id)
        .where(
            ArenaVote.benchmark_id == benchmark.id,
            ArenaVote.retracts_id.is_(None),
            ArenaVote.id.not_in(retracted),
            ArenaBattle.run_a_id.is_not(None),
            ArenaBattle.run_b_id.is_not(None),
        )
        .order_by(ArenaVote.id)
    )
    if voters == "human":
        query = query.where(ArenaVote.voter_kind.in_(HUMAN_VOTERS))
    elif voters == "llm":
        query = query.where(ArenaVote.voter_kind == "llm")
    else:
        query = query.where(ArenaVote.voter_key == voters)
    rows: list[Any] = list(s.execute(query).all())
    return [VoteRow(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class ArenaRow:
    """One run on the arena leaderboard (rating on the Elo scale; ``rank`` by interval separation)."""

    run_id: int
    system: str
    rank: int | None
    rating: float
    low: float
    high: float
    votes: int
    wins: int
    ties: int
    losses: int
    both_bad: int
    win_rate: float


@dataclass(frozen=True, slots=True)
class ArenaBoard:
    """The arena leaderboard of one benchmark, voter group and aspect.

    Attributes:
        slug: The benchmark.
        voters: ``human``, ``llm`` or a voter key.
        aspect: ``answer`` or ``evidence``.
        cluster: What the bootstrap resampled: ``battle``, ``topic`` or ``voter``.
        rows: Best first.
        ratings: The statistics' result (:class:`ragbench.stats.ArenaRatings`), or None without votes.
        run_ids: The run of each of ``ratings.names`` (same order).
        battles: Battles of the benchmark.
        votes: Votes rated.
    """

    slug: str
    voters: str
    aspect: str
    cluster: str
    rows: tuple[ArenaRow, ...]
    ratings: Any
    run_ids: tuple[int, ...]
    battles: int
    votes: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def choose_aspect(rows: Sequence[VoteRow], aspect: str | None) -> str:
    if aspect is None:
        return "answer" if any(r.answer is not None for r in rows) else "evidence"
    if aspect not in ASPECTS:
        raise InputError(f"aspect {aspect!r} is not one of {', '.join(ASPECTS)}")
    return aspect


def _check(cluster: str, rounds: int | None) -> int:
    if cluster not in CLUSTERS:
        raise InputError(f"cluster {cluster!r} is not one of {', '.join(CLUSTERS)}")
    rounds = get_settings().arena_rounds if rounds is None else rounds
    if not 1 <= rounds <= MAX_ROUNDS:
        raise InputError(f"rounds must be within 1..{MAX_ROUNDS}")
    return rounds


def _cluster_labels(rows: Sequence[VoteRow], cluster: str) -> list[Any]:
    if cluster == "topic":
        return [r.query_id for r in rows]
    if cluster == "voter":
        return [r.voter_key for r in rows]
    return [r.battle_id for r in rows]


def rated_votes(rows: Sequence[VoteRow], aspect: str) -> list[tuple[VoteRow, str]]:
    return [(r, v) for r in rows if (v := r.answer if aspect == "answer" else r.evidence) is not None]


_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_cache_lock = threading.Lock()


def cache_key(s: Session, benchmark: Benchmark, *parts: Any) -> tuple[Any, ...]:
    """A key that changes whenever the benchmark's vote log or battles do (module docstring)."""
    return (str(s.get_bind().engine.url), benchmark.id, _log_state(s, benchmark), *parts)


def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its cached result under ``key`` (LRU, :data:`CACHE_SIZE` entries)."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            found: T = _cache[key]
            return found
    value = compute()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def clear_arena_cache() -> None:
    """Forget every cached arena leaderboard (tests)."""
    with _cache_lock:
        _cache.clear()


def _log_state(s: Session, benchmark: Benchmark) -> tuple[int, int | None, int]:
    votes, last = s.execute(
        select(func.count(), func.max(ArenaVote.id)).where(ArenaVote.benchmark_id == benchmark.id)
    ).one()
    battles = s.scalar(
        select(func.count()).select_from(ArenaBattle).where(ArenaBattle.benchmark_id == benchmark.id)
    )
    return int(votes), last, int(battles or 0)


def arena_board(
    s: Session,
    slug: str,
    *,
    voters: Voters = "human",
    aspect: str | None = None,
    cluster: str = "battle",
    rounds: int | None = None,
    seed: int = 0,
) -> ArenaBoard:
    """The arena leaderboard: Bradley–Terry ratings of the runs with bootstrap intervals
    (:func:`ragbench.stats.arena_ratings`), ranks by interval separation, votes, win rates.

    Ratings come from votes, not from per-topic scores, so they are public on hidden benchmarks.

    Raises:
        NotFoundError: no such benchmark.
        InputError: a bad aspect, cluster or number of rounds.
    """
    benchmark = benchmark_by_slug(s, slug)
    rounds = _check(cluster, rounds)
    key = cache_key(s, benchmark, "board", voters, aspect, cluster, rounds, seed)
    return cached(key, lambda: _board(s, benchmark, slug, voters, aspect, cluster, rounds, seed))


def _board(
    s: Session,
    benchmark: Benchmark,
    slug: str,
    voters: Voters,
    aspect: str | None,
    cluster: str,
    rounds: int,
    seed: int,
) -> ArenaBoard:
    from ragbench.stats import arena_ratings

    battles = _log_state(s, benchmark)[2]
    rows = effective_votes(s, benchmark, voters)
    chosen = choose_aspect(rows, aspect)
    rated = rated_votes(rows, chosen)
    board = ArenaBoard(slug, voters, chosen, cluster, (), None, (), battles, len(rated))
    if rated:
        run_ids = sorted({r.run_a for r, _ in rated} | {r.run_b for r, _ in rated})
        index = {run: i for i, run in enumerate(run_ids)}
        names: dict[int, str] = {}
        for r, _ in rated:
            names[r.run_a], names[r.run_b] = r.system_a, r.system_b
        bad = dict.fromkeys(run_ids, 0)
        for r, verdict in rated:
            if verdict == "bad":
                bad[r.run_a] += 1
                bad[r.run_b] += 1
        result = arena_ratings(
            [index[r.run_a] for r, _ in rated],
            [index[r.run_b] for r, _ in rated],
            [OUTCOME[v] for _, v in rated],
            [str(run) for run in run_ids],
            clusters=_cluster_labels([r for r, _ in rated], cluster),
            cluster=cluster,
            rounds=rounds,
            seed=seed,
        )
        board_rows = tuple(
            ArenaRow(
                run_id=int(x.system),
                system=names[int(x.system)],
                rank=x.rank,
                rating=x.rating,
                low=x.low,
                high=x.high,
                votes=x.votes,
                wins=x.wins,
                ties=x.ties - bad[int(x.system)],
                losses=x.losses,
                both_bad=bad[int(x.system)],
                win_rate=x.win_rate,
            )
            for x in result.systems
        )
        notes = []
        if not result.rated:
            notes.append("the comparison graph is in pieces: no common scale, nothing rated")
        elif not result.finite_mle:
            notes.append("some runs never lost (or never won) against the rest: their ratings are open-ended")
        if result.degenerate_rounds:
            notes.append(f"{result.degenerate_rounds} of {rounds} bootstrap rounds had no finite estimate")
        board = ArenaBoard(
            slug,
            voters,
            chosen,
            cluster,
            board_rows,
            result,
            tuple(run_ids),
            battles,
            len(rated),
            tuple(notes),
        )
    return board


def arena_style(
    s: Session,
    slug: str,
    *,
    voters: Voters = "human",
    aspect: str | None = None,
    cluster: str = "battle",
    rounds: int | None = None,
    seed: int = 0,
) -> Any:
    """Ratings controlled for the sides' length, citations and supported-citation share
    (:func:`ragbench.stats.style_control`): a :class:`ragbench.stats.StyleControlled` whose
    ``systems`` are run ids as strings.

    Raises:
        NotFoundError: no such benchmark.
        InputError: bad arguments, no votes, no covariate that varies, a disconnected graph.
    """
    benchmark = benchmark_by_slug(s, slug)
    rounds = _check(cluster, rounds)
    key = cache_key(s, benchmark, "style", voters, aspect, cluster, rounds, seed)
    return cached(key, lambda: _style(s, benchmark, voters, aspect, cluster, rounds, seed))


def _style(
    s: Session, benchmark: Benchmark, voters: Voters, aspect: str | None, cluster: str, rounds: int, seed: int
) -> Any:
    from ragbench.stats import style_control
    from ragbench.store._arena_sides import side_features

    rows = effective_votes(s, benchmark, voters)
    rated = rated_votes(rows, choose_aspect(rows, aspect))
    if not rated:
        raise InputError("no votes to rate")
    battles = {
        b.id: b
        for b in s.scalars(select(ArenaBattle).where(ArenaBattle.id.in_({r.battle_id for r, _ in rated})))
    }
    features = {bid: (side_features(b.side_a), side_features(b.side_b)) for bid, b in battles.items()}
    usable = [
        name
        for name, _ in FEATURES
        if all(f[0][name] is not None and f[1][name] is not None for f in features.values())
    ]
    kinds = [(name, kind) for name, kind in FEATURES if name in usable]
    if not kinds:
        raise InputError("no covariate is known for every battle")
    run_ids = sorted({r.run_a for r, _ in rated} | {r.run_b for r, _ in rated})
    index = {run: i for i, run in enumerate(run_ids)}
    return style_control(
        [index[r.run_a] for r, _ in rated],
        [index[r.run_b] for r, _ in rated],
        [OUTCOME[v] for _, v in rated],
        [str(run) for run in run_ids],
        [[float(features[r.battle_id][0][name] or 0.0) for name, _ in kinds] for r, _ in rated],
        [[float(features[r.battle_id][1][name] or 0.0) for name, _ in kinds] for r, _ in rated],
        kinds,
        clusters=_cluster_labels([r for r, _ in rated], cluster),
        cluster=cluster,
        rounds=rounds,
        seed=seed,
    )


def offline_means(s: Session, benchmark: Benchmark, run_ids: Sequence[int], measure: str) -> dict[int, float]:
    """The runs' means on ``measure`` against the latest qrels version (public, also when hidden)."""
    from ragbench.store._common import latest_version
    from ragbench.store.models import ALL_TOPICS, Score

    version = latest_version(s, benchmark.id)
    found = s.execute(
        select(Score.run_id, Score.value).where(
            Score.run_id.in_(list(run_ids)),
            Score.qrels_version_id == version.id,
            Score.measure == measure,
            Score.query_id == ALL_TOPICS,
        )
    ).all()
    return {int(run): float(value) for run, value in found}


def per_topic_matrix(
    s: Session, benchmark: Benchmark, run_ids: Sequence[int], measure: str
) -> tuple[list[str], np.ndarray]:
    """Topics and the ``(runs, topics)`` per-topic scores of ``run_ids`` on ``measure`` (latest
    qrels version; topics every run has). Callers apply :func:`per_topic_visible` first."""
    from ragbench.store._common import latest_version
    from ragbench.store.models import ALL_TOPICS, Score

    version = latest_version(s, benchmark.id)
    values: dict[int, dict[str, float]] = {run: {} for run in run_ids}
    for run_id, query_id, value in s.execute(
        select(Score.run_id, Score.query_id, Score.value).where(
            Score.run_id.in_(list(run_ids)),
            Score.qrels_version_id == version.id,
            Score.measure == measure,
            Score.query_id != ALL_TOPICS,
        )
    ):
        values[run_id][query_id] = value
    topics = sorted(set.intersection(*(set(v) for v in values.values()))) if values else []
    return topics, np.array([[values[run][q] for q in topics] for run in run_ids]).reshape(
        len(run_ids), len(topics)
    )


def export_votes(s: Session, actor: User | None, slug: str) -> list[dict[str, Any]]:
    """The benchmark's whole vote log (retractions and retracted votes included), oldest first;
    admin only (voter keys identify users and sessions, and a battle's names are blind until a
    voter has voted).

    Raises:
        AuthError, PermissionDenied: not an admin.
        NotFoundError: no such benchmark.
    """
    from ragbench.store._common import require_admin

    require_admin(actor, "export the arena's vote log")
    benchmark = benchmark_by_slug(s, slug)
    query = (
        select(ArenaVote, ArenaBattle)
        .join(ArenaBattle, ArenaBattle.id == ArenaVote.battle_id)
        .where(ArenaVote.benchmark_id == benchmark.id)
        .order_by(ArenaVote.id)
    )
    return [
        {
            "vote_id": v.id,
            "created_at": v.created_at.isoformat(),
            "battle_id": b.id,
            "query_id": v.query_id,
            "run_a": b.run_a_id,
            "system_a": b.system_a,
            "run_b": b.run_b_id,
            "system_b": b.system_b,
            "answer": v.answer,
            "evidence": v.evidence,
            "voter_kind": v.voter_kind,
            "voter": v.voter_key,
            "retracts": v.retracts_id,
            "label": v.label,
            "provenance": v.provenance,
        }
        for v, b in s.execute(query).all()
    ]

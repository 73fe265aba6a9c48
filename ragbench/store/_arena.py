"""The arena's battles and its vote log.

**Battles** (:func:`draw_battles`): for a benchmark's players (by default the latest run of each
system whose kind the arena can show), every pair meets ``per_pair`` times. Each battle's topic is
one both runs answer, chosen among those the pair has not met on yet and, of those, the least used
in the arena so far (ties at random); of the two runs, the one shown on the left less often
(relative to the right) so far goes left (ties at random). Counts start from the battles already
drawn, so repeated draws stay balanced. The schedule is shuffled and its sides rendered
(:mod:`ragbench.store._arena_sides`).

**Votes** are in :mod:`ragbench.store._arena_votes`. Names stay hidden until the voter has voted
(:func:`battle_view`).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ragbench.errors import InputError, NotFoundError
from ragbench.store._arena_sides import (
    DEFAULT_K,
    SIDE_RENDERERS,
    SideContext,
    attach_documents,
    render_side,
    topics_of,
)
from ragbench.store._common import benchmark_by_slug, now, require_admin
from ragbench.store.models import HUMAN_VOTERS, ArenaBattle, ArenaVote, Benchmark, Run, System, User

MAX_K = 100
MAX_PER_PAIR = 1000
MAX_BATTLES = 100_000
"""Battles one draw may create."""
_SESSION = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class Voter:
    """Who votes: ``kind`` (``user``, ``anon``, ``llm``, ``import``) and a stable ``key``."""

    kind: str
    key: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user: User) -> Voter:
        """A signed-in user."""
        return cls("user", f"user:{user.id}", user.id)

    @classmethod
    def anonymous(cls, session: str) -> Voter:
        """An anonymous session (32 hex digits, from a signed cookie).

        Raises:
            InputError: a malformed session id.
        """
        if not isinstance(session, str) or not _SESSION.fullmatch(session):
            raise InputError("a malformed anonymous voter session")
        return cls("anon", f"anon:{session}")

    @classmethod
    def judge(cls, name: str) -> Voter:
        """An LM judge (``name``: model, prompt and decoding, hashed by the caller)."""
        return cls("llm", f"llm:{name}"[:200])

    @classmethod
    def annotator(cls, source: str, index: int) -> Voter:
        """The ``index``-th annotator of an imported file."""
        return cls("import", f"import:{source}:{index}"[:200])

    @property
    def is_human(self) -> bool:
        """Users, anonymous sessions and imported annotators (not LM judges)."""
        return self.kind in HUMAN_VOTERS


@dataclass(frozen=True, slots=True)
class DrawReport:
    """What :func:`draw_battles` did.

    Attributes:
        battles: The battles created, in the shuffled order.
        players: The runs that take part.
        skipped: Pairs that answer no topic in common, as ``(run id, run id)``.
    """

    battles: tuple[ArenaBattle, ...]
    players: tuple[int, ...]
    skipped: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class BattleView:
    """A battle as a voter may see it (names only once the voter has voted, or to an admin).

    Attributes:
        battle: The battle.
        asks: The verdicts the battle asks for (:func:`asks_of`).
        revealed: Whether the run and system names may be shown.
        vote: The voter's vote on it (None: not voted).
    """

    battle: ArenaBattle
    asks: tuple[str, ...]
    revealed: bool
    vote: ArenaVote | None


def asks_of(battle: ArenaBattle) -> tuple[str, ...]:
    """The verdicts a battle asks for: a ranking is evidence (``("evidence",)``); answers are
    judged as answers, and their evidence too when a side cites any (``("answer", "evidence")``)."""
    sides = (battle.side_a, battle.side_b)
    if not any(side.get("kind") == "answer" for side in sides):
        return ("evidence",)
    cited = any(side.get("citations") or side.get("passages") for side in sides)
    return ("answer", "evidence") if cited else ("answer",)


def query_texts(benchmark: Benchmark) -> dict[str, str]:
    if not benchmark.topics:
        return {}
    from ragbench.formats.topics import read_topics

    return {t.query_id: t.title for t in read_topics(benchmark.topics.encode("utf-8"), name="topics")}


def _players(s: Session, benchmark: Benchmark, run_ids: Sequence[int] | None) -> list[Run]:
    if run_ids is None:
        latest = (
            select(func.max(Run.id))
            .where(
                Run.benchmark_id == benchmark.id, Run.kind.in_(list(SIDE_RENDERERS)), Run.status != "failed"
            )
            .group_by(Run.system_id)
        )
        return list(s.scalars(select(Run).where(Run.id.in_(latest)).order_by(Run.id)))
    ids = [int(r) for r in run_ids]
    repeated = sorted({r for r in ids if ids.count(r) > 1})
    if repeated:
        raise InputError(f"a battle between a run and itself: run {repeated[0]} is listed twice")
    runs = {r.id: r for r in s.scalars(select(Run).where(Run.id.in_(ids)))}
    for run_id in ids:
        run = runs.get(run_id)
        if run is None or run.benchmark_id != benchmark.id:
            raise NotFoundError(f"no run {run_id} on benchmark {benchmark.slug!r}")
        if run.kind not in SIDE_RENDERERS:
            raise InputError(f"run {run_id} is a {run.kind} run; the arena compares runs on topics")
    return [runs[r] for r in ids]


def _names(s: Session, runs: Sequence[Run]) -> dict[int, str]:
    ids = [r.system_id for r in runs]
    names = dict(s.execute(select(System.id, System.name).where(System.id.in_(ids))).all())
    return {r.id: names[r.system_id] for r in runs}


def draw_battles(
    s: Session,
    actor: User | None,
    slug: str,
    *,
    runs: Sequence[int] | None = None,
    per_pair: int = 1,
    k: int = DEFAULT_K,
    seed: int | None = None,
) -> DrawReport:
    """Draw a balanced round of battles (module docstring); admin only.

    Args:
        s: The session; the caller commits.
        actor: The admin.
        slug: The benchmark.
        runs: The players (default: the latest run of each system, ad hoc runs and any kind with
            a side renderer, failed runs left out).
        per_pair: Battles per pair of players.
        k: Documents shown on a ranking side.
        seed: Seed of the draw (default: fresh randomness).

    Raises:
        AuthError, PermissionDenied: not an admin.
        NotFoundError: no such benchmark, or a run not on it.
        InputError: fewer than two players, a run listed twice, a kind the arena cannot show, bad
            ``per_pair`` or ``k``, no pair with a topic in common, too many battles.
    """
    require_admin(actor, "draw arena battles")
    if not 1 <= per_pair <= MAX_PER_PAIR or not 1 <= k <= MAX_K:
        raise InputError(f"per_pair must be within 1..{MAX_PER_PAIR} and k within 1..{MAX_K}")
    benchmark = benchmark_by_slug(s, slug)
    players = _players(s, benchmark, runs)
    if len(players) < 2:
        raise InputError(
            f"benchmark {slug!r} has {len(players)} run(s) the arena can show; a battle needs two"
        )
    pairs = len(players) * (len(players) - 1) // 2
    if pairs * per_pair > MAX_BATTLES:
        raise InputError(f"{pairs * per_pair:,} battles at once is more than {MAX_BATTLES:,}")
    context = SideContext(benchmark, k)
    texts = query_texts(benchmark)
    topics = {
        run.id: topics_of(context, run) & (set(texts) if texts else topics_of(context, run))
        for run in players
    }
    rng = random.Random(seed)
    pair_topics: dict[tuple[int, int], set[str]] = {}
    topic_use: Counter[str] = Counter()
    left: Counter[int] = Counter()  # per run: times shown on the left minus times on the right
    for left_id, right_id, topic in s.execute(
        select(ArenaBattle.run_a_id, ArenaBattle.run_b_id, ArenaBattle.query_id).where(
            ArenaBattle.benchmark_id == benchmark.id
        )
    ):
        topic_use[topic] += 1
        if left_id is not None and right_id is not None:
            left[left_id] += 1
            left[right_id] -= 1
            pair_topics.setdefault((min(left_id, right_id), max(left_id, right_id)), set()).add(topic)
    schedule: list[tuple[Run, Run, str]] = []
    skipped: list[tuple[int, int]] = []
    for x, y in combinations(sorted(players, key=lambda r: r.id), 2):
        common = sorted(topics[x.id] & topics[y.id])
        if not common:
            skipped.append((x.id, y.id))
            continue
        met = pair_topics.setdefault((x.id, y.id), set())
        for _ in range(per_pair):
            candidates = [q for q in common if q not in met] or common
            least = min(topic_use[q] for q in candidates)
            q = rng.choice([c for c in candidates if topic_use[c] == least])
            met.add(q)
            topic_use[q] += 1
            # The run shown on the left less often than on the right so far goes left.
            lean_x, lean_y = left[x.id], left[y.id]
            first, second = (x, y) if lean_x < lean_y or (lean_x == lean_y and rng.random() < 0.5) else (y, x)
            left[first.id] += 1
            left[second.id] -= 1
            schedule.append((first, second, q))
    if not schedule:
        raise InputError("no two runs answer a topic in common: nothing to draw")
    rng.shuffle(schedule)
    names = _names(s, players)
    sides = [(render_side(context, a, q), render_side(context, b, q)) for a, b, q in schedule]
    attach_documents(context, [side for pair in sides for side in pair if side is not None])
    created = now()
    battles = []
    for (a, b, q), (side_a, side_b) in zip(schedule, sides, strict=True):
        if side_a is None or side_b is None:  # pragma: no cover - topics were taken from the runs
            continue
        battles.append(
            ArenaBattle(
                benchmark_id=benchmark.id,
                query_id=q,
                query_text=texts.get(q, q),
                run_a_id=a.id,
                run_b_id=b.id,
                system_a=names[a.id],
                system_b=names[b.id],
                side_a=side_a,
                side_b=side_b,
                source="drawn",
                created_at=created,
            )
        )
    s.add_all(battles)
    s.flush()
    return DrawReport(tuple(battles), tuple(r.id for r in players), tuple(skipped))


def create_battle(
    s: Session, actor: User | None, slug: str, run_a: int, run_b: int, query_id: str, *, k: int = DEFAULT_K
) -> ArenaBattle:
    """One battle of ``run_a`` (left) against ``run_b`` (right) on ``query_id``; admin only.

    Raises:
        AuthError, PermissionDenied: not an admin.
        NotFoundError: no such benchmark, or a run not on it.
        InputError: a run against itself, a kind the arena cannot show, a topic a run does not
            answer, a bad ``k``.
    """
    require_admin(actor, "create arena battles")
    if run_a == run_b:
        raise InputError(f"a battle between a run and itself (run {run_a})")
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be within 1..{MAX_K}")
    benchmark = benchmark_by_slug(s, slug)
    a, b = _players(s, benchmark, [run_a, run_b])
    context = SideContext(benchmark, k)
    side_a, side_b = render_side(context, a, query_id), render_side(context, b, query_id)
    missing = [r.id for r, side in ((a, side_a), (b, side_b)) if side is None]
    if missing or side_a is None or side_b is None:
        raise InputError(f"run {missing[0]} has nothing for topic {query_id!r}")
    attach_documents(context, [side_a, side_b])
    names = _names(s, [a, b])
    battle = ArenaBattle(
        benchmark_id=benchmark.id,
        query_id=query_id,
        query_text=query_texts(benchmark).get(query_id, query_id),
        run_a_id=a.id,
        run_b_id=b.id,
        system_a=names[a.id],
        system_b=names[b.id],
        side_a=side_a,
        side_b=side_b,
        source="drawn",
        created_at=now(),
    )
    s.add(battle)
    s.flush()
    return battle


def get_battle(s: Session, battle_id: int) -> ArenaBattle:
    """A battle.

    Raises:
        NotFoundError: there is none.
    """
    battle = s.get(ArenaBattle, battle_id)
    if battle is None:
        raise NotFoundError(f"no arena battle {battle_id}")
    return battle


def vote_of(s: Session, battle_id: int, voter: Voter) -> ArenaVote | None:
    """The voter's vote on a battle (its original row, retracted or not), or None."""
    found: ArenaVote | None = s.scalar(
        select(ArenaVote).where(
            ArenaVote.battle_id == battle_id,
            ArenaVote.voter_key == voter.key,
            ArenaVote.retracts_id.is_(None),
        )
    )
    return found


def battle_view(s: Session, battle_id: int, voter: Voter | None, actor: User | None) -> BattleView:
    """A battle for a voter: names revealed once the voter has voted on it, or to an admin.

    Raises:
        NotFoundError: no such battle.
    """
    battle = get_battle(s, battle_id)
    vote = vote_of(s, battle_id, voter) if voter is not None else None
    revealed = vote is not None or (actor is not None and actor.is_admin)
    return BattleView(battle, asks_of(battle), revealed, vote)


def next_battle(s: Session, slug: str, voter: Voter) -> ArenaBattle | None:
    """A battle of the benchmark the voter has not voted on, among those with the fewest human
    votes (at random among equals), so votes spread evenly; None when none is left.

    Raises:
        NotFoundError: no such benchmark.
    """
    benchmark = benchmark_by_slug(s, slug)
    voted = select(ArenaVote.battle_id).where(ArenaVote.voter_key == voter.key)
    counts = (
        select(ArenaVote.battle_id, func.count().label("n"))
        .where(ArenaVote.benchmark_id == benchmark.id, ArenaVote.voter_kind.in_(HUMAN_VOTERS))
        .group_by(ArenaVote.battle_id)
        .subquery()
    )
    found: ArenaBattle | None = s.scalar(
        select(ArenaBattle)
        .outerjoin(counts, counts.c.battle_id == ArenaBattle.id)
        .where(
            ArenaBattle.benchmark_id == benchmark.id,
            ArenaBattle.run_a_id.is_not(None),
            ArenaBattle.run_b_id.is_not(None),
            ArenaBattle.id.not_in(voted),
        )
        .order_by(func.coalesce(counts.c.n, 0), func.random())
        .limit(1)
    )
    return found


def unvoted_battles(s: Session, slug: str, voter: Voter, limit: int | None = None) -> list[ArenaBattle]:
    """The benchmark's battles (with both runs) the voter has not voted on, oldest first: what an
    LM judge still has to judge.

    Raises:
        NotFoundError: no such benchmark.
    """
    benchmark = benchmark_by_slug(s, slug)
    voted = select(ArenaVote.battle_id).where(ArenaVote.voter_key == voter.key)
    query = (
        select(ArenaBattle)
        .where(
            ArenaBattle.benchmark_id == benchmark.id,
            ArenaBattle.run_a_id.is_not(None),
            ArenaBattle.run_b_id.is_not(None),
            ArenaBattle.id.not_in(voted),
        )
        .order_by(ArenaBattle.id)
    )
    return list(s.scalars(query.limit(limit) if limit else query))

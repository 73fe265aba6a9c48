"""The arena's battles and vote log in the store (SQLite, then PostgreSQL).

One migrated database per kind for the module, emptied after each test (``engine`` below
replaces the store conftest's per-test database); the migration test keeps a database of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from support.arena import emptied_engine, module_database
from support.webserver import read_qrels, synthetic_run

from ragbench.errors import ConflictError, InputError, NotFoundError, PermissionDenied, QuotaExceeded
from ragbench.settings import get_settings
from ragbench.store import service
from ragbench.store.models import ArenaBattle, ArenaVote, Benchmark, User

Factory = Any
QUALITY = {"strong": 3.0, "good": 1.5, "fair": 0.6, "weak": 0.0}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per kind for the module (:func:`support.arena.module_database`)."""
    with module_database(request.param, tmp_path_factory.mktemp("arena-store")) as url:
        yield url


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    """Replaces the store conftest's per-test database: the module's, emptied after the test."""
    with emptied_engine(database) as engine:
        yield engine


@pytest.fixture(autouse=True)
def _fresh_arena_cache() -> Iterator[None]:
    service.clear_arena_cache()
    yield
    service.clear_arena_cache()


@pytest.fixture
def runs(
    factory: Factory, users: dict[str, User], benchmark: Benchmark, trec_eval_data: Path
) -> dict[str, int]:
    """Four runs of different quality on benchmark ``te`` (trec_eval's qrels.test)."""
    qrels = read_qrels(trec_eval_data / "qrels.test")
    ids = {}
    with factory() as s, s.begin():
        alice = s.get(User, users["alice"].id)
        for seed, (name, quality) in enumerate(QUALITY.items()):
            content = synthetic_run(qrels, quality=quality, seed=seed, depth=30, tag=name).encode()
            ids[name] = service.submit_run(s, alice, "te", content, name=name).id
    return ids


def _root(s: Any, users: dict[str, User]) -> User:
    return s.get(User, users["root"].id)


def test_draw_is_balanced_and_blind_until_the_vote(
    factory: Factory, users: dict[str, User], runs: dict[str, int]
) -> None:
    with factory() as s, s.begin():
        report = service.draw_battles(s, _root(s, users), "te", per_pair=3, k=5, seed=1)
        battles = [(b.run_a_id, b.run_b_id, b.query_id) for b in report.battles]
    assert sorted(report.players) == sorted(runs.values()) and not report.skipped
    pairs = Counter(frozenset((a, b)) for a, b, _ in battles)
    assert len(pairs) == 6 and set(pairs.values()) == {3}  # every pair meets every other 3 times
    for pair in pairs:  # on 3 different topics (qrels.test has 3)
        assert len({q for a, b, q in battles if frozenset((a, b)) == pair}) == 3
    left, seen = Counter(a for a, _, _ in battles), Counter(r for a, b, _ in battles for r in (a, b))
    for run in runs.values():  # each run on the left in about half its battles
        assert abs(left[run] - seen[run] / 2) <= 1
    topics = Counter(q for _, _, q in battles)
    assert max(topics.values()) - min(topics.values()) <= 1  # topics used evenly
    with factory() as s, s.begin():
        battle = report.battles[0]
        view = service.battle_view(s, battle.id, service.Voter.for_user(s.get(User, users["bob"].id)), None)
        assert not view.revealed and view.asks == ("evidence",)
        side = view.battle.side_a
        assert side["kind"] == "ranking" and len(side["items"]) == 5 and side["items"][0]["rank"] == 1
        scores = [item["score"] for item in side["items"]]
        assert scores == sorted(scores, reverse=True)  # the tie rule's order
    # Once a pair has met on every topic they share, a later draw reuses topics rather than fail.
    with factory() as s, s.begin():
        assert len(service.draw_battles(s, _root(s, users), "te", per_pair=1, seed=2).battles) == 6


def test_a_second_draw_goes_to_topics_a_pair_has_not_met_on(
    factory: Factory, users: dict[str, User], runs: dict[str, int]
) -> None:
    with factory() as s, s.begin():
        first = [
            (b.run_a_id, b.run_b_id, b.query_id)
            for b in service.draw_battles(s, _root(s, users), "te", per_pair=2, seed=6).battles
        ]
        second = service.draw_battles(s, _root(s, users), "te", per_pair=1, seed=7).battles
        for b in second:
            earlier = {q for a, c, q in first if {a, c} == {b.run_a_id, b.run_b_id}}
            assert len(earlier) == 2 and b.query_id not in earlier


def test_one_vote_per_voter_retractions_and_ratings(
    factory: Factory, users: dict[str, User], runs: dict[str, int], run_in: Callable[..., Any]
) -> None:
    with factory() as s, s.begin():
        ids = [b.id for b in service.draw_battles(s, _root(s, users), "te", per_pair=2, seed=3).battles]
    bob = service.Voter("user", f"user:{users['bob'].id}", users["bob"].id)
    anon = service.Voter.anonymous("ab" * 16)
    with factory() as s, s.begin():
        vote = service.cast_vote(s, ids[0], bob, evidence="a")
        view = service.battle_view(s, ids[0], bob, None)
        assert view.revealed and view.vote is not None and view.vote.id == vote.id
    with factory() as s, s.begin(), pytest.raises(ConflictError, match="already"):
        service.cast_vote(s, ids[0], bob, evidence="b")
    with factory() as s, s.begin(), pytest.raises(InputError, match="compares rankings"):
        service.cast_vote(s, ids[1], bob, answer="a")
    with factory() as s, s.begin(), pytest.raises(InputError, match="not one of"):
        service.cast_vote(s, ids[1], bob, evidence="left")
    with factory() as s, s.begin(), pytest.raises(NotFoundError, match="no arena battle"):
        service.cast_vote(s, 999_999, bob, evidence="a")
    for battle_id in ids[1:6]:
        run_in(service.cast_vote, battle_id, anon, evidence="tie")
    board = run_in(service.arena_board, "te", rounds=50)
    assert board.votes == 6 and board.aspect == "evidence"
    # A retraction is a new row; the retracted vote no longer counts, and cannot be voted again.
    with factory() as s, s.begin():
        retraction = service.retract_vote(s, vote.id, bob)
        assert retraction.retracts_id == vote.id and retraction.evidence is None
    with factory() as s, s.begin(), pytest.raises(ConflictError, match="retracted already"):
        service.retract_vote(s, vote.id, bob)
    with factory() as s, s.begin(), pytest.raises(PermissionDenied):
        service.retract_vote(
            s, ids and s.scalar(select(ArenaVote.id).where(ArenaVote.voter_key == anon.key)), bob
        )
    with factory() as s, s.begin(), pytest.raises(ConflictError):
        service.cast_vote(s, ids[0], bob, evidence="b")
    assert run_in(service.arena_board, "te", rounds=50).votes == 5
    with factory() as s:
        assert s.query(ArenaVote).count() == 7  # 6 votes and 1 retraction: nothing rewritten
    assert run_in(service.next_battle, "te", anon).id not in ids[1:6]


def test_rate_limit_per_voter(
    factory: Factory, users: dict[str, User], runs: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGBENCH_ARENA_VOTES_PER_MINUTE", "2")
    get_settings.cache_clear()
    with factory() as s, s.begin():
        ids = [b.id for b in service.draw_battles(s, _root(s, users), "te", per_pair=1, seed=4).battles]
    anon, other = service.Voter.anonymous("01" * 16), service.Voter.anonymous("02" * 16)
    for battle_id in ids[:2]:
        with factory() as s, s.begin():
            service.cast_vote(s, battle_id, anon, evidence="a")
    with factory() as s, s.begin(), pytest.raises(QuotaExceeded, match="at most 2 arena votes") as info:
        service.cast_vote(s, ids[2], anon, evidence="a")
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= 61
    with factory() as s, s.begin():  # another voter is not affected; LM judges are not limited
        service.cast_vote(s, ids[2], other, evidence="b")
        for battle_id in ids[:3]:
            service.cast_vote(s, battle_id, service.Voter.judge("m:1"), evidence="tie")


def test_battles_of_a_run_with_itself_are_refused(
    factory: Factory, users: dict[str, User], runs: dict[str, int]
) -> None:
    strong = runs["strong"]
    with factory() as s, s.begin(), pytest.raises(InputError, match="a run and itself"):
        service.create_battle(s, _root(s, users), "te", strong, strong, "301")
    with factory() as s, s.begin(), pytest.raises(InputError, match="a run and itself"):
        service.draw_battles(s, _root(s, users), "te", runs=[strong, strong, runs["weak"]])
    with factory() as s, s.begin(), pytest.raises(PermissionDenied):
        service.draw_battles(s, s.get(User, users["alice"].id), "te")
    with factory() as s, s.begin():
        battle = service.create_battle(s, _root(s, users), "te", strong, runs["weak"], "301", k=3)
        assert (battle.system_a, battle.system_b) == ("strong", "weak") and len(battle.side_b["items"]) == 3


def test_deleting_a_run_keeps_its_votes_in_the_log(
    factory: Factory, users: dict[str, User], runs: dict[str, int], run_in: Callable[..., Any]
) -> None:
    with factory() as s, s.begin():
        battles = service.draw_battles(s, _root(s, users), "te", per_pair=1, seed=5).battles
        ids = [(b.id, b.run_a_id, b.run_b_id) for b in battles]
    judge = service.Voter.judge("m:2")
    for battle_id, _, _ in ids:
        run_in(service.cast_vote, battle_id, judge, evidence="a")
    with factory() as s, s.begin():
        service.delete_run(s, s.get(User, users["alice"].id), runs["weak"])
    with factory() as s:
        assert s.query(ArenaVote).count() == 6
        orphaned = s.scalars(
            select(ArenaBattle).where(ArenaBattle.run_b_id.is_(None) | ArenaBattle.run_a_id.is_(None))
        )
        assert {b.system_a if b.run_a_id is None else b.system_b for b in orphaned} == {"weak"}
    board = run_in(service.arena_board, "te", voters="llm", rounds=20)
    assert board.votes == 3 and runs["weak"] not in {r.run_id for r in board.rows}
    exported = run_in(service.export_votes, _root_of(factory, users), "te")
    assert len(exported) == 6 and {row["voter"] for row in exported} == {judge.key}


def _root_of(factory: Factory, users: dict[str, User]) -> User:
    with factory() as s:
        return s.get(User, users["root"].id)


def test_the_arena_revision_keeps_old_votes_and_goes_both_ways(database_url: str) -> None:
    """Rows of the old ``arena_vote`` become a battle and a vote each; the downgrade turns them
    back (and drops what the old table cannot hold: evidence-only votes, retractions)."""
    from alembic import command
    from sqlalchemy import text

    from ragbench.store.db import alembic_config, make_engine, upgrade

    config = alembic_config(database_url)
    command.upgrade(config, "5e55b1c0a9d2")
    engine = make_engine(database_url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO \"user\" (id, name, role) VALUES (1, 'u', 'admin')"))
            c.execute(
                text(
                    "INSERT INTO benchmark (id, slug, title, description, hidden, measures) VALUES (1, 'b', '', '', false, '[]')"
                )
            )
            c.execute(
                text(
                    "INSERT INTO system (id, benchmark_id, owner_id, name, description, metadata) VALUES (1, 1, 1, 'one', '', '{}'), (2, 1, 1, 'two', '', '{}')"
                )
            )
            for run_id, system_id in ((5, 1), (6, 2)):
                c.execute(
                    text(
                        "INSERT INTO run (id, system_id, benchmark_id, owner_id, sha256, num_lines, num_topics, status, content) "
                        "VALUES (:id, :system, 1, 1, :sha, 1, 1, 'scored', :blob)"
                    ),
                    {"id": run_id, "system": system_id, "sha": f"h{run_id}", "blob": b"r"},
                )
            c.execute(
                text(
                    "INSERT INTO arena_vote (id, benchmark_id, query_id, run_a_id, run_b_id, winner, voter_id) VALUES (1, 1, 'q1', 5, 6, 'b', 1), (2, 1, 'q2', 6, 5, 'tie', NULL)"
                )
            )
        engine.dispose()
        upgrade(database_url)
        with engine.connect() as c:
            battles = c.execute(
                text("SELECT query_id, run_a_id, run_b_id, system_a, system_b FROM arena_battle ORDER BY id")
            ).all()
            assert [tuple(b) for b in battles] == [("q1", 5, 6, "one", "two"), ("q2", 6, 5, "two", "one")]
            votes = c.execute(text("SELECT answer, voter_kind, voter_key FROM arena_vote ORDER BY id")).all()
            assert [tuple(v) for v in votes] == [
                ("b", "user", "user:1"),
                ("tie", "import", "import:legacy:2"),
            ]
        with engine.begin() as c:  # an evidence-only vote cannot go back to the old table
            c.execute(
                text(
                    "INSERT INTO arena_vote (benchmark_id, battle_id, query_id, evidence, voter_kind, voter_key) VALUES (1, 1, 'q1', 'a', 'anon', 'anon:x')"
                )
            )
        engine.dispose()
        command.downgrade(config, "5e55b1c0a9d2")
        with engine.connect() as c:
            rows = c.execute(
                text("SELECT query_id, run_a_id, run_b_id, winner, voter_id FROM arena_vote ORDER BY id")
            ).all()
            assert [tuple(r) for r in rows] == [("q1", 5, 6, "b", 1), ("q2", 6, 5, "tie", None)]
        engine.dispose()
        upgrade(database_url)
    finally:
        engine.dispose()


def test_agreement_with_offline_measures_and_blinding(
    factory: Factory, users: dict[str, User], runs: dict[str, int], run_in: Callable[..., Any]
) -> None:
    from scipy.stats import kendalltau

    with factory() as s, s.begin():
        battles = [
            (b.id, b.run_a_id, b.run_b_id, b.query_id)
            for b in service.draw_battles(s, _root(s, users), "te", per_pair=3, seed=8).battles
        ]
    with factory() as s:
        per_topic = {run: service.run_scores(s, run, None, per_topic=True)["AP"] for run in runs.values()}
    # People vote for the run with the higher AP on the battle's topic (a tie when equal).
    voter = service.Voter.anonymous("cd" * 16)
    expected_agree = expected_ties = 0
    with factory() as s, s.begin():
        for battle_id, a, b, q in battles:
            diff = per_topic[a][q] - per_topic[b][q]
            verdict = "a" if diff > 0 else "b" if diff < 0 else "tie"
            expected_agree += verdict != "tie"
            expected_ties += verdict == "tie"
            service.cast_vote(s, battle_id, voter, evidence=verdict)
    get_settings.cache_clear()
    admin_view = run_in(service.arena_agreement, "te", _root_of(factory, users), measures=["AP"], rounds=200)
    (ap,) = admin_view.measures
    assert ap.battles.agree == expected_agree and ap.battles.disagree == 0 and ap.battles.rate == 1.0
    assert ap.battles.votes == len(battles)
    board = run_in(service.arena_board, "te", rounds=200)
    strengths = {r.run_id: s_.strength for r, s_ in zip(board.rows, board.ratings.systems, strict=True)}
    means = {run: per_topic[run]["all"] for run in runs.values()}
    order = sorted(strengths)
    assert ap.ranking.tau == pytest.approx(
        kendalltau([strengths[r] for r in order], [means[r] for r in order]).statistic
    )
    assert ap.ranking.low <= ap.ranking.tau <= ap.ranking.high
    # Hidden: non-admins get the rank correlation of the means, nothing derived from per-topic scores.
    with factory() as s, s.begin():
        service.set_hidden(s, _root(s, users), "te", True)
    blind = run_in(service.arena_agreement, "te", None, measures=["AP"], rounds=200)
    (ap_blind,) = blind.measures
    assert blind.withheld and ap_blind.battles is None and ap_blind.ranking.to_dict()["low"] is None
    assert ap_blind.ranking.tau == pytest.approx(ap.ranking.tau)

"""Acceptance on ../shared/data/rag-pairwise: import 140 comparisons by 2 annotators among 8 RAG
systems, rate them, and check the ratings, intervals and agreement figures independently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from support.arena import (
    RAG_PAIRWISE,
    emptied_engine,
    logistic_bradley_terry,
    module_database,
    rag_pairwise_benchmark,
    rag_pairwise_rows,
    votes_from_file,
)

from ragbench.errors import ConflictError, FormatError
from ragbench.store import service
from ragbench.store.models import ArenaBattle, ArenaVote, User

Factory = Any


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


@pytest.fixture
def rag_benchmark(factory: Factory, users: dict[str, User]) -> dict[str, int]:
    """Benchmark ``rp``: the file's 140 topics, one placeholder run per system (owned by root)."""
    if not RAG_PAIRWISE.is_file():
        pytest.skip("../shared/data/rag-pairwise is not beside this checkout")
    topics, qrels, runs = rag_pairwise_benchmark()
    ids = {}
    with factory() as s, s.begin():
        root = s.get(User, users["root"].id)
        service.create_benchmark(s, root, "rp", topics_text=topics, qrels_text=qrels, measures=["P@1"])
        for name, content in runs.items():
            ids[name] = service.submit_run(s, root, "rp", content.encode(), name=name).id
    return ids


def test_import_rate_and_agree_on_rag_pairwise(
    factory: Factory, users: dict[str, User], rag_benchmark: dict[str, int], run_in: Callable[..., Any]
) -> None:
    data = RAG_PAIRWISE.read_bytes()
    with factory() as s, s.begin():
        report = service.import_pairwise(s, s.get(User, users["root"].id), "rp", data, source="ragchecker")
        assert (report.battles, report.votes) == (140, 280)
        assert report.systems == rag_benchmark
        assert s.query(ArenaBattle).count() == 140 and s.query(ArenaVote).count() == 280

    # Bradley-Terry strengths against a logistic regression written in the test, on votes read
    # from the file by the test (sign of each label), within 1e-6.
    systems, votes = votes_from_file()
    assert len(systems) == 8 and len(votes) == 280
    board = run_in(service.arena_board, "rp", seed=11)
    assert board.votes == 280 and board.aspect == "answer" and board.ratings.rated
    mine = {board.rows[i].system: board.ratings.systems[i].strength for i in range(8)}
    for ridge in (0.0, 1e-6):  # the plain MLE, and the same tiny penalty the service uses
        theirs = logistic_bradley_terry(systems, votes, ridge=ridge)
        assert max(abs(mine[s] - theirs[s]) for s in systems) < 1e-6
    # Ranks by interval separation; every interval holds its estimate.
    for row in board.rows:
        assert row.low <= row.rating <= row.high
        assert row.rank == 1 + sum(other.low > row.high for other in board.rows)

    # The same seed gives the same intervals; another seed others.
    service.clear_arena_cache()
    again = run_in(service.arena_board, "rp", seed=11)
    assert [(r.low, r.high) for r in again.rows] == [(r.low, r.high) for r in board.rows]
    other = run_in(service.arena_board, "rp", seed=12)
    assert [(r.low, r.high) for r in other.rows] != [(r.low, r.high) for r in board.rows]
    by_topic = run_in(service.arena_board, "rp", seed=11, cluster="topic")
    assert by_topic.ratings.n_clusters == 140 and by_topic.cluster == "topic"

    # Inter-annotator agreement by hand: the two lines of each comparison.
    pairs: dict[str, list[int]] = {}
    for row in rag_pairwise_rows():
        pairs.setdefault(str(row["instance_id"]), []).append(row["overall_label"])
    first, second = [p[0] for p in pairs.values()], [p[1] for p in pairs.values()]
    n = len(first)
    p_o = sum(x == y for x, y in zip(first, second, strict=True)) / n
    c1, c2 = Counter(first), Counter(second)
    p_e = sum(c1[c] * c2[c] for c in range(-2, 3)) / n**2
    observed = sum(abs(x - y) / 4 for x, y in zip(first, second, strict=True)) / n
    expected = sum(c1[x] * c2[y] * abs(x - y) / 4 for x in range(-2, 3) for y in range(-2, 3)) / n**2
    assert report.labels.n == 140
    assert report.labels.percent == pytest.approx(p_o, abs=1e-12)
    assert report.labels.kappa == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-12)
    assert report.labels.weighted_kappa == pytest.approx(1 - observed / expected, abs=1e-12)
    signs = [(x > 0) - (x < 0) for x in first], [(y > 0) - (y < 0) for y in second]
    assert report.signs.percent == pytest.approx(sum(a == b for a, b in zip(*signs, strict=True)) / n)
    agreement = run_in(service.arena_agreement, "rp", None)
    (annotators,) = agreement.annotators
    assert annotators.labels.to_dict() == report.labels.to_dict()


def test_bad_imports_change_nothing(
    factory: Factory,
    users: dict[str, User],
    rag_benchmark: dict[str, int],
    table_counts: Callable[[], dict[str, int]],
) -> None:
    rows = RAG_PAIRWISE.read_text().splitlines()
    first = rag_pairwise_rows()[0]["model1"]["model_name"]
    before = table_counts()
    cases = [
        # Both lines of the first comparison name a system the benchmark has no run of.
        (
            "\n".join(
                [
                    rows[0].replace(f'"{first}"', '"nobody"'),
                    rows[1].replace(f'"{first}"', '"nobody"'),
                    *rows[2:4],
                ]
            ),
            "unknown system 'nobody'",
        ),
        (
            "\n".join([rows[0], rows[1].replace('"overall_label": ', '"overall_label": 3, "was": ', 1)]),
            "overall_label is 3: labels are integers from -2 to 2",
        ),
        (
            "\n".join([rows[0], rows[1].replace('"overall_label": ', '"overall_label": -3, "was": ', 1)]),
            "overall_label is -3",
        ),
    ]
    for text, message in cases:
        with factory() as s, s.begin(), pytest.raises(FormatError) as info:
            service.import_pairwise(s, s.get(User, users["root"].id), "rp", text.encode())
        assert any(message in p.message for p in info.value.problems), info.value.problems
        assert all(p.line >= 1 for p in info.value.problems)
    assert table_counts() == before
    with factory() as s, s.begin():
        service.import_pairwise(
            s, s.get(User, users["root"].id), "rp", "\n".join(rows[:4]).encode(), source="x"
        )
    with factory() as s, s.begin(), pytest.raises(ConflictError, match="imported"):
        service.import_pairwise(
            s, s.get(User, users["root"].id), "rp", "\n".join(rows[:4]).encode(), source="x"
        )

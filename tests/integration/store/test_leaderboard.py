"""Leaderboards and comparisons."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ragbench.errors import InputError, MeasureError, NotFoundError
from ragbench.evaluation.engine import evaluate
from ragbench.settings import get_settings
from ragbench.stats import compare, significance_tiers
from ragbench.store import _leaderboard, service
from ragbench.store.models import Benchmark, User

MEASURES = ["nDCG@10", "AP", "P@10", "R@1000", "RR", "Bpref", "Judged@10"]


def noisy(results: bytes, k: int, scale: float) -> bytes:
    """results.test with seeded noise on the scores: a different ranking per k."""
    rng = np.random.default_rng(k)
    lines = []
    for line in results.decode().splitlines():
        q, q0, doc, rank, score, _tag = line.split()
        lines.append(f"{q} {q0} {doc} {rank} {float(score) + rng.normal(0, scale):.6f} run{k}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def files(trec_eval_data: Path) -> list[bytes]:
    results = (trec_eval_data / "results.test").read_bytes()
    return [results] + [noisy(results, k, scale) for k, scale in enumerate((0.5, 2.0, 5.0, 20.0), start=1)]


@pytest.fixture
def submitted(users: dict[str, User], benchmark: Benchmark, files: list[bytes], run_in) -> list[int]:
    owners = ["alice", "bob", "alice", "bob", "alice"]
    return [
        run_in(service.submit_run, users[o], "te", data, name=f"sys{i}").id
        for i, (o, data) in enumerate(zip(owners, files, strict=True))
    ]


def test_ranking_tiers_and_judged(
    submitted: list[int], files: list[bytes], qrels_text: str, run_in: Callable[..., object]
) -> None:
    results = {
        i: evaluate(qrels_text.encode(), f, MEASURES, complete=True)
        for i, f in zip(submitted, files, strict=True)
    }
    board = run_in(service.leaderboard, "te", "AP")
    assert (board.slug, board.measure, board.qrels_version, board.total) == ("te", "AP", 1, 5)
    assert board.measures == tuple(MEASURES)
    ranked = sorted(submitted, key=lambda i: (-results[i].aggregate["AP"], i))
    assert [r.run_id for r in board.rows] == ranked
    assert [r.rank for r in board.rows] == [1, 2, 3, 4, 5]
    for row in board.rows:
        assert row.value == results[row.run_id].aggregate["AP"]
        assert row.judged_at_10 == results[row.run_id].aggregate["Judged@10"]
        assert row.system_name == f"sys{submitted.index(row.run_id)}"
        assert row.owner_name in ("alice", "bob") and row.created_at.tzinfo is not None
    per_topic = {
        str(i): dict(zip(r.query_ids, r.per_query["AP"].tolist(), strict=True)) for i, r in results.items()
    }
    tiers = {
        int(e.run): e.tier for e in significance_tiers(per_topic, test="randomization", correction="holm")
    }
    assert {r.run_id: r.tier for r in board.rows} == tiers
    json.dumps(board.to_dict())


def test_pages_and_measure_names(submitted: list[int], run_in: Callable[..., object]) -> None:
    full = run_in(service.leaderboard, "te", "NDCG@10")
    assert full.measure == "nDCG@10"
    page = run_in(service.leaderboard, "te", "nDCG@10", offset=2, limit=2)
    assert [r.run_id for r in page.rows] == [r.run_id for r in full.rows[2:4]]
    assert [r.rank for r in page.rows] == [3, 4]
    assert [r.tier for r in page.rows] == [r.tier for r in full.rows[2:4]]
    assert (page.total, page.offset, page.limit) == (5, 2, 2)
    assert run_in(service.leaderboard, "te", "AP", offset=10).rows == ()
    with pytest.raises(InputError, match="choose one of"):
        run_in(service.leaderboard, "te", "P@5")
    with pytest.raises(MeasureError):
        run_in(service.leaderboard, "te", "nope@")
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": 1001}):
        with pytest.raises(InputError):
            run_in(service.leaderboard, "te", "AP", **bad)
    with pytest.raises(NotFoundError):
        run_in(service.leaderboard, "nope", "AP")


def test_empty_and_hidden_leaderboards(
    users: dict[str, User], benchmark: Benchmark, files: list[bytes], run_in: Callable[..., object]
) -> None:
    empty = run_in(service.leaderboard, "te", "AP")
    assert (empty.total, empty.rows) == (0, ())
    run_in(service.submit_run, users["alice"], "te", files[0], name="only")
    run_in(service.set_hidden, users["root"], "te", True)
    board = run_in(service.leaderboard, "te", "AP", actor=None)
    # tiers come from per-topic scores: withheld from non-admins on a hidden benchmark
    assert board.hidden and board.total == 1 and board.rows[0].tier is None and board.per_topic_withheld
    assert board.rows[0].value == pytest.approx(run_in(service.leaderboard, "te", "AP").rows[0].value)
    for_admin = run_in(service.leaderboard, "te", "AP", actor=users["root"])
    assert for_admin.rows[0].tier == 1 and not for_admin.per_topic_withheld


def test_tiers_are_computed_once_per_state(
    users: dict[str, User],
    submitted: list[int],
    files: list[bytes],
    run_in: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = _leaderboard._compute_tiers

    def counting(s, version_id, measure):
        calls.append(measure)
        return real(s, version_id, measure)

    monkeypatch.setattr(_leaderboard, "_compute_tiers", counting)
    for _ in range(3):
        run_in(service.leaderboard, "te", "AP")
        run_in(service.leaderboard, "te", "AP", offset=1, limit=2)
    assert calls == ["AP"]
    run_in(service.leaderboard, "te", "P@10")
    assert calls == ["AP", "P@10"]
    new = run_in(service.submit_run, users["bob"], "te", noisy(files[0], 9, 1.0), name="new")
    assert run_in(service.leaderboard, "te", "AP").total == 6
    assert calls == ["AP", "P@10", "AP"]
    run_in(service.delete_run, users["bob"], new.id)
    assert run_in(service.leaderboard, "te", "AP").total == 5
    assert calls == ["AP", "P@10", "AP"]  # the same runs as before it came: that entry still holds
    run_in(service.delete_run, users["root"], submitted[1])
    assert run_in(service.leaderboard, "te", "AP").total == 4
    assert calls == ["AP", "P@10", "AP", "AP"]


def test_a_new_qrels_version_ranks_against_it(
    users: dict[str, User],
    submitted: list[int],
    run_in: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "0")
    get_settings.cache_clear()
    run_in(service.add_qrels_version, users["root"], "te", "301 0 FR940202-2-00150 1\n")
    board = run_in(service.leaderboard, "te", "AP")
    assert (board.qrels_version, board.total) == (2, 0)  # every run waits for the worker


def test_compare_runs_equals_core_compare(
    users: dict[str, User],
    submitted: list[int],
    files: list[bytes],
    qrels_text: str,
    run_in: Callable[..., object],
) -> None:
    ids = submitted[:3]
    report = run_in(service.compare_runs, ids, ["AP", "nDCG@10"], users["bob"])
    labels = [f"#{i} sys{k}" for k, i in enumerate(ids)]
    scores = {}
    for label, data in zip(labels, files[:3], strict=True):
        r = evaluate(qrels_text.encode(), data, ["AP", "nDCG@10"], complete=True)
        scores[label] = {m: dict(zip(r.query_ids, r.per_query[m].tolist(), strict=True)) for m in r.measures}
    expected = compare(scores, baselines=labels[0])
    assert [(c.baseline, c.run, c.measure) for c in report] == [
        (c.baseline, c.run, c.measure) for c in expected
    ]
    assert report.comparisons == expected.comparisons

    default = run_in(service.compare_runs, ids[:2], None, None)
    assert {c.measure for c in default} == set(MEASURES)


def test_compare_runs_errors(
    factory,
    users: dict[str, User],
    submitted: list[int],
    files: list[bytes],
    qrels_text: str,
    run_in: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(InputError, match="two"):
        run_in(service.compare_runs, [submitted[0], submitted[0]], None, None)
    with pytest.raises(NotFoundError, match="999"):
        run_in(service.compare_runs, [submitted[0], 999], None, None)
    with pytest.raises(InputError, match="P@5"):
        run_in(service.compare_runs, submitted[:2], ["P@5"], None)
    run_in(service.create_benchmark, users["root"], "other", qrels_text=qrels_text)
    elsewhere = run_in(service.submit_run, users["alice"], "other", files[0], name="x").id
    with pytest.raises(InputError, match="one benchmark"):
        run_in(service.compare_runs, [submitted[0], elsewhere], None, None)
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "0")
    get_settings.cache_clear()
    waiting = run_in(service.submit_run, users["alice"], "te", noisy(files[0], 7, 1.0), name="w").id
    with pytest.raises(InputError, match="pending"):
        run_in(service.compare_runs, [submitted[0], waiting], None, None)

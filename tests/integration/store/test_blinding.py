"""The blinding policy: the reconstruction attacks of issue 15 recover nothing on a hidden benchmark.

The attack: against a baseline that scores 0 on every topic, a comparison's bootstrap CI of the
mean difference has the run's smallest and largest per-topic values as its ends when there are few
topics (every resample is a mean of the run's own values; all three resampled equal to the
smallest has probability 1/27 > 2.5 %), the mean gives the third, and W/T/L counts the topics with
a non-zero score. On a public benchmark (or for an admin) it recovers the per-topic values
exactly, which shows the attack works; on a hidden one a member gets means only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ragbench.evaluation.engine import evaluate
from ragbench.store import service
from ragbench.store.models import Benchmark, User

MEASURES = ["AP", "P@10", "nDCG@10"]


def _zero_run(qrels_text: str) -> bytes:
    """A run answering every judged topic with 10 documents that are not in the qrels: scores 0."""
    topics = sorted({line.split()[0] for line in qrels_text.splitlines() if line.strip()})
    return "".join(
        f"{t} Q0 NOT-JUDGED-{t}-{i} {i} {10 - i} zero\n" for t in topics for i in range(1, 11)
    ).encode()


def reconstruct(report: object) -> dict[str, list[float]]:
    """What the attacker computes from a comparison against the zero baseline: per measure, the
    three per-topic values (CI low, CI high, and 3 x mean minus both), or nothing when the
    comparison has no CI (and a W/T/L count to check against)."""
    found: dict[str, list[float]] = {}
    for row in report:  # type: ignore[attr-defined]
        low, high = getattr(row, "ci_low", None), getattr(row, "ci_high", None)
        if low is None or high is None:
            continue
        third = 3 * row.mean_diff - low - high
        found[row.measure] = sorted([low, high, third])
    return found


def test_compare_on_a_hidden_benchmark_gives_a_member_nothing_to_reconstruct(
    users: dict[str, User],
    benchmark: Benchmark,
    qrels_text: str,
    trec_eval_data: Path,
    run_in: Callable[..., object],
) -> None:
    results = (trec_eval_data / "results.test").read_bytes()
    truth = evaluate(qrels_text.encode(), results, MEASURES, complete=True)
    zero = run_in(service.submit_run, users["bob"], "te", _zero_run(qrels_text), name="zero").id
    target = run_in(service.submit_run, users["alice"], "te", results, name="target").id
    expected = {m: sorted(truth.per_query[m].tolist()) for m in MEASURES}
    assert len(truth.query_ids) == 3

    # Positive control: on the public benchmark the attack recovers every per-topic value.
    public = run_in(service.compare_runs, [zero, target], MEASURES, users["bob"])
    recovered = reconstruct(public)
    for measure in MEASURES:
        assert recovered[measure] == pytest.approx(expected[measure], abs=1e-9), measure

    run_in(service.set_hidden, users["root"], "te", True)
    for actor in (None, users["bob"], users["alice"]):  # anonymous, the attacker, the run's owner
        blind = run_in(service.compare_runs, [zero, target], MEASURES, actor)
        assert isinstance(blind, service.BlindComparison)
        assert reconstruct(blind) == {}
        for row in blind:
            assert not hasattr(row, "wins") and not hasattr(row, "p_values")
            assert row.mean_run == pytest.approx(truth.aggregate[row.measure])  # means stay public
            assert row.n_topics == 3
        board = run_in(service.leaderboard, "te", "AP", actor=actor)
        assert {r.tier for r in board.rows} == {None} and board.per_topic_withheld
        per_topic = run_in(service.run_scores, target, actor, per_topic=True)
        assert all(set(values) == {"all"} for values in per_topic.values())
    # An admin still sees everything.
    admin = run_in(service.compare_runs, [zero, target], MEASURES, users["root"])
    assert reconstruct(admin)["AP"] == pytest.approx(expected["AP"], abs=1e-9)


def test_session_comparisons_are_blinded_too(
    users: dict[str, User], benchmark: Benchmark, run_in: Callable[..., object]
) -> None:
    from support.webserver import synthetic_session_run, synthetic_sessions

    sessions, session_qrels = synthetic_sessions(6, seed=3)
    run_in(service.add_sessions, users["root"], "te", sessions, session_qrels)
    ids = [
        run_in(
            service.submit_run,
            users["alice"],
            "te",
            synthetic_session_run(sessions, session_qrels, quality=q, seed=s).encode(),
            name=f"s{s}",
            kind="session",
        ).id
        for s, q in ((1, 2.0), (2, 0.0))
    ]
    visible = run_in(service.compare_runs, ids, None, users["bob"])
    assert not isinstance(visible, service.BlindComparison)
    run_in(service.set_hidden, users["root"], "te", True)
    blind = run_in(service.compare_runs, ids, None, users["bob"])
    assert isinstance(blind, service.BlindComparison) and reconstruct(blind) == {}
    board = run_in(service.leaderboard, "te", "NUM", actor=users["bob"], kind="session")
    assert {r.tier for r in board.rows} == {None}

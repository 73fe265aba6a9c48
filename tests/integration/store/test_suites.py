"""Suites in the store: creation rules, the leaderboard over stored runs, blinding, reproductions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ragbench.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from ragbench.evaluation.engine import evaluate
from ragbench.store import service
from ragbench.store.models import User

MEASURES = ["nDCG@10", "R@100"]


def noisy(results: bytes, seed: int, scale: float) -> bytes:
    rng = np.random.default_rng(seed)
    lines = []
    for line in results.decode().splitlines():
        q, q0, doc, rank, score, _ = line.split()
        lines.append(f"{q} {q0} {doc} {rank} {float(score) + rng.normal(0, scale):.6f} s{seed}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def suite_data(
    users: dict[str, User], run_in: Callable[..., object], qrels_text: str, trec_eval_data: Path
) -> dict:
    results = (trec_eval_data / "results.test").read_bytes()
    root = users["root"]
    for slug, hidden in (("b1", False), ("b2", False), ("b3", True)):
        run_in(service.create_benchmark, root, slug, qrels_text=qrels_text, measures=MEASURES, hidden=hidden)
    files = {}
    for k, (system, benches) in enumerate((("alpha", "b1 b2 b3"), ("beta", "b1 b2 b3"), ("partial", "b1"))):
        for j, bench in enumerate(benches.split()):
            data = noisy(results, 10 * k + j, 1.0 + 3 * k)
            files[system, bench] = data
            run_in(service.submit_run, users["alice"], bench, data, name=system)
    return {"files": files, "qrels": qrels_text.encode()}


def test_creating_a_suite_checks_benchmarks_and_measures(users, run_in, suite_data) -> None:
    root = users["root"]
    with pytest.raises(InputError, match="unknown benchmarks: nope, trec8"):
        run_in(service.create_suite, root, "s", benchmarks=["b1", "nope", "trec8"], measures=MEASURES)
    with pytest.raises(InputError, match=r"'b1' is not scored on AP .*conflicting|must be every benchmark's"):
        run_in(service.create_suite, root, "s", benchmarks=["b1", "b2"], measures=["nDCG@10", "AP"])
    with pytest.raises(InputError, match="same measure"):
        run_in(service.create_suite, root, "s", benchmarks=["b1"], measures=["nDCG@10", "nDCG(cutoff=10)"])
    with pytest.raises(InputError, match=r"aggregation\.missing"):
        run_in(
            service.create_suite,
            root,
            "s",
            benchmarks=["b1"],
            measures=MEASURES,
            aggregation={"missing": "zero"},
        )
    with pytest.raises(InputError, match="in two groups"):
        run_in(service.create_suite, root, "s", benchmarks=["b1", "b2"], measures=MEASURES,
               groups={"g": ["b1"], "h": ["b1"]})  # fmt: skip
    with pytest.raises(PermissionDenied):
        run_in(service.create_suite, users["alice"], "s", benchmarks=["b1"], measures=MEASURES)
    suite = run_in(service.create_suite, root, "s", benchmarks=["b1", "b2"], measures=MEASURES)
    assert suite.aggregation["missing"] == "exclude"
    with pytest.raises(ConflictError):
        run_in(service.create_suite, root, "s", benchmarks=["b1"], measures=MEASURES)
    with pytest.raises(NotFoundError):
        run_in(service.get_suite, "t")


def test_leaderboard_over_stored_runs(users, run_in, suite_data) -> None:
    run_in(service.create_suite, users["root"], "s", benchmarks=["b1", "b2"], measures=MEASURES,
           aggregation={"reference": "alpha"})  # fmt: skip
    board = run_in(service.suite_leaderboard, "s", "R@100", None)
    agg = board.aggregate
    assert [r.system for r in agg.incomplete] == ["partial"] and agg.incomplete[0].missing == ("b2",)
    assert {r.system for r in agg.complete} == {"alpha", "beta"}
    for row in agg.complete:
        means = [
            evaluate(
                suite_data["qrels"], suite_data["files"][row.system, b], ["R@100"], complete=True
            ).aggregate["R@100"]
            for b in ("b1", "b2")
        ]
        assert row.mean == pytest.approx(sum(means) / 2, abs=1e-12)
        assert row.cells["b1"].mean == pytest.approx(means[0], abs=1e-12)
        assert row.cells["b1"].low is not None and row.cells["b1"].tier is not None
    beta = next(r for r in agg.complete if r.system == "beta")
    assert beta.meta is not None and beta.meta.k == 2 and agg.reference == "alpha"
    assert set(board.runs) == {"alpha", "beta", "partial"} and set(board.runs["partial"]) == {"b1"}


def test_hidden_benchmarks_show_means_only_to_non_admins(users, run_in, suite_data) -> None:
    run_in(service.create_suite, users["root"], "h", benchmarks=["b1", "b3"], measures=MEASURES,
           aggregation={"reference": "alpha"})  # fmt: skip
    anonymous = run_in(service.suite_leaderboard, "h", None, None)
    admin = run_in(service.suite_leaderboard, "h", None, users["root"])
    assert anonymous.aggregate.withheld == ("b3",) and admin.aggregate.withheld == ()
    for row in anonymous.aggregate.complete:
        hidden = row.cells["b3"]
        assert hidden.low is None and hidden.tier is None and row.low is None and row.meta is None
        assert row.cells["b1"].low is not None  # the visible benchmark keeps its CIs and tiers
        assert row.mean is not None
    assert all(r.cells["b3"].low is not None for r in admin.aggregate.complete)
    assert next(r for r in admin.aggregate.complete if r.system == "beta").meta is not None


def test_reproductions(users, run_in, suite_data) -> None:
    run_in(service.create_suite, users["root"], "s", benchmarks=["b1"], measures=MEASURES)
    assert run_in(service.latest_reproduction, "s") is None
    cell = {"condition": "alpha", "benchmark": "b1", "measure": "nDCG@10", "observed": 0.5, "expected": 0.4,
            "tolerance": 0.01, "status": "red", "run_id": None}  # fmt: skip
    run_in(service.add_reproduction, users["root"], "s", cells=[{**cell, "status": "green"}], source="s.yaml")
    run_in(service.add_reproduction, users["root"], "s", cells=[cell], source="s.yaml")
    latest = run_in(service.latest_reproduction, "s")
    assert latest.passed is False and latest.cells[0]["status"] == "red"
    with pytest.raises(InputError, match="status"):
        run_in(service.add_reproduction, users["root"], "s", cells=[{**cell, "status": "amber"}])
    with pytest.raises(PermissionDenied):
        run_in(service.add_reproduction, users["alice"], "s", cells=[cell])

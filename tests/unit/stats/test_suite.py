"""aggregate_suite: who is averaged, groups first, shared ranks, blinding, and the parts it combines."""

from __future__ import annotations

import numpy as np
import pytest

from ragbench.stats import aggregate_suite, bootstrap_ci, friedman, paired_effect, random_effects


def per_topic(rng: np.random.Generator, mean: float, n: int) -> dict[str, float]:
    return {f"q{i}": float(np.clip(mean + rng.normal(0, 0.1), 0, 1)) for i in range(n)}


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, dict[str, float]]]:
    rng = np.random.default_rng(7)
    data: dict[str, dict[str, dict[str, float]]] = {}
    for bench, n, shift in (("cacm", 30, 0.0), ("cran", 40, 0.05), ("cqa-a", 20, -0.1), ("cqa-b", 25, 0.0)):
        data[bench] = {
            s: per_topic(rng, m + shift, n) for s, m in (("bm25", 0.4), ("dense", 0.45), ("hybrid", 0.55))
        }
    data["cacm"]["partial"] = per_topic(rng, 0.9, 30)  # great, but only on one benchmark
    return data


def test_a_system_missing_a_benchmark_is_listed_apart_never_in_the_mean(scores) -> None:
    benches = ["cacm", "cran", "cqa-a", "cqa-b"]
    result = aggregate_suite(scores, measure="nDCG@10", benchmarks=benches, reference="bm25", trials=500)
    assert [r.system for r in result.complete] == ["hybrid", "dense", "bm25"]
    assert [r.system for r in result.incomplete] == ["partial"]
    partial = result.incomplete[0]
    assert partial.mean is None and partial.rank is None
    assert partial.missing == ("cran", "cqa-a", "cqa-b")
    assert partial.cells["cacm"].mean == pytest.approx(np.mean(list(scores["cacm"]["partial"].values())))
    for row in result.complete:
        expected = np.mean([np.mean(list(scores[b][row.system].values())) for b in benches])
        assert row.mean == pytest.approx(expected)
    assert "partial" not in result.friedman.average_ranks
    assert result.borda.excluded == {"partial": ("cran", "cqa-a", "cqa-b")}


def test_groups_are_averaged_first(scores) -> None:
    benches = ["cacm", "cran", "cqa-a", "cqa-b"]
    result = aggregate_suite(
        scores, measure="nDCG@10", benchmarks=benches, groups={"cqadupstack": ["cqa-a", "cqa-b"]}, trials=300
    )
    assert result.units == ("cacm", "cran", "cqadupstack")
    mean = {b: {s: np.mean(list(v.values())) for s, v in per.items()} for b, per in scores.items()}
    for row in result.complete:
        s = row.system
        group = (mean["cqa-a"][s] + mean["cqa-b"][s]) / 2
        assert row.units["cqadupstack"] == pytest.approx(group)
        assert row.mean == pytest.approx((mean["cacm"][s] + mean["cran"][s] + group) / 3)
    unit_scores = {r.system: r.units for r in result.complete}
    assert result.friedman.average_ranks == friedman(unit_scores).average_ranks


def test_cells_ranks_and_meta_analysis(scores) -> None:
    benches = ["cacm", "cran"]
    subset = {b: scores[b] for b in benches}
    result = aggregate_suite(subset, measure="AP", benchmarks=benches, reference="bm25", trials=400, seed=3)
    cell = next(r for r in result.complete if r.system == "dense").cells["cran"]
    # topics are resampled in sorted order (the same order for every system)
    values = np.array([v for _, v in sorted(scores["cran"]["dense"].items())])
    ci = bootstrap_ci(values, np.zeros(values.size), trials=400, seed=3 + 1)  # benchmark 1: seed + 1
    assert (cell.low, cell.high) == pytest.approx((ci.low, ci.high))
    assert cell.tier is not None and cell.topics == 40
    # shared ranks: 1 + the number of systems whose interval lies wholly above
    for row in result.complete:
        above = sum(1 for other in result.complete if other.low > row.high)
        assert row.rank == 1 + above
        assert row.low <= row.mean <= row.high
    hybrid = next(r for r in result.complete if r.system == "hybrid")
    effects = [
        paired_effect(list(scores[b]["hybrid"].values()), list(scores[b]["bm25"].values())) for b in benches
    ]
    expected = random_effects([e[0] for e in effects], [e[1] for e in effects])
    assert hybrid.meta.effect == pytest.approx(expected.effect)
    assert hybrid.meta.tau2 == pytest.approx(expected.tau2)
    assert next(r for r in result.complete if r.system == "bm25").meta is None
    assert result.reference == "bm25"


def test_hidden_benchmarks_contribute_means_only(scores) -> None:
    benches = ["cacm", "cran"]
    subset = {b: scores[b] for b in benches}
    result = aggregate_suite(
        subset, measure="AP", benchmarks=benches, reference="bm25", withhold=["cran"], trials=200
    )
    for row in result.rows:
        cran = row.cells.get("cran")
        if cran is not None:
            assert cran.low is None and cran.high is None and cran.tier is None
    for row in result.complete:
        assert row.low is None and row.high is None and row.meta is None
        assert row.mean is not None
    assert result.withheld == ("cran",) and result.reference is None
    assert any("hidden" in note for note in result.notes)
    assert result.friedman is not None  # ranks of means: no per-topic value involved

"""compare(): every number equals the standalone function's, correction spans all pairs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ragbench.errors import InputError
from ragbench.stats import (
    ComparisonReport,
    PairComparison,
    bootstrap_ci,
    cohens_d,
    compare,
    correct,
    paired_randomization,
    paired_ttest,
    paired_wilcoxon,
    wins_ties_losses,
)

# FIXTURES

MEASURES = ("AP", "nDCG@10")


def make_scores(n_runs: int = 3, n_topics: int = 40, seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    rng = np.random.default_rng(seed)
    base = {m: rng.random(n_topics) for m in MEASURES}
    return {
        f"run{r}": {
            m: {
                f"q{t:03d}": float(np.clip(base[m][t] + 0.05 * r + rng.normal(0, 0.1), 0, 1))
                for t in range(n_topics)
            }
            for m in MEASURES
        }
        for r in range(n_runs)
    }


def vector(scores: dict, run: str, measure: str) -> np.ndarray:
    by_topic = scores[run][measure]
    return np.array([by_topic[q] for q in sorted(by_topic)])


# TEST


def test_numbers_equal_the_standalone_functions() -> None:
    scores = make_scores()
    report = compare(scores, tests=("randomization", "ttest", "wilcoxon"), trials=2000, seed=3)
    assert isinstance(report, ComparisonReport) and len(report) == 4
    for item in report:
        assert isinstance(item, PairComparison)
        a, b = vector(scores, item.run, item.measure), vector(scores, item.baseline, item.measure)
        assert item.n_topics == 40
        assert item.mean_run == pytest.approx(a.mean()) and item.mean_baseline == pytest.approx(b.mean())
        assert item.mean_diff == pytest.approx(a.mean() - b.mean())
        assert item.p_values == {
            "randomization": paired_randomization(a, b, trials=2000, seed=3),
            "ttest": pytest.approx(paired_ttest(a, b), rel=1e-12),
            "wilcoxon": paired_wilcoxon(a, b),
        }
        ci = bootstrap_ci(a, b, trials=2000, seed=3)
        assert (item.ci_low, item.ci_high) == (ci.low, ci.high)
        outcome = wins_ties_losses(a, b)
        assert (item.wins, item.ties, item.losses) == (outcome.wins, outcome.ties, outcome.losses)
        assert item.effect_size == pytest.approx(cohens_d(a, b))
        assert item.test == "randomization"


def test_correction_spans_every_baseline_run_measure() -> None:
    report = compare(make_scores(4), baselines=["run0", "run1"], correction="holm", trials=500)
    # unordered pairs with run0 or run1: (0,1) (0,2) (0,3) (1,2) (1,3) -> 5 pairs x 2 measures
    assert [(c.baseline, c.run) for c in report][::2] == [
        ("run0", "run1"),
        ("run0", "run2"),
        ("run0", "run3"),
        ("run1", "run2"),
        ("run1", "run3"),
    ]
    assert len(report) == 10
    expected = correct([c.p_values["randomization"] for c in report], "holm", alpha=0.05)
    assert [c.p_adjusted for c in report] == pytest.approx(expected.p_adjusted.tolist())
    assert [c.significant for c in report] == expected.reject.tolist()


def test_ordered_by_baseline_run_measure_and_default_baseline_is_first_run() -> None:
    report = compare(make_scores(3), trials=200)
    assert [(c.baseline, c.run, c.measure) for c in report] == [
        ("run0", "run1", "AP"),
        ("run0", "run1", "nDCG@10"),
        ("run0", "run2", "AP"),
        ("run0", "run2", "nDCG@10"),
    ]
    assert report[0] is report.comparisons[0] and report[1:] == report.comparisons[1:]


def test_dataframe_input_gives_the_same_report() -> None:
    scores = make_scores()
    frame = pd.DataFrame(
        [
            {"run": run, "measure": m, "query_id": q, "value": v}
            for run, by_m in scores.items()
            for m, by_q in by_m.items()
            for q, v in by_q.items()
        ]
    )
    assert compare(frame, trials=300) == compare(scores, trials=300)


def test_identical_runs_are_not_significant() -> None:
    scores = make_scores(2)
    scores["copy"] = scores["run0"]
    report = compare(scores, baselines="run0", tests=("randomization", "ttest", "wilcoxon", "bootstrap"))
    for item in report:
        if item.run == "copy":
            assert item.p_values == {"randomization": 1.0, "ttest": 1.0, "wilcoxon": 1.0, "bootstrap": 1.0}
            assert item.p_adjusted == 1.0 and not item.significant
            assert (item.wins, item.losses, item.mean_diff, item.effect_size) == (0, 0, 0.0, 0.0)
            assert item.ci_low == item.ci_high == 0.0


def test_a_clear_improvement_is_significant() -> None:
    rng = np.random.default_rng(1)
    base = rng.random(50)
    scores = {
        "base": {"AP": dict(zip(map(str, range(50)), base, strict=True))},
        "better": {"AP": dict(zip(map(str, range(50)), base + 0.1 + rng.normal(0, 0.02, 50), strict=True))},
    }
    (item,) = compare(scores)
    assert item.significant and item.p_adjusted < 0.001 and item.ci_low > 0.05 and item.wins > 45


def test_single_test_name_and_other_corrections() -> None:
    report = compare(make_scores(), tests="ttest", correction="bonferroni", alpha=0.01)
    assert report.tests == ("ttest",) and report.correction == "bonferroni"
    assert all(c.p_adjusted == pytest.approx(min(1.0, 4 * c.p_values["ttest"])) for c in report)


def test_missing_topics_score_zero_or_raise() -> None:
    scores = make_scores(2, 5)
    del scores["run1"]["AP"]["q002"]
    report = compare(scores, trials=100)
    assert report[0].n_topics == 5
    assert report[0].mean_run == pytest.approx(sum(scores["run1"]["AP"].values()) / 5)
    with pytest.raises(InputError, match="lacks 1 of the 5 topics"):
        compare(scores, missing="error")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baselines": "bm25"}, "unknown baseline run 'bm25'; choose one of 'run0', 'run1', 'run2'"),
        ({"baselines": []}, "baselines is empty"),
        ({"tests": ("ttest", "sign")}, "unknown test 'sign'; choose one of 'randomization', 'ttest'"),
        ({"tests": ()}, "tests is empty"),
        ({"tests": ("ttest", "ttest")}, "twice"),
        ({"correction": "fdr"}, "unknown correction"),
        ({"ci": 95}, "ci must be"),
        ({"ci_method": "bc"}, "confidence-interval method"),
        ({"alpha": 0}, "alpha"),
        ({"trials": -1}, "trials"),
        ({"tie_tolerance": -1.0}, "tolerance"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        compare(make_scores(), **kwargs)  # type: ignore[arg-type]


def test_needs_two_runs_and_two_topics() -> None:
    with pytest.raises(InputError, match="at least 2 runs"):
        compare({"only": {"AP": {"q1": 0.1, "q2": 0.2}}})
    with pytest.raises(InputError, match="at least 2 topics"):
        compare({"a": {"AP": {"q1": 0.1}}, "b": {"AP": {"q1": 0.2}}})


def test_effect_size_can_be_infinite() -> None:
    scores = {"a": {"AP": {"q1": 0.0, "q2": 0.5}}, "b": {"AP": {"q1": 0.25, "q2": 0.75}}}
    (item,) = compare(scores, trials=50)
    assert item.effect_size == math.inf and item.p_values["ttest"] == 0.0

"""Paired significance tests: hand-worked values, agreement with scipy, properties."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps

from ragbench.errors import InputError
from ragbench.stats import (
    STAT_TESTS,
    get_test,
    paired_bootstrap,
    paired_randomization,
    paired_ttest,
    paired_wilcoxon,
    significance,
)

# FIXTURES

A5 = [0.5, 0.6, 0.7, 0.4, 0.8]
B5 = [0.4, 0.6, 0.5, 0.3, 0.6]  # d = a - b = [0.1, 0.0, 0.2, 0.1, 0.2]

scores = hnp.arrays(
    np.float64,
    st.integers(2, 40),
    elements=st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False),
)


@st.composite
def paired(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    a = draw(scores)
    b = draw(hnp.arrays(np.float64, a.size, elements=st.floats(0.0, 1.0)))
    return a, b


def exact_randomization_p(d: np.ndarray) -> float:
    """Mean over all 2^n sign vectors of |sum(s d)| >= |sum(d)|."""
    n = d.size
    signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
    stats = np.abs(signs @ d)
    return float(np.mean(stats >= abs(d.sum()) - 1e-12))


# TEST: paired t-test


def test_ttest_hand_worked_five_topics() -> None:
    # d = [0.1, 0, 0.2, 0.1, 0.2]: mean 0.12; squared deviations sum to 0.028, so s^2 = 0.028 / 4 = 0.007
    t = 0.12 / math.sqrt(0.007 / 5)
    assert t == pytest.approx(3.2071349, abs=1e-6)
    # Student's t CDF with 4 degrees of freedom in closed form: 1/2 + 3/8 * u * (1 - x / (3 (1 + x))),
    # x = t^2 / 4, u = t / sqrt(1 + x)
    x = t * t / 4
    cdf = 0.5 + 3 / 8 * (t / math.sqrt(1 + x)) * (1 - x / (3 * (1 + x)))
    assert paired_ttest(A5, B5) == pytest.approx(2 * (1 - cdf), rel=1e-10)
    assert paired_ttest(A5, B5) == pytest.approx(0.0326779, abs=1e-6)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")
@settings(deadline=None)
@given(paired())
def test_ttest_agrees_with_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    expected = sps.ttest_rel(a, b).pvalue
    if np.isfinite(expected) and np.std(a - b) > 1e-9:
        assert paired_ttest(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_ttest_zero_variance() -> None:
    assert paired_ttest([0.1, 0.2, 0.3], [0.1, 0.2, 0.3]) == 1.0
    assert paired_ttest([1.0, 2.0, 3.0], [0.0, 1.0, 2.0]) == 0.0  # every topic +1: t is infinite


def test_ttest_needs_two_topics() -> None:
    with pytest.raises(InputError, match="at least 2 topics"):
        paired_ttest([0.5], [0.4])


# TEST: Wilcoxon signed-rank


@settings(max_examples=25, deadline=None)
@given(paired())
def test_wilcoxon_agrees_with_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    d = np.round(a - b, 12)
    if d.any():
        assert paired_wilcoxon(a, b) == pytest.approx(sps.wilcoxon(d).pvalue, rel=1e-12)


def test_wilcoxon_continuous_data_matches_scipy_exactly() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.random(30), rng.random(30)
    assert paired_wilcoxon(a, b) == sps.wilcoxon(a, b).pvalue


def test_wilcoxon_zero_methods() -> None:
    rng = np.random.default_rng(5)
    a, b = np.round(rng.random(60), 1), np.round(rng.random(60) * 0.9, 1)  # P@10-like: 7 zero differences
    d = np.round(a - b, 12)
    assert np.count_nonzero(d == 0) == 7
    assert paired_wilcoxon(a, b) == pytest.approx(sps.wilcoxon(d[d != 0]).pvalue)  # zeros dropped
    for method in ("wilcox", "pratt", "zsplit"):
        expected = sps.wilcoxon(np.round(d, 12), zero_method=method).pvalue
        assert paired_wilcoxon(a, b, zero_method=method) == pytest.approx(expected)
    assert paired_wilcoxon(a, b, zero_method="pratt") != paired_wilcoxon(a, b, zero_method="wilcox")


def test_wilcoxon_rounds_float_residue_into_ties() -> None:
    # 0.3 - 0.2 and 0.2 - 0.1 differ in binary floating point but are the same difference.
    a = np.array([0.3, 0.2, 0.9, 0.7, 0.6])
    b = np.array([0.2, 0.1, 0.5, 0.1, 0.3])
    assert (a - b)[0] != (a - b)[1]
    assert paired_wilcoxon(a, b) == sps.wilcoxon([0.1, 0.1, 0.4, 0.6, 0.3]).pvalue


def test_wilcoxon_all_zero_differences() -> None:
    assert paired_wilcoxon([0.2, 0.4], [0.2, 0.4]) == 1.0


def test_wilcoxon_rejects_unknown_zero_method() -> None:
    with pytest.raises(InputError, match="'wilcox', 'pratt', 'zsplit'"):
        paired_wilcoxon(A5, B5, zero_method="drop")  # type: ignore[arg-type]


# TEST: randomization


def test_randomization_close_to_exact_enumeration() -> None:
    d = np.array([0.21, -0.05, 0.13, 0.08, -0.17, 0.3, 0.02, -0.04, 0.11, 0.06])
    exact = exact_randomization_p(d)
    assert 0.05 < exact < 0.5
    trials = 20_000
    for seed in range(3):
        p = paired_randomization(d, np.zeros_like(d), trials=trials, seed=seed)
        # 4 Monte-Carlo standard errors, plus the +1/(trials+1) of the observed labelling
        assert abs(p - exact) <= 4 * math.sqrt(exact * (1 - exact) / trials) + 1 / (trials + 1)


def test_randomization_counts_ties_at_the_observed_statistic() -> None:
    # P@10-like scores: many sign vectors give exactly |sum| = observed, and rounding must not lose them.
    a = np.array([0.3, 0.5, 0.7, 0.1, 0.2, 0.6, 0.4, 0.3])
    b = np.array([0.2, 0.4, 0.6, 0.2, 0.1, 0.5, 0.3, 0.3])
    exact = exact_randomization_p(np.round(a - b, 12))
    p = paired_randomization(a, b, trials=50_000, seed=1)
    assert abs(p - exact) <= 4 * math.sqrt(exact * (1 - exact) / 50_000) + 1e-4


def test_randomization_identical_runs_give_one() -> None:
    a = np.linspace(0, 1, 50)
    assert paired_randomization(a, a) == 1.0


def test_randomization_single_topic_gives_one() -> None:
    assert paired_randomization([0.9], [0.1], trials=100) == 1.0


def test_randomization_is_seeded() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(200), rng.random(200)
    assert paired_randomization(a, b, seed=7) == paired_randomization(a, b, seed=7)
    assert paired_randomization(a, b, seed=7) != paired_randomization(a, b, seed=8)


def test_randomization_floor_is_one_over_trials_plus_one() -> None:
    a = np.full(100, 0.9)
    b = np.full(100, 0.1)
    assert paired_randomization(a, b, trials=999) == pytest.approx(1 / 1000)


def test_randomization_ten_thousand_trials_over_a_thousand_topics_is_fast() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(1000), rng.random(1000)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        paired_randomization(a, b, trials=10_000, seed=0)
        best = min(best, time.perf_counter() - start)
    assert best < 0.5


# TEST: bootstrap test


def test_bootstrap_test_detects_a_clear_difference() -> None:
    rng = np.random.default_rng(1)
    a = rng.random(100)
    assert paired_bootstrap(a + 0.2, a - rng.random(100) * 0.01, trials=2000) == pytest.approx(1 / 2001)
    assert paired_bootstrap(a, a) == 1.0


# TEST: properties shared by all tests


@settings(max_examples=60, deadline=None)
@given(paired(), st.sampled_from(sorted(STAT_TESTS)))
def test_p_value_in_unit_interval_and_symmetric(pair: tuple[np.ndarray, np.ndarray], name: str) -> None:
    a, b = pair
    p = significance(name, a, b, trials=500, seed=3)
    assert 0.0 <= p <= 1.0
    assert significance(name, b, a, trials=500, seed=3) == pytest.approx(p, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(scores, st.sampled_from(sorted(STAT_TESTS)))
def test_identical_runs_are_never_significant(a: np.ndarray, name: str) -> None:
    assert significance(name, a, a.copy(), trials=300) == 1.0


@settings(max_examples=30, deadline=None)
@given(paired(), st.integers(0, 2**32))
def test_randomization_swap_gives_identical_p(pair: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    a, b = pair
    assert paired_randomization(a, b, trials=300, seed=seed) == paired_randomization(
        b, a, trials=300, seed=seed
    )


# TEST: registry and arguments


def test_registry_names_and_dispatch() -> None:
    assert set(STAT_TESTS) == {"randomization", "ttest", "wilcoxon", "bootstrap"}
    assert significance("ttest", A5, B5) == paired_ttest(A5, B5)
    assert significance("wilcoxon", A5, B5) == paired_wilcoxon(A5, B5)
    assert significance("randomization", A5, B5, seed=4) == paired_randomization(A5, B5, seed=4)
    assert significance("bootstrap", A5, B5, trials=50) == paired_bootstrap(A5, B5, trials=50)
    assert get_test("randomization").resampling and not get_test("ttest").resampling


def test_unknown_test_lists_the_valid_names() -> None:
    with pytest.raises(InputError) as info:
        significance("sign", A5, B5)
    for name in STAT_TESTS:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([0.1, 0.2], [0.1], "paired"),
        ([], [], "empty"),
        ([0.1, float("nan")], [0.1, 0.2], "finite"),
        ([[0.1, 0.2]], [[0.1, 0.2]], "one-dimensional"),
        (["x", "y"], [0.1, 0.2], "numbers"),
    ],
)
def test_bad_scores_raise_input_error(a: object, b: object, message: str) -> None:
    for name in STAT_TESTS:
        with pytest.raises(InputError, match=message):
            significance(name, a, b)  # type: ignore[arg-type]


@pytest.mark.parametrize(("trials", "seed"), [(0, 0), (True, 0), (1.5, 0), (10, -1), (10, "x")])
def test_bad_trials_or_seed_raise_input_error(trials: object, seed: object) -> None:
    with pytest.raises(InputError, match=r"trials|seed"):
        paired_randomization(A5, B5, trials=trials, seed=seed)  # type: ignore[arg-type]

"""Multiple-comparison correction: hand-worked values, scipy's BH, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps

from ragbench.errors import InputError
from ragbench.stats import CORRECTIONS, correct

# FIXTURES

P4 = [0.01, 0.04, 0.03, 0.005]

p_values = hnp.arrays(np.float64, st.integers(1, 30), elements=st.floats(0.0, 1.0))


# TEST: hand-worked


def test_holm_hand_worked() -> None:
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> running max 0.06)
    result = correct(P4, "holm", alpha=0.05)
    np.testing.assert_allclose(result.p_adjusted, [0.03, 0.06, 0.06, 0.02], rtol=1e-12)
    assert result.reject.tolist() == [True, False, False, True]
    assert result.method == "holm" and result.alpha == 0.05


def test_holm_is_the_default() -> None:
    np.testing.assert_array_equal(correct(P4).p_adjusted, correct(P4, "holm").p_adjusted)


def test_bonferroni_hand_worked() -> None:
    result = correct(P4, "bonferroni")
    np.testing.assert_allclose(result.p_adjusted, [0.04, 0.16, 0.12, 0.02], rtol=1e-12)
    assert result.reject.tolist() == [True, False, False, True]


def test_bh_hand_worked() -> None:
    # sorted p * m / rank: 0.005*4/1 = 0.02, 0.01*4/2 = 0.02, 0.03*4/3 = 0.04, 0.04*4/4 = 0.04
    result = correct(P4, "bh")
    np.testing.assert_allclose(result.p_adjusted, [0.02, 0.04, 0.04, 0.02], rtol=1e-12)
    assert result.reject.tolist() == [True, True, True, True]


def test_none_returns_raw_values() -> None:
    result = correct(P4, "none")
    np.testing.assert_array_equal(result.p_adjusted, P4)
    assert result.reject.tolist() == [True, True, True, True]


def test_caps_at_one() -> None:
    for method in CORRECTIONS:
        assert correct([0.6, 0.9, 0.7], method).p_adjusted.max() <= 1.0
    np.testing.assert_array_equal(correct([0.6, 0.9, 0.7], "bonferroni").p_adjusted, [1.0, 1.0, 1.0])


def test_empty_input() -> None:
    for method in CORRECTIONS:
        result = correct([], method)
        assert result.p_adjusted.size == 0 and result.reject.size == 0


# TEST: agreement and properties


@given(p_values)
def test_bh_matches_scipy_false_discovery_control(p: np.ndarray) -> None:
    np.testing.assert_allclose(
        correct(p, "bh").p_adjusted, sps.false_discovery_control(p), rtol=1e-12, atol=0
    )


@given(p_values)
def test_holm_rejects_exactly_the_step_down_set(p: np.ndarray) -> None:
    alpha, m = 0.05, p.size
    expected = np.zeros(m, dtype=bool)
    for k, i in enumerate(np.argsort(p, kind="stable")):
        if p[i] > alpha / (m - k):
            break
        expected[i] = True
    assert correct(p, "holm", alpha=alpha).reject.tolist() == expected.tolist()


@given(p_values)
def test_adjusted_values_are_ordered_capped_and_monotone(p: np.ndarray) -> None:
    adjusted = {method: correct(p, method).p_adjusted for method in CORRECTIONS}
    assert np.all(adjusted["bonferroni"] >= adjusted["holm"])
    assert np.all(adjusted["holm"] >= adjusted["bh"])
    assert np.all(adjusted["bh"] >= p)
    for values in adjusted.values():
        assert np.all(values >= p) and np.all(values <= 1.0)
        order = np.argsort(p, kind="stable")
        assert np.all(np.diff(values[order]) >= 0)  # a smaller raw p never gets a larger adjusted p


@given(p_values, st.floats(0.001, 0.999))
def test_reject_is_adjusted_at_most_alpha(p: np.ndarray, alpha: float) -> None:
    for method in CORRECTIONS:
        result = correct(p, method, alpha=alpha)
        assert result.reject.tolist() == (result.p_adjusted <= alpha).tolist()


# TEST: errors


def test_unknown_method_lists_the_valid_ones() -> None:
    with pytest.raises(InputError, match="'holm', 'bonferroni', 'bh', 'none'"):
        correct(P4, "fdr")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("p", "message"),
    [
        ([0.1, float("nan")], r"\[0, 1\]"),
        ([0.1, 1.5], r"\[0, 1\]"),
        ([-0.1], r"\[0, 1\]"),
        ([[0.1]], "one-dimensional"),
    ],
)
def test_bad_p_values(p: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        correct(p)  # type: ignore[arg-type]


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.5, float("nan"), "0.05", True])
def test_bad_alpha(alpha: object) -> None:
    with pytest.raises(InputError, match="alpha"):
        correct(P4, alpha=alpha)  # type: ignore[arg-type]

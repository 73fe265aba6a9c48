"""Cohen's d_z and per-topic wins/ties/losses."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ragbench.errors import InputError
from ragbench.stats import WinsTiesLosses, cohens_d, wins_ties_losses

A5 = [0.5, 0.6, 0.7, 0.4, 0.8]
B5 = [0.4, 0.6, 0.5, 0.3, 0.6]  # d = [0.1, 0, 0.2, 0.1, 0.2]: mean 0.12, sd sqrt(0.007)


def test_cohens_d_hand_worked() -> None:
    assert cohens_d(A5, B5) == pytest.approx(0.12 / math.sqrt(0.007), rel=1e-12)
    assert cohens_d(B5, A5) == pytest.approx(-0.12 / math.sqrt(0.007), rel=1e-12)


def test_cohens_d_times_sqrt_n_is_the_t_statistic() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.random(37), rng.random(37)
    assert cohens_d(a, b) * math.sqrt(37) == pytest.approx(sps.ttest_rel(a, b).statistic, rel=1e-10)


def test_cohens_d_zero_spread() -> None:
    assert cohens_d([0.2, 0.3], [0.2, 0.3]) == 0.0
    assert cohens_d([1.0, 2.0], [0.0, 1.0]) == math.inf  # every topic exactly +1
    assert cohens_d([0.0, 1.0], [1.0, 2.0]) == -math.inf


def test_cohens_d_needs_two_topics() -> None:
    with pytest.raises(InputError, match="at least 2 topics"):
        cohens_d([0.3], [0.2])


def test_wins_ties_losses() -> None:
    assert wins_ties_losses(A5, B5) == WinsTiesLosses(wins=4, ties=1, losses=0)
    assert wins_ties_losses(B5, A5) == WinsTiesLosses(wins=0, ties=1, losses=4)


def test_default_tolerance_absorbs_float_residue() -> None:
    a = [0.1 + 0.2, 0.5, 0.2]
    b = [0.3, 0.4, 0.3]
    assert a[0] != b[0]
    assert wins_ties_losses(a, b) == WinsTiesLosses(1, 1, 1)
    assert wins_ties_losses(a, b, tolerance=0) == WinsTiesLosses(2, 0, 1)


def test_custom_tolerance() -> None:
    assert wins_ties_losses(A5, B5, tolerance=0.15) == WinsTiesLosses(wins=2, ties=3, losses=0)


@pytest.mark.parametrize("tolerance", [-1e-3, math.inf, math.nan, "0", True])
def test_bad_tolerance(tolerance: object) -> None:
    with pytest.raises(InputError, match="tolerance"):
        wins_ties_losses(A5, B5, tolerance=tolerance)  # type: ignore[arg-type]

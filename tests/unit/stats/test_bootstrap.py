"""Bootstrap confidence intervals of the mean difference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats as sps

from ragbench.errors import InputError
from ragbench.stats import bootstrap_ci

# FIXTURES


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    a = rng.random(200)
    return a, np.clip(a - 0.03 + rng.normal(0, 0.15, 200), 0, 1)


# TEST


def test_percentile_interval_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    ours = bootstrap_ci(a, b, trials=20_000, seed=1)
    theirs = sps.bootstrap(
        (a - b,), np.mean, method="percentile", n_resamples=20_000, rng=1
    ).confidence_interval
    assert ours.estimate == pytest.approx(np.mean(a - b))
    # different resamples: agree within Monte-Carlo error (a few thousandths of the ~0.04 width)
    assert ours.low == pytest.approx(theirs.low, abs=2e-3)
    assert ours.high == pytest.approx(theirs.high, abs=2e-3)
    assert ours.low < ours.estimate < ours.high
    assert (ours.confidence, ours.method) == (0.95, "percentile")


def test_bca_interval_matches_scipy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    ours = bootstrap_ci(a, b, trials=20_000, seed=1, method="bca")
    theirs = sps.bootstrap((a - b,), np.mean, method="BCa", n_resamples=20_000, rng=1).confidence_interval
    assert ours.low == pytest.approx(theirs.low, abs=2e-3)
    assert ours.high == pytest.approx(theirs.high, abs=2e-3)
    assert ours.method == "bca"


def test_bca_shifts_with_skew() -> None:
    # Right-skewed differences: BCa moves both bounds up relative to the percentile interval.
    rng = np.random.default_rng(2)
    d = rng.exponential(1.0, 40)
    pct = bootstrap_ci(d, np.zeros(40), seed=0)
    bca = bootstrap_ci(d, np.zeros(40), seed=0, method="bca")
    assert bca.low > pct.low and bca.high > pct.high


def test_wider_at_higher_confidence(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    narrow, wide = bootstrap_ci(a, b, confidence=0.8), bootstrap_ci(a, b, confidence=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_seeded(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    assert bootstrap_ci(a, b, seed=5) == bootstrap_ci(a, b, seed=5)
    assert bootstrap_ci(a, b, seed=5) != bootstrap_ci(a, b, seed=6)


def test_constant_differences_give_a_point() -> None:
    for method in ("percentile", "bca"):
        ci = bootstrap_ci([0.5, 0.6, 0.7], [0.4, 0.5, 0.6], method=method)  # type: ignore[arg-type]
        assert ci.low == ci.high == ci.estimate == pytest.approx(0.1)
    ci = bootstrap_ci([0.3], [0.1], method="bca")
    assert ci.low == ci.high == pytest.approx(0.2)


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(2, 30), elements=st.floats(-1, 1)),
    st.sampled_from(["percentile", "bca"]),
)
def test_interval_is_ordered_and_within_the_data(d: np.ndarray, method: str) -> None:
    ci = bootstrap_ci(d, np.zeros_like(d), trials=300, method=method)  # type: ignore[arg-type]
    assert d.min() - 1e-12 <= ci.low <= ci.high <= d.max() + 1e-12
    mirrored = bootstrap_ci(np.zeros_like(d), d, trials=300, method=method)  # type: ignore[arg-type]
    assert mirrored.low == pytest.approx(-ci.high, abs=1e-9)
    assert mirrored.high == pytest.approx(-ci.low, abs=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0}, "confidence"),
        ({"method": "basic"}, "'percentile', 'bca'"),
        ({"trials": 0}, "trials"),
        ({"seed": -3}, "seed"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        bootstrap_ci([0.1, 0.2], [0.2, 0.1], **kwargs)  # type: ignore[arg-type]

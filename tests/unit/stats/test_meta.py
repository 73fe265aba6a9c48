"""DerSimonian–Laird random effects against a hand-worked example (and statsmodels when installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ragbench.errors import InputError
from ragbench.stats import paired_effect, paired_meta_analysis, random_effects

# Three benchmarks: effects y and sampling variances v, worked by hand.
#   w = 1/v = 100, 50, 100;  sum w = 250;  sum w y = 10 + 15 + 35 = 60;  y_FE = 60 / 250 = 0.24
#   Q = 100 (0.10-0.24)^2 + 50 (0.30-0.24)^2 + 100 (0.35-0.24)^2 = 1.96 + 0.18 + 1.21 = 3.35, df = 2
#   C = 250 - (100^2 + 50^2 + 100^2) / 250 = 250 - 90 = 160
#   tau^2 = (3.35 - 2) / 160 = 0.0084375
#   w* = 1 / (v + tau^2) = 1/0.0184375, 1/0.0284375, 1/0.0184375
#   I^2 = (3.35 - 2) / 3.35
Y = [0.10, 0.30, 0.35]
V = [0.01, 0.02, 0.01]


def test_hand_worked_example() -> None:
    result = random_effects(Y, V, names=["a", "b", "c"])
    assert result.fixed_effect == pytest.approx(0.24, abs=1e-12)
    assert result.q == pytest.approx(3.35, abs=1e-12)
    assert result.q_df == 2
    assert result.tau2 == pytest.approx(1.35 / 160, abs=1e-12)
    w = [1 / 0.0184375, 1 / 0.0284375, 1 / 0.0184375]
    mu = (0.10 * w[0] + 0.30 * w[1] + 0.35 * w[2]) / sum(w)
    assert result.effect == pytest.approx(mu, abs=1e-12)
    assert result.effect == pytest.approx(0.243361, abs=1e-6)
    se = math.sqrt(1 / sum(w))
    assert result.se == pytest.approx(se, abs=1e-12)
    assert result.low == pytest.approx(mu - 1.959963984540054 * se, abs=1e-9)
    assert result.high == pytest.approx(mu + 1.959963984540054 * se, abs=1e-9)
    assert result.i2 == pytest.approx(1.35 / 3.35, abs=1e-12)
    assert result.q_p == pytest.approx(math.exp(-3.35 / 2), abs=1e-12)  # chi-square, 2 df: exp(-q/2)
    assert [s.weight for s in result.studies] == pytest.approx([x / sum(w) for x in w])
    assert result.k == 3 and [s.name for s in result.studies] == ["a", "b", "c"]


def test_no_heterogeneity_gives_the_fixed_effect() -> None:
    # Q = 100 (0.2-0.25)^2 + 100 (0.3-0.25)^2 = 0.5 < df = 1: tau^2 = 0, random = fixed, I^2 = 0
    result = random_effects([0.2, 0.3], [0.01, 0.01])
    assert result.tau2 == 0.0 and result.i2 == 0.0
    assert result.effect == pytest.approx(0.25) and result.effect == pytest.approx(result.fixed_effect)


def test_agrees_with_statsmodels() -> None:
    meta = pytest.importorskip("statsmodels.stats.meta_analysis")
    rng = np.random.default_rng(3)
    y, v = rng.normal(0.05, 0.1, 6), rng.uniform(0.001, 0.01, 6)
    ours = random_effects(y, v)
    theirs = meta.combine_effects(y, v, method_re="dl")
    assert ours.tau2 == pytest.approx(theirs.tau2, rel=1e-9)
    assert ours.effect == pytest.approx(theirs.mean_effect_re, rel=1e-9)
    assert ours.se == pytest.approx(theirs.sd_eff_w_re, rel=1e-9)
    assert ours.q == pytest.approx(theirs.q, rel=1e-9)


def test_paired_effects() -> None:
    a, b = [0.5, 0.7, 0.2, 0.9], [0.4, 0.4, 0.3, 0.6]
    d = np.array(a) - np.array(b)  # 0.1, 0.3, -0.1, 0.3
    effect, variance, n = paired_effect(a, b)
    assert effect == pytest.approx(0.15) and n == 4
    assert variance == pytest.approx(np.var(d, ddof=1) / 4)
    pooled = paired_meta_analysis({"x": (a, b), "y": (b, a)})
    assert pooled.effect == pytest.approx(0.0, abs=1e-12)  # equal variances, opposite effects
    assert pooled.tau2 > 0


def test_bad_input() -> None:
    with pytest.raises(InputError, match="> 0"):
        random_effects([0.1, 0.2], [0.01, 0.0])
    with pytest.raises(InputError, match="2 effects"):
        random_effects([0.1, 0.2], [0.01])
    with pytest.raises(InputError, match="two topics"):
        paired_effect([0.1], [0.2])
    single = random_effects([0.1], [0.01])
    assert single.i2 is None and single.q_p is None and single.tau2 == 0.0

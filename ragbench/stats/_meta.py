"""Random-effects meta-analysis (DerSimonian–Laird) of per-benchmark effects.

A suite asks "is system A better than the reference across collections?" A plain mean of
per-benchmark differences ignores that some benchmarks measure the difference precisely (many
topics, consistent wins) and others barely at all, and that the true difference may itself vary
between collections. The random-effects model takes both into account: each benchmark ``i``
estimates its own true effect ``theta_i`` with sampling variance ``v_i``, and the ``theta_i`` vary
around the overall effect ``mu`` with between-benchmark variance ``tau^2``.

Written here rather than taken from statsmodels (``combine_effects``), which is not a dependency of
the core; the test checks it against a hand-worked example and against statsmodels when installed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError
from ragbench.stats._checks import as_scores, check_fraction, paired_differences


@dataclass(frozen=True, slots=True)
class MetaStudy:
    """One benchmark's contribution.

    Attributes:
        name: The benchmark (or group).
        effect: Its estimated effect ``y_i`` (the mean paired difference).
        variance: Its sampling variance ``v_i`` (of the mean difference).
        weight: Its share of the random-effects weights, ``w*_i / sum(w*)``.
        n: Topics it is estimated from (0 when not known).
    """

    name: str
    effect: float
    variance: float
    weight: float
    n: int = 0


@dataclass(frozen=True, slots=True)
class MetaAnalysis:
    """A DerSimonian–Laird random-effects meta-analysis.

    Attributes:
        effect: The pooled effect ``mu`` (random effects).
        se: Its standard error ``sqrt(1 / sum(w*))``.
        low: Lower bound of the ``confidence`` interval ``mu -/+ z * se`` (normal).
        high: Upper bound.
        confidence: Coverage of the interval.
        p_value: Two-sided p of ``mu = 0`` (normal).
        tau2: Between-benchmark variance ``tau^2`` (DerSimonian–Laird moment estimate, >= 0).
        i2: ``I^2 = max(0, (Q - df) / Q)``: the share of the spread that is heterogeneity rather than
            chance; None with one benchmark.
        q: Cochran's ``Q`` (fixed-effect weights).
        q_df: Its degrees of freedom, ``k - 1``.
        q_p: p of the test of homogeneity (``Q`` against chi-square with ``k - 1`` df); None if k = 1.
        fixed_effect: The fixed-effect (inverse-variance) pooled effect, for reference.
        fixed_se: Its standard error.
        studies: Every benchmark's effect, variance and weight.
        method: ``"DerSimonian-Laird"``.
    """

    effect: float
    se: float
    low: float
    high: float
    confidence: float
    p_value: float
    tau2: float
    i2: float | None
    q: float
    q_df: int
    q_p: float | None
    fixed_effect: float
    fixed_se: float
    studies: tuple[MetaStudy, ...]
    method: str = "DerSimonian-Laird"

    @property
    def k(self) -> int:
        """The number of benchmarks pooled."""
        return len(self.studies)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "studies": [asdict(s) for s in self.studies], "k": self.k}


def random_effects(
    effects: ArrayLike,
    variances: ArrayLike,
    *,
    names: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
    confidence: float = 0.95,
) -> MetaAnalysis:
    """Pool per-benchmark effects with the DerSimonian–Laird random-effects model.

    With fixed-effect weights ``w_i = 1 / v_i``::

        y_FE  = sum(w y) / sum(w)
        Q     = sum(w (y - y_FE)^2),  df = k - 1
        C     = sum(w) - sum(w^2) / sum(w)
        tau^2 = max(0, (Q - df) / C)
        w*_i  = 1 / (v_i + tau^2)
        mu    = sum(w* y) / sum(w*),  se = sqrt(1 / sum(w*)),  CI = mu -/+ z_(1-alpha/2) se
        I^2   = max(0, (Q - df) / Q)

    Args:
        effects: One effect per benchmark.
        variances: Their sampling variances, all > 0.
        names: Benchmark names (default ``"1"``, ``"2"``, ...).
        sizes: Topics per benchmark, reported with each study.
        confidence: Coverage of the interval (default 0.95).

    Raises:
        InputError: no effects, lengths that differ, a variance that is not > 0, non-finite values.
    """
    from scipy import stats

    y = as_scores(effects, "effects")
    v = as_scores(variances, "variances")
    if y.shape != v.shape:
        raise InputError(f"{y.size} effects but {v.size} variances")
    if np.any(v <= 0):
        raise InputError("every variance must be > 0 (a benchmark whose differences are all equal has none)")
    confidence = check_fraction(confidence, "confidence")
    k = y.size
    labels = list(names) if names is not None else [str(i + 1) for i in range(k)]
    counts = list(sizes) if sizes is not None else [0] * k
    if len(labels) != k or len(counts) != k:
        raise InputError(f"{k} effects need {k} names and sizes")
    w = 1.0 / v
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    df = k - 1
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    tau2 = max(0.0, (q - df) / c) if df > 0 and c > 0 else 0.0
    w_star = 1.0 / (v + tau2)
    effect = float(np.sum(w_star * y) / np.sum(w_star))
    se = math.sqrt(1.0 / float(np.sum(w_star)))
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p_value = float(2.0 * stats.norm.sf(abs(effect) / se))
    i2 = (max(0.0, (q - df) / q) if q > 0 else 0.0) if df > 0 else None
    shares = w_star / np.sum(w_star)
    return MetaAnalysis(
        effect=effect,
        se=se,
        low=effect - z * se,
        high=effect + z * se,
        confidence=confidence,
        p_value=p_value,
        tau2=tau2,
        i2=i2,
        q=q,
        q_df=df,
        q_p=float(stats.chi2.sf(q, df)) if df > 0 else None,
        fixed_effect=fixed,
        fixed_se=math.sqrt(1.0 / float(np.sum(w))),
        studies=tuple(
            MetaStudy(labels[i], float(y[i]), float(v[i]), float(shares[i]), int(counts[i])) for i in range(k)
        ),
    )


def paired_effect(a: ArrayLike, b: ArrayLike) -> tuple[float, float, int]:
    """``(mean(a - b), var(a - b) / n, n)``: one benchmark's paired mean difference and its sampling
    variance (the sample variance with ``n - 1``, over ``n`` topics).

    Raises:
        InputError: unpaired or bad scores, or fewer than two topics.
    """
    d = paired_differences(a, b)
    if d.size < 2:
        raise InputError("a paired effect needs at least two topics")
    return float(d.mean()), float(d.var(ddof=1) / d.size), int(d.size)


def paired_meta_analysis(
    pairs: Mapping[str, tuple[ArrayLike, ArrayLike]], *, confidence: float = 0.95
) -> MetaAnalysis:
    """Random-effects meta-analysis of ``system - reference`` over benchmarks.

    Args:
        pairs: ``{benchmark: (system's per-topic scores, reference's per-topic scores)}``, paired
            by topic within each benchmark.
        confidence: Coverage of the interval.

    Raises:
        InputError: as :func:`paired_effect` and :func:`random_effects`.
    """
    names, effects, variances, sizes = [], [], [], []
    for name, (a, b) in pairs.items():
        effect, variance, n = paired_effect(a, b)
        names.append(name)
        effects.append(effect)
        variances.append(variance)
        sizes.append(n)
    if not names:
        raise InputError("a meta-analysis needs at least one benchmark")
    return random_effects(effects, variances, names=names, sizes=sizes, confidence=confidence)

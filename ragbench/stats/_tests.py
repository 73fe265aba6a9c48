"""Paired significance tests over per-topic scores, and the registry that names them.

Every test takes two score vectors ``a`` and ``b`` over the same topics in the same order,
works on the differences ``d = a - b``, and returns a two-sided p-value for "no difference".
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError
from ragbench.stats._bootstrap import bootstrap_pvalues
from ragbench.stats._checks import check_choice, check_seed, check_trials, paired_differences
from ragbench.stats._randomization import randomization_pvalues

ZeroMethod = Literal["wilcox", "pratt", "zsplit"]

#: Decimals that Wilcoxon differences are rounded to before ranking (see :func:`paired_wilcoxon`).
WILCOXON_DECIMALS = 12


def paired_ttest(a: ArrayLike, b: ArrayLike) -> float:
    """Two-sided paired (Student's) t-test of mean(a - b) = 0.

    With ``d = a - b`` over ``n`` topics, ``d̄`` its mean and ``s`` its sample standard deviation
    (``ddof=1``)::

        t = d̄ / (s / sqrt(n)),    p = 2 * P(T_{n-1} >= |t|)

    This equals :func:`scipy.stats.ttest_rel`. When ``s = 0`` the statistic is undefined
    (scipy returns nan): here p is 1 when ``d̄ = 0`` (identical systems) and 0 otherwise (every
    topic moves by the same non-zero amount).

    Raises:
        InputError: bad scores, or fewer than 2 topics.
    """
    return float(ttest_pvalues(paired_differences(a, b)[None, :])[0])


def paired_wilcoxon(a: ArrayLike, b: ArrayLike, *, zero_method: ZeroMethod = "wilcox") -> float:
    """Two-sided Wilcoxon signed-rank test of ``d = a - b`` being symmetric about 0 (scipy).

    Differences are first rounded to 12 decimals, so that differences equal in exact arithmetic
    (``0.3 - 0.2`` and ``0.2 - 0.1``) tie in rank and float residues like 1e-17 count as zero.
    Then :func:`scipy.stats.wilcoxon` runs with ``method="auto"`` and no continuity correction:
    the exact null distribution for up to 50 topics without ties or zeros, an exact enumeration of
    all ``2^n`` sign flips for up to 13 topics with ties or zeros, the normal approximation
    otherwise (scipy >= 1.13 behaviour; all three are deterministic).

    Zero differences (topics where both systems score the same) carry no sign. ``zero_method``:

    - ``"wilcox"`` (default): drop them, then rank the rest (Wilcoxon, 1945).
    - ``"pratt"``: rank them with the rest, then drop their ranks (Pratt, 1959); more power when
      many topics tie.
    - ``"zsplit"``: rank them with the rest and split their ranks evenly between the signs.

    When every difference is zero, p = 1.

    Raises:
        InputError: bad scores or an unknown ``zero_method``.
    """
    check_choice(zero_method, "zero_method", ("wilcox", "pratt", "zsplit"))
    return float(wilcoxon_pvalues(paired_differences(a, b)[None, :], zero_method)[0])


def ttest_pvalues(diffs: np.ndarray) -> np.ndarray:
    """Paired t-test p-values for each row of ``diffs`` (pairs x topics)."""
    n = diffs.shape[1]
    if n < 2:
        raise InputError(f"the paired t-test needs at least 2 topics, got {n}")
    from scipy import special  # on first use: importing scipy costs a noticeable fraction of a second

    mean = diffs.mean(axis=1)
    sd = diffs.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / np.sqrt(n))
        p = 2.0 * special.stdtr(n - 1, -np.abs(t))  # = 2 * P(T_{n-1} >= |t|), as scipy.stats.t.sf
    p = np.where(sd == 0, np.where(mean == 0, 1.0, 0.0), p)
    return np.clip(p, 0.0, 1.0)


def wilcoxon_pvalues(diffs: np.ndarray, zero_method: str = "wilcox") -> np.ndarray:
    """Wilcoxon signed-rank p-values for each row of ``diffs`` (see :func:`paired_wilcoxon`)."""
    from scipy import stats

    out = np.ones(diffs.shape[0], dtype=np.float64)
    for p, row in enumerate(np.round(diffs, WILCOXON_DECIMALS)):
        if not row.any():
            continue
        with warnings.catch_warnings():
            # scipy warns when it falls back to the normal approximation; that is documented here.
            warnings.simplefilter("ignore", category=UserWarning)
            result = stats.wilcoxon(row, zero_method=zero_method, alternative="two-sided", method="auto")
        out[p] = min(1.0, float(result.pvalue))
    return out


@dataclass(frozen=True, slots=True)
class StatTest:
    """A named paired test in the registry.

    Attributes:
        name: Registry key, e.g. ``"randomization"``.
        pvalues: ``(diffs, trials, seed) -> p``: p-values of each row of a pairs x topics array
            of differences ``a - b``; deterministic tests ignore ``trials`` and ``seed``.
        resampling: Whether the result depends on ``trials`` and ``seed``.
        summary: One line for help texts and reports.
    """

    name: str
    pvalues: Callable[[np.ndarray, int, int], np.ndarray]
    resampling: bool
    summary: str

    def __call__(self, a: ArrayLike, b: ArrayLike, *, trials: int = 10_000, seed: int = 0) -> float:
        """The two-sided p-value of this test for paired scores ``a`` and ``b``."""
        diffs = paired_differences(a, b)[None, :]
        return float(self.pvalues(diffs, check_trials(trials), check_seed(seed))[0])


#: The paired tests by name; :func:`get_test` looks names up with an error listing the keys.
STAT_TESTS: Mapping[str, StatTest] = MappingProxyType(
    {
        test.name: test
        for test in (
            StatTest(
                "randomization",
                randomization_pvalues,
                resampling=True,
                summary="paired randomization (sign-flip permutation) test, two-sided",
            ),
            StatTest(
                "ttest",
                lambda diffs, trials, seed: ttest_pvalues(diffs),
                resampling=False,
                summary="paired Student's t-test, two-sided",
            ),
            StatTest(
                "wilcoxon",
                lambda diffs, trials, seed: wilcoxon_pvalues(diffs),
                resampling=False,
                summary="Wilcoxon signed-rank test (zero differences dropped), two-sided",
            ),
            StatTest(
                "bootstrap",
                bootstrap_pvalues,
                resampling=True,
                summary="paired bootstrap test of the mean difference (shift method), two-sided",
            ),
        )
    }
)


def get_test(name: str) -> StatTest:
    """Look up a paired test by registry name.

    Raises:
        InputError: ``name`` is not a key of :data:`STAT_TESTS`; the message lists the keys.
    """
    return STAT_TESTS[check_choice(name, "test", STAT_TESTS)]


def significance(name: str, a: ArrayLike, b: ArrayLike, *, trials: int = 10_000, seed: int = 0) -> float:
    """Run the registered test ``name`` on paired scores ``a`` and ``b``; return its two-sided p.

    Args:
        name: A key of :data:`STAT_TESTS`: ``"randomization"``, ``"ttest"``, ``"wilcoxon"`` or
            ``"bootstrap"``.
        a: Per-topic scores of the first system.
        b: Per-topic scores of the second system, same topics in the same order.
        trials: Resamples for the resampling tests (default 10,000); ignored by the others.
        seed: Random seed for the resampling tests (default 0); ignored by the others.

    Raises:
        InputError: unknown ``name`` (the message lists the valid ones), or bad arguments.
    """
    return get_test(name)(a, b, trials=trials, seed=seed)

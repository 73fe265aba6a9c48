"""Multiple-comparison correction of p-values: Holm, Bonferroni, Benjamini–Hochberg, none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ragbench.errors import InputError
from ragbench.stats._checks import check_choice, check_fraction

CorrectionMethod = Literal["holm", "bonferroni", "bh", "none"]

#: Correction names accepted by :func:`correct`, default first.
CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "bh", "none")


@dataclass(frozen=True, eq=False, slots=True)
class Correction:
    """Adjusted p-values and decisions, in the order of the input p-values.

    Attributes:
        p_adjusted: Adjusted p-values, each ``>=`` its raw p-value and ``<= 1``.
        reject: ``p_adjusted <= alpha``: the null hypotheses rejected at family level ``alpha``.
        method: The correction applied.
        alpha: The family-wise error rate (holm, bonferroni) or false discovery rate (bh) level.
    """

    p_adjusted: np.ndarray
    reject: np.ndarray
    method: str
    alpha: float


def correct(p_values: ArrayLike, method: CorrectionMethod = "holm", *, alpha: float = 0.05) -> Correction:
    """Adjust ``m`` p-values for multiple comparisons.

    With the p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the adjusted values are:

    - ``"holm"`` (default; Holm, 1979; controls the family-wise error rate, uniformly more powerful
      than Bonferroni): ``p~_(i) = max_{j <= i} min(1, (m - j + 1) * p_(j))``.
    - ``"bonferroni"`` (FWER): ``p~_i = min(1, m * p_i)``.
    - ``"bh"`` (Benjamini & Hochberg, 1995; controls the false discovery rate for independent or
      positively dependent tests): ``p~_(i) = min_{j >= i} min(1, m * p_(j) / j)``; equal to
      :func:`scipy.stats.false_discovery_control` with ``method="bh"``.
    - ``"none"``: ``p~_i = p_i``.

    A hypothesis is rejected when ``p~ <= alpha``, which is exactly Holm's step-down and
    Benjamini–Hochberg's step-up procedure. For every input, bonferroni >= holm >= bh >= none.

    Args:
        p_values: One-dimensional p-values in [0, 1]; may be empty.
        method: ``"holm"``, ``"bonferroni"``, ``"bh"`` or ``"none"``.
        alpha: Level strictly between 0 and 1 (default 0.05).

    Returns:
        The adjusted p-values and reject flags, in input order.

    Raises:
        InputError: unknown ``method`` (the message lists the valid ones), p-values that are not a
            one-dimensional array of numbers in [0, 1], or ``alpha`` outside (0, 1).
    """
    name = check_choice(method, "correction", CORRECTIONS)
    alpha = check_fraction(alpha, "alpha")
    try:
        p = np.asarray(p_values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"p-values must be numbers: {exc}") from exc
    if p.ndim != 1:
        raise InputError(f"p-values must be one-dimensional, got shape {p.shape}")
    if not np.all((p >= 0.0) & (p <= 1.0)):  # also rejects nan
        bad = int(np.flatnonzero(~((p >= 0.0) & (p <= 1.0)))[0])
        raise InputError(f"p-values must lie in [0, 1]: p[{bad}] = {p[bad]}")
    adjusted = _adjust(p, name)
    return Correction(adjusted, adjusted <= alpha, name, alpha)


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        bonferroni: np.ndarray = np.minimum(1.0, m * p)
        return bonferroni
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    rank = np.arange(1, m + 1, dtype=np.float64)
    if method == "holm":
        stepped = np.maximum.accumulate(np.minimum(1.0, (m - rank + 1.0) * ranked))
    else:  # bh
        # p * (m / j), as scipy computes it: m / j >= 1 and (m - j + 1) >= m / j survive rounding,
        # so the result is never below p nor above Holm's.
        stepped = np.minimum.accumulate(np.minimum(1.0, ranked * (m / rank))[::-1])[::-1]
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = stepped
    return adjusted

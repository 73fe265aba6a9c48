"""Agreement between two raters who labelled the same items: percent agreement, Cohen's kappa and
weighted kappa.

With ``O`` the ``k x k`` table of label pairs as proportions (rows: rater 1, columns: rater 2),
``r`` and ``c`` its margins and ``E = r cᵀ`` the table expected by chance:

- percent agreement ``p_o = Σ_i O_ii``;
- Cohen's kappa ``κ = (p_o − p_e) / (1 − p_e)`` with ``p_e = Σ_i E_ii``;
- weighted kappa ``κ_w = 1 − Σ w_ij O_ij / Σ w_ij E_ij`` with disagreement weights
  ``w_ij = |i − j| / (k − 1)`` (linear) or its square (quadratic), for ordered labels.

The categories are the ones given (in their order: it matters for the weights), or the sorted
labels seen. When chance agreement is total (``p_e = 1``: both raters used one and the same
label throughout) kappa is undefined and reported as NaN. Written here (a dozen lines of numpy)
rather than taken from scikit-learn, which is a test-only dependency; the tests check it against
``sklearn.metrics.cohen_kappa_score`` and a hand computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ragbench.errors import InputError

Weights = Literal["linear", "quadratic"]


@dataclass(frozen=True, slots=True)
class RaterAgreement:
    """Agreement of two raters over ``n`` items.

    Attributes:
        n: Items both labelled.
        percent: Share of items with the same label (0..1).
        kappa: Cohen's kappa (NaN when undefined).
        weighted_kappa: Weighted kappa with ``weights`` (NaN when undefined).
        weights: ``linear`` or ``quadratic``.
        categories: The label order used.
    """

    n: int
    percent: float
    kappa: float
    weighted_kappa: float
    weights: str
    categories: tuple[Any, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN as None)."""
        data = asdict(self)
        data["categories"] = list(self.categories)
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in data.items()}


def rater_agreement(
    first: Sequence[Any],
    second: Sequence[Any],
    *,
    categories: Sequence[Any] | None = None,
    weights: Weights = "linear",
) -> RaterAgreement:
    """Percent agreement, Cohen's kappa and weighted kappa of two raters (module docstring).

    Args:
        first: Rater 1's label of each item.
        second: Rater 2's label of the same items, same order.
        categories: Ordered label set (default: the sorted labels seen).
        weights: ``linear`` (default) or ``quadratic`` disagreement weights.

    Raises:
        InputError: different lengths, no items, a label outside ``categories``, unknown weights.
    """
    if len(first) != len(second):
        raise InputError(f"the raters labelled different numbers of items ({len(first)}, {len(second)})")
    if not first:
        raise InputError("no items to compare")
    if weights not in ("linear", "quadratic"):
        raise InputError(f"weights must be linear or quadratic, got {weights!r}")
    cats = tuple(categories) if categories is not None else tuple(sorted(set(first) | set(second)))
    index = {c: i for i, c in enumerate(cats)}
    unknown = sorted({str(x) for x in (*first, *second) if x not in index})
    if unknown:
        raise InputError(f"labels outside the categories {list(cats)}: {', '.join(unknown)}")
    k = len(cats)
    table = np.zeros((k, k))
    np.add.at(table, (np.array([index[x] for x in first]), np.array([index[x] for x in second])), 1.0)
    observed = table / table.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    p_o, p_e = float(np.trace(observed)), float(np.trace(expected))
    kappa = (p_o - p_e) / (1.0 - p_e) if p_e < 1.0 else float("nan")
    if k > 1:
        distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
        w = distance if weights == "linear" else distance**2
        chance = float((w * expected).sum())
        weighted = 1.0 - float((w * observed).sum()) / chance if chance > 0 else float("nan")
    else:
        weighted = float("nan")
    return RaterAgreement(len(first), p_o, float(kappa), weighted, weights, cats)

"""Friedman's test over benchmarks with a Nemenyi or Holm-corrected Wilcoxon post-hoc (Demšar, 2006).

Each benchmark ranks the systems (1 = best, ties share the average rank); Friedman's test asks
whether the average ranks differ more than chance allows. The post-hoc says which pairs differ:

- ``nemenyi``: two systems differ when their average ranks differ by at least the critical
  difference ``CD = q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))`` (``q_alpha`` the studentized range
  quantile for ``k`` systems and infinite degrees of freedom); the p-value of a pair is the
  studentized range tail at ``|R_i - R_j| * sqrt(2) / sqrt(k (k + 1) / (6 N))``, as scikit-posthocs'
  ``posthoc_nemenyi_friedman`` computes it;
- ``wilcoxon-holm``: a Wilcoxon signed-rank test of every pair over the benchmarks, Holm-corrected
  over all pairs (Benavoli et al., 2016, argue for it over Nemenyi); no single CD then.

The critical-difference diagram joins with a bar each maximal run of systems (in order of average
rank) that contains no significantly different pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from ragbench.errors import InputError
from ragbench.stats._checks import check_choice, check_fraction
from ragbench.stats._correction import correct

PostHoc = Literal["nemenyi", "wilcoxon-holm"]
POSTHOCS: tuple[str, ...] = ("nemenyi", "wilcoxon-holm")


@dataclass(frozen=True, slots=True)
class PairDifference:
    """One pair of systems in the post-hoc: ``a`` has the better (lower) average rank."""

    a: str
    b: str
    rank_difference: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass(frozen=True, slots=True)
class FriedmanResult:
    """Friedman's test and its post-hoc.

    Attributes:
        systems: The systems, by average rank (best first).
        blocks: The benchmarks ranked over (``N``).
        average_ranks: System -> average rank (1 = best).
        statistic: Friedman's chi-square (corrected for ties); None with fewer than 3 systems.
        p_value: Its p-value (chi-square with ``k - 1`` df); None with fewer than 3 systems.
        posthoc: ``nemenyi`` or ``wilcoxon-holm``.
        alpha: The level of the post-hoc.
        critical_difference: Nemenyi's CD (None for Wilcoxon-Holm).
        pairs: Every pair, in the order of ``systems``.
        cliques: Maximal groups (by average rank) with no significantly different pair, 2+ systems.
    """

    systems: tuple[str, ...]
    blocks: int
    average_ranks: dict[str, float]
    statistic: float | None
    p_value: float | None
    posthoc: str
    alpha: float
    critical_difference: float | None
    pairs: tuple[PairDifference, ...]
    cliques: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["systems"] = list(self.systems)
        data["cliques"] = [list(c) for c in self.cliques]
        data["pairs"] = [asdict(p) for p in self.pairs]
        return data


def block_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks within each row (block) of ``values`` (blocks x systems), 1 = highest, ties averaged."""
    from scipy.stats import rankdata

    ranks: np.ndarray = rankdata(-values, axis=1, method="average")
    return ranks


def friedman(
    scores: Mapping[str, Mapping[str, float]],
    *,
    posthoc: PostHoc = "nemenyi",
    alpha: float = 0.05,
) -> FriedmanResult:
    """Friedman's test of ``k`` systems over ``N`` benchmarks, with its post-hoc.

    Args:
        scores: ``{system: {benchmark: score}}``; every system must have every benchmark (systems
            missing one are left out by the caller and listed apart). Higher scores are better.
        posthoc: ``nemenyi`` (default) or ``wilcoxon-holm``.
        alpha: Level of the post-hoc (default 0.05).

    Raises:
        InputError: fewer than two systems or two benchmarks, a system missing a benchmark, a
            non-finite score, an unknown post-hoc.
    """
    from scipy import stats

    check_choice(posthoc, "post-hoc", POSTHOCS)
    alpha = check_fraction(alpha, "alpha")
    systems = list(scores)
    if len(systems) < 2:
        raise InputError("Friedman's test needs at least two systems")
    blocks = list(next(iter(scores.values())))
    if len(blocks) < 2:
        raise InputError("Friedman's test needs at least two benchmarks")
    for system in systems:
        if set(scores[system]) != set(blocks):
            raise InputError(f"system {system!r} does not have a score on every benchmark")
    values = np.array([[scores[s][b] for s in systems] for b in blocks], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError("every score must be a finite number")
    n, k = values.shape
    ranks = block_ranks(values)
    mean_ranks = ranks.mean(axis=0)
    statistic = p_value = None
    if k >= 3:
        chi2, p = stats.friedmanchisquare(*values.T)
        statistic, p_value = float(chi2), float(p)
    order = sorted(range(k), key=lambda i: (mean_ranks[i], i))
    scale = np.sqrt(k * (k + 1) / (6.0 * n))
    pairs_index = [(order[i], order[j]) for i in range(k) for j in range(i + 1, k)]
    cd = None
    if posthoc == "nemenyi":
        cd = float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2.0) * scale)
        raw = np.array(
            [
                float(
                    stats.studentized_range.sf(
                        abs(mean_ranks[i] - mean_ranks[j]) / scale * np.sqrt(2.0), k, np.inf
                    )
                )
                for i, j in pairs_index
            ]
        )
        raw = np.clip(raw, 0.0, 1.0)
        adjusted = raw
        significant = [abs(mean_ranks[i] - mean_ranks[j]) >= cd for i, j in pairs_index]
    else:
        raw = np.array([_wilcoxon(values[:, i], values[:, j]) for i, j in pairs_index])
        corrected = correct(raw, "holm", alpha=alpha)
        adjusted = corrected.p_adjusted
        significant = [bool(r) for r in corrected.reject]
    pairs = tuple(
        PairDifference(
            a=systems[i],
            b=systems[j],
            rank_difference=float(mean_ranks[j] - mean_ranks[i]),
            p_value=float(raw[m]),
            p_adjusted=float(adjusted[m]),
            significant=bool(significant[m]),
        )
        for m, (i, j) in enumerate(pairs_index)
    )
    differs = {frozenset((p.a, p.b)) for p in pairs if p.significant}
    ordered = [systems[i] for i in order]
    return FriedmanResult(
        systems=tuple(ordered),
        blocks=n,
        average_ranks={systems[i]: float(mean_ranks[i]) for i in order},
        statistic=statistic,
        p_value=p_value,
        posthoc=posthoc,
        alpha=alpha,
        critical_difference=cd,
        pairs=pairs,
        cliques=cliques(ordered, differs),
    )


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p over benchmarks (1.0 when every difference is 0)."""
    from scipy import stats

    if np.all(a == b):
        return 1.0
    return float(stats.wilcoxon(a, b, zero_method="zsplit").pvalue)


def cliques(ordered: list[str], differs: set[frozenset[str]]) -> tuple[tuple[str, ...], ...]:
    """Maximal runs of consecutive systems (in ``ordered``) with no pair in ``differs``, 2+ long."""
    runs: list[tuple[int, int]] = []
    for start in range(len(ordered)):
        end = start
        while end + 1 < len(ordered) and all(
            frozenset((ordered[m], ordered[end + 1])) not in differs for m in range(start, end + 1)
        ):
            end += 1
        if end > start and not any(s <= start and end <= e for s, e in runs):
            runs.append((start, end))
    return tuple(tuple(ordered[start : end + 1]) for start, end in runs)

"""Agreement between two sets of relevance labels, and between the system rankings they give.

Label level (pairs judged by both): Cohen's kappa on the grades and binarised at >= 1 and >= 2,
Krippendorff's alpha (ordinal, the ``krippendorff`` package), and the confusion matrix. System
level: Kendall's tau and Spearman's rho (scipy) between the runs' mean scores under the two
qrels, per measure, with percentile bootstrap intervals over topics (topics resampled with
replacement, every run's mean recomputed under both qrels), and the mean per-run score change.
scipy and krippendorff are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from ragbench.errors import InputError

Labels = Mapping[str, Mapping[str, int]]


def cohen_kappa(a: Sequence[int], b: Sequence[int], categories: Sequence[int] | None = None) -> float:
    """Cohen's kappa of two raters' labels (unweighted): ``(p_o - p_e) / (1 - p_e)``; ``nan`` when
    the chance agreement is 1 (both raters always give one and the same label)."""
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape or x.size == 0:
        raise InputError("kappa needs two equally long, non-empty label lists")
    cats = np.asarray(sorted(set(categories or []) | set(x.tolist()) | set(y.tolist())))
    table = confusion(x.tolist(), y.tolist(), cats.tolist()).astype(float)
    n = table.sum()
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) @ table.sum(axis=0)) / (n * n))
    if expected >= 1.0:
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def confusion(a: Sequence[int], b: Sequence[int], categories: Sequence[int]) -> np.ndarray:
    """``table[i, j]``: pairs that rater a put in ``categories[i]`` and rater b in ``categories[j]``."""
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)), dtype=np.int64)
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    return table


def krippendorff_alpha(
    a: Sequence[int], b: Sequence[int], level: Literal["nominal", "ordinal", "interval", "ratio"] = "ordinal"
) -> float:
    """Krippendorff's alpha of two raters (``krippendorff.alpha``); ``nan`` when undefined."""
    import krippendorff

    data = np.asarray([a, b], dtype=float)
    if len(set(data.ravel().tolist())) < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


@dataclass(frozen=True)
class LabelAgreement:
    """Label-level agreement on the pairs both qrels judge (``a`` is the reference, e.g. people)."""

    pairs: int
    only_a: int
    only_b: int
    kappa: float
    kappa_at_1: float
    kappa_at_2: float
    alpha: float
    categories: tuple[int, ...]
    confusion: tuple[tuple[int, ...], ...]
    """``confusion[i][j]``: pairs graded ``categories[i]`` by a and ``categories[j]`` by b."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def label_agreement(a: Labels, b: Labels) -> LabelAgreement:
    """Agreement of two qrels on the pairs both judge (negative grades: unjudged, left out; grades
    above 3 count as 3, the top of the judges' scale).

    Raises:
        InputError: no pair is judged by both.
    """
    xs: list[int] = []
    ys: list[int] = []
    only_a = only_b = 0
    for query_id in sorted(set(a) | set(b)):
        da = {d: min(g, 3) for d, g in a.get(query_id, {}).items() if g >= 0}
        db = {d: min(g, 3) for d, g in b.get(query_id, {}).items() if g >= 0}
        for doc in sorted(da.keys() & db.keys()):
            xs.append(da[doc])
            ys.append(db[doc])
        only_a += len(da.keys() - db.keys())
        only_b += len(db.keys() - da.keys())
    if not xs:
        raise InputError("the two qrels judge no (topic, document) pair in common")
    cats = sorted(set(xs) | set(ys) | {0, 1, 2, 3})
    table = confusion(xs, ys, cats)
    at = [[int(g >= t) for g in xs] for t in (1, 2)]
    bt = [[int(g >= t) for g in ys] for t in (1, 2)]
    return LabelAgreement(
        pairs=len(xs),
        only_a=only_a,
        only_b=only_b,
        kappa=cohen_kappa(xs, ys, cats),
        kappa_at_1=cohen_kappa(at[0], bt[0], [0, 1]),
        kappa_at_2=cohen_kappa(at[1], bt[1], [0, 1]),
        alpha=krippendorff_alpha(xs, ys),
        categories=tuple(cats),
        confusion=tuple(tuple(int(v) for v in row) for row in table),
    )


@dataclass(frozen=True)
class RankingAgreement:
    """How the system ranking on one measure moves from qrels a to qrels b."""

    measure: str
    runs: int
    topics: int
    kendall_tau: float
    kendall_ci: tuple[float, float]
    spearman_rho: float
    spearman_ci: tuple[float, float]
    mean_change: float
    """Mean over runs of (mean under b - mean under a)."""
    per_run: dict[str, tuple[float, float]] = field(default_factory=dict)
    """run -> (mean under a, mean under b)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["per_run"] = {k: list(v) for k, v in self.per_run.items()}
        return data


def ranking_agreement(
    scores_a: Mapping[str, Mapping[str, float]],
    scores_b: Mapping[str, Mapping[str, float]],
    measure: str,
    *,
    trials: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> RankingAgreement:
    """Kendall's tau (tau-b) and Spearman's rho between the runs' means under a and b, with
    percentile bootstrap intervals over topics.

    Args:
        scores_a, scores_b: ``run -> {topic: score}`` under each qrels; the runs and topics used
            are those in both (a topic missing for a run counts 0, as ``-c`` scoring does).

    Raises:
        InputError: fewer than two runs or two topics in common.
    """
    from scipy.stats import kendalltau, spearmanr

    runs = sorted(set(scores_a) & set(scores_b))
    if len(runs) < 2:
        raise InputError(f"{measure}: a ranking needs at least two runs scored under both qrels")
    topics = sorted(
        set().union(*(scores_a[r].keys() for r in runs)) & set().union(*(scores_b[r].keys() for r in runs))
    )
    if len(topics) < 2:
        raise InputError(f"{measure}: the two qrels share fewer than two topics")
    ma = np.asarray([[scores_a[r].get(t, 0.0) for t in topics] for r in runs], dtype=float)
    mb = np.asarray([[scores_b[r].get(t, 0.0) for t in topics] for r in runs], dtype=float)

    def both(cols: np.ndarray) -> tuple[float, float]:
        xa, xb = ma[:, cols].mean(axis=1), mb[:, cols].mean(axis=1)
        tau = kendalltau(xa, xb).statistic
        rho = spearmanr(xa, xb).statistic
        return float(tau), float(rho)

    every = np.arange(len(topics))
    tau, rho = both(every)
    rng = np.random.default_rng(seed)
    draws = np.asarray([both(rng.integers(0, len(topics), len(topics))) for _ in range(trials)])
    low, high = (1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100
    ci = [tuple(float(v) for v in np.nanpercentile(draws[:, k], [low, high])) for k in (0, 1)]
    means_a, means_b = ma.mean(axis=1), mb.mean(axis=1)
    return RankingAgreement(
        measure=measure,
        runs=len(runs),
        topics=len(topics),
        kendall_tau=tau,
        kendall_ci=(ci[0][0], ci[0][1]),
        spearman_rho=rho,
        spearman_ci=(ci[1][0], ci[1][1]),
        mean_change=float((means_b - means_a).mean()),
        per_run={r: (float(x), float(y)) for r, x, y in zip(runs, means_a, means_b, strict=True)},
    )

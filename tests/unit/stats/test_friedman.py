"""Friedman's test and its post-hocs against scipy, scikit-posthocs and hand-worked numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ragbench.errors import InputError
from ragbench.stats import correct, friedman

# 4 systems on 6 benchmarks, no ties within a benchmark.
SCORES = {
    "A": [0.80, 0.75, 0.90, 0.60, 0.70, 0.85],
    "B": [0.70, 0.74, 0.80, 0.62, 0.65, 0.80],
    "C": [0.60, 0.50, 0.70, 0.40, 0.66, 0.60],
    "D": [0.50, 0.52, 0.60, 0.30, 0.40, 0.55],
}
BENCHES = [f"b{i}" for i in range(6)]


def table() -> dict[str, dict[str, float]]:
    return {s: dict(zip(BENCHES, v, strict=True)) for s, v in SCORES.items()}


def test_average_ranks_and_statistic_by_hand() -> None:
    result = friedman(table())
    # ranks per benchmark (1 = best): A 1,1,1,2,1,1  B 2,2,2,1,3,2  C 3,4,3,3,2,3  D 4,3,4,4,4,4
    expected = {"A": 7 / 6, "B": 12 / 6, "C": 18 / 6, "D": 23 / 6}
    assert result.average_ranks == pytest.approx(expected)
    assert result.systems == ("A", "B", "C", "D")
    n, k = 6, 4
    chi2 = 12 * n / (k * (k + 1)) * (sum(r * r for r in expected.values()) - k * (k + 1) ** 2 / 4)
    assert result.statistic == pytest.approx(chi2)  # 14.2 (Demsar 2006, eq. for no ties)
    from scipy import stats

    assert result.statistic == pytest.approx(stats.friedmanchisquare(*SCORES.values()).statistic)
    assert result.p_value == pytest.approx(stats.chi2.sf(chi2, k - 1))


def test_nemenyi_matches_scikit_posthocs_and_demsars_table() -> None:
    sp = pytest.importorskip("scikit_posthocs")
    result = friedman(table(), posthoc="nemenyi")
    # Demsar (2006), Table 5: q_0.05 = 2.569 for k = 4; CD = q sqrt(k (k + 1) / (6 N))
    assert result.critical_difference == pytest.approx(2.569 * np.sqrt(4 * 5 / 36), abs=1e-3)
    theirs = sp.posthoc_nemenyi_friedman(np.array(list(SCORES.values())).T)
    names = list(SCORES)
    for pair in result.pairs:
        i, j = names.index(pair.a), names.index(pair.b)
        assert pair.p_value == pytest.approx(float(theirs.iloc[i, j]), abs=1e-6)
        assert pair.significant == (abs(pair.rank_difference) >= result.critical_difference)
    # A-D: 23/6 - 7/6 = 2.67 >= CD 1.915: differ; A-C: 1.83 < CD: do not
    assert {(p.a, p.b) for p in result.pairs if p.significant} == {("A", "D")}
    assert result.cliques == (("A", "B", "C"), ("B", "C", "D"))


def test_wilcoxon_holm_matches_scipy_and_holm_by_hand() -> None:
    from scipy import stats

    result = friedman(table(), posthoc="wilcoxon-holm")
    assert result.critical_difference is None
    names = list(SCORES)
    raw = {}
    for a, b in itertools.combinations(names, 2):
        raw[frozenset((a, b))] = stats.wilcoxon(SCORES[a], SCORES[b], zero_method="zsplit").pvalue
    ps = [raw[frozenset((p.a, p.b))] for p in result.pairs]
    assert [p.p_value for p in result.pairs] == pytest.approx(ps)
    m = len(ps)
    order = np.argsort(ps)
    holm = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[idx]))
        holm[idx] = running
    assert [p.p_adjusted for p in result.pairs] == pytest.approx(holm.tolist())
    assert [p.p_adjusted for p in result.pairs] == pytest.approx(correct(ps, "holm").p_adjusted.tolist())


def test_ties_share_the_average_rank_and_two_systems_have_no_statistic() -> None:
    result = friedman({"x": {"b1": 0.5, "b2": 0.4}, "y": {"b1": 0.5, "b2": 0.3}})
    assert result.average_ranks == {"x": 1.25, "y": 1.75}
    assert result.statistic is None and result.p_value is None
    with pytest.raises(InputError, match="every benchmark"):
        friedman({"x": {"b1": 0.5, "b2": 0.4}, "y": {"b1": 0.5}})
    with pytest.raises(InputError, match="two benchmarks"):
        friedman({"x": {"b1": 0.5}, "y": {"b1": 0.5}})
    with pytest.raises(InputError, match="post-hoc"):
        friedman(table(), posthoc="tukey")  # type: ignore[arg-type]

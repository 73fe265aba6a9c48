"""Agreement statistics against independent implementations: kappa against scikit-learn, alpha
against a transcription of Krippendorff's coincidence-matrix definition, tau and rho against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr
from sklearn.metrics import cohen_kappa_score

from ragbench.errors import InputError
from ragbench.stats import cohen_kappa, krippendorff_alpha, label_agreement, ranking_agreement


def ordinal_alpha_reference(a: list[int], b: list[int]) -> float:
    """Krippendorff's ordinal alpha for two coders and no missing values, from the definition:
    coincidence matrix o_ck, marginals n_c, ordinal metric
    delta_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, alpha = 1 - (n - 1) * D_o / D_e."""
    values = sorted(set(a) | set(b))
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for x, y in zip(a, b, strict=True):  # each unit of two values adds 1/(m-1) = 1 to both orders
        o[index[x], index[y]] += 1
        o[index[y], index[x]] += 1
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = np.zeros_like(o)
    for c in range(len(values)):
        for k in range(len(values)):
            lo, hi = min(c, k), max(c, k)
            delta[c, k] = (n_c[lo : hi + 1].sum() - (n_c[c] + n_c[k]) / 2) ** 2
    d_o = (o * delta).sum()
    d_e = (np.outer(n_c, n_c) * delta).sum()
    return float(1 - (n - 1) * d_o / d_e)


FIXTURES = [
    ([0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 2], [0, 1, 1, 3, 2, 2, 0, 0, 1, 1, 3, 2]),
    ([0, 0, 0, 1, 1, 1, 2, 3, 0, 0], [0, 1, 0, 1, 2, 1, 3, 3, 0, 2]),
    ([1, 1, 0, 0, 1, 0, 1, 1], [1, 0, 0, 0, 1, 1, 1, 1]),
]


@pytest.mark.parametrize(("a", "b"), FIXTURES)
def test_kappa_equals_scikit_learn(a: list[int], b: list[int]) -> None:
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_kappa_on_random_labels_equals_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.integers(0, 4, 60).tolist()
        b = [x if rng.random() < 0.5 else int(rng.integers(0, 4)) for x in a]
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


@pytest.mark.parametrize(("a", "b"), FIXTURES)
def test_alpha_equals_the_definition(a: list[int], b: list[int]) -> None:
    assert krippendorff_alpha(a, b) == pytest.approx(ordinal_alpha_reference(a, b), abs=1e-9)


def test_label_agreement_on_qrels() -> None:
    human = {"1": {"a": 2, "b": 0, "c": 1, "x": 1}, "2": {"d": 3, "e": 0, "f": -1}, "3": {"z": 1}}
    llm = {"1": {"a": 3, "b": 0, "c": 2}, "2": {"d": 3, "e": 1, "f": 2, "g": 0}}
    found = label_agreement(human, llm)
    # pairs in both: a(2,3) b(0,0) c(1,2) d(3,3) e(0,1); f is unjudged by people (-1)
    xs, ys = [2, 0, 1, 3, 0], [3, 0, 2, 3, 1]
    assert found.pairs == 5 and found.only_a == 2 and found.only_b == 2
    assert found.kappa == pytest.approx(cohen_kappa_score(xs, ys))
    assert found.kappa_at_1 == pytest.approx(cohen_kappa_score([x >= 1 for x in xs], [y >= 1 for y in ys]))
    assert found.kappa_at_2 == pytest.approx(cohen_kappa_score([x >= 2 for x in xs], [y >= 2 for y in ys]))
    assert found.alpha == pytest.approx(ordinal_alpha_reference(xs, ys))
    assert found.categories == (0, 1, 2, 3)
    assert found.confusion[0] == (1, 1, 0, 0) and found.confusion[2] == (0, 0, 0, 1)
    assert sum(map(sum, found.confusion)) == 5
    with pytest.raises(InputError, match=r"no .* pair in common"):
        label_agreement({"1": {"a": 1}}, {"1": {"b": 1}})


def test_ranking_agreement_equals_scipy_and_the_bootstrap_brackets_it() -> None:
    rng = np.random.default_rng(0)
    topics = [str(t) for t in range(30)]
    quality = {"r1": 0.2, "r2": 0.4, "r3": 0.5, "r4": 0.7, "r5": 0.75}
    a = {r: {t: float(np.clip(q + rng.normal(0, 0.2), 0, 1)) for t in topics} for r, q in quality.items()}
    b = {r: {t: float(np.clip(v + rng.normal(0.05, 0.15), 0, 1)) for t, v in s.items()} for r, s in a.items()}
    found = ranking_agreement(a, b, "AP", trials=300, seed=1)
    means_a = [np.mean(list(a[r].values())) for r in sorted(a)]
    means_b = [np.mean(list(b[r].values())) for r in sorted(b)]
    assert found.kendall_tau == pytest.approx(kendalltau(means_a, means_b).statistic)
    assert found.spearman_rho == pytest.approx(spearmanr(means_a, means_b).statistic)
    assert found.kendall_ci[0] <= found.kendall_tau <= found.kendall_ci[1]
    assert found.spearman_ci[0] <= found.spearman_rho <= found.spearman_ci[1]
    assert found.mean_change == pytest.approx(np.mean(means_b) - np.mean(means_a))
    assert (found.runs, found.topics) == (5, 30)
    # the same seed gives the same intervals
    assert ranking_agreement(a, b, "AP", trials=300, seed=1).kendall_ci == found.kendall_ci
    with pytest.raises(InputError, match="at least two runs"):
        ranking_agreement({"r1": a["r1"]}, {"r1": b["r1"]}, "AP")

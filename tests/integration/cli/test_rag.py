"""``ragbench rag meta-eval`` on RAGChecker's pairwise human preferences (../shared/data/rag-pairwise):
the annotators' agreement row is recomputed here by hand from the raw file, and the ROUGE-L row
from the rouge-score library directly (not through ragbench)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.cli_runner import ragbench
from support.paths import SHARED

DATA = SHARED / "data" / "rag-pairwise" / "human_pairwise.jsonl"


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    return float((dx * dy).sum() / np.sqrt((dx * dx).sum() * (dy * dy).sum()))


def ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their positions), 1-based."""
    order = np.argsort(x, kind="stable")
    out = np.empty(len(x))
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        out[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return out


def percentile_interval(x: np.ndarray, y: np.ndarray, trials: int = 2000) -> tuple[float, float]:
    """A plain paired percentile bootstrap of Pearson's r (an independent check of the BCa interval)."""
    rng = np.random.default_rng(12345)
    values = []
    for _ in range(trials):
        pick = rng.integers(0, len(x), len(x))
        if np.ptp(x[pick]) and np.ptp(y[pick]):
            values.append(pearson(x[pick], y[pick]))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, float]]:
    if not DATA.is_file():
        pytest.skip("../shared/data/rag-pairwise is not beside this checkout")
    pytest.importorskip("rouge_score")
    out = tmp_path_factory.mktemp("meta") / "table.json"
    done = ragbench("rag", "meta-eval", DATA, "-m", "RougeL", "--trials", "1000", "--json", out)
    assert done.returncode == 0, done.stderr
    assert "annotator 1 vs annotator 2" in done.stdout and "RougeL" in done.stdout
    return {row["name"]: row for row in json.loads(out.read_text())}


def raw_comparisons() -> list[list[dict]]:
    grouped: dict[int, list[dict]] = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        grouped.setdefault(row["instance_id"], []).append(row)
    return list(grouped.values())


def test_annotator_agreement_row_matches_a_hand_computation(table: dict[str, dict[str, float]]) -> None:
    pairs = raw_comparisons()
    assert len(pairs) == 140 and all(len(p) == 2 for p in pairs)  # SOURCE.txt: 140 comparisons, 2 annotators
    first = np.array([p[0]["overall_label"] for p in pairs], float)
    second = np.array([p[1]["overall_label"] for p in pairs], float)
    row = table["annotator 1 vs annotator 2"]
    assert row["n"] == 140
    assert row["pearson"] == pytest.approx(pearson(first, second), abs=1e-9)
    assert row["spearman"] == pytest.approx(pearson(ranks(first), ranks(second)), abs=1e-9)
    # BCa and a plain percentile bootstrap differ a little, never by much on 140 pairs
    low, high = percentile_interval(first, second)
    assert row["pearson_low"] < row["pearson"] < row["pearson_high"]
    assert row["pearson_low"] == pytest.approx(low, abs=0.06)
    assert row["pearson_high"] == pytest.approx(high, abs=0.06)


def test_rouge_row_correlates_the_difference_with_the_mean_label(table: dict[str, dict[str, float]]) -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    diffs, labels = [], []
    for pair in raw_comparisons():
        row = pair[0]
        ref = row["gt_answer"]
        one = scorer.score(ref, row["model1"]["response"])["rougeL"].fmeasure
        two = scorer.score(ref, row["model2"]["response"])["rougeL"].fmeasure
        diffs.append(two - one)  # SOURCE.txt: labels are model2 over model1
        labels.append(sum(p["overall_label"] for p in pair) / len(pair))
    row = table["RougeL"]
    assert row["n"] == 140
    assert row["pearson"] == pytest.approx(pearson(np.array(diffs), np.array(labels)), abs=1e-9)
    assert row["spearman"] == pytest.approx(
        pearson(ranks(np.array(diffs)), ranks(np.array(labels))), abs=1e-9
    )


def test_meta_eval_refuses_an_unknown_measure(tmp_path: Path) -> None:
    if not DATA.is_file():
        pytest.skip("../shared/data/rag-pairwise is not beside this checkout")
    done = ragbench("rag", "meta-eval", DATA, "-m", "nDCG@10", "--limit", "5")
    assert done.returncode == 2 and "not 'nDCG@10'" in done.stderr and "Traceback" not in done.stderr

"""ComparisonReport renderers: dict, DataFrame, CSV, Markdown, LaTeX."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ragbench.stats import ComparisonReport, compare

# FIXTURES


@pytest.fixture(scope="module")
def report() -> ComparisonReport:
    rng = np.random.default_rng(0)
    base = rng.random(60)
    topics = [f"q{i}" for i in range(60)]

    def run(shift: float) -> dict[str, dict[str, float]]:
        values = np.clip(base + shift + rng.normal(0, 0.05, 60), 0, 1)
        return {
            "nDCG@10": dict(zip(topics, values, strict=True)),
            "AP": dict(zip(topics, values / 2, strict=True)),
        }

    return compare({"bm25": run(0.0), "bm25_rm3": run(0.02), "dense&co": run(0.2)}, trials=1000)


# TEST


def test_to_dict_is_json_and_complete(report: ComparisonReport) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["parameters"] == {
        "tests": ["randomization", "ttest"],
        "primary_test": "randomization",
        "correction": "holm",
        "alpha": 0.05,
        "ci": 0.95,
        "ci_method": "percentile",
        "trials": 1000,
        "seed": 0,
        "missing": "zero",
        "tie_tolerance": 1e-12,
    }
    assert len(data["comparisons"]) == 4
    first = data["comparisons"][0]
    assert first["p_values"] == report[0].p_values
    assert {k: v for k, v in first.items() if k != "p_values"} == {
        k: getattr(report[0], k) for k in first if k != "p_values"
    }


def test_to_dataframe_flattens_p_values(report: ComparisonReport) -> None:
    frame = report.to_dataframe()
    assert list(frame.columns) == [
        "baseline", "run", "measure", "n_topics", "mean_baseline", "mean_run", "mean_diff", "ci_low",
        "ci_high", "wins", "ties", "losses", "p_randomization", "p_ttest", "p_adjusted", "significant",
        "effect_size", "test",
    ]  # fmt: skip
    assert len(frame) == 4
    assert frame["p_ttest"].tolist() == [c.p_values["ttest"] for c in report]
    assert frame["significant"].tolist() == [c.significant for c in report]


def test_to_csv_round_trips_through_pandas(report: ComparisonReport, tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    text = report.to_csv(path)
    assert path.read_text(encoding="utf-8") == text
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(text)), report.to_dataframe(), check_exact=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["baseline", "run", "measure"] and len(rows) == 5


def test_to_markdown(report: ComparisonReport) -> None:
    text = report.to_markdown()
    lines = text.splitlines()
    assert lines[0].startswith("| Baseline | Run | Measure | Topics |")
    assert "p (randomization)" in lines[0] and "p adj. (holm)" in lines[0]
    assert lines[1].startswith("|:---|:---|:---|---:|")
    assert len([line for line in lines if line.startswith("| bm25 |")]) == 4
    dense = next(line for line in lines if "| dense&co | nDCG@10 |" in line)
    item = next(c for c in report if c.run == "dense&co" and c.measure == "nDCG@10")
    assert item.significant and f"{item.p_adjusted:.4f} * |" in dense
    assert f"| {item.mean_diff:+.4f} |" in dense and f"| {item.wins} / {item.ties} / {item.losses} |" in dense
    assert "over all 4 comparisons" in text and "seed 0" in text and "1,000 resamples" in text


def test_to_markdown_digits(report: ComparisonReport) -> None:
    line = report.to_markdown(digits=2).splitlines()[2]
    assert f"{report[0].mean_baseline:.2f}" in line


def test_to_latex_escapes_and_uses_booktabs(report: ComparisonReport) -> None:
    text = report.to_latex()
    assert text.startswith("\\begin{tabular}{lllrrrrrrrrrr}\n\\toprule\n")
    assert "bm25\\_rm3" in text and "dense\\&co" in text and "95\\% CI" in text
    assert "$\\Delta$" in text and "\\bottomrule" in text and "\\end{tabular}" in text
    assert "$^{*}$" in text
    body = text.split("\\midrule\n")[1].split("\\bottomrule")[0]
    assert body.count("\\\\") == 4 and "−" not in body


def test_report_is_a_read_only_sequence(report: ComparisonReport) -> None:
    assert len(report) == 4 and list(report) == list(report.comparisons)
    assert report[-1] == report.comparisons[-1]
    with pytest.raises(AttributeError):
        report.alpha = 0.1  # type: ignore[misc]

"""session-eval and session-correlate in process: the correlation table's p-values (against
scipy), the reason printed for a measure that is 0 everywhere or a correlation that is nan, and no
numpy warning on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ragbench.cli import app


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def files(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows, qrels, ratings = [], [], ["session_id\tsatisfaction"]
    for s in range(12):
        relevant_at = 1 + s % 4
        for r in range(1, 5):
            rows.append(f"s{s:02d}\t1\t{r}\t{'rel' if r == relevant_at else f'x{r}'}\n")
        qrels.append(f"s{s:02d} 0 rel 2\n")
        ratings.append(f"s{s:02d}\t{5 - relevant_at + rng.normal() * 0.8:.3f}")
    (tmp_path / "run.tsv").write_text("".join(rows))
    (tmp_path / "qrels.txt").write_text("".join(qrels))
    (tmp_path / "ratings.tsv").write_text("\n".join(ratings) + "\n")
    (tmp_path / "lengths.txt").write_text("".join(f"{d} 300 4000\n" for d in ("rel", "x1", "x2", "x3", "x4")))
    return tmp_path


def test_correlation_p_values_are_scipys(files: Path) -> None:
    from scipy import stats

    base = ("session-correlate", files / "qrels.txt", files / "run.tsv", "--ratings", files / "ratings.tsv")
    code, out, err = invoke(*base, "-m", "sessDCG", "-f", "json", "--trials", "200")
    assert code == 0, err
    rows = {r["coefficient"]: r for r in json.loads(out)["correlations"]}
    code, per, _ = invoke(
        "session-eval", files / "qrels.txt", files / "run.tsv", "-m", "sessDCG", "-q", "-f", "json"
    )
    values = json.loads(per)["runs"][0]["per_query"]["sessDCG(b=2,bq=4)@10"]
    x = np.array([values[f"s{s:02d}"] for s in range(12)])
    y = np.loadtxt(files / "ratings.tsv", skiprows=1, usecols=1)
    assert rows["pearson"]["p_value"] == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-9)
    assert rows["spearman"]["p_value"] == pytest.approx(stats.spearmanr(x, y).pvalue, rel=1e-9)
    assert rows["kendall"]["p_value"] == pytest.approx(stats.kendalltau(x, y).pvalue, rel=1e-9)
    code, table, _ = invoke(*base, "-m", "sessDCG", "--trials", "200")
    assert code == 0
    header = next(line for line in table.splitlines() if "Pearson" in line)
    assert header.count(" p ") + header.rstrip().endswith(" p") >= 3  # a p column after each coefficient
    shown = f"{rows['pearson']['p_value']:.3f}" if rows["pearson"]["p_value"] >= 0.001 else "<0.001"
    assert shown in table


def test_a_measure_that_is_0_everywhere_says_why_and_numpy_stays_quiet(files: Path) -> None:
    base = ("session-correlate", files / "qrels.txt", files / "run.tsv", "--ratings", files / "ratings.tsv")
    code, out, err = invoke(
        *base, "-m", "NUM(cost=chars)", "--lengths", files / "lengths.txt", "--trials", "200"
    )
    assert code == 0, err
    assert "NUM(L=1000,cost=chars) is 0 in every session: with cost=chars, L=1000 is in characters" in err
    assert (
        "warning: NUM(L=1000,cost=chars) is 0 in every rated session: its correlations with satisfaction "
        "are undefined (nan)"
    ) in err
    assert "RuntimeWarning" not in err and "divide" not in err
    assert "nan" in out
    code, _, err = invoke(
        "session-eval",
        files / "qrels.txt",
        files / "run.tsv",
        "-m",
        "NUM(cost=chars)",
        "--lengths",
        files / "lengths.txt",
    )
    assert code == 0
    assert "run.tsv: NUM(L=1000,cost=chars): warning: NUM(L=1000,cost=chars) is 0 in every session" in err
    assert "RuntimeWarning" not in err

"""``ragbench session-eval`` and ``session-correlate`` as a user runs them: real processes and files.

Values are the spec's hand-worked examples (../shared/spec/session-metrics.md) or computed here
independently (numpy / scipy on the printed per-session values)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.cli_runner import ragbench

# The spec's running example: q1 [d1 d2 d3 d4] (d3 clicked), q2 [d5 d2 d6] (d2, d5 clicked).
RUN = "session_id\tquery_index\trank\tdoc_id\tclicked\tquery\n" + "".join(
    f"s1\t{q}\t{r}\t{d}\t{c}\t{text}\n"
    for q, r, d, c, text in [
        (1, 1, "d1", 0, "first try"),
        (1, 2, "d2", 0, "first try"),
        (1, 3, "d3", 1, "first try"),
        (1, 4, "d4", 0, "first try"),
        (2, 1, "d5", 1, "second try"),
        (2, 2, "d2", 1, "second try"),
        (2, 3, "d6", 0, "second try"),
    ]
)
QRELS = "".join(
    f"s1 0 {d} {g}\n" for d, g in [("d1", 0), ("d2", 2), ("d3", 1), ("d4", 0), ("d5", 1), ("d7", 2)]
)


@pytest.fixture
def example(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "run.tsv").write_text(RUN)
    (tmp_path / "qrels.txt").write_text(QRELS)
    return tmp_path / "qrels.txt", tmp_path / "run.tsv"


def test_session_eval_prints_the_spec_values(example: tuple[Path, Path]) -> None:
    qrels, run = example
    proc = ragbench(
        "session-eval",
        qrels,
        run,
        "-m",
        "NUM",
        "-m",
        "sessDCG",
        "-m",
        "nsessDCG",
        "-m",
        "esNDCG",
        "-f",
        "json",
    )
    assert proc.returncode == 0, proc.stderr
    aggregate = json.loads(proc.stdout)["runs"][0]["aggregate"]
    assert aggregate["NUM(L=1000)"] == pytest.approx(0.628067, abs=5e-7)
    assert aggregate["sessDCG(b=2,bq=4)@10"] == pytest.approx(4.884502, abs=5e-7)
    assert aggregate["nsessDCG(b=2,bq=4)@10"] == pytest.approx(0.450620, abs=5e-7)
    assert aggregate["esNDCG(p_reform=0.9,p_down=0.7)@10"] == pytest.approx(0.488474, abs=5e-7)


def test_session_eval_table_trec_and_per_session(example: tuple[Path, Path], tmp_path: Path) -> None:
    qrels, run = example
    other = tmp_path / "other.tsv"
    other.write_text("s1\t1\t1\td2\ns1\t2\t0\t-\n")  # d2 first, then an empty result list
    proc = ragbench("session-eval", qrels, run, other, "-m", f"NUM({'cost=chars,c_snip=10,c_doc=50'},c_q=30,L=300)",
                    "-f", "trec", "-q")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = [[cell.strip() for cell in line.split("\t")] for line in proc.stdout.splitlines()]
    name = "NUM(L=300,cost=chars,c_snip=10,c_doc=50,c_q=30)"
    assert [cells[2] for cells in lines if cells[0] == "runid"] == ["run.tsv", "other.tsv"]
    assert [float(v) for m, q, v in lines if m == name and q == "s1"] == pytest.approx(
        [0.6458, 0.5], abs=1e-4
    )
    # other.tsv: d2 read at 10 + 50 = 60 (gain 3), then the empty query: U = 3 * 0.8 = 2.4; ideal 4.8.
    assert [float(v) for m, q, v in lines if m == name and q == "all"] == pytest.approx(
        [0.6458, 0.5], abs=1e-4
    )
    table = ragbench("session-eval", qrels, run, "-m", "sessDCG/q")
    assert table.returncode == 0, table.stderr
    assert "2.4423" in table.stdout and "run.tsv" in table.stdout


def test_session_eval_lengths_reference_and_sessions(example: tuple[Path, Path], tmp_path: Path) -> None:
    qrels, run = example
    lengths = tmp_path / "lengths.txt"
    lengths.write_text("".join(f"d{i} 10 50\n" for i in range(1, 8)))
    proc = ragbench(
        "session-eval", qrels, run, "-m", "NUM(cost=chars,c_q=30,L=300)", "--lengths", lengths, "-f", "json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["aggregate"]["NUM(L=300,cost=chars,c_q=30)"] == pytest.approx(
        0.645833, abs=5e-7
    )

    junk = tmp_path / "junk.txt"
    junk.write_text(QRELS.replace("s1 0 d1 0", "s1 0 d1 -1"))
    proc = ragbench("session-eval", junk, run, "-m", "sessDCG", "--reference", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    # ir_metrics' conventions: d1 (-1) at rank 1 of query 1 gains 2^-1 - 1 = -0.5.
    assert json.loads(proc.stdout)["runs"][0]["aggregate"]["sessDCG(b=2,bq=4,neg=raw)@10"] == pytest.approx(
        4.384502, abs=5e-7
    )

    sessions = tmp_path / "sessions.tsv"
    sessions.write_text("s1\t1\tfirst try\ns1\t2\tsecond try\ns2\t1\tunseen\n")
    proc = ragbench("session-eval", qrels, run, "-m", "NUM", "--sessions", sessions, "-f", "json", "-q")
    assert proc.returncode == 0, proc.stderr
    per = json.loads(proc.stdout)["runs"][0]["per_query"]["NUM(L=1000)"]
    assert per["s1"] == pytest.approx(0.628067, abs=5e-7) and per["s2"] == 0.0


@pytest.mark.parametrize(
    ("run_text", "qrels_text", "measure", "expect"),
    [
        ("s1\t1\t1\td1\ns1\t3\t1\td2\n", QRELS, "NUM", "run.tsv:2"),  # a gap in the query indexes
        ("s1\t1\tone\td1\n", QRELS, "NUM", "run.tsv:1"),  # a non-numeric rank
        (RUN, QRELS + "s9 0 d1 1\n", "NUM", "qrels.txt:7"),  # a session the run does not have
        (RUN, QRELS, "NUM(L=-3)", "must be > 0"),
        (RUN, QRELS, "sDCG@10", "unknown session measure"),
    ],
)
def test_bad_input_exits_2_with_file_and_line(
    tmp_path: Path, run_text: str, qrels_text: str, measure: str, expect: str
) -> None:
    (tmp_path / "run.tsv").write_text(run_text)
    (tmp_path / "qrels.txt").write_text(qrels_text)
    proc = ragbench("session-eval", tmp_path / "qrels.txt", tmp_path / "run.tsv", "-m", measure)
    assert proc.returncode == 2
    assert expect in proc.stderr
    assert "Traceback" not in proc.stderr


def test_session_correlate(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows, qrels, ratings = [], [], ["session_id\tsatisfaction\tnoise"]
    for s in range(30):
        relevant_at = 1 + s % 6  # the first relevant document moves down session by session
        for r in range(1, 7):
            rows.append(f"s{s:02d}\t1\t{r}\t{'rel' if r == relevant_at else f'x{r}'}\n")
        qrels.append(f"s{s:02d} 0 rel 2\n")
        ratings.append(f"s{s:02d}\t{7 - relevant_at}\t{rng.normal():.4f}")
    (tmp_path / "run.tsv").write_text("".join(rows))
    (tmp_path / "qrels.txt").write_text("".join(qrels))
    (tmp_path / "ratings.tsv").write_text("\n".join(ratings) + "\n")
    proc = ragbench("session-correlate", tmp_path / "qrels.txt", tmp_path / "run.tsv", "--ratings", tmp_path / "ratings.tsv",
                    "-m", "sessDCG", "-m", "NUM", "-f", "json", "--trials", "500")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = {
        (r["measure"], r["rating"], r["coefficient"]): r for r in json.loads(proc.stdout)["correlations"]
    }
    # Both measures fall as the relevant document moves down, as satisfaction does: rank correlations are 1.
    for m in ("sessDCG(b=2,bq=4)@10", "NUM(L=1000)"):
        assert found[(m, "satisfaction", "spearman")]["estimate"] == pytest.approx(1.0)
        assert found[(m, "satisfaction", "kendall")]["estimate"] == pytest.approx(1.0)
        assert found[(m, "satisfaction", "spearman")]["n"] == 30
        noise = found[(m, "noise", "pearson")]
        assert -1 <= noise["low"] <= noise["estimate"] <= noise["high"] <= 1
    # Pearson against an independent computation on the per-session values.
    per = ragbench(
        "session-eval", tmp_path / "qrels.txt", tmp_path / "run.tsv", "-m", "sessDCG", "-q", "-f", "json"
    )
    values = json.loads(per.stdout)["runs"][0]["per_query"]["sessDCG(b=2,bq=4)@10"]
    x = np.array([values[f"s{s:02d}"] for s in range(30)])
    y = np.array([7 - (1 + s % 6) for s in range(30)], float)
    assert found[("sessDCG(b=2,bq=4)@10", "satisfaction", "pearson")]["estimate"] == pytest.approx(
        np.corrcoef(x, y)[0, 1]
    )
    table = ragbench("session-correlate", tmp_path / "qrels.txt", tmp_path / "run.tsv", "--ratings", tmp_path / "ratings.tsv",
                     "-m", "NUM", "--rating", "satisfaction", "--trials", "200")  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "Kendall" in table.stdout and "1.000" in table.stdout
    bad = ragbench("session-correlate", tmp_path / "qrels.txt", tmp_path / "run.tsv", "--ratings", tmp_path / "ratings.tsv",
                   "--rating", "joy")  # fmt: skip
    assert bad.returncode == 2 and "no rating column 'joy'" in bad.stderr


def test_validate_session_files(tmp_path: Path) -> None:
    gap = tmp_path / "gap.tsv"
    gap.write_text("s1\t1\t1\td1\ns1\t3\t1\td2\n")
    proc = ragbench("validate", gap, "--kind", "session-run")
    assert proc.returncode == 2
    assert "gap.tsv:2: error: session 's1' jumps from query 1 to query 3" in proc.stderr
    good = tmp_path / "run.tsv"
    good.write_text(RUN)
    proc = ragbench("validate", good)  # detected from the session_id header
    assert proc.returncode == 0, proc.stderr

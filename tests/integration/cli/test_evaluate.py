"""The CLI as a user runs it: real processes, real files, exit statuses and outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from support.cli_runner import ragbench
from support.paths import FIXTURES

BAD = FIXTURES / "bad"


def expected_all(path: Path) -> dict[str, float]:
    """trec_eval's 'all' rows of an expected output file: measure -> value."""
    values = {}
    for line in path.read_text().splitlines():
        measure, query, value = line.split("\t")
        if query == "all" and measure.strip() != "runid":
            values[measure.strip()] = float(value)
    return values


def test_eval_matches_trec_eval_expected_output(trec_eval_data: Path) -> None:
    # ir-measures names -> trec_eval names in out.test.a (trec_eval 10.0's own expected output).
    names = {"AP": "map", "P@10": "P_10", "nDCG@10": "ndcg_cut_10", "Bpref": "bpref", "RR": "recip_rank",
             "Rprec": "Rprec", "R@1000": "recall_1000", "infAP": "infAP", "Success@10": "success_10",
             "SetF": "set_F", "NumRelRet": "num_rel_ret"}  # fmt: skip
    names.pop("NumRelRet")
    args = [a for m in names for a in ("-m", m)]
    proc = ragbench(
        "eval", trec_eval_data / "qrels.test", trec_eval_data / "results.test", *args, "-f", "json"
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)["runs"][0]["aggregate"]
    want = expected_all(trec_eval_data / "out.test.a")
    for ours, theirs in names.items():
        assert round(got[ours], 4) == pytest.approx(want[theirs], abs=1e-12), ours


def test_eval_formats_agree(trec_eval_data: Path) -> None:
    files = [trec_eval_data / "qrels.test", trec_eval_data / "results.test", trec_eval_data / "results.trunc"]
    args = [*files, "-m", "AP", "-m", "P@5", "-q"]
    as_json = json.loads(ragbench("eval", *args, "-f", "json").stdout)
    rows = list(csv.DictReader(ragbench("eval", *args, "-f", "csv").stdout.splitlines()))
    by_csv = {(r["run"], r["measure"], r["query_id"]): float(r["value"]) for r in rows}
    for run in as_json["runs"]:
        for measure, per_query in run["per_query"].items():
            for query_id, value in per_query.items():
                assert by_csv[(run["run"], measure, query_id)] == value
            assert by_csv[(run["run"], measure, "all")] == run["aggregate"][measure]
    trec = ragbench("eval", *args, "-f", "trec").stdout.splitlines()
    assert trec[0].split("\t") == ["runid                 ", "all", "results.test"]
    for fmt in ("markdown", "latex", "table"):
        proc = ragbench("eval", *args, "-f", fmt)
        assert proc.returncode == 0 and "results.trunc" in proc.stdout, (fmt, proc.stderr)


def bad_fixtures() -> list[tuple[str, str, int, str]]:
    table = BAD / "EXPECTED.tsv"
    if not table.exists():
        return []
    rows = [line.split("\t") for line in table.read_text().splitlines() if line and not line.startswith("#")]
    return [(name, kind, int(line), message) for name, kind, line, message in rows]


@pytest.mark.parametrize(("name", "kind", "line", "message"), bad_fixtures())
def test_bad_file_gives_status_2_with_file_and_line(
    name: str, kind: str, line: int, message: str, tmp_path
) -> None:
    path = BAD / name
    proc = ragbench("validate", path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    location = f"{path}:{line}" if line else str(path)
    assert location in proc.stderr and message in proc.stderr, proc.stderr
    if kind in ("run", "qrels"):
        good = tmp_path / "good"
        good.write_text("1 0 d1 1\n" if kind == "run" else "1 Q0 d1 1 1.0 tag\n")
        pair = (good, path) if kind == "run" else (path, good)
        proc = ragbench("eval", *pair)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert location in proc.stderr, proc.stderr


def test_bad_measure_and_missing_file_are_user_errors(trec_eval_data: Path) -> None:
    proc = ragbench("eval", trec_eval_data / "qrels.test", trec_eval_data / "results.test", "-m", "nDCG@@10")
    assert proc.returncode == 2 and "nDCG@@10" in proc.stderr and "Traceback" not in proc.stderr
    proc = ragbench("eval", trec_eval_data / "qrels.test", "/nonexistent/run")
    assert proc.returncode == 2 and "/nonexistent/run" in proc.stderr and "no such file" in proc.stderr
    proc = ragbench(
        "trec-eval", "-m", "no_such_measure", trec_eval_data / "qrels.test", trec_eval_data / "results.test"
    )
    assert proc.returncode == 2 and "no_such_measure" in proc.stderr and "Traceback" not in proc.stderr


def test_compare_reports_every_pair(trec_eval_data: Path) -> None:
    proc = ragbench(
        "compare", trec_eval_data / "qrels.test", trec_eval_data / "results.test", trec_eval_data / "results.trunc",
        "-m", "AP", "-m", "P@10", "-c", "-f", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert len(doc["comparisons"]) == 2

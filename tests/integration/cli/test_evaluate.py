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


def _limited_memory() -> None:  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1000 * 2**20, 1000 * 2**20))


def test_files_that_never_end_are_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    run = tmp_path / "run.txt"
    run.write_text("301 Q0 d1 1 2.0 a\n")
    bounded = ragbench("eval", "/dev/zero", run, env={"RAGBENCH_MAX_INPUT_BYTES": "1000000"})
    assert bounded.returncode == 2 and "Traceback" not in bounded.stderr
    assert "larger than 1,000,000 bytes (RAGBENCH_MAX_INPUT_BYTES)" in bounded.stderr
    # With the default bound (4 GiB) a memory limit is met first: MemoryError, said in one line.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBENCH_")}
    limited = subprocess.run(
        [sys.executable, "-m", "ragbench.cli", "eval", "/dev/zero", str(run)],
        preexec_fn=_limited_memory,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "OPENBLAS_NUM_THREADS": "1"},
        check=False,
    )
    assert limited.returncode == 2, limited.stderr[-2000:]
    assert "Traceback" not in limited.stderr and "MemoryError" not in limited.stderr
    assert "ragbench: error: out of memory" in limited.stderr


def test_cr_only_files_score_as_their_lf_twins(tmp_path: Path) -> None:
    run = b"301 Q0 d1 1 2.0 a\n301 Q0 d2 2 1.0 a\n302 Q0 d3 1 1.0 a\n"
    qrels = b"301 0 d1 1\n301 0 d2 0\n302 0 d3 1\n302 0 d4 1\n"
    for name, data in (("run.lf", run), ("run.cr", run.replace(b"\n", b"\r")), ("q.lf", qrels)):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "q.cr").write_bytes(qrels.replace(b"\n", b"\r"))
    lf = ragbench("eval", tmp_path / "q.lf", tmp_path / "run.lf", "-m", "AP", "-f", "json")
    cr = ragbench("eval", tmp_path / "q.cr", tmp_path / "run.cr", "-m", "AP", "-f", "json")
    assert lf.returncode == cr.returncode == 0, cr.stderr
    mine, theirs = json.loads(cr.stdout)["runs"][0], json.loads(lf.stdout)["runs"][0]
    assert (
        (mine["aggregate"], mine["num_topics"])
        == (theirs["aggregate"], theirs["num_topics"])
        == ({"AP": 0.75}, 2)
    )
    checked = ragbench("validate", tmp_path / "q.cr")
    assert checked.returncode == 0 and "lone carriage return" in checked.stderr + checked.stdout

"""``ragbench reproduce`` and ``ragbench suite`` as a user runs them: a suite of CACM and Cranfield,
read from ../shared/data as they are (Cranfield in its SMART originals), with BM25, BM25+RM3, dense
and hybrid as conditions; real processes, Lucene, FAISS, MiniLM and SQLite.

The module runs reproduce three times on one work folder, so the indexes are built once: first
with no expected scores (the scores it produces are written as the expected-scores file), then
with those expected scores in the suite file (every cell green, and the scores byte for byte the
same), then with one expected score deliberately wrong (its cell red, exit status 1).
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support.cli_runner import ragbench
from support.paths import SHARED

from ragbench.evaluation.engine import evaluate

CACM = SHARED / "data" / "cacm"
CRANFIELD = SHARED / "data" / "cranfield"
CONDITIONS = ("bm25", "bm25-rm3", "dense", "hybrid")

SUITE = f"""\
suite: classic
title: Classic test collections
measures: [nDCG@10, R@100]
aggregation: {{reference: bm25}}
benchmarks:
  cacm:
    corpus: {CACM}/cacm.jsonl
    topics: {CACM}/topics.cacm.txt
    qrels: {CACM}/qrels.cacm.txt
  cranfield:
    corpus: {{path: {CRANFIELD}/cran.all.1400, format: smart}}
    topics: {{path: {CRANFIELD}/cran.qry, format: smart, query_ids: sequential}}
    qrels: {{path: {CRANFIELD}/cranqrel, format: smart, grades: cranfield}}
conditions:
  bm25:
    description: Lucene BM25 (k1 0.9, b 0.4)
    pipeline:
      depth: 100
      retrievers: [{{type: bm25, index: "indexes/{{benchmark}}-bm25", k1: 0.9, b: 0.4}}]
  bm25-rm3:
    description: BM25 + RM3 (10 terms, 10 documents, weight 0.5)
    pipeline:
      depth: 100
      retrievers:
        - {{type: bm25, index: "indexes/{{benchmark}}-bm25", rm3: {{fb_terms: 10, fb_docs: 10, original_weight: 0.5}}}}
  dense:
    description: all-MiniLM-L6-v2, FAISS flat
    pipeline:
      depth: 100
      retrievers: [{{type: dense, index: "indexes/{{benchmark}}-dense", build: {{index_type: flat}}}}]
  hybrid:
    description: RRF of BM25 and dense
    pipeline:
      depth: 100
      retrievers:
        - {{type: bm25, name: bm25, index: "indexes/{{benchmark}}-bm25", k1: 0.9, b: 0.4}}
        - {{type: dense, name: dense, index: "indexes/{{benchmark}}-dense", build: {{index_type: flat}}}}
      fusion: {{method: rrf, k: 60}}
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    if not (CRANFIELD / "cran.all.1400").is_file() or not (CACM / "cacm.jsonl").is_file():
        pytest.skip("../shared/data is not beside this checkout")
    folder = tmp_path_factory.mktemp("suite")
    env = {
        "RAGBENCH_DATABASE_URL": f"sqlite:///{folder / 'ragbench.db'}",
        "RAGBENCH_HOME": str(folder / "home"),
        "COLUMNS": "200",
    }
    assert ragbench("db", "upgrade", env=env).returncode == 0
    (folder / "suite.yaml").write_text(SUITE, encoding="utf-8")
    first = ragbench(
        "reproduce", folder / "suite.yaml", "--no-ray", "--workdir", folder / "work",
        "--write-expected", folder / "expected.yaml", "--markdown", folder / "first.md",
        env=env, timeout=2400,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    yield {"folder": folder, "env": env, "first": first}


def test_first_run_scores_every_condition_and_stores_the_runs(work: dict[str, object]) -> None:
    folder = work["folder"]
    assert isinstance(folder, Path)
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    assert set(expected) == set(CONDITIONS)
    converted = folder / "work" / "data" / "cranfield"
    for condition in CONDITIONS:
        for bench, qrels in (("cacm", CACM / "qrels.cacm.txt"), ("cranfield", converted / "qrels.txt")):
            run = folder / "work" / "runs" / condition / f"{bench}.run"
            # the scores are the run files' scores, computed here independently (trec_eval -c)
            again = evaluate(qrels, run, ["nDCG@10", "R@100"], complete=True).aggregate
            assert expected[condition][bench] == pytest.approx(again, abs=1e-12)
    # the converted Cranfield qrels: cranqrel's judgments with the grades inverted, 1 -> 4 ... -1 -> 0
    mapping = {"1": "4", "2": "3", "3": "2", "4": "1", "-1": "0"}
    by_hand = [
        f"{q} 0 {d} {mapping[g]}"
        for q, d, g in (line.split() for line in (CRANFIELD / "cranqrel").read_text().splitlines())
    ]
    assert (converted / "qrels.txt").read_text().splitlines() == by_hand
    # CACM's BM25 is the demo's (README: nDCG@10 0.4519)
    assert expected["bm25"]["cacm"]["nDCG@10"] == pytest.approx(0.4519, abs=5e-5)
    first = work["first"]
    assert "nothing checked" in first.stdout and "Traceback" not in first.stderr

    show = ragbench("suite", "show", "classic", "-f", "json", env=work["env"])  # type: ignore[arg-type]
    assert show.returncode == 0, show.stderr
    board = json.loads(show.stdout)
    assert [r["system"] for r in board["complete"]] and {r["system"] for r in board["complete"]} == set(
        CONDITIONS
    )
    assert board["incomplete"] == [] and set(board["runs"]) == set(CONDITIONS)
    for row in board["complete"]:
        mean = sum(expected[row["system"]][b]["nDCG@10"] for b in ("cacm", "cranfield")) / 2
        assert row["mean"] == pytest.approx(mean, abs=1e-12)
    assert board["friedman"]["blocks"] == 2 and board["reference"] == "bm25"


def test_second_run_is_green_and_identical(work: dict[str, object]) -> None:
    folder, env = work["folder"], work["env"]
    assert isinstance(folder, Path) and isinstance(env, dict)
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    suite = yaml.safe_load(SUITE)
    for condition in CONDITIONS:
        suite["conditions"][condition]["expected"] = expected[condition]
    (folder / "suite2.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    second = ragbench(
        "reproduce", folder / "suite2.yaml", "--no-ray", "--workdir", folder / "work",
        "--write-expected", folder / "expected2.yaml", "--html", folder / "second.html",
        "--markdown", folder / "second.md", env=env, timeout=1500,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    assert (folder / "expected2.yaml").read_bytes() == (folder / "expected.yaml").read_bytes()
    markdown = (folder / "second.md").read_text()
    assert markdown.count("✅") == 16 and "❌" not in markdown
    assert "reproduced: 16 green, 0 red, 0 unchecked" in markdown
    html = (folder / "second.html").read_text()
    assert html.count('class="green"') == 16 and "style=" not in html


def test_a_wrong_expected_score_turns_its_cell_red(work: dict[str, object]) -> None:
    folder, env = work["folder"], work["env"]
    assert isinstance(folder, Path) and isinstance(env, dict)
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    truth = expected["bm25"]["cranfield"]["nDCG@10"]
    expected["bm25"]["cranfield"]["nDCG@10"] = truth + 0.05
    (folder / "wrong.yaml").write_text(yaml.safe_dump(expected), encoding="utf-8")
    third = ragbench(
        "reproduce", folder / "suite.yaml", "--no-ray", "--workdir", folder / "work", "--only", "bm25",
        "--expected", folder / "wrong.yaml", "--markdown", folder / "third.md", env=env, timeout=900,
    )  # fmt: skip
    assert third.returncode == 1, third.stderr[-3000:]
    markdown = (folder / "third.md").read_text()
    assert f"❌ {truth:.4f} (off by -0.0500; expected {truth + 0.05:.4f}" in markdown
    assert markdown.count("✅") == 3 and markdown.count("❌") == 1
    assert "NOT reproduced: 3 green, 1 red" in markdown

    from sqlalchemy import create_engine, text

    engine = create_engine(env["RAGBENCH_DATABASE_URL"])
    with engine.connect() as c:
        passed = [row[0] for row in c.execute(text("SELECT passed FROM reproduction ORDER BY id"))]
        systems = {row[0] for row in c.execute(text("SELECT DISTINCT name FROM system"))}
        runs = c.execute(text("SELECT COUNT(*) FROM run")).scalar_one()
        stored = c.execute(text("SELECT provenance FROM benchmark WHERE slug = 'cranfield'")).scalar_one()
    engine.dispose()
    provenance = json.loads(stored) if isinstance(stored, str) else stored
    assert provenance["qrels"]["sha256"] == hashlib.sha256((CRANFIELD / "cranqrel").read_bytes()).hexdigest()
    assert provenance["qrels"]["grade_mapping"] == {"-1": 0, "1": 4, "2": 3, "3": 2, "4": 1, "5": 0}
    assert provenance["topics"]["query_ids"] == "sequential" and provenance["corpus"]["left_out"] == [
        "471",
        "995",
    ]
    # the first run (and the second, when this worker ran it) passed; this one is stored as failed
    assert passed[0] and not passed[-1] and all(passed[:-1])  # SQLite gives 1 and 0
    assert systems == set(CONDITIONS) and runs == 8  # one run per condition and benchmark, stored once


def test_suite_add_and_bad_suite_files(work: dict[str, object], tmp_path: Path) -> None:
    env = work["env"]
    assert isinstance(env, dict)
    again = ragbench("suite", "add", Path(str(work["folder"])) / "suite.yaml", env=env)
    assert again.returncode == 0 and "registered already" in again.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SUITE.replace("      depth: 100\n", "      depth: 100\n      fusion: {method: borda}\n", 1)
    )
    result = ragbench("reproduce", bad, "--no-ray", "--workdir", tmp_path / "w", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{bad}:19: conditions.bm25.pipeline.fusion.method: 'borda': use rrf or combsum" in result.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(textwrap.dedent(SUITE) + "    expected: {trec8: {nDCG@10: 0.3}}\n")
    result = ragbench("reproduce", unknown, "--no-ray", "--workdir", tmp_path / "w", env=env)
    assert result.returncode == 2
    assert "conditions.hybrid.expected.trec8: unknown benchmark 'trec8'" in result.stderr

"""Suite files: what is read, and bad input named by file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.paths import SHARED

from ragbench.errors import InputError
from ragbench.jobs.reproduce import pipeline_configs, prepare_benchmarks, select
from ragbench.jobs.suite_config import load_suite

CRANFIELD = SHARED / "data" / "cranfield"
CACM = SHARED / "data" / "cacm"

GOOD = f"""\
suite: classic
title: Classic collections
measures: [nDCG@10, R@100]
aggregation: {{reference: bm25, missing: last}}
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
    description: BM25
    pipeline:
      depth: 100
      retrievers: [{{type: bm25, index: "indexes/{{benchmark}}-bm25", k1: 0.9}}]
    expected:
      cacm: {{nDCG@10: 0.45, R@100: {{score: 0.64, tolerance: 0.01}}}}
      cranfield: {{"nDCG(cutoff=10)": 0.35}}
"""


@pytest.fixture(autouse=True)
def _data() -> None:
    if not (CRANFIELD / "cran.all.1400").is_file() or not (CACM / "cacm.jsonl").is_file():
        pytest.skip("../shared/data is not beside this checkout")


def write(folder: Path, text: str) -> Path:
    path = folder / "suite.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def fails(folder: Path, text: str) -> str:
    with pytest.raises(InputError) as caught:
        spec = load_suite(write(folder, text), workdir=folder / "work")
        prepared = prepare_benchmarks(spec)
        pipeline_configs(spec, prepared, *select(spec, ()))
    return str(caught.value)


def test_a_good_suite_file(tmp_path: Path) -> None:
    spec = load_suite(write(tmp_path, GOOD), workdir=tmp_path / "work")
    assert spec.measures == ("nDCG@10", "R@100") and spec.aggregation["missing"] == "last"
    assert [b.slug for b in spec.benchmarks] == ["cacm", "cranfield"]
    bm25 = spec.conditions[0]
    assert (
        bm25.expected["cacm"]["R@100"].tolerance == 0.01
        and bm25.expected["cacm"]["nDCG@10"].tolerance == 1e-4
    )
    assert bm25.expected["cranfield"]["nDCG@10"].score == 0.35  # trec_eval's name, same measure
    prepared = prepare_benchmarks(spec)
    cran = prepared["cranfield"]
    assert cran.provenance["qrels"]["grade_mapping"] == {"-1": 0, "1": 4, "2": 3, "3": 2, "4": 1, "5": 0}
    assert cran.provenance["corpus"]["left_out"] == ["471", "995"]
    assert Path(cran.corpus).parent == tmp_path / "work" / "data" / "cranfield"
    assert prepared["cacm"].corpus == str(CACM / "cacm.jsonl")  # used as it is
    configs = pipeline_configs(spec, prepared, *select(spec, ()))
    config = configs["bm25", "cranfield"]
    assert config.name == "bm25" and config.benchmark == "cranfield" and config.depth == 100
    assert config.retrievers[0].options["index"] == "indexes/cranfield-bm25"
    assert config.output == str(tmp_path / "work" / "runs" / "bm25" / "cranfield.run")
    assert select(spec, ["cranfield"]) == (["bm25"], ["cranfield"])


def test_unknown_benchmark_in_expected_scores(tmp_path: Path) -> None:
    message = fails(
        tmp_path, GOOD.replace('      cranfield: {"nDCG(cutoff=10)": 0.35}', "      trec8: {nDCG@10: 0.35}")
    )
    assert message.startswith(
        f"{tmp_path / 'suite.yaml'}:22: conditions.bm25.expected.trec8: unknown benchmark"
    )


def test_conflicting_measures(tmp_path: Path) -> None:
    message = fails(
        tmp_path, GOOD.replace("measures: [nDCG@10, R@100]", 'measures: [nDCG@10, "nDCG(cutoff=10)"]')
    )
    assert (
        f"{tmp_path / 'suite.yaml'}:3: measures[1]: 'nDCG(cutoff=10)' is the same measure as 'nDCG@10'"
        in message
    )
    message = fails(tmp_path, GOOD.replace("R@100: {score: 0.64, tolerance: 0.01}", "AP: 0.3"))
    assert "suite.yaml:21: conditions.bm25.expected.cacm.AP: AP is not a measure of the suite" in message
    assert "conflicting measures" in message


def test_a_condition_whose_config_fails(tmp_path: Path) -> None:
    message = fails(
        tmp_path, GOOD.replace("      depth: 100\n", "      depth: 100\n      fusion: {method: borda}\n")
    )
    assert "suite.yaml:19: conditions.bm25.pipeline.fusion.method: 'borda': use rrf or combsum" in message
    message = fails(tmp_path, GOOD.replace("      depth: 100\n", "      depth: lots\n"))
    assert "suite.yaml:18: conditions.bm25.pipeline.depth: expected a positive whole number" in message
    message = fails(tmp_path, GOOD.replace('"indexes/{benchmark}-bm25"', '"indexes/bm25"'))
    assert "suite.yaml:19: conditions.bm25.pipeline.retrievers[0].index: must contain {benchmark}" in message
    message = fails(tmp_path, GOOD.replace("      depth: 100\n", "      depth: 100\n      qrels: x.txt\n"))
    assert "suite.yaml:19: conditions.bm25.pipeline.qrels: the suite sets this" in message


def test_a_condition_config_file_names_its_own_lines(tmp_path: Path) -> None:
    (tmp_path / "bm25.yaml").write_text(
        "depth: 10\nretrievers:\n  - type: bm25\n    index: x/{benchmark}\nfusion: 3\n"
    )
    text = GOOD.replace(
        '    pipeline:\n      depth: 100\n      retrievers: [{type: bm25, index: "indexes/{benchmark}-bm25", k1: 0.9}]\n',
        "    config: bm25.yaml\n",
    )
    message = fails(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'bm25.yaml'}:5: fusion: expected a mapping")


def test_other_bad_input(tmp_path: Path) -> None:
    assert "suite.yaml:1: suit: unknown key" in fails(tmp_path, "suit: x\n")
    bad_file = GOOD.replace("cran.qry, format: smart", "cran.query, format: smart")
    assert "suite.yaml:12: benchmarks.cranfield.topics.path: no such file" in fails(tmp_path, bad_file)
    bad_grades = GOOD.replace("grades: cranfield", "grades: inverse")
    assert "suite.yaml:13: benchmarks.cranfield.qrels.grades: grade mapping 'inverse'" in fails(
        tmp_path, bad_grades
    )
    bad_format = GOOD.replace("cran.all.1400, format: smart", "cran.all.1400, format: sgml")
    assert "benchmarks.cranfield.corpus.format: 'sgml': a corpus file is one of jsonl, smart" in fails(
        tmp_path, bad_format
    )
    bad_policy = GOOD.replace("missing: last", "missing: zero")
    assert "suite.yaml:4: aggregation.missing: 'zero'; use exclude, last, covered" in fails(
        tmp_path, bad_policy
    )
    with pytest.raises(InputError, match="--only trec8: not a condition"):
        select(load_suite(write(tmp_path, GOOD), workdir=tmp_path), ["trec8"])

"""read_run and read_qrels on small hand-written inputs and on trec_eval's own test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.paths import CACM

from ragbench.errors import FormatError
from ragbench.formats import QrelsTable, RunTable, read_qrels, read_run

RUN = b"""# a comment line, then a blank line

301\tQ0\tFBIS3-1\t1\t  2.5\tbm25
301 Q0 FBIS3-2 2 -1e-3 bm25 extra fields are ignored
  302   Q0 FR94-7   1   7   bm25
"""


def test_run_columns_exact() -> None:
    run = read_run(RUN, name="mem.run")
    assert isinstance(run, RunTable)
    assert len(run) == 3
    assert [run.strings[c] for c in run.query.tolist()] == ["301", "301", "302"]
    assert [run.strings[c] for c in run.doc.tolist()] == ["FBIS3-1", "FBIS3-2", "FR94-7"]
    assert run.score.tolist() == [2.5, -0.001, 7.0]
    assert run.rank.tolist() == [1, 2, 1]
    assert run.line.tolist() == [3, 4, 5]
    assert run.run_id == "bm25"
    assert run.source == "mem.run"
    assert run.to_dict() == {"301": {"FBIS3-1": 2.5, "FBIS3-2": -0.001}, "302": {"FR94-7": 7.0}}


def test_run_from_path_uses_the_path_in_messages(tmp_path: Path) -> None:
    path = tmp_path / "bad.run"
    path.write_bytes(b"1 Q0 d 1 x t\n")
    with pytest.raises(FormatError) as caught:
        read_run(path)
    assert str(caught.value) == f"{path}:1:10: error: score 'x' is not a number"


def test_qrels_columns_exact() -> None:
    qrels = read_qrels(b"301 0 d1 1\n301 0 d2 -1\n# judged later\n302 Q0 d1 3\n", name="q")
    assert isinstance(qrels, QrelsTable)
    assert qrels.to_dict() == {"301": {"d1": 1, "d2": -1}, "302": {"d1": 3}}
    assert qrels.relevance.dtype == np.int64
    assert qrels.line.tolist() == [1, 2, 4]
    assert qrels.query_ids() == ["301", "302"]


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = b"1 Q0 a 1 1.0 t\n1 Q0 b one 1.0 t\n1 Q0 c 3\n1 Q0 a 4 0.5 t\n"
    with pytest.raises(FormatError) as caught:
        read_run(data)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (2, "rank 'one' is not an integer"),
        (3, "expected 6 columns (query_id Q0 doc_id rank score run_tag), found 4"),
        (4, "document 'a' is listed twice for topic '1' (first on line 1)"),
    ]


@pytest.mark.parametrize(
    ("name", "rows", "topics"),
    [
        ("results.test", 1500, 3),
        ("results.trunc", 584, 2),
        ("results-302.test", 500, 1),
        ("results.comment.test", 30100, 301),
    ],
)
def test_trec_eval_runs(trec_eval_data: Path, name: str, rows: int, topics: int) -> None:
    run = read_run(trec_eval_data / name)
    assert len(run) == rows
    assert len(run.query_ids()) == topics


def test_trec_eval_results_test_first_line(trec_eval_data: Path) -> None:
    run = read_run(trec_eval_data / "results.test")
    assert run.strings[int(run.doc[0])] == "FR940202-2-00150"
    assert (int(run.rank[0]), float(run.score[0]), run.run_id) == (104, 2.129133, "STANDARD")


@pytest.mark.parametrize(
    ("name", "rows", "relevance_counts"),
    [
        ("qrels.test", 3681, {0: 3120, 1: 561}),
        ("qrels.test.with-comments", 3681, {0: 3120, 1: 561}),
        ("qrels.rel_level", 3681, {-1: 304, 0: 2818, 1: 462, 2: 14, 3: 77, 4: 6}),
        ("qrels.comment.test", 5890, {0: 1427, 1: 2381, 2: 1515, 3: 567}),
        ("qrels-302.test", 1061, {0: 984, 1: 77}),
    ],
)
def test_trec_eval_qrels(
    trec_eval_data: Path, name: str, rows: int, relevance_counts: dict[int, int]
) -> None:
    qrels = read_qrels(trec_eval_data / name)
    assert len(qrels) == rows
    values, counts = np.unique(qrels.relevance, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == relevance_counts


def test_comment_lines_are_skipped_but_a_hash_inside_a_docno_is_kept(trec_eval_data: Path) -> None:
    plain = read_qrels(trec_eval_data / "qrels.test").to_dict()
    commented = read_qrels(trec_eval_data / "qrels.test.with-comments").to_dict()
    # The commented copy differs in one docno only: CR93E-1860 is written CR#93E-1860.
    assert commented["301"].pop("CR#93E-1860") == plain["301"].pop("CR93E-1860") == 0
    assert plain == commented


def test_judgment_group_qrels_are_not_plain_qrels(trec_eval_data: Path) -> None:
    # qrels.123 is trec_eval's qrels_jg format: the same document judged once per judgment group.
    with pytest.raises(FormatError, match="is judged twice for topic '301'"):
        read_qrels(trec_eval_data / "qrels.123")


def test_cacm_qrels() -> None:
    if not CACM.is_dir():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    qrels = read_qrels(CACM / "qrels.cacm.txt")
    assert len(qrels) == 796
    assert len(qrels.query_ids()) == 52
    assert set(qrels.relevance.tolist()) == {1}

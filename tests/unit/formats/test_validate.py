"""validate: kind detection, errors from the readers, and the warnings about runs and qrels."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from support.paths import CACM

from ragbench.errors import InputError
from ragbench.formats import QrelsTable, ValidationReport, detect_kind, validate


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def found(report: ValidationReport) -> list[tuple[str, int, str]]:
    return [(p.severity, p.line, p.message) for p in report.problems]


def run_lines(*rows: tuple[str, str, int, float]) -> bytes:
    return b"".join(f"{q} Q0 {d} {r} {s} t\n".encode() for q, d, r, s in rows)


# -- detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (b"301 Q0 d1 1 2.5 tag\n", "x", "run"),
        (b"301\tQ0\td1\t1\t2.5\ttag\textra\n", "x", "run"),
        (b"301 0 d1 1\n", "x", "qrels"),
        (b"# comment\n301 0 d1 1\n", "x", "qrels"),
        (b"<top>\n<num> 301\n", "x", "topics"),
        (b"<DOC>\n<DOCNO> 1 </DOCNO>\n", "x", "topics"),
        (b"1\twhat is a cat\n", "x", "topics"),
        (b'{"_id": "1", "text": "q"}\n', "x", "topics"),
        (b'{"qid": "1", "title": "q"}\n', "x", "topics"),
        (b'{"id": "d", "contents": "c"}\n', "x", "corpus"),
        (b'{"_id": "d", "title": "", "text": "c"}\n', "x", "corpus"),
        (b'{"_id": "d", "text": "c"}\n', "corpus.jsonl", "corpus"),  # ambiguous: the name decides
        (b"", "my.run", "run"),
        (b"", "qrels.txt", "qrels"),
        (b"", "x", None),
        (b"some words\n", "x", None),
    ],
)
def test_detect_kind(head: bytes, name: str, kind: str | None) -> None:
    assert detect_kind(head, name) == kind


def test_shared_files_are_detected_and_valid() -> None:
    if not CACM.is_dir():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    names = ["cacm.jsonl", "topics.cacm.txt", "qrels.cacm.txt"]
    for name in names:
        assert (
            detect_kind((CACM / name).read_bytes()[:65536], name)
            == ("corpus", "topics", "qrels")[names.index(name)]
        )
    report = validate([CACM / n for n in names])
    assert report.ok
    assert report.problems == []


# -- errors --------------------------------------------------------------------------------------


def test_reader_errors_land_in_the_report(tmp_path: Path) -> None:
    run = write(tmp_path, "a.run", b"1 Q0 d 1 x t\n1 Q0 e 2\n")
    report = validate(run)
    assert not report.ok
    assert found(report) == [
        ("error", 1, "score 'x' is not a number"),
        ("error", 2, "expected 6 columns (query_id Q0 doc_id rank score run_tag), found 4"),
    ]
    assert report.errors[0].file == str(run)


def test_missing_and_unrecognised_files(tmp_path: Path) -> None:
    blob = write(tmp_path, "blob.bin", b"some words\n")
    report = validate([tmp_path / "absent.run", blob])
    assert [(p.file, p.message) for p in report.errors] == [
        (str(tmp_path / "absent.run"), "no such file"),
        (
            str(blob),
            "cannot tell what kind of file this is: the first line 'some words' has 2 whitespace-separated "
            "field(s); a run has 6 (query_id Q0 doc_id rank score tag), qrels 4 (query_id 0 doc_id "
            "relevance), lengths 3 (doc_id snippet_chars doc_chars), TSV topics or corpora id<TAB>text; "
            "topics and corpora may also be TREC SGML or JSONL; name the kind with --kind",
        ),
    ]
    assert [(f.kind, f.errors) for f in report.files] == [("run", 1), (None, 1)]


def test_explicit_kind_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "x.txt", b"301 0 d1 1\n")
    assert validate(path).ok
    assert found(validate(path, kind="run")) == [
        ("error", 1, "expected 6 columns (query_id Q0 doc_id rank score run_tag), found 4")
    ]


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown file kind 'runs'"):
        validate(tmp_path, kind="runs")
    with pytest.raises(InputError, match="cutoffs must be positive integers"):
        validate(tmp_path, cutoffs=(10, 0))


# -- run warnings --------------------------------------------------------------------------------


def test_rank_order_disagreeing_with_scores(tmp_path: Path) -> None:
    data = run_lines(
        ("1", "a", 1, 3.0), ("1", "b", 2, 4.0), ("1", "c", 3, 1.0), ("1", "d", 4, 2.0),
        ("2", "a", 1, 2.0), ("2", "b", 1, 1.0), ("2", "c", 2, 0.5),  # equal ranks are not inversions
    )  # fmt: skip
    report = validate(write(tmp_path, "r.run", data), cutoffs=(100,))
    assert found(report) == [
        (
            "warning",
            2,
            "topic '1': rank 2 has a higher score (4.0) than rank 1 on line 1 (3.0); trec_eval ignores ranks "
            "and orders by score (1 more such inversion in this topic)",
        )
    ]
    assert report.ok


def test_rank_order_is_checked_in_rank_order_not_file_order(tmp_path: Path) -> None:
    data = run_lines(("1", "c", 3, 1.0), ("1", "a", 1, 3.0), ("1", "b", 2, 2.0), ("1", "d", 10, 5.0))
    assert found(validate(write(tmp_path, "r.run", data), cutoffs=(100,))) == [
        (
            "warning",
            4,
            "topic '1': rank 10 has a higher score (5.0) than rank 3 on line 1 (1.0); trec_eval ignores ranks "
            "and orders by score",
        )
    ]


def test_score_tie_straddling_a_cutoff_names_the_documents_in_trec_eval_order(tmp_path: Path) -> None:
    # trec_eval order: x (3.0), then the three tied at 2.0 by docno descending: d3, d2, d1.
    data = run_lines(("7", "d1", 2, 2.0), ("7", "x", 1, 3.0), ("7", "d3", 3, 2.0), ("7", "d2", 4, 2.0))
    report = validate(write(tmp_path, "r.run", data), cutoffs=(1, 2, 3, 4))
    tail = "have the same score 2.0 (3 documents share it), so measures at cutoff {} depend on trec_eval's "
    tail += "tie-break (docno descending)"
    assert found(report) == [
        (
            "warning",
            3,
            "topic '7': the documents at ranks 2 and 3, 'd3' (line 3) and 'd2' (line 4), " + tail.format(2),
        ),
        (
            "warning",
            4,
            "topic '7': the documents at ranks 3 and 4, 'd2' (line 4) and 'd1' (line 1), " + tail.format(3),
        ),
    ]


def test_no_tie_warning_when_the_topic_is_not_longer_than_the_cutoff(tmp_path: Path) -> None:
    data = run_lines(("1", "a", 1, 1.0), ("1", "b", 2, 1.0))
    assert found(validate(write(tmp_path, "r.run", data), cutoffs=(2, 10))) == []


def test_wide_lines_warn_once_per_file(trec_eval_data: Path) -> None:
    report = validate(trec_eval_data / "results.trunc")
    assert found(report) == [
        (
            "warning",
            1,
            "line 1 has 9 columns, and 4 more lines have more than 6; the fields after the sixth are ignored, "
            "as trec_eval ignores them",
        )
    ]


def test_a_wide_comment_line_is_not_a_wide_run_line(tmp_path: Path) -> None:
    data = b"# a comment with a great many words in it\n" + run_lines(("1", "a", 1, 1.0))
    assert found(validate(write(tmp_path, "r.run", data))) == []
    data = run_lines(("1", "a", 1, 1.0)) + b"1 Q0 b 2 0.5 t x\n"
    assert found(validate(write(tmp_path, "r.run", data))) == [
        (
            "warning",
            2,
            "line 2 has 7 columns; the fields after the sixth are ignored, as trec_eval ignores them",
        )
    ]


def test_run_and_qrels_topics_compared(tmp_path: Path) -> None:
    run = write(tmp_path, "r.run", run_lines(("1", "a", 1, 1.0), ("3", "a", 1, 1.0), ("4", "a", 1, 1.0)))
    qrels = write(tmp_path, "q.qrels", b"1 0 a 1\n2 0 a 1\n")
    report = validate(run, qrels=qrels)
    assert [(p.file, p.line, p.message) for p in report.problems] == [
        (
            str(run),
            2,
            f"2 topics of the run without judgments in {qrels}: '3', '4'; trec_eval leaves them out of the evaluation",
        ),
        (
            str(qrels),
            2,
            f"1 judged topic missing from the run {run}: '2'; trec_eval leaves it out of the averages unless -c "
            "is given, which counts it as 0",
        ),
    ]


def test_trec_eval_runs_against_their_qrels(trec_eval_data: Path) -> None:
    report = validate(trec_eval_data / "results.test", qrels=trec_eval_data / "qrels.test")
    assert report.problems == []
    report = validate(trec_eval_data / "results.comment.test", qrels=trec_eval_data / "qrels.comment.test")
    no_relevant, unjudged = report.problems
    assert (no_relevant.line, no_relevant.message) == (3699, "topic '2024-36302' has no relevant document")
    assert unjudged.severity == "warning"
    assert unjudged.message.startswith("270 topics of the run without judgments in ")  # 301 - 31 evaluated


def test_qrels_passed_twice_is_reported_once(tmp_path: Path) -> None:
    qrels = write(tmp_path, "q.qrels", b"1 0 a 1\n1 0 a 0\n")
    report = validate([qrels, write(tmp_path, "r.run", run_lines(("1", "a", 1, 1.0)))], qrels=qrels)
    assert found(report) == [("error", 2, "document 'a' is judged twice for topic '1' (first on line 1)")]


def test_each_file_gets_its_own_cap(tmp_path: Path) -> None:
    bad = b"not json\n" * 150
    files = [write(tmp_path, f"{i}.corpus.jsonl", bad) for i in range(2)]
    report = validate(files)
    assert [p.file for p in report.problems].count(str(files[1])) == 100
    assert report.truncated == 100


def test_many_topics_are_named_up_to_ten_then_counted(tmp_path: Path) -> None:
    rows = [(str(q), d, r, s) for q in range(12) for d, r, s in (("a", 1, 1.0), ("b", 2, 2.0))]
    report = validate(write(tmp_path, "r.run", run_lines(*rows)), cutoffs=(5,))
    assert len(report.warnings) == 11
    assert report.warnings[-1].message == "2 more topics with ranks that disagree with the scores"


# -- qrels warnings ------------------------------------------------------------------------------


def test_qrels_topic_without_relevant_documents(tmp_path: Path) -> None:
    path = write(tmp_path, "q.qrels", b"1 0 a 1\n2 0 a 0\n2 0 b -1\n3 0 a 2\n")
    assert found(validate(path)) == [("warning", 2, "topic '2' has no relevant document")]


def test_qrels_given_as_a_table(tmp_path: Path) -> None:
    run = write(tmp_path, "r.run", run_lines(("1", "a", 1, 1.0)))
    table = QrelsTable.from_dict({"1": {"a": 1}})
    assert validate(run, qrels=table).problems == []


def test_file_order_does_not_change_the_warnings(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rows = [
        (str(q), f"d{d}", d + 1, float(rng.integers(0, 4)))  # few distinct scores: inversions and ties
        for q in range(5)
        for d in range(12)
    ]
    shuffled = [rows[i] for i in rng.permutation(len(rows))]

    def messages(lines: list[tuple[str, str, int, float]], name: str) -> list[str]:
        report = validate(write(tmp_path, name, run_lines(*lines)), cutoffs=(3, 5))
        return sorted(re.sub(r"line \d+", "line N", p.message) for p in report.problems)

    in_order = messages(rows, "sorted.run")
    assert in_order == messages(shuffled, "shuffled.run")
    assert any("rank" in m and "higher score" in m for m in in_order)
    assert any("have the same score" in m for m in in_order)

"""The SMART reader on Cranfield as distributed, against ir_datasets' own reading, and on bad files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import pytest
from support.paths import FIXTURES, SHARED

from ragbench.errors import FormatError, InputError
from ragbench.formats import detect_kind, validate
from ragbench.formats.smart import (
    check_smart,
    grade_map,
    qrels_to_trec,
    read_smart,
    read_smart_qrels,
    read_smart_topics,
    smart_corpus_jsonl,
    topics_to_jsonl,
)
from ragbench.formats.topics import read_topics
from ragbench.formats.trec import read_qrels

CRANFIELD = SHARED / "data" / "cranfield"
BAD = FIXTURES / "smart" / "bad"


@pytest.fixture(scope="module")
def cranfield() -> Path:
    if not (CRANFIELD / "cran.all.1400").is_file():
        pytest.skip("../shared/data/cranfield is not beside this checkout")
    return CRANFIELD


def test_cranfield_documents_as_distributed(cranfield: Path) -> None:
    records = read_smart(cranfield / "cran.all.1400")
    assert len(records) == 1400 and records[0].record_id == "1" and records[-1].record_id == "1400"
    assert (
        records[0].fields["T"] == "experimental investigation of the aerodynamics of a wing in a slipstream ."
    )
    assert records[0].fields["A"] == "brenckman,m."
    assert records[0].fields["W"].startswith(records[0].fields["T"])  # .W repeats the title
    warnings = [(p.line, p.message) for p in check_smart(cranfield / "cran.all.1400")]
    # found by hand (grep -n '^\.[ABTW]'): record 240 repeats .A and .B, 576 and 578 repeat .W;
    # records 471 and 995 are empty
    assert [line for line, _ in warnings] == [7322, 7324, 13470, 16283, 16320, 27712]
    assert "field .A appears again in record '240' (first on line 7308)" in warnings[0][1]
    assert warnings[2][1] == "record '471' has no text"
    corpus, skipped = smart_corpus_jsonl(records)
    assert skipped == ["471", "995"]
    docs = [json.loads(line) for line in corpus.decode().splitlines()]
    assert len(docs) == 1398 and docs[0]["contents"] == f"{records[0].fields['T']} {records[0].fields['W']}"


def test_cranfield_queries_are_numbered_in_file_order(cranfield: Path) -> None:
    written = read_smart_topics(cranfield / "cran.qry")
    assert [t.query_id for t in written[:4]] == ["001", "002", "004", "008"] and written[-1].query_id == "365"
    topics = read_smart_topics(cranfield / "cran.qry", query_ids="sequential")
    assert [t.query_id for t in topics] == [str(i) for i in range(1, 226)]
    assert topics[2].fields["written_id"] == "004"
    assert topics[2].title == "what problems of heat conduction in composite slabs have been solved so far ."
    numbered = read_smart_topics(cranfield / "cran.qry", query_ids="number")
    assert numbered[2].query_id == "4"
    again = read_topics(topics_to_jsonl(topics), name="topics.jsonl")
    assert [(t.query_id, t.title) for t in again] == [(t.query_id, t.title) for t in topics]


def test_cranfield_grades_are_inverted_as_asked(cranfield: Path) -> None:
    raw = read_smart_qrels(cranfield / "cranqrel")
    # SOURCE.txt: 128 x 1, 387 x 2, 734 x 3, 363 x 4, 225 x -1; all 225 queries judged
    assert Counter(j.grade for j in raw) == {1: 128, 2: 387, 3: 734, 4: 363, -1: 225}
    assert len({j.query_id for j in raw}) == 225
    mapped = read_smart_qrels(cranfield / "cranqrel", grades="cranfield")
    assert Counter(j.grade for j in mapped) == {4: 128, 3: 387, 2: 734, 1: 363, 0: 225}
    assert all(j.written == r.grade for j, r in zip(mapped, raw, strict=True))
    table = read_qrels(qrels_to_trec(mapped), name="qrels")
    assert len(table.relevance) == len(raw) == 1837
    assert grade_map("1:4, 2:3,-1:0") == {1: 4, 2: 3, -1: 0}
    with pytest.raises(InputError, match="grade mapping"):
        grade_map("best")


def test_validate_tells_smart_files_apart(cranfield: Path) -> None:
    for name, kind in (("cran.all.1400", "smart"), ("cran.qry", "smart"), ("cranqrel", "smart-qrels")):
        assert detect_kind((cranfield / name).read_bytes()[:65536], name) == kind
    report = validate([cranfield / "cran.all.1400", cranfield / "cran.qry", cranfield / "cranqrel"])
    assert report.ok and len(report.warnings) == 6


def test_reading_agrees_with_ir_datasets(cranfield: Path, irds_home: Path) -> None:
    """ir_datasets reads Cranfield from its cache (docs.txt, queries.txt, qrels.txt): put the files
    there and compare every document, query and judgment (ir_datasets keeps line breaks: compare
    with whitespace collapsed)."""
    from support.irds import fill_cranfield_cache

    fill_cranfield_cache(irds_home)
    from ragbench.formats.irds import load_dataset, local_cache_only

    dataset = load_dataset("cranfield")
    with local_cache_only("cranfield"):
        theirs_docs = list(dataset.docs_iter())
        theirs_queries = list(dataset.queries_iter())
        theirs_qrels = list(dataset.qrels_iter())
    ours = read_smart(cranfield / "cran.all.1400")
    assert len(theirs_docs) == len(ours)
    for doc, record in zip(theirs_docs, ours, strict=True):
        assert doc.doc_id == record.record_id
        for field, letter in (("title", "T"), ("text", "W"), ("author", "A"), ("bib", "B")):
            assert " ".join(getattr(doc, field).split()) == record.fields.get(letter, ""), (doc.doc_id, field)
    topics = read_smart_topics(cranfield / "cran.qry", query_ids="sequential")
    assert [(q.query_id, " ".join(q.text.split())) for q in theirs_queries] == [
        (t.query_id, t.title) for t in topics
    ]
    raw = read_smart_qrels(cranfield / "cranqrel")
    assert [(q.query_id, q.doc_id, q.relevance) for q in theirs_qrels] == [
        (j.query_id, j.doc_id, j.grade) for j in raw
    ]


class Case(NamedTuple):
    name: str
    kind: str
    line: int
    message: str


CASES = [Case(n, k, int(line), m) for n, k, line, m in (
    row.split("\t") for row in (BAD / "EXPECTED.tsv").read_text(encoding="utf-8").splitlines() if row
)]  # fmt: skip


def test_every_bad_fixture_is_listed() -> None:
    assert {c.name for c in CASES} == {p.name for p in BAD.iterdir()} - {"EXPECTED.tsv"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_files_are_refused_at_their_line(case: Case) -> None:
    with pytest.raises(FormatError) as caught:
        if case.kind == "smart":
            read_smart(BAD / case.name)
        else:
            read_smart_qrels(BAD / case.name, grades="cranfield")
    first = caught.value.problems[0]
    assert first.line == case.line and case.message in first.message, first.render()
    assert first.file.endswith(case.name)
    if case.kind == "smart" or case.name != "qrels_grade_unmapped.rel":  # validate maps no grades
        report = validate(BAD / case.name, kind=case.kind)
        assert not report.ok and report.errors[0].line == case.line

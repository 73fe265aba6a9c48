"""detect: the kind and format of a file from its first bytes, then its name; what an unknown file
looks like."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ragbench.formats.detect import Detected, detect, detect_path, format_of, name_hint

TREC_SGML = b"<DOC>\n<DOCNO> FT911-1 </DOCNO>\n<HEADLINE>\nJet\n</HEADLINE>\n<TEXT>\nwords\n</TEXT>\n</DOC>\n"
PASSAGE = " ".join(["word"] * 30)


@pytest.mark.parametrize(
    ("head", "name", "kind", "format"),
    [
        (TREC_SGML, "x", "corpus", "TREC SGML"),
        (b"<DOC>\n<DOCNO> 1 </DOCNO>\nWhat articles exist\n</DOC>\n", "x", "topics", "SGML <DOC> topics"),
        (b"<DOC>\n<DOCNO> 1 </DOCNO>\nno fields\n</DOC>\n", "corpus.sgml", "corpus", "TREC SGML"),
        (b"<top>\n<num> Number: 301\n<title> x\n</top>\n", "x", "topics", "TREC topics"),
        (b'{"id": "d", "contents": "c"}\n', "x", "corpus", "JSONL"),
        (b'{"_id": "d", "title": "t", "text": "c"}\n', "x", "corpus", "JSONL"),
        (b'{"qid": "1", "query": "q"}\n', "x", "topics", "JSONL"),
        (b"query-id\tcorpus-id\tscore\nq1\td1\t1\n", "x", "qrels", "BEIR qrels TSV"),
        (b"301 0 d1 1\n", "x", "qrels", "TREC qrels"),
        (b"301 Q0 d1 1 2.5 tag\n", "x", "run", "TREC run"),
        (b"d1 120 5000\nd2 80 1200.5\n", "x", "lengths", "doc_id snippet_chars doc_chars"),
        (b"0\t" + PASSAGE.encode() + b"\n1\t" + PASSAGE.encode() + b"\n", "x", "corpus", "TSV"),
        (b"1\twhat is bm25\n2\tdense retrieval\n", "x", "topics", "TSV"),
        (b"1\twhat is bm25\n", "collection.tsv", "corpus", "TSV"),  # short texts: the name decides
        (b"docid\ttitle\ttext\turl\nd1\tT\tshort\thttp://x\n", "x", "corpus", "TSV with a header"),
        (b"pid\tpassage\n1\tshort\n", "x", "corpus", "TSV with a header"),
        (b"qid\tquery\n1\tlong " + PASSAGE.encode() + b"\n", "x", "topics", "TSV with a header"),
        (b"id\ttext\n1\tshort query\n", "x", "topics", "TSV"),  # names fit both: the rows decide
        (b"id\ttext\n1\t" + PASSAGE.encode() + b"\n", "x", "corpus", "TSV"),
        (b"session_id\tquery_index\trank\tdoc_id\n", "x", "session-run", "TSV with a header"),
        (b'{"session_id": "s1", "query_index": 1, "doc_id": "d", "grade": 1}\n', "x", "session-qrels", "JSONL"),
    ],
)  # fmt: skip
def test_kind_and_format_from_content(head: bytes, name: str, kind: str, format: str) -> None:
    found = detect(head, name)
    assert found.kind == kind
    assert (found.format or format_of(kind, head, name)) == format


@pytest.mark.parametrize(
    ("head", "looks"),
    [
        (b"", "an empty file"),
        (b"# only\n# comments\n", "only comment lines"),
        (b"<html><body>x</body></html>\n", "tags that are neither TREC topics (<top>) nor <DOC> blocks"),
        (b"[1, 2]\n", "the first line '[1, 2]' has 2 whitespace-separated field(s)"),
        (b"id\ttext\n", "only a TSV header line 'id\\ttext': no rows to tell topics from a corpus"),
        (b"a b c d e\n", "the first line 'a b c d e' has 5 whitespace-separated field(s); a run has 6"),
    ],
)
def test_a_file_of_no_kind_says_what_it_looks_like(head: bytes, looks: str) -> None:
    found = detect(head, "x")
    assert found.kind is None
    assert looks in found.looks
    assert found.describe() == "unknown kind"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("qrels.robust04.txt", "qrels"),
        ("topics.301-450.txt", "topics"),
        ("queries.dev.tsv", "topics"),
        ("bm25.run", "run"),
        ("collection.tsv.gz", "corpus"),
        ("lengths.txt", "lengths"),
        ("notes.txt", None),
    ],
)
def test_name_hints(name: str, kind: str | None) -> None:
    assert name_hint(name) == kind


def test_content_beats_the_name() -> None:
    assert detect(TREC_SGML, "qrels.txt").kind == "corpus"
    assert detect(b"301 Q0 d1 1 2.5 tag\n", "topics.txt").kind == "run"


def test_gzip_files_are_looked_at_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "anything.bin"
    path.write_bytes(gzip.compress(TREC_SGML))
    assert detect_path(path) == Detected("corpus", "TREC SGML", gzip=True)
    assert detect_path(path).describe() == "corpus (TREC SGML, gzip)"


def test_an_explicit_kind_still_reports_the_format(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    assert detect_path(path, "qrels").describe() == "qrels (BEIR qrels TSV)"
    path.write_bytes(b"d1 120 5000\n")
    assert detect_path(path, "lengths").describe() == "lengths (doc_id snippet_chars doc_chars)"


def test_a_line_cut_at_the_end_of_the_head_is_not_looked_at() -> None:
    row = b"301 Q0 d1 1 2.5 tag\n"
    head = (row * 4000)[: 64 * 1024]  # the 64 KiB head ends in the middle of a line
    assert detect(head, "x").kind == "run"

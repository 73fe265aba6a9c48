"""iter_corpus, check_corpus and corpus_hash on Pyserini and BEIR JSONL corpora."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from support.paths import CACM

from ragbench.errors import FormatError
from ragbench.formats import Document, check_corpus, corpus_hash, iter_corpus


def write(tmp_path: Path, data: bytes, name: str = "corpus.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def first_error(path: Path) -> tuple[int, int, str]:
    with pytest.raises(FormatError) as caught:
        list(iter_corpus(path))
    [problem] = caught.value.problems
    return problem.line, problem.column, problem.message


def test_cacm_corpus_streams_all_documents() -> None:
    if not CACM.is_dir():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    docs = list(iter_corpus(CACM / "cacm.jsonl"))
    assert len(docs) == 3204
    assert len({d.doc_id for d in docs}) == 3204
    assert docs[0].doc_id == "CACM-2636"
    assert docs[0].contents.startswith("Generation of Random Correlated Normal Variables (Algorithm R425)")
    assert docs[0].title == ""


def test_pyserini_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path, b'{"id": "a", "contents": "first doc"}\n\n{"id": "b", "contents": "second", "title": "T"}\n'
    )
    assert list(iter_corpus(path)) == [Document("a", "first doc"), Document("b", "second", "T")]


def test_beir_layout_joins_title_and_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b'{"_id": "d1", "title": "Statins", "text": "lower cholesterol", "metadata": {}}\n'
        b'{"_id": "d2", "title": "", "text": "no title"}\n'
        b'{"_id": "d3", "text": "title key absent"}\n',
    )
    assert list(iter_corpus(path)) == [
        Document("d1", "Statins lower cholesterol", "Statins"),
        Document("d2", "no title", ""),
        Document("d3", "title key absent", ""),
    ]


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, b'\xef\xbb\xbf{"id": "a", "contents": "x"}\r\n{"id": "b", "contents": "y"}\r\n')
    assert [d.doc_id for d in iter_corpus(path)] == ["a", "b"]


def test_reading_is_lazy_until_the_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"id": "a", "contents": "x"}\n{"id": "a", "contents": "y"}\n')
    docs = iter_corpus(path)
    assert next(docs).doc_id == "a"
    with pytest.raises(FormatError, match=r"corpus.jsonl:2: error: duplicate document id 'a'"):
        next(docs)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"id": "a", "contents": "x"\n', (1, 28, "bad JSON: Expecting ',' delimiter at column 28")),
        (b'"just a string"\n', (1, 0, "expected a JSON object, found a string")),
        (
            b'{"contents": "x"}\n',
            (1, 0, "missing document id: the object has none of the keys 'id', '_id', 'docid', 'doc_id'"),
        ),
        (b'{"_id": 12, "text": "x"}\n', (1, 0, "document id ('_id') must be a string, found an integer")),
        (b'{"id": "", "contents": "x"}\n', (1, 0, "document id '' is empty")),
        (b'{"id": "a b", "contents": "x"}\n', (1, 0, "document id 'a b' contains whitespace")),
        (
            b'{"id": "a", "body": "x"}\n',
            (1, 0, "missing document text for 'a': expected a 'contents' or a 'text' key"),
        ),
        (
            b'{"id": "a", "contents": ["x"]}\n',
            (1, 0, "'contents' of document 'a' must be a string, found an array"),
        ),
        (
            b'{"_id": "a", "title": 3, "text": "x"}\n',
            (1, 0, "'title' of document 'a' must be a string, found an integer"),
        ),
        (b'{"id": "a", "contents": " \\n "}\n', (1, 0, "empty document 'a': its 'contents' is blank")),
        (b'{"id": "a", "contents": "caf\xe9"}\n', (1, 29, "bytes that are not UTF-8 (byte 0xe9)")),
        (b"\n\n", (0, 0, "empty file: no documents")),
    ],
)
def test_errors(tmp_path: Path, data: bytes, expected: tuple[int, int, str]) -> None:
    assert first_error(write(tmp_path, data)) == expected


def test_missing_file(tmp_path: Path) -> None:
    assert first_error(tmp_path / "absent.jsonl") == (0, 0, "no such file")


def test_empty_document_can_be_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, b'{"id": "a", "contents": ""}\n{"id": "b", "contents": "x"}\n')
    with caplog.at_level(logging.WARNING, logger="ragbench.formats.corpus"):
        docs = list(iter_corpus(path, empty="warning"))
    assert [d.doc_id for d in docs] == ["a", "b"]
    assert "corpus.jsonl:1: warning: empty document 'a'" in caplog.text


def test_check_corpus_lists_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b'{"id": "a", "contents": "x"}\n{"id": "a", "contents": "y"}\nnot json\n{"id": "c", "contents": ""}\n',
    )
    problems = list(check_corpus(path, name="c.jsonl"))
    assert [(p.file, p.line, p.severity) for p in problems] == [
        ("c.jsonl", 2, "error"),
        ("c.jsonl", 3, "error"),
        ("c.jsonl", 4, "error"),
    ]
    assert [p.severity for p in check_corpus(path, empty="warning")] == ["error", "error", "warning"]


def test_corpus_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, b"abc")
    assert corpus_hash(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    big = write(tmp_path, bytes(range(256)) * 20_000, "big.jsonl")
    assert corpus_hash(big) == hashlib.sha256(big.read_bytes()).hexdigest()
    with pytest.raises(FormatError, match="no such file"):
        corpus_hash(tmp_path / "absent.jsonl")


# -- TREC SGML (as Anserini's TrecCollection reads it; the integration test compares with Anserini) --

SGML = b"""<DOC>
<DOCNO> LA010189-0001 </DOCNO>
<DOCID> 1 </DOCID>
<HEADLINE>
<P>
Tom &amp; Jerry
</P>
</HEADLINE>
<BYLINE>By someone</BYLINE>
<TEXT>
<P>First para&hyph;graph.</P><P>Second</P>
in<B>line</B>word
</TEXT>
</DOC>
<DOC>
<DOCNO>
d2
</DOCNO>
<TITLE>A title</TITLE>
<TEXT>only text</TEXT>
</DOC>
"""


def test_trec_sgml_keeps_the_anserini_fields(tmp_path: Path) -> None:
    # Kept: HEADLINE then TEXT, in file order; dropped: DOCID and BYLINE. <P> separates words,
    # <B> does not; &amp; is decoded, the unknown &hyph; stays as written. A <DOCNO> may span lines.
    docs = list(iter_corpus(write(tmp_path, SGML, "corpus.trec")))
    assert docs == [
        Document("LA010189-0001", "Tom & Jerry First para&hyph;graph. Second inlineword"),
        Document("d2", "A title only text"),
    ]


def test_trec_sgml_is_detected_from_content_and_read_gzipped(tmp_path: Path) -> None:
    import gzip

    plain = list(iter_corpus(write(tmp_path, SGML, "no-extension")))
    zipped = list(iter_corpus(write(tmp_path, gzip.compress(SGML), "corpus.jsonl.gz")))  # the name lies
    assert zipped == plain
    assert [d.doc_id for d in plain] == ["LA010189-0001", "d2"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<DOC>\n<TEXT>x</TEXT>\n</DOC>\n", (1, "this <DOC> has no <DOCNO> line before </DOC> on line 3")),
        (b"<DOC>\n<DOCNO> a\n<TEXT>x</TEXT>\n</DOC>\n", (2, "unclosed <DOCNO>: </DOC> on line 4 comes first")),
        (b"<DOC>\n<DOCNO> a </DOCNO>\n<TEXT>x</TEXT>\n", (1, "unclosed <DOC>: no </DOC> before the end of the file")),
        (
            b"<DOC>\n<DOCNO> a </DOCNO>\n<DOC>\n<DOCNO> b </DOCNO>\n<TEXT>x</TEXT>\n</DOC>\n",
            (1, "unclosed <DOC>: <DOC> on line 3 comes before its </DOC>"),
        ),
        (b"<DOC>\n  <DOCNO> a </DOCNO>\n</DOC>\n", (2, "<DOCNO> must start its line (Anserini does not see it indented)")),
        (b"<DOC>\n<DOCNO>  </DOCNO>\n<TEXT>x</TEXT>\n</DOC>\n", (2, "document id in <DOCNO> is empty")),
        (b"<DOC>\n<DOCNO> a b </DOCNO>\n<TEXT>x</TEXT>\n</DOC>\n", (2, "document id in <DOCNO> 'a b' contains whitespace")),
        (
            b"<DOC>\n<DOCNO> a </DOCNO>\n<BYLINE>x</BYLINE>\n</DOC>\n",
            (1, "empty document 'a': none of the fields TEXT, HEADLINE, TITLE, HL, HEAD, TTL, DD, DATE, LP, "
             "LEADPARA holds text"),
        ),
        (
            b"<DOC>\n<DOCNO> a </DOCNO>\n<TEXT>x</TEXT>\n</DOC>\n<DOC>\n<DOCNO> a </DOCNO>\n<TEXT>y</TEXT>\n</DOC>\n",
            (5, "duplicate document id 'a' (first on line 1)"),
        ),
        (b"<DOC>\n<DOCNO> a </DOCNO>\n<TEXT>caf\xe9</TEXT>\n</DOC>\n", (3, "bytes that are not UTF-8 (byte 0xe9)")),
    ],
)  # fmt: skip
def test_trec_sgml_errors(tmp_path: Path, data: bytes, expected: tuple[int, str]) -> None:
    line, _, message = first_error(write(tmp_path, data, "c.trec"))
    assert (line, message) == expected


def test_trec_sgml_text_outside_documents_is_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path, b"junk\nmore junk\n" + SGML, "c.trec")
    problems = list(check_corpus(path))
    assert [(p.line, p.severity) for p in problems] == [(1, "warning")]
    assert "text outside any <DOC> ... </DOC> is ignored: 'junk'" in problems[0].message
    assert len(list(iter_corpus(path))) == 2


# -- TSV (MS MARCO's collection.tsv; BEIR-like columns with a header) -------------------------------


def test_tsv_two_columns_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, b"0\tThe presence of communication\r\n\n7\t  spaced  \n", "collection.tsv")
    assert list(iter_corpus(path)) == [
        Document("0", "The presence of communication"),
        Document("7", "spaced"),
    ]


def test_tsv_header_names_the_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path, b"docid\ttitle\ttext\turl\nd1\tStatins\tlower cholesterol\thttp://x\nd2\t\tno title\tu\n"
    )
    assert list(iter_corpus(path, format="tsv")) == [
        Document("d1", "Statins lower cholesterol", "Statins"),
        Document("d2", "no title", ""),
    ]


def test_tsv_first_line_that_only_looks_like_a_header_is_data(tmp_path: Path) -> None:
    path = write(tmp_path, b"id\tsome passage about ids\n", "c.tsv")
    assert list(iter_corpus(path)) == [Document("id", "some passage about ids")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"1\ta\tb\n",
            (1, "expected 2 tab-separated columns (id<TAB>text), found 3; a first line naming the columns "
             "(e.g. id<TAB>title<TAB>text) allows more"),
        ),
        (b"id\ttitle\ttext\n1\tt\n", (2, "expected 3 columns as the header names, found 2")),
        (b"\tsome text\n", (1, "document id '' is empty")),
        (b"a b\tsome text\n", (1, "document id 'a b' contains whitespace")),
        (b"1\t  \n", (1, "empty document '1': its text is blank")),
        (b"1\tx\n2\ty\n1\tz\n", (3, "duplicate document id '1' (first on line 1)")),
    ],
)  # fmt: skip
def test_tsv_errors(tmp_path: Path, data: bytes, expected: tuple[int, str]) -> None:
    line, _, message = first_error(write(tmp_path, data, "c.tsv"))
    assert (line, message) == expected


# -- gzip and formats --------------------------------------------------------------------------------


def test_gzip_is_told_from_the_bytes_and_a_cut_stream_is_an_error(tmp_path: Path) -> None:
    import gzip

    data = b'{"id": "a", "contents": "x"}\n{"id": "b", "contents": "y"}\n'
    packed = gzip.compress(data)
    assert list(iter_corpus(write(tmp_path, packed, "c.jsonl"))) == list(
        iter_corpus(write(tmp_path, data, "p"))
    )
    with pytest.raises(FormatError, match="the gzip data is corrupt or cut short"):
        list(iter_corpus(write(tmp_path, packed[: len(packed) // 2], "cut.jsonl.gz")))


def test_a_file_in_no_format_says_what_its_first_line_is(tmp_path: Path) -> None:
    line, _, message = first_error(write(tmp_path, b"\nsome words without a tab\n", "c.txt"))
    assert line == 1
    assert message.startswith("not a corpus format: the first line is 'some words without a tab'")


def test_explicit_format_overrides_detection_and_unknown_ones_are_input_errors(tmp_path: Path) -> None:
    from ragbench.errors import InputError

    path = write(tmp_path, b"a\tb\n", "c.jsonl")
    assert list(iter_corpus(path)) == [Document("a", "b")]  # detected as TSV despite the name
    with pytest.raises(FormatError, match="bad JSON"):
        list(iter_corpus(path, format="jsonl"))
    with pytest.raises(InputError, match="unknown corpus format 'xml'"):
        list(iter_corpus(path, format="xml"))


def test_reading_streams_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    def peak(megabytes: int) -> int:
        text = b"word " * 400  # 2,000 bytes a document
        path = write(tmp_path, b"".join(b"%d\t%s\n" % (i, text) for i in range(megabytes * 500)), "c.tsv")
        tracemalloc.start()
        for _ in iter_corpus(path):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    # Documents are held back in batches of at most 4 MiB of text (for the duplicate check), so
    # 16 MB of text takes the memory of 8 MB (plus 8 bytes per id), not twice as much.
    small, large = peak(8), peak(16)
    assert small < 12 << 20
    assert large - small < 1 << 20

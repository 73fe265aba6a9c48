"""read_topics: TREC <top>, SGML <DOC>, TSV and JSONL layouts, detection, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import CACM

from ragbench.errors import FormatError, InputError
from ragbench.formats import read_topics
from ragbench.formats.topics import Topic

CLASSIC = b"""<top>
<num> Number: 301
<title> International Organized Crime

<desc> Description:
Identify organizations that participate in international criminal
activity, the activity, and, if possible, collaborating organizations
and the countries involved.

<narr> Narrative:
A relevant document must as a minimum identify the organization and the
type of illegal activity.
</top>

<top>
<num> Number: 302
<title> Poliomyelitis and Post-Polio

<desc> Description:
Is the disease of Poliomyelitis (polio) under control in the world?

<narr> Narrative:
Relevant documents should contain data or outbreaks of the polio disease.
</top>
"""


@pytest.fixture(scope="module")
def cacm() -> Path:
    if not CACM.is_dir():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    return CACM


def errors(data: bytes, **kwargs: object) -> list[tuple[int, int, str]]:
    with pytest.raises(FormatError) as caught:
        read_topics(data, **kwargs)  # type: ignore[arg-type]
    return [(p.line, p.column, p.message) for p in caught.value.problems]


# -- the CACM topics (SGML <DOC> form) -----------------------------------------------------------


def test_cacm_topics_read_all_64_with_topic_1_text(cacm: Path) -> None:
    topics = read_topics(cacm / "topics.cacm.txt")
    assert len(topics) == 64
    assert [t.query_id for t in topics] == [str(i) for i in range(1, 65)]
    assert topics[0].title == (
        "What articles exist which deal with TSS (Time Sharing System), an operating system for IBM computers?"
    )
    assert topics[0].fields == {"docno": "1", "text": topics[0].title}
    assert (
        topics[1].title
        == "I am interested in articles written either by Prieve or Udo Pooch Prieve, B. Pooch, U."
    )
    assert topics[63].title.startswith("List all articles on EL1 and ECL (EL1 may be given as EL/1;")
    assert all(t.description == "" and t.narrative == "" for t in topics)


def test_cacm_topics_read_the_same_with_explicit_format(cacm: Path) -> None:
    path = cacm / "topics.cacm.txt"
    assert read_topics(path, "sgml") == read_topics(path) == read_topics(path, "trec")


# -- TREC <top> ------------------------------------------------------------------------------------


def test_classic_trec_topics_with_unclosed_tags_and_labels() -> None:
    first, second = read_topics(CLASSIC, name="topics.301-302")
    assert first == Topic(
        query_id="301",
        title="International Organized Crime",
        description=(
            "Identify organizations that participate in international criminal activity, the activity, "
            "and, if possible, collaborating organizations and the countries involved."
        ),
        narrative=(
            "A relevant document must as a minimum identify the organization and the type of illegal activity."
        ),
        fields=first.fields,
    )
    assert set(first.fields) == {"num", "title", "desc", "narr"}
    assert first.fields["num"] == "301"
    assert second.query_id == "302"
    assert second.title == "Poliomyelitis and Post-Polio"


def test_closed_tags_on_one_line_and_mixed_forms() -> None:
    data = (
        b"<top><num>51</num><title>Airbus Subsidies</title><desc>Document will discuss Airbus.</desc></top>\n"
        b"<TOP>\n<NUM> Number: 052\n<TITLE> Topic: South African Sanctions </TITLE>\n"
        b"<smry> Summary: sanctions against South Africa\n<con> Concept(s): 1. sanctions\n</TOP>\n"
    )
    a, b = read_topics(data)
    assert (a.query_id, a.title, a.description) == ("51", "Airbus Subsidies", "Document will discuss Airbus.")
    assert b.query_id == "052"  # kept as written: trec_eval compares ids as strings
    assert b.title == "South African Sanctions"
    assert b.fields["smry"] == "sanctions against South Africa"
    assert b.fields["con"] == "1. sanctions"


def test_topic_is_hashable_despite_its_fields_dict() -> None:
    topic = read_topics(b"1\thello\n")[0]
    assert hash(topic) == hash(Topic("1", "hello"))


# -- TSV and JSONL ---------------------------------------------------------------------------------


def test_tsv_without_header() -> None:
    topics = read_topics(b"1048585\twhat is paula deen's brother\r\n2\t  two   spaces \n\n", name="q.tsv")
    assert [(t.query_id, t.title) for t in topics] == [
        ("1048585", "what is paula deen's brother"),
        ("2", "two spaces"),
    ]
    assert topics[0].fields == {"query_id": "1048585", "query": "what is paula deen's brother"}


def test_tsv_header_row_is_detected_and_names_extra_columns() -> None:
    topics = read_topics(b"qid\tquery\tlang\n7\tdense retrieval\ten\n")
    assert topics == [
        Topic("7", "dense retrieval", fields={"qid": "7", "query": "dense retrieval", "lang": "en"})
    ]


def test_tsv_first_row_that_only_looks_like_ids_is_data() -> None:
    assert [t.query_id for t in read_topics(b"id\tsome real query about ids\n")] == ["id"]
    topics = read_topics(b"1\tquery\n2\ttext\n")
    assert [(t.query_id, t.title) for t in topics] == [("1", "query"), ("2", "text")]


@pytest.mark.parametrize(
    ("line", "query_id", "title"),
    [
        (
            b'{"_id": "PLAIN-1", "text": "Do Cholesterol Statin Drugs Cause Breast Cancer?", "metadata": {}}',
            "PLAIN-1",
            "Do Cholesterol Statin Drugs Cause Breast Cancer?",
        ),
        (b'{"qid": "5", "query": "bm25 saturation"}', "5", "bm25 saturation"),
        (b'{"query_id": 42, "title": "integer ids become strings"}', "42", "integer ids become strings"),
        (b'{"id": "x", "text": "  spaced\\n out  "}', "x", "spaced out"),
    ],
)
def test_jsonl_id_and_text_keys(line: bytes, query_id: str, title: str) -> None:
    [topic] = read_topics(line + b"\n")
    assert (topic.query_id, topic.title) == (query_id, title)


def test_jsonl_keeps_other_keys_as_fields_and_reads_description() -> None:
    [topic] = read_topics(
        b'{"qid": "1", "title": "t", "description": "d", "narrative": "n", "metadata": {"a": 1}}\n'
    )
    assert (topic.description, topic.narrative) == ("d", "n")
    assert topic.fields["metadata"] == '{"a": 1}'
    assert "qid" not in topic.fields


# -- detection -------------------------------------------------------------------------------------


def test_detection_follows_content_not_extension(tmp_path: Path) -> None:
    misnamed = tmp_path / "queries.tsv"
    misnamed.write_bytes(b'{"_id": "1", "text": "json after all"}\n')
    assert read_topics(misnamed)[0].title == "json after all"
    other = tmp_path / "queries.jsonl"
    other.write_bytes(b"\n\n<top><num>9</num><title>tags</title></top>\n")
    assert read_topics(other)[0].query_id == "9"


def test_extension_decides_when_the_content_cannot(tmp_path: Path) -> None:
    path = tmp_path / "queries.tsv"
    path.write_bytes(b"no tab here\n")
    assert errors(path.read_bytes(), name=str(path)) == [
        (1, 0, "expected query_id<TAB>query text, found no tab")
    ]


def test_explicit_format_is_obeyed() -> None:
    assert errors(b"1\thello\n", format="jsonl")[0][2] == "bad JSON: Extra data at column 3"


def test_utf8_bom_is_ignored() -> None:
    assert read_topics(b"\xef\xbb\xbf1\thello\n")[0].query_id == "1"


def test_unknown_format_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown topics format 'xml'"):
        read_topics(b"1\thello\n", "xml")  # type: ignore[arg-type]


# -- errors ----------------------------------------------------------------------------------------


def test_every_problem_is_listed_with_line_and_column() -> None:
    data = b"1\tfirst\n\tno id\n1\tagain\n3\t\n"
    assert errors(data) == [
        (2, 1, "missing query id: the id is empty"),
        (3, 1, "duplicate query id '1' (first on line 1)"),
        (4, 3, "empty query text for query id '3'"),
    ]


def test_non_utf8_bytes_and_nul_are_located() -> None:
    assert errors(b"1\tok\n2\tcaf\xe9\n3\tbad\xff\n") == [
        (2, 6, "bytes that are not UTF-8 (byte 0xe9)"),
        (3, 6, "bytes that are not UTF-8 (byte 0xff)"),
    ]
    assert errors(b"1\tok\n2\tn\x00l\n") == [(2, 4, "NUL character in line")]


def test_tag_errors() -> None:
    assert errors(b"<top>\n<num> 1\n<title> a\n") == [
        (1, 1, "unclosed tag <top>: no </top> before the end of the file")
    ]
    assert errors(b"<num> 1 </num>\n") == [
        (1, 1, "tag <num> outside any <top> or <DOC> block"),
        (1, 7, "text outside any <top> or <DOC> block: '1'"),
        (1, 9, "tag </num> outside any <top> or <DOC> block"),
    ]
    assert errors(b"<top><num>1</num><title>a</title></DOC>\n") == [
        (1, 34, "closing tag </DOC> does not match <top> on line 1")
    ]


def test_id_with_whitespace_hints_at_a_missing_closing_tag() -> None:
    assert errors(b"<top><num>1 2</num><title>a</title></top>\n") == [
        (1, 6, "query id '1 2' contains whitespace; is a closing tag missing?")
    ]


def test_empty_and_missing_files() -> None:
    assert errors(b"") == [(0, 0, "empty file: no topics")]
    assert errors(b"\n \n") == [(0, 0, "empty file: no topics")]
    with pytest.raises(FormatError, match="no such file"):
        read_topics("/nonexistent/topics.txt")


def test_error_message_is_compiler_style() -> None:
    with pytest.raises(FormatError) as caught:
        read_topics(b"1\tx\n1\ty\n", name="q.tsv")
    assert str(caught.value) == "q.tsv:2:1: error: duplicate query id '1' (first on line 1)"

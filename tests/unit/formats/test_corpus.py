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

"""read_lengths: the doc_id snippet_chars doc_chars file of the character-cost session measures."""

from __future__ import annotations

import hashlib

import pytest

from ragbench.errors import FormatError
from ragbench.formats.lengths import read_lengths


def test_lengths_and_the_file_digest() -> None:
    data = b"# doc snippet doc\nd1 120 5000\n\nd2\t80.5\t1200\n"
    lengths = read_lengths(data, name="lengths.txt")
    assert lengths.lengths == {"d1": (120.0, 5000.0), "d2": (80.5, 1200.0)}
    assert lengths.sha256 == hashlib.sha256(data).hexdigest()
    assert lengths.source == "lengths.txt"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"d1 120\n", [(1, 0, "expected 3 fields (doc_id snippet_chars doc_chars), found 2")]),
        (b"d1 -1 5\n", [(1, 4, "snippet length '-1' is not a finite number >= 0")]),
        (b"d1 1 inf\n", [(1, 6, "document length 'inf' is not a finite number >= 0")]),
        (b"d1 many 5\n", [(1, 4, "snippet length 'many' is not a finite number >= 0")]),
        (b"d1 1 2\nd1 3 4\n", [(2, 0, "document 'd1' is listed twice (first on line 1)")]),
        (b"# nothing\n", [(0, 0, "empty file: no document lengths")]),
        (b"d1 1\nd2 x 1\n", [(1, 0, "expected 3 fields (doc_id snippet_chars doc_chars), found 2"),
                             (2, 4, "snippet length 'x' is not a finite number >= 0")]),
    ],
)  # fmt: skip
def test_every_problem_with_line_and_column(data: bytes, expected: list[tuple[int, int, str]]) -> None:
    with pytest.raises(FormatError) as caught:
        read_lengths(data, name="l.txt")
    assert [(p.line, p.column, p.message) for p in caught.value.problems] == expected

"""Document lengths for the character-cost session measures (``NUM(cost=chars)``).

One line per document, whitespace-separated, ``#`` comments and blank lines skipped::

    doc_id  snippet_chars  doc_chars

Both lengths are finite numbers >= 0 (characters of the result snippet, and of the document).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ragbench.formats.lines import ProblemList, Source, column_of, content_lines, load, parse_float
from ragbench.formats.problems import Problem

COLUMNS = "doc_id snippet_chars doc_chars"


@dataclass(frozen=True)
class DocLengths:
    """Snippet and document lengths per document id, and the SHA-256 of the file they came from
    (recorded in the fingerprint of every score computed with them)."""

    lengths: dict[str, tuple[float, float]]
    sha256: str
    source: str


def read_lengths(source: Source, *, name: str | None = None) -> DocLengths:
    """Read a lengths file (see the module docstring).

    Raises:
        FormatError: listing every problem (up to 50) with file, line and column: a wrong field
            count, a length that is not a finite number >= 0, a document listed twice, bytes that
            are not UTF-8, an empty file.
    """
    data, name = load(source, name)
    problems = ProblemList()
    lengths: dict[str, tuple[float, float]] = {}
    first: dict[str, int] = {}
    for number, fields in content_lines(data, name, problems):
        if len(fields) != 3:
            problems.append(Problem(name, number, f"expected 3 fields ({COLUMNS}), found {len(fields)}"))
            continue
        values = []
        for index in (1, 2):
            value = parse_float(fields[index])
            if value is None or not 0 <= value < float("inf"):
                what = "snippet" if index == 1 else "document"
                problems.append(
                    Problem(
                        name, number, f"{what} length {fields[index]!r} is not a finite number >= 0",
                        column_of(fields, index),
                    )
                )  # fmt: skip
                break
            values.append(value)
        else:
            doc = fields[0]
            if doc in first:
                problems.append(
                    Problem(name, number, f"document {doc!r} is listed twice (first on line {first[doc]})")
                )
                continue
            first[doc] = number
            lengths[doc] = (values[0], values[1])
    if not problems and not lengths:
        problems.append(Problem(name, 0, "empty file: no document lengths"))
    problems.raise_if_any()
    return DocLengths(lengths, hashlib.sha256(data).hexdigest(), name)

"""Reading line-oriented text files: loading, splitting into fields, numbers, collecting problems.

Every whitespace-separated format ragbench reads (TREC runs and qrels, session files, length
files) goes through these, so they all accept the same syntax and report problems the same way
(file, line, column, message; at most :data:`MAX_PROBLEMS` listed, the rest counted).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ragbench.errors import FormatError
from ragbench.formats.problems import Problem

MAX_PROBLEMS = 50
"""Problems listed in one error; the rest are counted."""
Source = str | os.PathLike[str] | bytes
"""A path, or a file's bytes."""


def load(source: Source, name: str | None) -> tuple[bytes, str]:
    """The bytes of a file (decompressed when gzip; a leading UTF-8 byte-order mark removed) and
    its name for messages."""
    if isinstance(source, bytes):
        return _gunzip(source, name or "<memory>").removeprefix(b"\xef\xbb\xbf"), name or "<memory>"
    path = Path(source)
    try:
        data = _gunzip(path.read_bytes(), name or str(source))
        return data.removeprefix(b"\xef\xbb\xbf"), name or str(source)
    except FileNotFoundError:
        raise FormatError([Problem(name or str(source), 0, "no such file")]) from None
    except IsADirectoryError:
        raise FormatError([Problem(name or str(source), 0, "is a directory, not a file")]) from None
    except PermissionError:
        raise FormatError([Problem(name or str(source), 0, "permission denied")]) from None


def _gunzip(data: bytes, name: str) -> bytes:
    """``data`` decompressed when it starts with gzip's magic bytes, else as it is."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    import gzip
    import zlib

    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError([Problem(name, 0, f"the gzip data is corrupt or cut short: {exc}")]) from None


class ProblemList(list[Problem]):
    """Keeps the first MAX_PROBLEMS problems and counts the rest."""

    more: int = 0

    def append(self, problem: Problem) -> None:
        if len(self) < MAX_PROBLEMS:
            super().append(problem)
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if self:
            raise FormatError(list(self), more=self.more)


WORDS = frozenset({"inf", "infinity", "nan"})


def parse_float(token: str) -> float | None:
    """A decimal number (``1``, ``-2.5``, ``.5e-3``, ``inf``), or None; the C reader's syntax exactly."""
    body = token.lstrip("+-")
    if not token.isascii() or "_" in token or len(token) >= 64:
        return None
    if token[:1] in "+-" and token[1:2] in "+-":
        return None
    if body.lower() in WORDS or all(c in "0123456789.eE+-" for c in body):
        try:
            return float(token)
        except ValueError:
            return None
    return None


def parse_int(token: str) -> int | None:
    """``[+-]digits`` with at most 18 digits, or None; the C reader's syntax exactly."""
    digits = token[1:] if token[:1] in "+-" else token
    if not digits or len(digits) > 18 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(token)


def content_lines(data: bytes, name: str, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) of each content line; record encoding problems.

    Fields are separated by ASCII whitespace (space, tab, CR, VT, FF), as C's isspace and
    trec_eval do; a line whose first field starts with ``#`` is a comment.
    """
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if b"\x00" in raw:
            problems.append(Problem(name, lineno, "NUL character in line", raw.index(b"\x00") + 1))
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(
                    name, lineno, f"bytes that are not UTF-8 (byte 0x{raw[exc.start]:02x})", exc.start + 1
                )
            )
            continue
        fields = raw.split()
        if not fields or fields[0].startswith(b"#"):
            continue
        yield lineno, [f.decode("utf-8") for f in fields]


def column_of(fields: list[str], index: int) -> int:
    """Column (1-based) of field ``index`` as if fields were separated by single spaces: exact
    enough to point an editor at the token without keeping the raw line around."""
    return sum(len(f) + 1 for f in fields[:index]) + 1

"""The pieces of the careful session readers that deal with one line or one value at a time.

They tell whether a file is JSONL, yield its content lines (skipping blank and comment lines and
naming bad bytes), split them into TSV fields or JSON objects (naming bad JSON and unknown keys),
and check one id, integer, query index or JSON value, raising :class:`_Bad` with the message and
the field it is about, which the readers turn into a :class:`~ragbench.formats.problems.Problem`
with its column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from ragbench.formats._columns import WHITESPACE
from ragbench.formats._session_types import HEADER, MAX_QUERY_INDEX
from ragbench.formats.corpus import decode_problem, json_problem, json_type
from ragbench.formats.lines import ProblemList, parse_int
from ragbench.formats.problems import Problem

_HAS_WHITESPACE = re.compile(f"[{WHITESPACE}\n]").search


class _Bad(Exception):
    """What is wrong with one line, and the field it is in (-1: the line as a whole)."""

    def __init__(self, message: str, field: int = -1) -> None:
        super().__init__(message)
        self.message, self.field = message, field

    def problem(
        self, name: str, lineno: int, fields: list[str] | None = None, separator: str = "\t"
    ) -> Problem:
        """The problem, with the field's column when ``fields`` are the line's fields as written."""
        column = _column(fields, self.field, separator) if fields is not None and self.field >= 0 else 0
        return Problem(name, lineno, self.message, column)


def _is_jsonl(data: bytes, name: str) -> bool:
    if PurePath(name).suffix.lower() in (".jsonl", ".json"):
        return True
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].strip()
        if line and not line.startswith(b"#"):
            return line.startswith(b"{")
        pos = end + 1
    return False


def _text_lines(data: bytes, name: str, problems: ProblemList) -> Iterator[tuple[int, str]]:
    """(line number, text without the line end) of each line that is neither blank nor a comment."""
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if b"\x00" in raw:
            problems.append(Problem(name, lineno, "NUL character in line", raw.index(b"\x00") + 1))
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(
                decode_problem(raw, name, lineno) or Problem(name, lineno, "bytes that are not UTF-8")
            )
            continue
        stripped = line.strip(WHITESPACE)
        if stripped and not stripped.startswith("#"):
            yield lineno, line.removesuffix("\r")


def _tsv_lines(data: bytes, name: str, problems: ProblemList) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line, fields stripped, fields as written) of each TSV content line, the header skipped."""
    first = True
    for lineno, line in _text_lines(data, name, problems):
        raw = line.split("\t")
        fields = [f.strip(WHITESPACE) for f in raw]
        if first:
            first = False
            if fields[0] == HEADER:
                continue
        yield lineno, fields, raw


def _json_lines(
    data: bytes, name: str, problems: ProblemList, keys: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, Any], None]]:
    """(line, object, None) of each JSONL content line whose object has only the ``keys`` allowed."""
    for lineno, line in _text_lines(data, name, problems):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, lineno, json_problem(exc), exc.colno))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(name, lineno, f"expected a JSON object, found {json_type(obj)}"))
            continue
        unknown = next((k for k in obj if k not in keys), None)
        if unknown is not None:
            problems.append(
                Problem(name, lineno, f"unknown key {unknown!r} (the keys are {', '.join(keys)})")
            )
            continue
        yield lineno, obj, None


def _column(fields: list[str], index: int, separator: str = "\t") -> int:
    """1-based column of field ``index`` of a line split on ``separator`` (exact for tabs)."""
    return sum(len(f) + len(separator) for f in fields[:index]) + 1


def _id(value: str, what: str, field: int = -1) -> str:
    if not value:
        raise _Bad(f"empty {what}", field)
    if _HAS_WHITESPACE(value):
        raise _Bad(f"{what} {value!r} contains whitespace", field)
    return value


def _int(token: str, what: str, field: int = -1) -> int:
    value = parse_int(token)
    if value is None:
        raise _Bad(f"{what} {token!r} is not an integer", field)
    return value


def _query_index(value: int, low: int, field: int = -1) -> int:
    """Check a query index; ``low`` is 1 for runs and sessions, 0 (session-level) for qrels."""
    if value < low:
        need = "1 or more" if low else "0 (a session-level label) or more"
        raise _Bad(f"query index {value} must be {need}", field)
    if value > MAX_QUERY_INDEX:
        raise _Bad(f"query index {value} is too large", field)
    return value


_JSON_TYPES = {str: "a string", int: "an integer", bool: "a boolean", type(None): "null"}


def _get(obj: dict[str, Any], key: str, *kinds: type, default: Any = ...) -> Any:
    """The value of ``key``, of one of ``kinds`` (a boolean is not an integer here); ``default``
    when the key is absent, if one is given."""
    if key not in obj:
        if default is ...:
            raise _Bad(f"missing key {key!r}")
        return default
    value = obj[key]
    if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
        return value
    raise _Bad(f"{key!r} must be {' or '.join(_JSON_TYPES[k] for k in kinds)}, found {json_type(value)}")

"""A streaming reader for JSONL document collections, and the corpus hash recorded in manifests.

One JSON object per line, in either of two layouts:

- Pyserini: ``{"id": "CACM-0001", "contents": "..."}``. ``contents`` is used as is; a ``title``
  key, if present, is kept in :attr:`Document.title` but not prepended.
- BEIR: ``{"_id": "d1", "title": "...", "text": "...", "metadata": {...}}``. ``contents`` is
  ``title + " " + text`` when the title is not blank (BEIR's own retrievers index the two
  together), else ``text``.

The id is the first of ``id``, ``_id``, ``docid``, ``doc_id`` present and must be a non-empty
JSON string without whitespace (a TREC run could not name it otherwise). Blank lines are skipped.
Documents are read one line at a time, so memory holds one line and the set of ids seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ragbench.errors import FormatError
from ragbench.formats.problems import Problem, Severity

logger = logging.getLogger(__name__)

EmptyPolicy = Literal["error", "warning"]
ID_KEYS = ("id", "_id", "docid", "doc_id")
CorpusPath = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a collection.

    Attributes:
        doc_id: the id, as written.
        contents: the text to index (see the module docstring for how BEIR titles are joined).
        title: the title when the file gives one, else empty.
    """

    doc_id: str
    contents: str
    title: str = ""


def iter_corpus(
    path: CorpusPath, *, name: str | None = None, empty: EmptyPolicy = "error"
) -> Iterator[Document]:
    """Yield the documents of a JSONL corpus in file order, reading one line at a time.

    Args:
        path: the corpus file.
        name: the name to use in messages (defaults to the path).
        empty: what a document with blank contents is: an ``error``, or a ``warning`` (the document
            is yielded and the warning logged on this module's logger).

    Raises:
        FormatError: at the first problem (file, line, column, message): bytes that are not UTF-8,
            bad JSON, a line that is not an object, a missing, non-string, empty or duplicate id,
            missing or non-string text, an empty document (unless ``empty="warning"``), an
            unreadable or empty file. Use :func:`check_corpus` to list every problem.
    """
    for item in _scan(path, name or str(path), empty):
        if isinstance(item, Document):
            yield item
        elif item.severity == "error":
            raise FormatError([item])
        else:
            logger.warning("%s", item.render())


def check_corpus(
    path: CorpusPath, *, name: str | None = None, empty: EmptyPolicy = "error"
) -> Iterator[Problem]:
    """Yield every problem of a JSONL corpus (errors and warnings), reading the whole file once.

    Args:
        path: the corpus file.
        name: the name to use in messages (defaults to the path).
        empty: the severity of a document with blank contents.
    """
    for item in _scan(path, name or str(path), empty):
        if isinstance(item, Problem):
            yield item


def corpus_hash(path: CorpusPath) -> str:
    """The SHA-256 of the file's bytes, as 64 lower-case hex digits, read in chunks.

    Raises:
        FormatError: the file cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise FormatError([Problem(str(path), 0, _os_message(exc))]) from None


def decode_problem(raw: bytes, name: str, lineno: int) -> Problem | None:
    """A problem for a line that is not UTF-8 (column: the first bad byte, 1-based), else None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(name, lineno, f"bytes that are not UTF-8 (byte 0x{raw[exc.start]:02x})", exc.start + 1)
    return None


def json_problem(exc: json.JSONDecodeError) -> str:
    """A plain sentence for a JSON syntax error, with the column where the parser stopped."""
    where = "" if exc.msg.endswith(" at") else " at"  # "Unterminated string starting at"
    return f"bad JSON: {exc.msg}{where} column {exc.colno}"


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _os_message(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read the file: {exc.strerror or exc}"


def _scan(path: CorpusPath, name: str, empty: EmptyPolicy) -> Iterator[Document | Problem]:
    """Yield each document, and each problem, in file order."""
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed by the with below, after the checks
    except OSError as exc:
        yield Problem(name, 0, _os_message(exc))
        return
    seen: set[str] = set()
    count = 0
    with handle:
        for lineno, raw in enumerate(handle, start=1):
            if lineno == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            problem = decode_problem(raw, name, lineno)
            if problem is not None:
                yield problem
                continue
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line.strip():
                continue
            count += 1
            yield from _parse_line(line, lineno, name, empty, seen)
    if count == 0:
        yield Problem(name, 0, "empty file: no documents")


def _parse_line(
    line: str, lineno: int, name: str, empty: EmptyPolicy, seen: set[str]
) -> Iterator[Document | Problem]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        yield Problem(name, lineno, json_problem(exc), exc.colno)
        return
    if not isinstance(obj, dict):
        yield Problem(name, lineno, f"expected a JSON object, found {json_type(obj)}")
        return
    id_key = next((k for k in ID_KEYS if k in obj), None)
    if id_key is None:
        keys = ", ".join(repr(k) for k in ID_KEYS)
        yield Problem(name, lineno, f"missing document id: the object has none of the keys {keys}")
        return
    doc_id = obj[id_key]
    if not isinstance(doc_id, str):
        yield Problem(name, lineno, f"document id ({id_key!r}) must be a string, found {json_type(doc_id)}")
        return
    if doc_id.split() != [doc_id]:
        what = "is empty" if not doc_id.strip() else "contains whitespace"
        yield Problem(name, lineno, f"document id {doc_id!r} {what}")
        return
    if doc_id in seen:
        yield Problem(name, lineno, f"duplicate document id {doc_id!r} (it appears on an earlier line)")
        return
    seen.add(doc_id)
    text_key = "contents" if "contents" in obj else "text" if "text" in obj else None
    if text_key is None:
        yield Problem(
            name, lineno, f"missing document text for {doc_id!r}: expected a 'contents' or a 'text' key"
        )
        return
    text, title = obj[text_key], obj.get("title", "")
    for key, value in ((text_key, text), ("title", title)):
        if not isinstance(value, str):
            yield Problem(
                name, lineno, f"{key!r} of document {doc_id!r} must be a string, found {json_type(value)}"
            )
            return
    contents = f"{title} {text}" if text_key == "text" and title.strip() else text
    if not contents.strip():
        severity: Severity = empty
        yield Problem(
            name, lineno, f"empty document {doc_id!r}: its {text_key!r} is blank", severity=severity
        )
        if severity == "error":
            return
    yield Document(doc_id, contents, title)

"""Streaming readers for document collections in the formats people have, and the corpus hash.

Three formats, each optionally gzip-compressed (told from the bytes, not the name), detected from
the content (:func:`sniff_corpus`) or named (``format=``):

- ``jsonl``, one JSON object per line, in either of two layouts:

  - Pyserini: ``{"id": "CACM-0001", "contents": "..."}``. ``contents`` is used as is; a
    ``title`` key, if present, is kept in :attr:`Document.title` but not prepended.
  - BEIR: ``{"_id": "d1", "title": "...", "text": "...", "metadata": {...}}``. ``contents`` is
    ``title + " " + text`` when the title is not blank (BEIR's own retrievers index the two
    together), else ``text``.

  The id is the first of ``id``, ``_id``, ``docid``, ``doc_id`` present and must be a JSON string.
- ``trec``: TREC SGML (``<DOC>`` / ``<DOCNO>`` with ``TEXT``, ``HEADLINE``, ``TITLE``... fields),
  read as Anserini's ``TrecCollection`` reads it (:mod:`ragbench.formats._trec_corpus`).
- ``tsv``: ``id<TAB>text`` per line (MS MARCO's ``collection.tsv``). A first line naming the
  columns (``id``/``docid``/``pid``..., then ``text``/``contents``/``passage``/``body``, ``title``,
  ``url``...) is a header; then ``title`` and the text are joined as in BEIR and other named
  columns are ignored. Without a header every line has exactly two columns.

In every format an id must be non-empty and hold no whitespace (a TREC run could not name it
otherwise) and appear once. Blank lines are skipped. Documents are read one line at a time and
handed on in batches of at most 4 MiB of text (the duplicate check looks at a batch at once), so
memory holds one batch and 8 bytes per id seen, whatever the size of the collection.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from ragbench.errors import FormatError, InputError
from ragbench.formats._corpus_ids import unique_ids
from ragbench.formats._trec_corpus import TrecDocument, scan_trec
from ragbench.formats.problems import Problem, Severity

logger = logging.getLogger(__name__)

EmptyPolicy = Literal["error", "warning"]
CorpusFormat = Literal["jsonl", "trec", "tsv"]
CORPUS_FORMATS: tuple[str, ...] = ("auto", "jsonl", "trec", "tsv")
FORMAT_NAMES = {"jsonl": "JSONL", "trec": "TREC SGML", "tsv": "TSV"}
ID_KEYS = ("id", "_id", "docid", "doc_id")
TSV_IDS = frozenset({"id", "_id", "docid", "doc_id", "doc-id", "pid", "did", "docno", "corpus-id"})
TSV_TEXTS = ("contents", "text", "passage", "body", "document")
CorpusPath = str | os.PathLike[str]
GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a collection.

    Attributes:
        doc_id: the id, as written.
        contents: the text to index (see the module docstring for each format).
        title: the title when the file gives one separately (JSONL, TSV), else empty.
    """

    doc_id: str
    contents: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class CorpusInfo:
    """What a corpus file is: its format and whether it is gzip-compressed."""

    format: CorpusFormat
    gzip: bool = False

    def describe(self) -> str:
        """``TREC SGML``, ``JSONL, gzip``."""
        return FORMAT_NAMES[self.format] + (", gzip" if self.gzip else "")


def read_head(path: CorpusPath, size: int = HEAD_BYTES) -> tuple[bytes, bool]:
    """The first ``size`` bytes of the file's content (decompressed when gzip) and whether it was
    gzip. An unreadable or corrupt file gives what could be read (the reader reports the problem)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(size)
            if not raw.startswith(GZIP_MAGIC):
                return raw, False
            raw += handle.read(4 * size)  # compressed text is smaller than the text
    except OSError:
        return b"", False
    try:  # as much as decompresses, also from a truncated or corrupt stream
        return zlib.decompressobj(wbits=31).decompress(raw, size), True
    except zlib.error:
        return b"", True


def sniff_corpus(head: bytes, name: str = "") -> CorpusFormat | None:
    """The corpus format told by the first content line (``{`` JSONL, ``<DOC>`` TREC SGML, a tab
    TSV), else by the file name's extension; None when neither tells."""
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if first.startswith("{"):
        return "jsonl"
    if first.startswith("<"):
        return "trec" if "<doc>" in text.lower() else None
    if "\t" in first:
        return "tsv"
    suffixes = [s.lower() for s in PurePath(name).suffixes if s.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    return {".jsonl": "jsonl", ".json": "jsonl", ".tsv": "tsv", ".trec": "trec", ".sgml": "trec"}.get(suffix)  # type: ignore[return-value]


def corpus_info(path: CorpusPath, format: str = "auto") -> CorpusInfo:
    """The format of the corpus at ``path`` (``format="auto"``: detected from its first bytes).

    Raises:
        InputError: ``format`` is not one of :data:`CORPUS_FORMATS`.
        FormatError: the file cannot be read, is empty, or fits none of the formats (the message
            says what its first line looks like).
    """
    if format not in CORPUS_FORMATS:
        raise InputError(f"unknown corpus format {format!r}; choose one of {', '.join(CORPUS_FORMATS)}")
    name = str(path)
    try:
        Path(path).stat()
    except OSError as exc:
        raise FormatError([Problem(name, 0, _os_message(exc))]) from None
    if Path(path).is_dir():
        raise FormatError([Problem(name, 0, "is a directory, not a file")])
    head, zipped = read_head(path)
    if format != "auto":
        return CorpusInfo(format, zipped)  # type: ignore[arg-type]
    found = sniff_corpus(head, name)
    if found is None:
        raise FormatError([Problem(name, 1 if head.strip() else 0, undetected(head))])
    return CorpusInfo(found, zipped)


def undetected(head: bytes) -> str:
    """Why ``head`` is no corpus: what its first line looks like, and what each format would show."""
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if not first:
        return "empty file: no documents"
    shown = first if len(first) <= 60 else first[:57] + "..."
    return (
        f"not a corpus format: the first line is {shown!r}; expected a JSON object per line "
        '({"id": ..., "contents": ...}), TREC SGML (<DOC> <DOCNO> id </DOCNO> <TEXT> ... </DOC>) '
        "or id<TAB>text lines"
    )


def iter_corpus(
    path: CorpusPath, *, name: str | None = None, empty: EmptyPolicy = "error", format: str = "auto"
) -> Iterator[Document]:
    """Yield the documents of a corpus in file order, reading one line at a time.

    Args:
        path: the corpus file (JSONL, TREC SGML or TSV, optionally gzip-compressed).
        name: the name to use in messages (defaults to the path).
        empty: what a document with blank contents is: an ``error``, or a ``warning`` (the document
            is yielded and the warning logged on this module's logger).
        format: ``auto`` (detected) or one of ``jsonl``, ``trec``, ``tsv``.

    Raises:
        FormatError: at the first problem (file, line, column, message): bytes that are not UTF-8,
            bad JSON or SGML, a missing, empty, duplicate or whitespace-holding id, missing text,
            an empty document (unless ``empty="warning"``), an unreadable, corrupt or empty file,
            a file in none of the formats. Use :func:`check_corpus` to list every problem.
    """
    for item in scan_corpus(path, name=name, empty=empty, format=format):
        if isinstance(item, Document):
            yield item
        elif item.severity == "error":
            raise FormatError([item])
        else:
            logger.warning("%s", item.render())


def check_corpus(
    path: CorpusPath, *, name: str | None = None, empty: EmptyPolicy = "error", format: str = "auto"
) -> Iterator[Problem]:
    """Yield every problem of a corpus (errors and warnings), reading the whole file once."""
    for item in scan_corpus(path, name=name, empty=empty, format=format):
        if isinstance(item, Problem):
            yield item


def scan_corpus(
    path: CorpusPath, *, name: str | None = None, empty: EmptyPolicy = "error", format: str = "auto"
) -> Iterator[Document | Problem]:
    """Each document and each problem of a corpus, in file order (what :func:`iter_corpus` and
    :func:`check_corpus` are made of; ``validate`` counts the documents from it)."""
    label = name or str(path)
    try:
        info = corpus_info(path, format)
    except FormatError as exc:
        yield from (Problem(label, p.line, p.message, p.column, p.severity) for p in exc.problems)
        return
    count = 0  # documents and problems: a file that yields neither is empty

    def rescan() -> Iterator[tuple[int, Document] | Problem]:
        return _scan_format(path, label, info, empty)

    for item in unique_ids(rescan(), label, rescan):
        count += 1
        yield item
    if count == 0:
        yield Problem(label, 0, "empty file: no documents")


def _scan_format(
    path: CorpusPath, name: str, info: CorpusInfo, empty: Severity
) -> Iterator[tuple[int, Document] | Problem]:
    lines = _decoded_lines(path, name, info)
    if info.format == "trec":
        return _from_trec(scan_trec(lines, name, empty))
    if info.format == "tsv":
        return _scan_tsv(lines, name, empty)
    return _scan_jsonl(lines, name, empty)


def _decoded_lines(path: CorpusPath, name: str, info: CorpusInfo) -> Iterator[tuple[int, str | Problem]]:
    """``(line number, text without the line break)`` of each line, or a Problem for a line that is
    not UTF-8 or holds a NUL; a corrupt gzip stream ends the file with a problem."""
    lineno = 0
    try:
        with open(path, "rb") as raw_handle:
            handle = gzip.GzipFile(fileobj=raw_handle) if info.gzip else raw_handle
            for lineno, raw in enumerate(handle, start=1):
                if lineno == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                problem = decode_problem(raw, name, lineno)
                if problem is None and b"\x00" in raw:
                    problem = Problem(name, lineno, "NUL character in line", raw.index(b"\x00") + 1)
                yield lineno, problem if problem is not None else raw.decode("utf-8").rstrip("\r\n")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        yield lineno + 1, Problem(name, lineno + 1, f"the gzip data is corrupt or cut short: {exc}")
    except OSError as exc:
        yield lineno + 1, Problem(name, lineno + 1 if lineno else 0, _os_message(exc))


def _from_trec(items: Iterator[TrecDocument | Problem]) -> Iterator[tuple[int, Document] | Problem]:
    for item in items:
        yield item if isinstance(item, Problem) else (item.line, Document(item.doc_id, item.text))


def _check_id(doc_id: str, name: str, line: int, column: int = 0) -> Problem | None:
    if doc_id.split() != [doc_id]:
        what = "is empty" if not doc_id.strip() else "contains whitespace"
        return Problem(name, line, f"document id {doc_id!r} {what}", column)
    return None


def _empty(name: str, line: int, doc_id: str, what: str, empty: Severity) -> Problem:
    return Problem(name, line, f"empty document {doc_id!r}: its {what} is blank", severity=empty)


def _scan_tsv(
    lines: Iterator[tuple[int, str | Problem]], name: str, empty: Severity
) -> Iterator[tuple[int, Document] | Problem]:
    header: list[str] | None = None
    first = True
    for lineno, line in lines:
        if isinstance(line, Problem):
            yield line
            continue
        if not line.strip():
            continue
        parts = line.split("\t")
        if first:
            first = False
            names = [p.strip().lower() for p in parts]
            if names[0] in TSV_IDS and any(n in TSV_TEXTS or n == "title" for n in names[1:]):
                header = names
                continue
        if header is None and len(parts) != 2:
            yield Problem(
                name, lineno, f"expected 2 tab-separated columns (id<TAB>text), found {len(parts)}; "
                "a first line naming the columns (e.g. id<TAB>title<TAB>text) allows more",
            )  # fmt: skip
            continue
        if header is not None and len(parts) != len(header):
            yield Problem(
                name, lineno, f"expected {len(header)} columns as the header names, found {len(parts)}"
            )
            continue
        doc_id = parts[0].strip()
        problem = _check_id(doc_id, name, lineno)
        if problem is not None:
            yield problem
            continue
        values = dict(zip(header or ["id", "text"], parts, strict=True))
        text_key = next((k for k in TSV_TEXTS if k in values), "title")
        title = values.get("title", "").strip() if text_key != "title" else ""
        text = values.get(text_key, "").strip()
        contents = f"{title} {text}" if title else text
        if not contents.strip():
            yield _empty(name, lineno, doc_id, "text", empty)
            if empty == "error":
                continue
        yield lineno, Document(doc_id, contents, title)


def _scan_jsonl(
    lines: Iterator[tuple[int, str | Problem]], name: str, empty: Severity
) -> Iterator[tuple[int, Document] | Problem]:
    for lineno, line in lines:
        if isinstance(line, Problem):
            yield line
        elif line.strip():
            yield from _parse_json_line(line, lineno, name, empty)


def _parse_json_line(
    line: str, lineno: int, name: str, empty: Severity
) -> Iterator[tuple[int, Document] | Problem]:
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
    problem = _check_id(doc_id, name, lineno)
    if problem is not None:
        yield problem
        return
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
        yield _empty(name, lineno, doc_id, repr(text_key), empty)
        if empty == "error":
            return
    yield lineno, Document(doc_id, contents, title)


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

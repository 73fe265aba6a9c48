"""Readers for query topics: TREC ``<top>`` files, SGML ``<DOC>`` files, TSV and JSONL.

Four layouts are read into one list of :class:`Topic`:

- ``trec``: classic TREC topics, ``<top> <num> Number: 301 <title> ... <desc> Description: ...
  <narr> Narrative: ... </top>``. Field tags may be left unclosed (the classic form: a field runs
  to the next tag) or closed (``<title>...</title>``). Labels such as ``Number:``, ``Topic:``,
  ``Description:`` and ``Narrative:`` are dropped from the field text.
- ``sgml``: ``<DOC> <DOCNO> 1 </DOCNO> query text </DOC>`` (Anserini's CACM topics); the text
  after ``</DOCNO>`` is the title. ``trec`` and ``sgml`` share one parser, so either name reads
  both.
- ``tsv``: ``query_id<TAB>query`` per line (MS MARCO); a first row such as ``qid<TAB>query`` is
  taken as a header. Further columns go into ``fields``.
- ``jsonl``: one object per line (BEIR ``queries.jsonl`` and ir_datasets style); the id is the
  first of ``query_id``, ``qid``, ``_id``, ``id`` and the query the first of ``query``,
  ``title``, ``text``.

With ``format="auto"`` the layout is told from the content (the first non-blank character: ``<``
tags, ``{`` JSON; a tab in the first line means TSV), and only then from the file extension.
Whitespace runs in all text are collapsed to one space. Query ids are kept as written
(``051`` stays ``051``, as trec_eval compares ids as strings).
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal, NoReturn

from ragbench.errors import FormatError, InputError
from ragbench.formats.corpus import decode_problem, json_problem, json_type
from ragbench.formats.lines import MAX_PROBLEMS, Source, load
from ragbench.formats.problems import Problem

TopicsFormat = Literal["auto", "trec", "sgml", "tsv", "jsonl"]
FORMATS: tuple[str, ...] = ("auto", "trec", "sgml", "tsv", "jsonl")

ID_KEYS = ("query_id", "qid", "_id", "id")
TEXT_KEYS = ("query", "title", "text")
TSV_HEADER_IDS = frozenset(
    {"qid", "query_id", "queryid", "query-id", "id", "_id", "topic", "topic_id", "num"}
)
TSV_HEADER_TEXTS = frozenset({"query", "text", "title", "query_text", "question", "keywords"})


@dataclass(frozen=True, slots=True)
class Topic:
    """One query of a benchmark.

    Attributes:
        query_id: the id as written in the file.
        title: the query text: TREC ``<title>``, the text of an SGML ``<DOC>``, the TSV query
            column, or the JSONL ``query``/``title``/``text`` value.
        description: TREC ``<desc>`` (JSONL ``description``), or empty.
        narrative: TREC ``<narr>`` (JSONL ``narrative``), or empty.
        fields: every field read, keyed by lower-case tag, column or key name (``num``,
            ``title``, ``desc``, ``narr``, ``docno``, ``text``, a TSV header name, a JSON key);
            non-string JSON values are kept as their JSON text.
    """

    query_id: str
    title: str
    description: str = ""
    narrative: str = ""
    fields: dict[str, str] = field(default_factory=dict, hash=False)


def read_topics(path: Source, format: TopicsFormat = "auto", *, name: str | None = None) -> list[Topic]:
    """Read query topics in any of the layouts described in the module docstring.

    Args:
        path: a path, or the file's bytes.
        format: ``auto`` (tell from the content), ``trec``, ``sgml``, ``tsv`` or ``jsonl``.
        name: the name to use in messages (defaults to the path).

    Returns:
        The topics in file order.

    Raises:
        FormatError: listing every problem (up to 50) with file, line and column: bytes that are
            not UTF-8, NUL characters, unclosed or mismatched tags, bad JSON, a missing or
            duplicate query id, an empty query text, an empty file.
        InputError: ``format`` is not one of :data:`FORMATS`.
    """
    if format not in FORMATS:
        raise InputError(f"unknown topics format {format!r}; choose one of {', '.join(FORMATS)}")
    data, name = load(path, name)
    text = _decode(data, name)
    builder = _Builder(name)
    layout = _detect(text, name, builder) if format == "auto" else format
    if layout in ("trec", "sgml"):
        _TaggedParser(text, builder).run()
    elif layout == "tsv":
        _read_tsv(text, builder)
    elif layout == "jsonl":
        _read_jsonl(text, builder)
    if not builder.problems and not builder.topics:
        builder.problem(0, "empty file: no topics")
    if builder.problems:
        _fail(builder.problems)
    return builder.topics


def _fail(problems: list[Problem]) -> NoReturn:
    raise FormatError(problems[:MAX_PROBLEMS], more=max(0, len(problems) - MAX_PROBLEMS))


def _decode(data: bytes, name: str) -> str:
    """The file as text, without a UTF-8 BOM; FormatError listing each line that is not UTF-8 or has a NUL."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        found = (decode_problem(raw, name, n) for n, raw in enumerate(data.split(b"\n"), start=1))
        _fail([p for p in found if p is not None])
    if "\x00" in text:
        nul = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if "\x00" in line]
        _fail([Problem(name, n, "NUL character in line", line.index("\x00") + 1) for n, line in nul])
    return text


def _detect(text: str, name: str, builder: _Builder) -> str | None:
    """The layout told by the first content line, else by the extension; None (and a problem) if neither."""
    lines = text.split("\n")
    lineno = next((i for i, line in enumerate(lines, start=1) if line.strip()), 0)
    if lineno == 0:
        return None  # nothing but blanks: read_topics reports the empty file
    line = lines[lineno - 1]
    stripped = line.strip()
    if stripped.startswith("<"):
        return "trec"
    if stripped.startswith("{"):
        return "jsonl"
    if "\t" in line:
        return "tsv"
    suffix = PurePath(name).suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".tsv":
        return "tsv"
    builder.problem(
        lineno,
        "cannot tell the topics format: expected <top> or <DOC> tags, JSON lines, "
        "or query_id<TAB>query lines",
    )
    return None


def _collapse(text: str) -> str:
    return " ".join(text.split())


class _Builder:
    """Collects topics and problems; checks ids and texts the same way for every layout."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.topics: list[Topic] = []
        self.problems: list[Problem] = []
        self._first_line: dict[str, int] = {}

    def problem(self, line: int, message: str, column: int = 0) -> None:
        self.problems.append(Problem(self.name, line, message, column))

    def add(
        self,
        query_id: str,
        title: str,
        where: tuple[int, int],
        fields: dict[str, str],
        *,
        text_where: tuple[int, int] | None = None,
        description: str = "",
        narrative: str = "",
    ) -> None:
        """Add one topic, or record why it cannot be added.

        Args:
            where: (line, column) of the query id, for id problems.
            text_where: (line, column) for an empty query text; defaults to ``where``.
        """
        line, column = where
        if not query_id:
            self.problem(line, "missing query id: the id is empty", column)
            return
        if query_id.split() != [query_id]:
            self.problem(
                line, f"query id {query_id!r} contains whitespace; is a closing tag missing?", column
            )
            return
        if query_id in self._first_line:
            first = self._first_line[query_id]
            self.problem(line, f"duplicate query id {query_id!r} (first on line {first})", column)
            return
        self._first_line[query_id] = line
        if not title:
            text_line, text_column = text_where or where
            self.problem(text_line, f"empty query text for query id {query_id!r}", text_column)
            return
        self.topics.append(Topic(query_id, title, description, narrative, fields))


# -- TREC <top> and SGML <DOC> ------------------------------------------------------------------

_TAG = re.compile(r"<(/?)([A-Za-z][\w.-]*)[^<>\n]*>")
_BLOCKS = frozenset({"top", "doc"})
_MUST_CLOSE = frozenset({"docno"})  # an unclosed <DOCNO> would swallow the query text
_LABELS = {  # TREC's field labels, dropped from the field text
    "num": "number", "title": "topic", "desc": "description", "narr": "narrative", "smry": "summary",
    "con": r"concepts?|concept\(s\)", "fac": r"factors?|factor\(s\)", "def": r"definitions?|definition\(s\)",
    "nat": "nationality", "dom": "domain",
}  # fmt: skip
_LABEL_RE = {tag: re.compile(rf"^(?:{label})\s*:\s*", re.IGNORECASE) for tag, label in _LABELS.items()}


@dataclass(slots=True)
class _Open:
    tag: str  # as written, for messages
    line: int
    column: int


class _TaggedParser:
    """One pass over the tags of a ``<top>``/``<DOC>`` file; text between tags belongs to the open field."""

    def __init__(self, text: str, builder: _Builder) -> None:
        self.text = text
        self.builder = builder
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.block: _Open | None = None
        self.current: _Open | None = None
        self.parts: dict[str, list[str]] = {}
        self.where: dict[str, tuple[int, int]] = {}

    def run(self) -> None:
        pos = 0
        for match in _TAG.finditer(self.text):
            self._on_text(pos, match.start())
            pos = match.end()
            self._on_tag(match)
        self._on_text(pos, len(self.text))
        if self.block is not None:
            tag = self.block.tag
            self._problem(self.block, f"unclosed tag <{tag}>: no </{tag}> before the end of the file")

    def _locate(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, pos)
        return line, pos - self.line_starts[line - 1] + 1

    def _problem(self, at: _Open, message: str) -> None:
        self.builder.problem(at.line, message, at.column)

    def _on_text(self, start: int, end: int) -> None:
        segment = self.text[start:end]
        if self.block is None:
            stripped = segment.lstrip()
            if stripped:
                line, column = self._locate(end - len(stripped))
                excerpt = _collapse(stripped)[:30]
                self.builder.problem(line, f"text outside any <top> or <DOC> block: {excerpt!r}", column)
            return
        key = self.current.tag.lower() if self.current is not None else "text"
        self.parts.setdefault(key, []).append(segment)

    def _on_tag(self, match: re.Match[str]) -> None:
        closing, tag = match.group(1) == "/", match.group(2)
        at = _Open(tag, *self._locate(match.start()))
        low = tag.lower()
        if low in _BLOCKS:
            if closing:
                self._close_block(at)
            else:
                self._open_block(at)
        elif self.block is None:
            self._problem(at, f"tag <{match.group(1)}{tag}> outside any <top> or <DOC> block")
        elif closing:
            self._close_field(at)
        else:
            self._end_must_close(at, f"<{tag}>")
            self.current = at
            self.parts.setdefault(low, [])
            self.where.setdefault(low, (at.line, at.column))

    def _open_block(self, at: _Open) -> None:
        if self.block is not None:
            tag = self.block.tag
            self._problem(
                self.block, f"unclosed tag <{tag}>: <{at.tag}> on line {at.line} comes before </{tag}>"
            )
        self._reset(at)

    def _close_block(self, at: _Open) -> None:
        if self.block is None:
            self._problem(at, f"closing tag </{at.tag}> without an opening <{at.tag}>")
        elif self.block.tag.lower() != at.tag.lower():
            self._problem(
                at, f"closing tag </{at.tag}> does not match <{self.block.tag}> on line {self.block.line}"
            )
            self._reset(None)
        else:
            if self._end_must_close(at, f"</{at.tag}>"):
                self._finish()
            self._reset(None)

    def _close_field(self, at: _Open) -> None:
        current = self.current
        if current is not None and current.tag.lower() == at.tag.lower():
            self.current = None
        elif current is not None:
            self._problem(
                at, f"closing tag </{at.tag}> does not match <{current.tag}> on line {current.line}"
            )
        else:
            self._problem(at, f"closing tag </{at.tag}> without an opening <{at.tag}>")

    def _end_must_close(self, at: _Open, what: str) -> bool:
        """Report an open field that must be closed before ``what``; False if there was one."""
        current = self.current
        if current is None or current.tag.lower() not in _MUST_CLOSE:
            return True
        self._problem(
            current, f"unclosed tag <{current.tag}>: {what} on line {at.line} comes before </{current.tag}>"
        )
        self.current = None
        return False

    def _reset(self, block: _Open | None) -> None:
        self.block, self.current = block, None
        self.parts, self.where = {}, {}

    def _finish(self) -> None:
        block = self.block
        assert block is not None
        values: dict[str, str] = {}
        for key, parts in self.parts.items():
            value = _collapse(" ".join(parts))
            label = _LABEL_RE.get(key)
            values[key] = label.sub("", value, count=1) if label else value
        if not values.get("text"):
            values.pop("text", None)
        id_key = next((k for k in ("num", "docno") if k in values), None)
        if id_key is None:
            want = "<num>" if block.tag.lower() == "top" else "<DOCNO>"
            self._problem(block, f"missing query id: this <{block.tag}> has no {want}")
            return
        title = next((values[k] for k in ("title", "query", "text") if values.get(k)), "")
        self.builder.add(
            values[id_key],
            title,
            self.where[id_key],
            values,
            text_where=(block.line, block.column),
            description=values.get("desc") or values.get("description", ""),
            narrative=values.get("narr") or values.get("narrative", ""),
        )


# -- TSV and JSONL ------------------------------------------------------------------------------


def _read_tsv(text: str, builder: _Builder) -> None:
    header: list[str] | None = None
    first = True
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        if first:
            first = False
            if _is_tsv_header(parts):
                header = [p.strip().lower() for p in parts]
                continue
        if len(parts) < 2:
            builder.problem(lineno, "expected query_id<TAB>query text, found no tab")
            continue
        names = header or ["query_id", "query", *(f"column{i}" for i in range(3, len(parts) + 1))]
        fields = {n: _collapse(p) for n, p in zip(names, parts, strict=False)}
        query_id = parts[0].strip()
        column = len(parts[0]) + 2
        builder.add(query_id, _collapse(parts[1]), (lineno, 1), fields, text_where=(lineno, column))


def _is_tsv_header(parts: list[str]) -> bool:
    return (
        len(parts) >= 2
        and parts[0].strip().lower() in TSV_HEADER_IDS
        and parts[1].strip().lower() in TSV_HEADER_TEXTS
    )


def _read_jsonl(text: str, builder: _Builder) -> None:
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            builder.problem(lineno, json_problem(exc), exc.colno)
            continue
        if not isinstance(obj, dict):
            builder.problem(lineno, f"expected a JSON object, found {json_type(obj)}")
            continue
        id_key = next((k for k in ID_KEYS if k in obj), None)
        if id_key is None:
            keys = ", ".join(repr(k) for k in ID_KEYS)
            builder.problem(lineno, f"missing query id: the object has none of the keys {keys}")
            continue
        raw_id = obj[id_key]
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            builder.problem(
                lineno, f"query id ({id_key!r}) must be a string or an integer, found {json_type(raw_id)}"
            )
            continue
        text_key = next((k for k in TEXT_KEYS if k in obj), None)
        raw_text = obj[text_key] if text_key is not None else ""
        if not isinstance(raw_text, str):
            builder.problem(
                lineno, f"query text ({text_key!r}) must be a string, found {json_type(raw_text)}"
            )
            continue
        fields = {
            k: _collapse(v) if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in obj.items()
            if k != id_key
        }
        builder.add(
            str(raw_id).strip(),
            _collapse(raw_text),
            (lineno, 0),
            fields,
            description=fields.get("description") or fields.get("desc", ""),
            narrative=fields.get("narrative") or fields.get("narr", ""),
        )


TOPIC_FIELDS: tuple[str, ...] = ("title", "description", "narrative")
"""The fields a query can be made of; ``title+description`` joins several (as Anserini's
``-topicField``)."""


def check_topic_field(field: str) -> tuple[str, ...]:
    """The parts of a topic field spec (``title``, ``description``, ``title+description``...).

    Raises:
        InputError: an unknown part or an empty spec.
    """
    parts = tuple(p.strip().lower() for p in field.split("+"))
    aliases = {"desc": "description", "narr": "narrative"}
    parts = tuple(aliases.get(p, p) for p in parts)
    bad = [p for p in parts if p not in TOPIC_FIELDS]
    if not parts or bad:
        raise InputError(
            f"topic field {field!r}: use {', '.join(TOPIC_FIELDS)}, or several joined by + "
            "(title+description)"
        )
    return parts


def query_text(topic: Topic, field: str = "title") -> str:
    """The query of ``topic`` made of ``field`` (see :func:`check_topic_field`), whitespace collapsed;
    the parts are joined with a space, empty parts left out."""
    values = {"title": topic.title, "description": topic.description, "narrative": topic.narrative}
    return " ".join(" ".join(values[p] for p in check_topic_field(field)).split())

"""TREC SGML document collections, read line by line as Anserini's ``TrecCollection`` reads them.

A document is ``<DOC>``, a ``<DOCNO> id </DOCNO>`` line, then field blocks, then ``</DOC>``::

    <DOC>
    <DOCNO> FT911-1 </DOCNO>
    <PROFILE>_AN-BEOA7AAIFT</PROFILE>
    <HEADLINE>
    FT 14 MAY 91 / Jubilee of a jet that did what it was designed to do
    </HEADLINE>
    <TEXT>
    ...
    </TEXT>
    </DOC>

What is indexed follows Anserini 1.7 (``io.anserini.collection.TrecCollection`` with the
``DefaultLuceneDocumentGenerator``) line for line, so that an index built from this reader's
documents is the index Anserini builds from the file itself (a test compares the two):

- lines are trimmed; a line starting with ``<DOC>`` opens a document and the next line starting
  with ``<DOCNO>`` (not indented) holds its id, up to ``</DOCNO>`` (which may be on a later line);
- only the blocks of the fields ``TEXT HEADLINE TITLE HL HEAD TTL DD DATE LP LEADPARA`` are kept:
  a block starts at a line that starts with the field's tag (``<TEXT>``, exactly; tags are
  case-sensitive) and ends at the line that ends (or starts) with its closing tag; other lines
  (``<DOCID>``, ``<BYLINE>``, text outside the fields) are dropped;
- a line starting with ``</DOC>`` ends the document;
- the kept text is turned into plain text as Jsoup does: tags removed (block elements such as
  ``<P>`` and ``<BR>`` separate words, other tags do not), entities decoded (``&amp;`` is ``&``;
  unknown ones such as ``&hyph;`` stay as written), comments dropped, whitespace runs collapsed.

Stricter than Anserini, on purpose (each with file and line): a ``<DOC>`` without a ``<DOCNO>``
(Anserini would take the next document's id), an unclosed ``<DOCNO>`` or ``<DOC>``, an empty id or
one with whitespace, a duplicate id, a document with no text in any field, bytes that are not
UTF-8. Text outside every ``<DOC>`` is ignored, as Anserini ignores it, with one warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

from ragbench.formats.problems import Problem, Severity

FIELDS = ("TEXT", "HEADLINE", "TITLE", "HL", "HEAD", "TTL", "DD", "DATE", "LP", "LEADPARA")
"""The fields Anserini's TrecCollection keeps, in its order (the first matching tag wins)."""
START_TAGS = tuple(f"<{f}>" for f in FIELDS)
END_TAGS = tuple(f"</{f}>" for f in FIELDS)
# Jsoup's block-level tags: their boundaries separate words in Element.text(); other tags do not.
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "title",
})  # fmt: skip
_SPACE = re.compile(r"\s+")


def java_trim(text: str) -> str:
    """Java's ``String.trim()``: strips every character up to U+0020 (spaces and controls) at both ends."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


class _TextExtractor(HTMLParser):
    """The text of an HTML fragment, as Jsoup's ``Jsoup.parse(html).text()`` gives it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")


def html_text(markup: str) -> str:
    """Plain text of ``markup``: tags and comments removed, entities decoded, whitespace collapsed."""
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return _SPACE.sub(" ", "".join(parser.parts)).strip()


class TrecDocument:
    """One parsed document: its id, the line it starts on and its plain text."""

    __slots__ = ("doc_id", "line", "text")

    def __init__(self, doc_id: str, line: int, text: str) -> None:
        self.doc_id, self.line, self.text = doc_id, line, text


class _Open:
    """The document being read."""

    __slots__ = ("docno", "docno_line", "in_field", "kept", "line")

    def __init__(self, line: int) -> None:
        self.line = line
        self.docno: list[str] | None = None  # the <DOCNO> lines, untrimmed, once found
        self.docno_line = 0
        self.kept: list[str] = []
        self.in_field = -1


def scan_trec(
    lines: Iterable[tuple[int, str | Problem]], name: str, empty: Severity
) -> Iterator[TrecDocument | Problem]:
    """Documents and problems of a TREC SGML collection, in file order.

    Args:
        lines: ``(line number, text without its line break)``, or a Problem for a line that could
            not be decoded (passed through).
        name: the file name for messages.
        empty: the severity of a document with no text (an error skips it, a warning keeps it).
    """
    doc: _Open | None = None
    outside_warned = False
    for lineno, text in lines:
        if isinstance(text, Problem):
            yield text
            continue
        line = java_trim(text)
        if line.startswith("<DOC>"):
            if doc is not None:
                yield Problem(
                    name, doc.line, f"unclosed <DOC>: <DOC> on line {lineno} comes before its </DOC>"
                )
            doc = _Open(lineno)
            continue
        if doc is None:
            if line and not outside_warned:
                outside_warned = True
                yield Problem(
                    name, lineno, f"text outside any <DOC> ... </DOC> is ignored: {line[:40]!r}",
                    severity="warning",
                )  # fmt: skip
            continue
        if doc.docno is None:
            if text.startswith("<DOCNO>"):
                doc.docno, doc.docno_line = [text], lineno
            elif line.startswith("<DOCNO>"):
                yield Problem(name, lineno, "<DOCNO> must start its line (Anserini does not see it indented)")
                doc = None
            elif line.startswith("</DOC>"):
                yield Problem(
                    name, doc.line, f"this <DOC> has no <DOCNO> line before </DOC> on line {lineno}"
                )
                doc = None
            continue
        docno = doc.docno
        if not any("</DOCNO>" in part for part in docno):
            if line.startswith("</DOC>"):
                yield Problem(name, doc.docno_line, f"unclosed <DOCNO>: </DOC> on line {lineno} comes first")
                doc = None
            else:
                docno.append(text)
            continue
        _keep(doc, line)
        if line.startswith("</DOC>"):
            yield from _finish(doc, name, empty)
            doc = None
    if doc is not None:
        yield Problem(name, doc.line, "unclosed <DOC>: no </DOC> before the end of the file")


def _keep(doc: _Open, line: str) -> None:
    """Anserini's field logic for one trimmed line of a document's body."""
    if line.startswith("<"):
        if doc.in_field >= 0 and line.startswith(END_TAGS[doc.in_field]):
            doc.kept.append(line)
            doc.in_field = -1
        elif doc.in_field < 0:
            doc.in_field = next((k for k, tag in enumerate(START_TAGS) if line.startswith(tag)), -1)
    if doc.in_field >= 0:
        doc.kept.append(line)
        if line.endswith(END_TAGS[doc.in_field]):
            doc.in_field = -1


def _finish(doc: _Open, name: str, empty: Severity) -> Iterator[TrecDocument | Problem]:
    assert doc.docno is not None
    head = "\n".join(doc.docno) + "\n"
    close = head.index("</DOCNO>")
    doc_id = java_trim(head[len("<DOCNO>") : close])
    if not doc_id or doc_id.split() != [doc_id]:
        what = "is empty" if not doc_id else f"{doc_id!r} contains whitespace"
        yield Problem(name, doc.docno_line, f"document id in <DOCNO> {what}")
        return
    rest = head[close + len("</DOCNO>") :]
    body = java_trim(rest + "".join(line + "\n" for line in doc.kept))
    text = html_text(body)
    if not text:
        fields = ", ".join(FIELDS)
        yield Problem(
            name, doc.line, f"empty document {doc_id!r}: none of the fields {fields} holds text",
            severity=empty,
        )  # fmt: skip
        if empty == "error":
            return
    yield TrecDocument(doc_id, doc.line, text)

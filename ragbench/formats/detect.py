"""Telling what a file is from its first bytes: its kind (run, qrels, topics, corpus, a session
file, lengths) and its format (TREC SGML, BEIR qrels TSV, JSONL...), and saying what a file that
fits no kind looks like.

The content decides; the file name only breaks ties (a ``<DOC>`` file whose blocks hold no corpus
field, a two-column TSV whose texts could be queries or passages, an empty file). A gzip file is
looked at after decompression.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from ragbench.formats._trec_corpus import START_TAGS
from ragbench.formats.corpus import read_head
from ragbench.formats.lines import parse_float
from ragbench.formats.rag import rag_format_of
from ragbench.formats.smart import SMART_KINDS, detect_smart

Kind = Literal[
    "run",
    "qrels",
    "topics",
    "corpus",
    "session-run",
    "session-qrels",
    "sessions",
    "ratings",
    "lengths",
    "smart",
    "smart-qrels",
    "rag",
    "qa",
]
KINDS: tuple[str, ...] = (
    "run", "qrels", "topics", "corpus", "session-run", "session-qrels", "sessions", "ratings", "lengths",
    *SMART_KINDS, "rag", "qa",
)  # fmt: skip
HEAD_BYTES = 64 * 1024
PASSAGE_WORDS = 20
"""A two-column TSV whose texts average more words than this is a corpus, else topics."""

_NAME_HINTS: tuple[tuple[str, Kind], ...] = (
    ("qrel", "qrels"),
    ("length", "lengths"),
    ("rating", "ratings"),
    ("run", "run"),
    ("result", "run"),
    ("topic", "topics"),
    ("quer", "topics"),
    ("corpus", "corpus"),
    ("collection", "corpus"),
    ("passage", "corpus"),
    ("doc", "corpus"),
)
_FORMATS: dict[str, str] = {
    "run": "TREC run",
    "qrels": "TREC qrels",
    "lengths": "doc_id snippet_chars doc_chars",
    "ratings": "session_id rating...",
    "smart": "SMART records (.I .T .A .B .W)",
    "smart-qrels": "SMART qrels (query doc grade)",
}
_RAG_FORMATS = {
    "trec-rag-2024": "TREC RAG 2024 JSONL",
    "trec-rag-2025": "TREC RAG 2025 JSONL",
    "qa": "QA JSONL",
}


@dataclass(frozen=True, slots=True)
class Detected:
    """A file's kind and format (``kind`` None: no kind fits, ``looks`` says what it looks like)."""

    kind: Kind | None
    format: str = ""
    gzip: bool = False
    looks: str = ""

    def describe(self) -> str:
        """``corpus (TREC SGML, gzip)``, ``qrels (BEIR qrels TSV)``."""
        if self.kind is None:
            return "unknown kind"
        details = ", ".join(part for part in (self.format, "gzip" if self.gzip else "") if part)
        return f"{self.kind} ({details})" if details else self.kind


def name_hint(name: str) -> Kind | None:
    """The kind a file name suggests (``qrels.txt``, ``topics.tsv``, ``corpus.jsonl.gz``), if any."""
    base = PurePath(name).name.lower()
    return next((kind for word, kind in _NAME_HINTS if word in base), None)


def detect_path(path: str | os.PathLike[str], kind: str = "auto") -> Detected:
    """Detect the kind (unless given) and format of the file at ``path`` from its first 64 KiB."""
    head, zipped = read_head(path, HEAD_BYTES)
    found = detect(head, str(path)) if kind == "auto" else Detected(kind, "")  # type: ignore[arg-type]
    if found.kind is not None and not found.format:
        found = Detected(found.kind, format_of(found.kind, head, str(path)), found.gzip, found.looks)
    return Detected(found.kind, found.format, zipped, found.looks)


def detect_kind(head: bytes, name: str = "") -> Kind | None:
    """The kind of a file from its first bytes, then from its name; None when neither tells."""
    return detect(head, name).kind


def detect(head: bytes, name: str = "") -> Detected:
    """Kind and format of a file from its first bytes (then its name)."""
    hint = name_hint(name)
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # a lone CR ends a line, as the readers read it
    lines = text.split("\n")
    if len(head) >= HEAD_BYTES:
        lines.pop()  # probably cut in the middle
    sample = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")][:50]
    if not sample:
        kind = hint if hint is not None else None
        return Detected(kind, "", looks="an empty file" if not text.strip() else "only comment lines")
    first = sample[0].strip()
    smart = detect_smart(sample)
    if smart is not None and not (smart == "smart-qrels" and hint == "lengths"):
        return Detected(smart, _FORMATS[smart])
    if first.startswith("<"):
        return _tagged(text, first, hint)
    if first.startswith("{"):
        return _json(first, sample, hint)
    fields = first.split()
    if fields[0] == "session_id":
        return Detected(_session_header_kind(fields), "TSV with a header")
    if tuple(f.lower() for f in fields) == ("query-id", "corpus-id", "score"):
        return Detected("qrels", "BEIR qrels TSV")
    header = _tsv_header(first, hint)
    if header is not None:
        if header.kind is not None:
            return header
        if len(sample) < 2:
            return Detected(
                None, looks=f"only a TSV header line {first[:50]!r}: no rows to tell topics from a corpus"
            )
        return _columns(sample[1:], hint)
    return _columns(sample, hint)


def _tsv_header(first: str, hint: Kind | None) -> Detected | None:
    """What a first line that names TSV columns says: a corpus (``docid<TAB>title<TAB>text``,
    ``pid<TAB>passage``), topics (``qid<TAB>query``), ``Detected(None)`` when the names fit both
    (``id<TAB>text``: the rows decide), None when the line names no columns."""
    from ragbench.formats.corpus import TSV_IDS, TSV_TEXTS
    from ragbench.formats.topics import TSV_HEADER_IDS, TSV_HEADER_TEXTS

    names = [n.strip().lower() for n in first.split("\t")]
    if len(names) < 2:
        return None
    corpus = names[0] in TSV_IDS and any(n in TSV_TEXTS or n == "title" for n in names[1:])
    topics = names[0] in TSV_HEADER_IDS and names[1] in TSV_HEADER_TEXTS
    if not (corpus or topics):
        return None
    corpus_only = {"contents", "passage", "body", "document"} | ({"title"} if "text" in names else set())
    if corpus and (not topics or corpus_only & set(names[1:])):
        return Detected("corpus", "TSV with a header")
    if topics and (not corpus or names[1] != "text" or names[0] not in TSV_IDS):
        return Detected("topics", "TSV with a header")
    return Detected(hint if hint in ("topics", "corpus") else None, "TSV with a header")


def format_of(kind: str, head: bytes, name: str) -> str:
    """The format a file of a known ``kind`` is in (what ``validate --kind`` prints)."""
    found = detect(head, name)
    if found.kind == kind and found.format:
        return found.format
    if kind == "corpus":
        from ragbench.formats.corpus import FORMAT_NAMES, sniff_corpus

        corpus = sniff_corpus(head, name)
        return FORMAT_NAMES[corpus] if corpus else ""
    if kind == "topics":
        first = next((ln.strip() for ln in head.decode("utf-8", "replace").split("\n") if ln.strip()), "")
        return "TREC topics" if first.startswith("<") else "JSONL" if first.startswith("{") else "TSV"
    if kind in ("session-run", "session-qrels", "sessions"):
        return "JSONL" if head.lstrip().startswith(b"{") or name.endswith((".jsonl", ".json")) else "TSV"
    return _FORMATS.get(kind, "")


def _tagged(text: str, first: str, hint: Kind | None) -> Detected:
    low = text.lower()
    if "<top>" in low:
        return Detected("topics", "TREC topics")
    if "<doc>" in low:
        fields = any(re.search(rf"^\s*{re.escape(tag)}", text, re.MULTILINE) for tag in START_TAGS)
        if fields or hint == "corpus":
            return Detected("corpus", "TREC SGML")
        return Detected("topics", "SGML <DOC> topics")
    return Detected(None, looks=f"tags that are neither TREC topics (<top>) nor <DOC> blocks: {first[:50]!r}")


def _json(first: str, sample: list[str], hint: Kind | None) -> Detected:
    try:
        obj = json.loads(first)
    except ValueError:
        kind = hint if hint in ("topics", "corpus") else "corpus"
        return Detected(kind, "JSONL")
    if not isinstance(obj, dict):
        return Detected(None, looks=f"JSON lines that are not objects: {first[:50]!r}")
    keys = set(obj)
    rag = rag_format_of(keys)
    if rag is not None:
        return Detected("qa" if rag == "qa" else "rag", _RAG_FORMATS[rag])
    if "session_id" in keys:
        session: Kind = (
            "session-qrels" if "grade" in keys else "session-run" if "doc_id" in keys else "sessions"
        )
        return Detected(session, "JSONL")
    if keys & {"qid", "query_id", "query", "description", "narrative"}:
        return Detected("topics", "JSONL")
    if keys & {"contents", "title", "docid", "doc_id"}:
        return Detected("corpus", "JSONL")
    if hint in ("topics", "corpus"):
        return Detected(hint, "JSONL")
    texts = [str(obj.get("text", ""))]
    for line in sample[1:]:
        try:
            texts.append(str(json.loads(line).get("text", "")))
        except (ValueError, AttributeError):
            break
    return Detected("corpus" if _long(texts) else "topics", "JSONL")


def _long(texts: list[str]) -> bool:
    return sum(len(t.split()) for t in texts) / max(len(texts), 1) > PASSAGE_WORDS


def _session_header_kind(columns: list[str]) -> Kind:
    """The session file a ``session_id ...`` header line starts (qrels have no header)."""
    if columns[1:3] == ["query_index", "rank"]:
        return "session-run"
    if columns[1:2] == ["query_index"]:
        return "session-qrels" if "grade" in columns else "sessions"
    return "ratings"


def _is_number(token: str) -> bool:
    return parse_float(token) is not None


def _columns(sample: list[str], hint: Kind | None) -> Detected:
    votes: dict[Kind, int] = {"run": 0, "qrels": 0, "topics": 0, "corpus": 0, "lengths": 0}
    tab_texts: list[str] = []
    for line in sample:
        fields = line.split()
        tabs = line.rstrip("\r").split("\t")
        if len(fields) >= 6 and _is_number(fields[3]) and _is_number(fields[4]):
            votes["run"] += 1
        elif len(fields) == 4 and _is_number(fields[3]):
            votes["qrels"] += 1
        elif len(fields) == 3 and _is_number(fields[1]) and _is_number(fields[2]):
            votes["lengths"] += 1
        elif len(tabs) == 2:
            tab_texts.append(tabs[1])
    if tab_texts:
        tsv: Kind = "corpus" if _long(tab_texts) else "topics"
        if hint in ("topics", "corpus"):
            tsv = hint
        votes[tsv] = len(tab_texts)
    best = max(votes, key=votes.__getitem__)
    if votes[best] == len(sample) or (hint is None and votes[best]):
        return Detected(best, "TSV" if best in ("topics", "corpus") else _FORMATS.get(best, ""))
    if hint is not None:
        return Detected(hint)
    return Detected(None, looks=_looks(sample[0]))


def _looks(line: str) -> str:
    fields = line.split()
    shown = line.strip() if len(line.strip()) <= 60 else line.strip()[:57] + "..."
    tabs = line.count("\t")
    return (
        f"the first line {shown!r} has {len(fields)} whitespace-separated field(s)"
        + (f" and {tabs} tab(s)" if tabs else "")
        + "; a run has 6 (query_id Q0 doc_id rank score tag), qrels 4 (query_id 0 doc_id relevance), "
        "lengths 3 (doc_id snippet_chars doc_chars), TSV topics or corpora id<TAB>text; "
        "topics and corpora may also be TREC SGML or JSONL"
    )

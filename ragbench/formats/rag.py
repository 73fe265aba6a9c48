"""RAG answer files: TREC RAG 2024 and 2025 answer JSONL, and plain QA JSONL.

Three layouts, one object per line, read into one :class:`RagRun` of :class:`RagAnswer`:

- ``trec-rag-2024``: ``{"run_id", "topic_id", "topic", "references": [segment ids],
  "response_length", "answer": [{"text", "citations": [indexes into references]}]}``;
- ``trec-rag-2025``: ``{"metadata": {"team_id", "run_id", "narrative_id", "type"},
  "references": [...], "answer": [{"text", "citations": [...]}]}``, where a citation is an index
  into ``references`` or a segment id listed there (``narrative_id`` is the topic id; an optional
  ``metadata.narrative`` or top-level ``topic`` is the topic text);
- ``qa``: ``{"query_id", "query", "response", "contexts"?: [text], "gt_answer"?: text}``, answers
  without citations (RAGChecker's layout), the response split into sentences.

Citations are kept as 0-based indexes into ``references``. Words are counted as the TREC RAG
track counts them: whitespace-separated tokens of the answer's sentence texts
(:func:`count_words`). :func:`read_rag` raises :class:`~ragbench.errors.FormatError` listing every
error with its line (and column for JSON syntax); warnings (an answer over the word limit, topics
the run does not answer, a ``response_length`` that disagrees with the count, an empty answer)
come back in :attr:`RagRun.warnings`. Only the standard library is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ragbench.errors import FormatError
from ragbench.formats.corpus import decode_problem, json_problem, json_type
from ragbench.formats.lines import MAX_PROBLEMS, Source, load
from ragbench.formats.problems import Problem

RagFormat = Literal["trec-rag-2024", "trec-rag-2025", "qa"]
MAX_REFERENCES = 20
"""Default cap on the references of one answer (the TREC RAG 2024 limit)."""
MAX_WORDS = 400
"""Default word limit of one answer (the TREC RAG 2024 limit); longer answers get a warning."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def count_words(texts: list[str] | tuple[str, ...]) -> int:
    """Words of an answer as the track counts them: whitespace-separated tokens of every sentence."""
    return sum(len(text.split()) for text in texts)


def split_sentences(text: str) -> list[str]:
    """Sentences of a plain response: split after ``.``, ``!`` or ``?`` followed by whitespace."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an answer and the references it cites (0-based indexes, in order)."""

    text: str
    citations: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RagAnswer:
    """The answer of one run to one topic.

    Attributes:
        topic_id: the topic (``narrative_id`` in the 2025 form, ``query_id`` in QA files).
        topic: the topic text as the file gives it ("" when it gives none).
        references: the segment ids the answer may cite, in the file's order.
        sentences: the answer, sentence by sentence, with citations.
        line: the line of the file it was read from.
        response_length: the length the file declares (None when absent).
        gt_answer: a reference answer (QA files), or None.
        contexts: retrieved passages given as text (QA files).
    """

    topic_id: str
    topic: str
    references: tuple[str, ...]
    sentences: tuple[Sentence, ...]
    line: int = 0
    response_length: int | None = None
    gt_answer: str | None = None
    contexts: tuple[str, ...] = ()

    @property
    def words(self) -> int:
        """Words of the answer (:func:`count_words`)."""
        return count_words([s.text for s in self.sentences])

    @property
    def text(self) -> str:
        """The answer as one text."""
        return " ".join(s.text for s in self.sentences)

    @property
    def citation_count(self) -> int:
        """Citations over all sentences (a reference cited by two sentences counts twice)."""
        return sum(len(s.citations) for s in self.sentences)

    def to_trec_2024(self, run_id: str) -> dict[str, Any]:
        """The answer as a TREC RAG 2024 object."""
        return {
            "run_id": run_id,
            "topic_id": self.topic_id,
            "topic": self.topic,
            "references": list(self.references),
            "response_length": self.words,
            "answer": [{"text": s.text, "citations": list(s.citations)} for s in self.sentences],
        }


@dataclass(frozen=True)
class RagRun:
    """A RAG answer file: its run id, layout, answers by topic (file order) and warnings."""

    run_id: str
    format: RagFormat
    answers: dict[str, RagAnswer]
    source: str = "<memory>"
    warnings: list[Problem] = field(default_factory=list)
    team_id: str | None = None

    def __len__(self) -> int:
        return len(self.answers)


def write_trec_rag(run_id: str, answers: list[RagAnswer]) -> bytes:
    """TREC RAG 2024 JSONL of ``answers`` (one line each, in the order given)."""
    lines = [json.dumps(a.to_trec_2024(run_id), ensure_ascii=False) for a in answers]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def rag_format_of(keys: set[str] | frozenset[str]) -> RagFormat | None:
    """The layout an object's keys say (None when they are not a RAG answer's)."""
    if "metadata" in keys and "answer" in keys:
        return "trec-rag-2025"
    if "answer" in keys and ("run_id" in keys or "topic_id" in keys):
        return "trec-rag-2024"
    if "response" in keys and ("query_id" in keys or "query" in keys):
        return "qa"
    return None


def read_rag(
    source: Source,
    *,
    name: str | None = None,
    topics: Mapping[str, str] | None = None,
    max_references: int = MAX_REFERENCES,
    max_words: int = MAX_WORDS,
) -> RagRun:
    """Read and check a RAG answer file (the layout is told from its first object).

    Args:
        source: a path or the file's bytes.
        name: the file name for messages.
        topics: ``{topic_id: text}`` of the benchmark: answers to other topics, or with another
            topic text, are errors; topics without an answer are a warning (they score 0).
        max_references: most references one answer may list (more is an error).
        max_words: word limit of an answer (more is a warning).

    Raises:
        FormatError: every error, with file and line (at most 50 listed, the rest counted).
    """
    data, name = load(source, name)
    reader = _Reader(name, topics, max_references, max_words)
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        reader.line(lineno, raw)
    return reader.finish()


def check_rag(source: Source, **options: Any) -> list[Problem]:
    """Every error and warning of a RAG answer file (what ``ragbench validate`` reports)."""
    try:
        run = read_rag(source, **options)
    except FormatError as exc:
        return list(exc.problems)
    return list(run.warnings)


class _Reader:
    def __init__(self, name: str, topics: Mapping[str, str] | None, max_refs: int, max_words: int) -> None:
        self.name, self.topics, self.max_refs, self.max_words = name, topics, max_refs, max_words
        self.errors: list[Problem] = []
        self.more = 0
        self.warnings: list[Problem] = []
        self.format: RagFormat | None = None
        self.run_id: str | None = None
        self.run_line = 0
        self.team_id: str | None = None
        self.answers: dict[str, RagAnswer] = {}

    def error(self, line: int, message: str, column: int = 0) -> None:
        if len(self.errors) < MAX_PROBLEMS:
            self.errors.append(Problem(self.name, line, message, column))
        else:
            self.more += 1

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Problem(self.name, line, message, 0, "warning"))

    def line(self, lineno: int, raw: bytes) -> None:
        if not raw.strip():
            return
        problem = decode_problem(raw, self.name, lineno)
        if problem is not None:
            self.error(lineno, problem.message, problem.column)
            return
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            self.error(lineno, json_problem(exc), exc.colno)
            return
        if not isinstance(obj, dict):
            self.error(lineno, f"expected a JSON object (an answer), got {json_type(obj)}")
            return
        kind = rag_format_of(set(obj))
        if self.format is None:
            if kind is None:
                self.error(lineno, "not a RAG answer: a TREC RAG line has run_id, topic_id, topic, "
                           "references and answer; a QA line has query_id, query and response")  # fmt: skip
                return
            self.format = kind
        parse = {"trec-rag-2024": self.trec_2024, "trec-rag-2025": self.trec_2025, "qa": self.qa}[self.format]
        answer = parse(lineno, obj)
        if answer is not None:
            self.add(lineno, answer)

    # -- the three layouts ------------------------------------------------------------------
    def need(self, line: int, obj: dict[str, Any], keys: tuple[str, ...], where: str = "") -> bool:
        missing = [k for k in keys if k not in obj]
        for key in missing:
            self.error(line, f"missing field {where}{key!r}")
        return not missing

    def text(
        self, line: int, value: Any, what: str, *, empty: bool = False, ident: bool = False
    ) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and ident:
            value = str(value)
        if not isinstance(value, str):
            self.error(line, f"{what} must be a string, got {json_type(value)}")
            return None
        if not empty and not value.strip():
            self.error(line, f"{what} is empty")
            return None
        if ident and (value != value.strip() or any(c.isspace() for c in value)):
            self.error(line, f"{what} {value!r} contains whitespace")
            return None
        return value

    def same_run(self, line: int, run_id: str | None) -> None:
        if run_id is None:
            return
        if self.run_id is None:
            self.run_id, self.run_line = run_id, line
        elif run_id != self.run_id:
            self.error(line, f"run_id {run_id!r} differs from {self.run_id!r} on line {self.run_line}; "
                       "one file holds one run")  # fmt: skip

    def trec_2024(self, line: int, obj: dict[str, Any]) -> RagAnswer | None:
        if not self.need(line, obj, ("run_id", "topic_id", "topic", "references", "answer")):
            return None
        self.same_run(line, self.text(line, obj["run_id"], "run_id", ident=True))
        topic_id = self.text(line, obj["topic_id"], "topic_id", ident=True)
        topic = self.text(line, obj["topic"], "topic")
        length = self.length(line, obj.get("response_length"))
        references = self.references(line, obj["references"])
        sentences = self.sentences(line, obj["answer"], references, by_id=False)
        if topic_id is None or topic is None or references is None or sentences is None:
            return None
        return RagAnswer(topic_id, topic, references, sentences, line, length)

    def trec_2025(self, line: int, obj: dict[str, Any]) -> RagAnswer | None:
        if not self.need(line, obj, ("metadata", "references", "answer")):
            return None
        meta = obj["metadata"]
        if not isinstance(meta, dict):
            self.error(line, f"metadata must be an object, got {json_type(meta)}")
            return None
        if not self.need(line, meta, ("team_id", "run_id", "narrative_id", "type"), "metadata."):
            return None
        self.same_run(line, self.text(line, meta["run_id"], "metadata.run_id", ident=True))
        team = self.text(line, meta["team_id"], "metadata.team_id")
        self.team_id = self.team_id or team
        self.text(line, meta["type"], "metadata.type")
        topic_id = self.text(line, meta["narrative_id"], "metadata.narrative_id", ident=True)
        raw_topic = meta.get("narrative", obj.get("topic", ""))
        topic = self.text(line, raw_topic, "the topic text", empty=True)
        references = self.references(line, obj["references"])
        sentences = self.sentences(line, obj["answer"], references, by_id=True)
        if topic_id is None or topic is None or references is None or sentences is None:
            return None
        return RagAnswer(
            topic_id, topic, references, sentences, line, self.length(line, obj.get("response_length"))
        )

    def qa(self, line: int, obj: dict[str, Any]) -> RagAnswer | None:
        if not self.need(line, obj, ("query_id", "query", "response")):
            return None
        topic_id = self.text(line, obj["query_id"], "query_id", ident=True)
        topic = self.text(line, obj["query"], "query")
        response = self.text(line, obj["response"], "response", empty=True)
        gt = obj.get("gt_answer")
        if gt is not None:
            gt = self.text(line, gt, "gt_answer", empty=True)
        contexts: list[str] = []
        raw_contexts = obj.get("contexts", [])
        if not isinstance(raw_contexts, list):
            self.error(line, f"contexts must be an array of strings, got {json_type(raw_contexts)}")
            return None
        for i, ctx in enumerate(raw_contexts):
            if isinstance(ctx, dict):  # {"doc_id", "text"} passages, as RAGChecker writes them
                ctx = ctx.get("text")
            found = self.text(line, ctx, f"contexts[{i}]", empty=True)
            if found is None:
                return None
            contexts.append(found)
        if topic_id is None or topic is None or response is None:
            return None
        sentences = tuple(Sentence(s) for s in split_sentences(response))
        return RagAnswer(topic_id, topic, (), sentences, line, None, gt, tuple(contexts))

    # -- pieces -------------------------------------------------------------------------------
    def length(self, line: int, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(line, f"response_length must be a whole number >= 0, got {value!r}")
            return None
        return value

    def references(self, line: int, value: Any) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.error(line, f"references must be an array of segment ids, got {json_type(value)}")
            return None
        refs: list[str] = []
        seen: dict[str, int] = {}
        ok = True
        for i, ref in enumerate(value):
            found = self.text(line, ref, f"references[{i}]", ident=True)
            if found is None:
                ok = False
                continue
            if found in seen:
                self.error(line, f"references[{i}] {found!r} repeats references[{seen[found]}]")
                ok = False
            seen.setdefault(found, i)
            refs.append(found)
        if len(value) > self.max_refs:
            self.error(line, f"{len(value)} references; at most {self.max_refs} are allowed")
            ok = False
        return tuple(refs) if ok else None

    def sentences(
        self, line: int, value: Any, refs: tuple[str, ...] | None, *, by_id: bool
    ) -> tuple[Sentence, ...] | None:
        if not isinstance(value, list):
            self.error(line, f"answer must be an array of sentences, got {json_type(value)}")
            return None
        out: list[Sentence] = []
        ok = True
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.error(
                    line, f"answer[{i}] must be an object with text and citations, got {json_type(item)}"
                )
                ok = False
                continue
            if not self.need(line, item, ("text",), f"answer[{i}]."):
                ok = False
                continue
            text = self.text(line, item["text"], f"answer[{i}].text")
            cites = self.citations(line, item.get("citations", []), refs, f"answer[{i}].citations", by_id)
            if text is None or cites is None:
                ok = False
                continue
            out.append(Sentence(text, cites))
        return tuple(out) if ok else None

    def citations(
        self, line: int, value: Any, refs: tuple[str, ...] | None, what: str, by_id: bool
    ) -> tuple[int, ...] | None:
        if not isinstance(value, list):
            self.error(line, f"{what} must be an array, got {json_type(value)}")
            return None
        found: list[int] = []
        for j, cite in enumerate(value):
            if by_id and isinstance(cite, str):
                if refs is not None and cite not in refs:
                    self.error(line, f"{what}[{j}] {cite!r} is not one of the references")
                    return None
                found.append(refs.index(cite) if refs is not None else 0)
                continue
            if isinstance(cite, bool) or not isinstance(cite, int):
                kind = "an index or a segment id" if by_id else "an index into references"
                self.error(line, f"{what}[{j}] must be {kind}, got {json_type(cite)} {cite!r}")
                return None
            if refs is not None and not 0 <= cite < len(refs):
                self.error(line, f"{what}[{j}] = {cite} is out of range: the answer has {len(refs)} "
                           f"references (indexes 0 to {len(refs) - 1})")  # fmt: skip
                return None
            found.append(cite)
        return tuple(found)

    def add(self, line: int, answer: RagAnswer) -> None:
        known = self.answers.get(answer.topic_id)
        if known is not None:
            self.error(
                line, f"a second answer for topic {answer.topic_id!r} (the first is on line {known.line})"
            )
            return
        if self.topics is not None:
            expected = self.topics.get(answer.topic_id)
            if expected is None:
                self.error(line, f"topic {answer.topic_id!r} is not a topic of the benchmark")
                return
            if answer.topic and " ".join(answer.topic.split()) != " ".join(expected.split()):
                self.error(line, f"topic {answer.topic_id!r}: the topic text {answer.topic[:80]!r} differs "
                           f"from the benchmark's {expected[:80]!r}")  # fmt: skip
                return
        words = answer.words
        if words > self.max_words:
            self.warn(line, f"topic {answer.topic_id!r}: the answer has {words} words, over the limit of "
                      f"{self.max_words} (whitespace-separated words, as the track counts them)")  # fmt: skip
        if answer.response_length is not None and answer.response_length != words:
            self.warn(line, f"topic {answer.topic_id!r}: response_length says {answer.response_length} "
                      f"but the sentences have {words} words")  # fmt: skip
        if not answer.sentences:
            self.warn(line, f"topic {answer.topic_id!r}: the answer is empty")
        self.answers[answer.topic_id] = answer

    def finish(self) -> RagRun:
        if not self.errors and not self.answers:
            self.error(0, "no answers: the file is empty")
        if self.errors:
            raise FormatError(self.errors, more=self.more)
        if self.topics is not None:
            missing = [t for t in self.topics if t not in self.answers]
            if missing:
                shown = ", ".join(repr(t) for t in missing[:10]) + (
                    f" and {len(missing) - 10} more" if len(missing) > 10 else ""
                )
                self.warn(
                    0, f"{len(missing)} topic(s) of the benchmark have no answer: {shown}; they score 0"
                )
        assert self.format is not None
        run_id = self.run_id or (self.name.rsplit("/", 1)[-1].split(".")[0] if self.format == "qa" else "run")
        return RagRun(run_id, self.format, self.answers, self.name, self.warnings, self.team_id)

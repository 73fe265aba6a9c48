"""The BlockRank prompt: instruction (with the query), one block per document, query segment.

Segments are tokenized one by one (spec §1): the chat template is applied to the whole prompt
with a marker where the documents go, the text is split at the marker into the instruction
(``S_0``) and the query segment (``S_{N+1}``), and every document block is built from token ids:
``\\nID: {id} | CONTENT:`` + the first ``chunk`` tokens of `` {text}`` + `` | END ID: {id}``.
Building blocks from ids (not re-tokenizing the joined string) lets a document's content be
tokenized once and reused for every query that retrieves it.

A document's ``ID`` is its corpus id by default (``ids="docid"``): then nothing in a document
block depends on where the document sits in the list, and with the shared block positions the
scores are invariant to the candidate order. ``ids="slot"`` numbers the blocks 0..N-1 as the
paper's code does (the order then shows through the ids, which is what the paper trains with).
The prompt ends with ``Final Answer: [``; its last two tokens (``:`` and `` [``) are the signal
rows whose attention gives the scores.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

IdStyle = Literal["docid", "slot"]

INSTRUCTION = (
    "You will be given a query and a list of documents. Each document is formatted as "
    "ID: <id> | CONTENT: <content> | END ID: <id>. Read all of them carefully, then find every "
    "document that helps answer the query.\nQuery: {query}\nDocuments:"
)
QUERY_SEGMENT = (
    "\n====== Now let's start! ======\nBased on the query, name the ID of the most relevant document.\n"
    "Query: {query}\nThe following document(s) can help answer the query:"
)
ANSWER_LEAD = "Final Answer: ["
_MARK = "\u241edocuments\u241e"


@dataclass
class Prompt:
    """One query's prompt as token ids, segment by segment."""

    inst: list[int]
    docs: list[list[int]]
    query: list[int]
    doc_ids: list[str]
    answer: list[int] = field(default_factory=list)
    """Training target after ``Final Answer: [`` (empty at inference)."""
    signal: int = 2
    """How many tokens at the end of ``query`` are signal rows."""
    labels: list[list[int]] = field(default_factory=list)
    """Each document's ID as the answer would spell it right after ``Final Answer: [``."""

    @property
    def n_tokens(self) -> int:
        return len(self.inst) + sum(len(d) for d in self.docs) + len(self.query) + len(self.answer)

    def longest_doc(self) -> int:
        return max((len(d) for d in self.docs), default=0)


class PromptBuilder:
    """Builds :class:`Prompt` s for one tokenizer, caching each document's content tokens."""

    def __init__(
        self,
        tokenizer: Any,
        *,
        chunk: int = 160,
        ids: IdStyle = "docid",
        signal: int = 2,
        query_tokens: int = 64,
        cache_size: int = 100_000,
    ) -> None:
        if ids not in ("docid", "slot"):
            raise ValueError(f"ids={ids!r}: use docid or slot")
        if signal not in (1, 2):
            raise ValueError(f"signal={signal!r}: use 1 or 2")
        self.tokenizer = tokenizer
        self.chunk = chunk
        self.ids = ids
        self.signal = signal
        self.query_tokens = query_tokens
        self._content: OrderedDict[str, list[int]] = OrderedDict()
        self._cache_size = cache_size

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _template(self, query: str) -> tuple[str, str]:
        user = INSTRUCTION.format(query=query) + _MARK + QUERY_SEGMENT.format(query=query)
        tokenizer = self.tokenizer
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": user}], add_generation_prompt=True, tokenize=False
            )
        else:
            text = (tokenizer.bos_token or "") + user + "\n"
        head, tail = text.split(_MARK)
        return head, tail + ANSWER_LEAD

    def _clip_query(self, query: str) -> str:
        ids = self._encode(query)
        return query if len(ids) <= self.query_tokens else self.tokenizer.decode(ids[: self.query_tokens])

    def content(self, doc_id: str, text: str) -> list[int]:
        """The first ``chunk`` tokens of `` text`` (cached by document id)."""
        cached = self._content.get(doc_id)
        if cached is None:
            cached = self._encode(" " + " ".join(text.split()))[: self.chunk]
            self._content[doc_id] = cached
            if len(self._content) > self._cache_size:
                self._content.popitem(last=False)
        return cached

    def block(self, label: str, content: list[int]) -> list[int]:
        return self._encode(f"\nID: {label} | CONTENT:") + content + self._encode(f" | END ID: {label}")

    def build(self, query: str, docs: Sequence[tuple[str, str]], answer: Sequence[str] = ()) -> Prompt:
        """The prompt for ``query`` over ``docs`` (``(doc_id, text)`` in list order).

        ``answer`` (training): the doc ids of the target, written as the model should answer.
        """
        head, tail = self._template(self._clip_query(query))
        labels = [doc_id if self.ids == "docid" else str(slot) for slot, (doc_id, _) in enumerate(docs)]
        blocks = [
            self.block(label, self.content(doc_id, text))
            for label, (doc_id, text) in zip(labels, docs, strict=False)
        ]
        target: list[int] = []
        if answer:
            label_of = dict(zip((d for d, _ in docs), labels, strict=True))
            eos = self.tokenizer.eos_token or ""
            target = self._encode(", ".join(label_of[a] for a in answer) + "]" + eos)
        return Prompt(
            inst=self._encode(head),
            docs=blocks,
            query=self._encode(tail),
            doc_ids=[d for d, _ in docs],
            answer=target,
            signal=self.signal,
            labels=[self._encode(label) for label in labels],
        )

"""The ``llm`` answer generator: an LM writes an answer to each query from the top ``k`` passages
of the ranking, citing them as ``[1]``, ``[2]``...; the reply is split into sentences and each
sentence keeps the passages it cites (markers that name no passage given are dropped and
counted). The answer is cut at ``max_words`` words (whole sentences), as the TREC RAG track
limits answers. Passages are the corpus documents' texts (the first ``doc_words`` words).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rankers.rag import prompts


class LLMGenerator:
    """Writes cited answers with an LM client (:mod:`rankers.lm`)."""

    def __init__(
        self,
        client: Any,
        texts: Mapping[str, str],
        *,
        k: int = 5,
        max_words: int = 400,
        max_tokens: int = 256,
        doc_words: int = 120,
        prompt: str = prompts.ANSWER,
    ) -> None:
        self.client = client
        self.texts = texts
        self.k = k
        self.max_words = max_words
        self.max_tokens = max_tokens
        self.doc_words = doc_words
        self.prompt = prompt
        self._stats: dict[str, dict[str, float]] = {}

    def _passage(self, doc_id: str) -> str:
        words = self.texts.get(doc_id, "").split()
        return " ".join(words[: self.doc_words])

    def generate(
        self, queries: Mapping[str, str], ranking: Mapping[str, list[tuple[str, float]]]
    ) -> dict[str, Any]:
        """``{query_id: {"references", "answer": [{"text", "citations"}], "dropped_citations"}}``."""
        started = time.perf_counter()
        order = list(queries)
        refs = {q: [doc for doc, _ in ranking.get(q, [])[: self.k]] for q in order}
        texts = [
            self.prompt.format(
                max_words=self.max_words,
                query=queries[q],
                passages="\n\n".join(f"[{i + 1}] {self._passage(doc)}" for i, doc in enumerate(refs[q])),
            )
            for q in order
        ]
        replies = self.client.generate(texts, system=prompts.SYSTEM, max_tokens=self.max_tokens)
        seconds = (time.perf_counter() - started) / max(1, len(order))
        out: dict[str, Any] = {}
        for q, reply in zip(order, replies, strict=True):
            sentences, dropped = prompts.parse_cited_answer(reply.text, len(refs[q]), self.max_words)
            out[q] = {
                "references": refs[q],
                "answer": [{"text": text, "citations": list(cites)} for text, cites in sentences],
                "dropped_citations": dropped,
                "provenance": reply.provenance.to_dict(),
            }
            self._stats[q] = {
                "seconds": seconds,
                "prompt_tokens": float(reply.prompt_tokens),
                "completion_tokens": float(reply.completion_tokens),
                "lm_calls": 0.0 if reply.provenance.cached else 1.0,
            }
        return out

    def pop_stats(self) -> dict[str, dict[str, float]]:
        stats, self._stats = self._stats, {}
        return stats

    def describe(self) -> dict[str, Any]:
        return {"k": self.k, "max_words": self.max_words, "lm": self.client.describe()}

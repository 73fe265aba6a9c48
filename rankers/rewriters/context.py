"""Context-aware query rewriting, after Anand et al., "Context Aware Query Rewriting for Text
Rankers using LLM" (arXiv 2308.16753).

The paper grounds an LLM's rewrite of an ambiguous query in documents relevant to it, so the
rewrite keeps to the query's meaning in this corpus instead of drifting to whatever the LM
associates with the words. The paper takes the relevant documents from training qrels and rewrites
training queries only; a pipeline stage has no qrels for its topics, so here the context is the
top ``k`` BM25 documents of the query (pseudo-relevance, as RM3 uses them), each cut to its first
``doc_tokens`` words, and the rewrite is used at search time. The cache key includes the context.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rankers.rewriters.llm import LLMRewriter

DEFAULT_CONTEXT_PROMPT = (
    "A search engine found these documents for a query:\n\n{context}\n\n"
    "Using what the documents say, rewrite the query as a short list of keywords for a search "
    "engine: the key concepts and their synonyms. Reply with the keywords only.\n\nQuery: {query}"
)


@dataclass
class ContextRewriter(LLMRewriter):
    """An :class:`LLMRewriter` whose prompt also shows the query's top BM25 documents."""

    index_dir: str = ""
    k: int = 3
    doc_tokens: int = 100
    prompt: str = DEFAULT_CONTEXT_PROMPT
    name: str = "context"
    _retriever: Any = field(default=None, init=False, repr=False)

    def _bm25(self) -> Any:
        if self._retriever is None:
            from indexers.bm25 import BM25Retriever

            self._retriever = BM25Retriever(self.index_dir, name=f"{self.name} context")
        return self._retriever

    def contexts(self, queries: Mapping[str, str]) -> dict[str, str | None]:
        retriever = self._bm25()
        ranking = retriever.search(queries, self.k)
        searcher = retriever._open()
        found: dict[str, str | None] = {}
        for query_id in queries:
            docs = [self._text(searcher, doc_id) for doc_id, _ in ranking.get(query_id, [])]
            found[query_id] = "\n\n".join(f"[{i}] {text}" for i, text in enumerate(docs, 1)) or None
        return found

    def _text(self, searcher: Any, doc_id: str) -> str:
        raw = searcher.doc_raw(doc_id) or ""
        try:
            data = json.loads(raw)
            text = data.get("contents", raw) if isinstance(data, dict) else raw
        except json.JSONDecodeError:
            text = raw
        return " ".join(str(text).split()[: self.doc_tokens])

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"k": self.k, "doc_tokens": self.doc_tokens}

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_retriever"] = None
        return state

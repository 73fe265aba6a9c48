"""Query rewriters: pipeline stages that turn each topic's text into the query the retrievers run.

- :mod:`rankers.rewriters.rm3`: RM3 pseudo-relevance feedback through Anserini, written as a
  weighted term query (``#weight( 0.25 comput ... )``) that the ``bm25`` retriever runs exactly
  as Anserini's own RM3 would.
- :mod:`rankers.rewriters.llm`: the LM rewrites the query (greedy decoding, cached).
- :mod:`rankers.rewriters.context`: the LM rewrites the query given the top BM25 documents as
  context (after Anand et al., "Context Aware Query Rewriting for Text Rankers using LLM").
- :mod:`rankers.rewriters.cache`: the SQLite cache of LM rewrites shared by every worker.

Every rewriter has ``name``, ``rewrite(queries) -> {query_id: text}`` and ``pop_stats()`` (per
query: seconds, and for LM rewriters token counts, LM calls and cache hits). The stage types are
registered in :mod:`rankers.rewriters.stages`.
"""

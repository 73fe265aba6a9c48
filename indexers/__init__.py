"""Index builders and searchers: BM25 (Pyserini's Lucene) and dense (sentence-transformers + FAISS),
and their pipeline stage types (:mod:`indexers.stages`)."""

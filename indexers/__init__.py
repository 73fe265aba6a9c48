"""Index builders and searchers: BM25 (Pyserini's Lucene) and dense (sentence-transformers + FAISS)."""

import ragbench.jobs  # noqa: F401  (keeps Ray's SIGSEGV handler away from the JVM; see there)

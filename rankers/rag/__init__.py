"""RAG answers through the LM layer: the ``llm`` generator stage, the LM judges (nuggets, support,
claims), and the reference-based measures (ROUGE-L, MiniLM embedding similarity)."""

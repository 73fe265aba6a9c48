"""BlockRank in-context reranking (``../shared/spec/blockrank.md``) and its full-attention baseline.

- :mod:`~rankers.blockrank.prompt`: the prompt, segment by segment, as token ids.
- :mod:`~rankers.blockrank.layout`: padded tensors, positions and the block-sparse 4-D mask.
- :mod:`~rankers.blockrank.readout`: attention scores at layer ``l*`` from the signal rows.
- :mod:`~rankers.blockrank.scoring`: the reference (4-D mask), linear-cost (KV cache) and
  full-attention routes.
- :mod:`~rankers.blockrank.reranker`: the pipeline stage.

Importing this package imports torch; the core (:mod:`ragbench`) never does.
"""

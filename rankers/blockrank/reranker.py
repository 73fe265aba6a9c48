"""The BlockRank reranker and the full-attention baseline as pipeline stages.

``rerank(queries, ranking, depth)`` reorders each query's top ``candidates`` by attention score
(the rest keep their order below them) and records per-query latency and token counts, which
:meth:`pop_stats` hands to the pipeline for the run's metadata.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from ragbench.errors import InputError
from ragbench.jobs.ranking import Hits, Ranking, sort_hits
from rankers.blockrank.prompt import IdStyle, PromptBuilder
from rankers.blockrank.scoring import score_decode, score_full, score_linear, score_reference

Route = Literal["linear", "reference", "full", "decode"]
ROUTES: tuple[str, ...] = ("linear", "reference", "full", "decode")


def default_layer(num_layers: int) -> int:
    """``l*`` when none is given: 0-based layer at 0.6 of the depth (18 of SmolLM2's 30; the
    paper's 20 of 32 is 0.63)."""
    return max(0, min(num_layers - 1, round(0.6 * num_layers)))


class BlockRankReranker:
    """Attention-score reranking with one LM (loaded once per worker).

    Args:
        lm: a :class:`rankers.lm.LoadedLM`.
        documents: ``doc_id -> text`` for the candidates (the corpus).
        route: ``linear`` (BlockRank, KV-cache route), ``reference`` (BlockRank, explicit 4-D
            mask), ``full`` (the full-attention baseline) or ``decode`` (full attention, scored by
            constrained decoding of the answer ID; all layers run).
        layer: ``l*`` (0-based); default :func:`default_layer`.
        candidates: how many of each list to rerank.
        queries_per_batch: prompts per forward pass.
    """

    def __init__(
        self,
        lm: Any,
        documents: Mapping[str, str],
        *,
        route: Route = "linear",
        layer: int | None = None,
        candidates: int = 100,
        chunk: int = 160,
        ids: IdStyle = "docid",
        signal: int = 2,
        offset: int | None = None,
        queries_per_batch: int = 1,
        name: str = "blockrank",
    ) -> None:
        if route not in ROUTES:
            raise ValueError(f"route={route!r}: use {', '.join(ROUTES)}")
        self.lm = lm
        self.documents = documents
        self.route = route
        layers = lm.config.num_hidden_layers
        self.layer = default_layer(layers) if layer is None else layer
        if not 0 <= self.layer < layers:
            raise ValueError(f"layer {self.layer} is outside 0..{layers - 1} ({lm.name} has {layers} layers)")
        self.candidates = candidates
        self.offset = offset
        self.queries_per_batch = queries_per_batch
        self.name = name
        self.builder = PromptBuilder(lm.tokenizer, chunk=chunk, ids=ids, signal=signal)
        self._stats: dict[str, dict[str, float]] = {}

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.lm.name,
            "model_fingerprint": self.lm.fingerprint,
            "route": self.route,
            "layer": self.layer,
            "device": self.lm.device,
            "dtype": str(self.lm.dtype).removeprefix("torch."),
        }

    def score(self, prompts: list[Any]) -> list[list[float]]:
        model = self.lm.model
        if self.route == "full":
            return score_full(model, prompts, self.layer)
        if self.route == "decode":
            return score_decode(model, prompts)
        if self.route == "reference":
            return score_reference(model, prompts, self.layer, self.offset)
        return score_linear(model, prompts, self.layer, self.offset, pad_id=self.lm.tokenizer.pad_token_id)

    def _text(self, doc_id: str) -> str:
        text = self.documents.get(doc_id)
        if text is None:
            raise InputError(
                f"{self.name}: document {doc_id!r} was retrieved but is not in the corpus the reranker "
                "reads its texts from (the config's corpus)"
            )
        return text

    def rerank(self, queries: Mapping[str, str], ranking: Ranking, depth: int) -> Ranking:
        out: Ranking = {}
        todo = [q for q in queries if ranking.get(q)]
        for q in queries:
            if not ranking.get(q):
                out[q] = []
        for start in range(0, len(todo), self.queries_per_batch):
            batch = todo[start : start + self.queries_per_batch]
            started = time.perf_counter()
            heads = {q: ranking[q][: self.candidates] for q in batch}
            prompts = [
                self.builder.build(queries[q], [(d, self._text(d)) for d, _ in heads[q]]) for q in batch
            ]
            scores = self.score(prompts)
            seconds = (time.perf_counter() - started) / len(batch)
            for q, prompt, values in zip(batch, prompts, scores, strict=True):
                out[q] = _merge(heads[q], values, ranking[q][self.candidates :], depth)
                self._stats[q] = {
                    "seconds": seconds,
                    "prompt_tokens": prompt.n_tokens,
                    "documents": len(prompt.docs),
                    "batch_queries": len(batch),
                }
        return out

    def pop_stats(self) -> dict[str, dict[str, float]]:
        stats, self._stats = self._stats, {}
        return stats


def _merge(head: Hits, scores: list[float], tail: Hits, depth: int) -> Hits:
    """Reranked head above the untouched tail (scores below every head score, in the tail's own
    order)."""
    reranked = sort_hits(((doc, float(s)) for (doc, _), s in zip(head, scores, strict=True)))
    floor = min((s for _, s in reranked), default=0.0)
    below = [(doc, min(floor, 0.0) - 1.0 - i) for i, (doc, _) in enumerate(tail)]
    return (reranked + below)[:depth]

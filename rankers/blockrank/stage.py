"""Pipeline stage types ``blockrank`` and ``full-attention`` (rerankers).

```yaml
reranker:
  type: blockrank            # or full-attention (the baseline: same prompt and readout)
  model: SmolLM2-135M-Instruct   # the packaged default, or a local HF causal LM / checkpoint dir
  layer: 18                  # l*, 0-based; default 0.6 of the depth
  route: linear              # blockrank: linear (KV cache) or reference (explicit 4-D mask);
                             # full-attention: attention (the readout) or decode (answer-ID log-prob)
  candidates: 50             # rerank the top 50 of the first stage
  chunk: 160                 # tokens of each document's text
  ids: docid                 # docid (order-free) or slot (0..N-1, as the paper)
  signal: 2                  # signal rows: the last 2 prompt tokens, or 1
  offset: null               # query segment's first position (default: after the longest doc)
  device: auto               # cpu, cuda, cuda:N; bf16 on CUDA unless dtype says otherwise
  dtype: null
  batch_size: 1              # queries per forward pass
```
A checkpoint written by ``ragbench train blockrank`` carries its layer and prompt settings in its
manifest; options given here override them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ragbench.errors import InputError
from ragbench.jobs.config import StageSpec
from ragbench.jobs.options import Options
from ragbench.jobs.registry import StageType

OPTIONS = {"model", "layer", "route", "candidates", "chunk", "ids", "signal", "offset", "device", "dtype",
           "batch_size"}  # fmt: skip
_CORPORA: dict[str, dict[str, str]] = {}


def corpus_texts(spec: StageSpec) -> dict[str, str]:
    """``doc_id -> text`` of the config's corpus (read once per worker process)."""
    from ragbench.formats.corpus import iter_corpus

    if spec.corpus is None:
        raise InputError(
            f"{spec.where}: a {spec.type} reranker needs the config's corpus (the document texts)"
        )
    if spec.corpus not in _CORPORA:
        _CORPORA[spec.corpus] = {
            doc.doc_id: doc.contents for doc in iter_corpus(spec.corpus, empty="warning")
        }
    return _CORPORA[spec.corpus]


def manifest_defaults(model: str | None) -> dict[str, Any]:
    """The reranker settings a trained checkpoint's manifest records (``{}`` for other models)."""
    if model is None:
        return {}
    path = Path(model).expanduser() / "ragbench-manifest.json"
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        return dict(manifest.get("reranker") or {})
    except (ValueError, AttributeError, TypeError) as exc:
        raise InputError(f"{path}: not a ragbench checkpoint manifest ({exc})") from None


def _settings(spec: StageSpec) -> dict[str, Any]:
    """The reranker's settings from its options (and a checkpoint's manifest); no model loaded."""
    from rankers.blockrank.reranker import default_layer
    from rankers.lm import is_default, resolve_lm

    opts = Options(spec, OPTIONS)
    model = opts.text("model")
    if model is not None and not is_default(model):  # is_default(None): the packaged LM
        model = spec.path(model)
    saved = manifest_defaults(model)
    if spec.type == "blockrank":
        route = opts.text("route", "linear", choices=("linear", "reference"))
    else:
        route = (
            "full"
            if opts.text("route", "attention", choices=("attention", "decode")) == "attention"
            else "decode"
        )
    directory, _, _ = resolve_lm(model)
    layers = json.loads((directory / "config.json").read_text(encoding="utf-8")).get("num_hidden_layers")
    layer = opts.integer("layer", saved.get("layer"), low=0)
    if layer is not None and layers is not None and layer >= layers:
        raise opts.error("layer", f"layer {layer} is outside 0..{layers - 1} (the model has {layers} layers)")
    signal = opts.integer("signal", saved.get("signal", 2))
    if signal not in (1, 2):
        raise opts.error("signal", f"use 1 or 2 (signal rows at the end of the prompt), got {signal}")
    return {
        "model": model,
        "device": opts.text("device", "auto"),
        "dtype": opts.text("dtype", None, choices=("float32", "bfloat16", "float16")),
        "route": route,
        "layer": layer if layer is not None or layers is None else default_layer(layers),
        "candidates": opts.integer("candidates", 100),
        "chunk": opts.integer("chunk", saved.get("chunk", 160)),
        "ids": opts.text("ids", saved.get("ids", "docid"), choices=("docid", "slot")),
        "signal": signal,
        "offset": opts.integer("offset", saved.get("offset"), low=0),
        "queries_per_batch": opts.integer("batch_size", 1),
    }


def _prepare(spec: StageSpec, on_progress: Any, use_ray: bool) -> None:
    # Before any stage runs: a bad option fails the run now, not after first-stage retrieval.
    _settings(spec)
    if spec.corpus is None:
        raise InputError(f"{spec.where}: a {spec.type} reranker needs the config's corpus (document texts)")


def _build(spec: StageSpec) -> Any:
    from rankers.blockrank.reranker import BlockRankReranker
    from rankers.lm import load_lm

    settings = _settings(spec)
    lm = load_lm(settings.pop("model"), device=settings.pop("device"), dtype=settings.pop("dtype"))
    try:
        return BlockRankReranker(lm, corpus_texts(spec), name=spec.name, **settings)
    except ValueError as exc:
        raise InputError(f"{spec.where}: {exc}") from None


LM_MODULES = ("torch", "transformers", "gguf", "accelerate")

BLOCKRANK = StageType(
    "reranker", "blockrank", _build, prepare=_prepare, gpu=True, corpus=True, extra="lm", modules=LM_MODULES,
    doc="BlockRank in-context reranking (attention at layer l*, linear in the list length)",
)  # fmt: skip
FULL_ATTENTION = StageType(
    "reranker", "full-attention", _build, prepare=_prepare, gpu=True, corpus=True, extra="lm",
    modules=LM_MODULES, doc="the full-attention in-context baseline (same prompt and readout)",
)  # fmt: skip

"""BlockRank fine-tuning: next-token loss on the answer ids plus the attention InfoNCE loss.

Spec §4 and §6.5. One forward pass of the decoder over the flat prompt (block positions, the
block-sparse 4-D bool mask, SDPA) gives both terms:

- ``L_NTP``: cross-entropy of the answer tokens (``{ids}]<eos>`` after ``Final Answer: [``).
  Only the hidden states that predict an answer token go through the LM head, so no
  ``S x vocab`` logits are built; the value equals ``model(..., labels=batch.labels).loss``.
- ``L_aux``: with the scores ``S`` (B, N) that :func:`rankers.blockrank.readout.doc_scores` reads
  at layer ``l*`` from the signal rows (with gradient),
  ``mean_b[-logsumexp_{k in Pos}(S_k/tau) + logsumexp_{k in docs}(S_k/tau)]``.

``L = L_NTP + lambda * L_aux``. The loop: AdamW, linear warmup then cosine decay, gradient
clipping at 1.0, ``batch_size`` lists per step (one forward per ``micro_batch`` lists, gradients
accumulated), bf16 autocast on CUDA and float32 on CPU. :func:`save_checkpoint` writes a Hugging
Face directory plus ``ragbench-manifest.json``, which the ``blockrank`` reranker stage reads.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rankers.blockrank.layout import block_mask, flat_batch
from rankers.blockrank.lists import TrainingList
from rankers.blockrank.prompt import IdStyle, Prompt, PromptBuilder
from rankers.blockrank.readout import base_model, doc_scores

MANIFEST = "ragbench-manifest.json"
FORMAT = 1


@contextlib.contextmanager
def _capture(model: Any, layer: int) -> Iterator[dict[str, Any]]:
    """Keep the input of layer ``layer``'s attention (normalised hidden states and rotary tables).

    The scores are computed from them after the forward pass, outside the layer: under
    activation checkpointing the layer's recomputation then saves the same tensors as its first
    run (a hook that computed inside the layer would have to stay registered through backward).
    """
    attention = base_model(model).layers[layer].self_attn
    found: dict[str, Any] = {}

    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if "hidden" not in found:
            found["hidden"] = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
            found["rope"] = kwargs["position_embeddings"]
            found["module"] = module

    handle = attention.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield found
    finally:
        handle.remove()


def _autocast(device: torch.device) -> Any:
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def info_nce(scores: torch.Tensor, positive: torch.Tensor, real: torch.Tensor, tau: float) -> torch.Tensor:
    """``mean_b[-logsumexp_{Pos}(S/tau) + logsumexp_{real}(S/tau)]`` of ``scores`` (B, N); the
    bool masks ``positive`` and ``real`` (B, N) mark each row's positives and its documents."""
    logits = scores.float() / tau
    neg_inf = torch.finfo(logits.dtype).min
    top = torch.logsumexp(logits.masked_fill(~positive, neg_inf), dim=-1)
    bottom = torch.logsumexp(logits.masked_fill(~real, neg_inf), dim=-1)
    return (bottom - top).mean()


def blockrank_loss(
    model: Any,
    prompts: Sequence[Prompt],
    layer: int,
    lam: float = 0.1,
    tau: float = 0.05,
    *,
    positives: Sequence[Collection[str]],
    offset: int | None = None,
    pad_id: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, ntp, aux)`` of one batch of training prompts (built with ``answer=...``).

    Args:
        model: a ``...ForCausalLM`` (Llama family).
        prompts: prompts whose ``answer`` holds the target ids.
        layer: ``l*`` (0-based) of the attention readout.
        positives: for each prompt, the doc ids of its positives (``prompt.doc_ids`` members).
    """
    if len(positives) != len(prompts):
        raise ValueError("one set of positives per prompt")
    device = next(model.parameters()).device
    batch = flat_batch(prompts, positions="block", offset=offset, pad_id=pad_id).to(str(device))
    n_docs = max(batch.n_docs)
    positive = torch.zeros((len(prompts), n_docs), dtype=torch.bool)
    for b, (prompt, pos) in enumerate(zip(prompts, positives, strict=True)):
        for k, doc in enumerate(prompt.doc_ids):
            positive[b, k] = doc in pos
    if not bool(positive.any(dim=1).all()):
        raise ValueError("every training prompt needs at least one positive among its documents")
    positive = positive.to(device)
    real = (torch.arange(n_docs)[None, :] < torch.tensor(batch.n_docs)[:, None]).to(device)
    with _capture(model, layer) as found, _autocast(device):
        out = base_model(model)(
            input_ids=batch.input_ids, attention_mask=block_mask(batch), position_ids=batch.position_ids
        )
        hidden = out.last_hidden_state
        # labels[t] is predicted by the output at t-1 (HF's shift)
        target = batch.labels[:, 1:]
        keep = target != -100
        logits = model.lm_head(hidden[:, :-1][keep])
        ntp = F.cross_entropy(logits.float(), target[keep])
        cos, sin = found["rope"]
        scores = doc_scores(
            found["module"], found["hidden"], cos, sin, batch.signal_rows, batch.doc_index, n_docs
        )
    aux = info_nce(scores, positive, real, tau)
    return ntp + lam * aux, ntp, aux


def encode_lists(builder: PromptBuilder, lists: Sequence[TrainingList]) -> list[tuple[Prompt, set[str]]]:
    """Training prompts (the answer: the positives' ids in list order) with their positives."""
    return [
        (builder.build(item.query, item.candidates, answer=item.positive_ids()), set(item.positives))
        for item in lists
    ]


def _checkpointing(model: Any, on: bool) -> None:
    """Activation checkpointing, non-reentrant (the aux gradient must reach layers <= l*)."""
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x
        if on:
            model.activation_checkpointing_enable({"use_reentrant": False})
        else:
            model.activation_checkpointing_disable()
    elif on:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_disable()


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warmup over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / span)))


@dataclass
class TrainConfig:
    layer: int
    lam: float = 0.1
    tau: float = 0.05
    lr: float = 3e-5
    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 1
    micro_batch: int = 1
    warmup: float = 0.1
    """Warmup steps: a fraction of the total when < 1, else a count."""
    weight_decay: float = 0.0
    clip: float = 1.0
    chunk: int = 160
    ids: IdStyle = "docid"
    signal: int = 2
    offset: int | None = None
    seed: int = 0
    grad_checkpoint: bool = False


@dataclass
class TrainResult:
    steps: int
    losses: list[list[float]] = field(default_factory=list)
    """Per step: ``[ntp, aux]`` (means over the step's lists)."""
    seconds: float = 0.0
    device: str = "cpu"


def total_steps(n_lists: int, config: TrainConfig) -> int:
    if config.steps is not None:
        return config.steps
    per_epoch = math.ceil(n_lists / config.batch_size)
    return max(1, math.ceil((config.epochs if config.epochs is not None else 1.0) * per_epoch))


def train(
    lm: Any,
    lists: Sequence[TrainingList],
    config: TrainConfig,
    *,
    on_step: Callable[[int, int, float, float], None] | None = None,
) -> TrainResult:
    """Fine-tune ``lm.model`` in place on ``lists``; ``on_step(step, total, ntp, aux)`` after each."""
    if not lists:
        raise ValueError("no training lists")
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = lm.model
    device = next(model.parameters()).device
    builder = PromptBuilder(lm.tokenizer, chunk=config.chunk, ids=config.ids, signal=config.signal)
    examples = encode_lists(builder, lists)
    total = total_steps(len(examples), config)
    warmup = round(config.warmup * total) if config.warmup < 1 else int(config.warmup)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup))
    if config.grad_checkpoint:
        _checkpointing(model, True)
    model.config.use_cache = False
    model.train()
    rng = random.Random(config.seed)
    order: list[int] = []
    result = TrainResult(steps=total, device=str(device))
    started = time.perf_counter()
    try:
        for step in range(total):
            picked: list[int] = []
            while len(picked) < config.batch_size:
                if not order:
                    order = list(range(len(examples)))
                    rng.shuffle(order)
                picked.append(order.pop())
            optimizer.zero_grad(set_to_none=True)
            ntp_sum = aux_sum = 0.0
            for start in range(0, len(picked), config.micro_batch):
                part = [examples[i] for i in picked[start : start + config.micro_batch]]
                loss, ntp, aux = blockrank_loss(
                    model,
                    [p for p, _ in part],
                    config.layer,
                    config.lam,
                    config.tau,
                    positives=[pos for _, pos in part],
                    offset=config.offset,
                    pad_id=lm.tokenizer.pad_token_id or 0,
                )
                (loss * len(part) / len(picked)).backward()  # type: ignore[no-untyped-call]  # unannotated in torch
                ntp_sum += float(ntp.detach()) * len(part)
                aux_sum += float(aux.detach()) * len(part)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            schedule.step()
            ntp_mean, aux_mean = ntp_sum / len(picked), aux_sum / len(picked)
            result.losses.append([ntp_mean, aux_mean])
            if on_step is not None:
                on_step(step + 1, total, ntp_mean, aux_mean)
    finally:
        if config.grad_checkpoint:
            _checkpointing(model, False)
        model.eval()
    result.seconds = time.perf_counter() - started
    return result


def save_checkpoint(
    lm: Any,
    out: str | Path,
    config: TrainConfig,
    result: TrainResult,
    *,
    source: str,
    n_lists: int,
    candidates: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``out`` as a Hugging Face model directory with ``ragbench-manifest.json``."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lm.model.save_pretrained(out)
    lm.tokenizer.save_pretrained(out)
    training: dict[str, Any] = {
        "lambda": config.lam,
        "tau": config.tau,
        "lr": config.lr,
        "steps": result.steps,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "candidates": candidates,
        "source": source,
        "lists": n_lists,
        "seed": config.seed,
        "warmup": config.warmup,
        "losses": result.losses,
        "seconds": round(result.seconds, 3),
        "device": result.device,
    }
    training.update(extra or {})
    manifest = {
        "format": FORMAT,
        "base_model": lm.name,
        "base_fingerprint": lm.fingerprint,
        "reranker": {
            "layer": config.layer,
            "chunk": config.chunk,
            "ids": config.ids,
            "signal": config.signal,
            "offset": config.offset,
        },
        "training": training,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out

"""Attention-based relevance scores read at one layer from the signal rows (spec §3, §6.3b).

A forward pre-hook on layer ``l*``'s attention module receives that layer's normalised input and
its rotary tables. It recomputes the signal rows' queries and every column's keys, takes the
softmax of ``q·k / sqrt(d)`` over document columns only, per head, and averages over heads and
signal rows; a document's score is the sum over its tokens, so the scores of a list sum to 1.
This works under any attention backend (SDPA, flash, eager) and keeps gradients for training.
At inference the hook then stops the forward pass: the layers above ``l*`` never run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


class StopForward(Exception):
    """Raised by the hook to end a forward pass at the readout layer."""


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of ``x`` (B, heads, T, d) with ``cos``/``sin`` (B, T, d)."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


def doc_scores(
    module: Any,
    hidden: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    rows: torch.Tensor,
    doc_index: torch.Tensor,
    n_docs: int,
    past_keys: torch.Tensor | None = None,
) -> torch.Tensor:
    """Scores ``(B, n_docs)`` from one attention layer's input.

    Args:
        module: the layer's attention module (``q_proj``, ``k_proj``, ``scaling``).
        hidden: its input (after the input layer norm), ``(B, T, hidden)``.
        cos, sin: the rotary tables of the ``T`` new tokens.
        rows: ``(B, R)`` indices into ``T`` of the signal tokens.
        doc_index: ``(B, P + T)`` document number of every key column (``-1``: not a document).
        n_docs: width of the result (documents beyond a prompt's own count score 0).
        past_keys: ``(B, kv_heads, P, d)`` cached keys (already rotated) before the new tokens.
    """
    batch, tokens, width = hidden.shape
    head_dim = module.head_dim
    picked = torch.gather(hidden, 1, rows[..., None].expand(-1, -1, width))
    q = module.q_proj(picked).view(batch, rows.shape[1], -1, head_dim).transpose(1, 2)
    take = rows[..., None].expand(-1, -1, cos.shape[-1])
    q = rope(q, torch.gather(cos, 1, take), torch.gather(sin, 1, take))
    k = module.k_proj(hidden).view(batch, tokens, -1, head_dim).transpose(1, 2)
    k = rope(k, cos, sin)
    if past_keys is not None:
        k = torch.cat([past_keys.to(k.dtype), k], dim=2)
    groups = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(groups, dim=1)  # GQA: query head h reads kv head h // groups
    logits = torch.matmul(q.float(), k.float().transpose(-1, -2)) * module.scaling  # (B, H, R, S)
    is_doc = doc_index >= 0
    logits = logits.masked_fill(~is_doc[:, None, None, :], float("-inf"))
    share = torch.softmax(logits, dim=-1).mean(dim=(1, 2))  # (B, S)
    share = torch.where(is_doc, share, torch.zeros_like(share))
    scores = torch.zeros(batch, n_docs, dtype=share.dtype, device=share.device)
    return scores.scatter_add(1, doc_index.clamp(min=0), share)


@contextmanager
def readout(
    model: Any,
    layer: int,
    rows: torch.Tensor,
    doc_index: torch.Tensor,
    n_docs: int,
    *,
    stop: bool = True,
    past_keys: Any = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, a forward pass of ``model`` puts ``doc_scores`` in ``found["scores"]``
    when it reaches ``layer`` (and stops there if ``stop``; catch :class:`StopForward`).

    ``past_keys``: a callable returning the cached keys for ``layer`` (the KV-cache route).
    """
    attention = base_model(model).layers[layer].self_attn
    found: dict[str, torch.Tensor] = {}

    def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        cos, sin = kwargs["position_embeddings"]
        cached = past_keys() if past_keys is not None else None
        found["scores"] = doc_scores(module, hidden, cos, sin, rows, doc_index, n_docs, cached)
        if stop:
            raise StopForward

    handle = attention.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        yield found
    finally:
        handle.remove()


def base_model(model: Any) -> Any:
    """The decoder stack (``model.model`` of a ``...ForCausalLM``)."""
    return model.model if hasattr(model, "lm_head") else model


@contextmanager
def layers_upto(model: Any, layer: int) -> Iterator[None]:
    """Run only layers ``0..layer`` (the Llama-family forward iterates
    ``layers[:config.num_hidden_layers]``)."""
    config = base_model(model).config
    kept = config.num_hidden_layers
    config.num_hidden_layers = layer + 1
    try:
        yield
    finally:
        config.num_hidden_layers = kept

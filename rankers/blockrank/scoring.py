"""BlockRank scores three ways, all read at layer ``l*`` by :mod:`rankers.blockrank.readout`.

- :func:`score_reference`: one forward pass over the flat prompt with the explicit 4-D
  block-sparse mask (spec §6.1-6.2). Quadratic in the prompt length; the definition.
- :func:`score_linear`: the same scores at linear cost (spec §6.4). The instructions run once;
  every document runs as one row of a batch on a copy of its query's instruction KV cache, with
  positions from ``L_I``; then the query segments run over the concatenation ``[instruction] +
  [doc_1] + ... + [doc_N]`` of those caches (pads trimmed). Keys are stored already rotated, so
  concatenation gives each query token exactly the context the block mask gives it.
- :func:`score_full`: the full-attention in-context baseline: the same tokens in the same order
  with ordinary causal attention and sequential positions, scored by the same readout.

All three are batched over queries (prompts right-padded) and run layers ``0..l*`` only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import torch

from rankers.blockrank.layout import FlatBatch, block_mask, causal_mask, flat_batch, query_offset
from rankers.blockrank.prompt import Prompt
from rankers.blockrank.readout import StopForward, base_model, layers_upto, readout


def _device(model: Any) -> torch.device:
    device: torch.device = next(model.parameters()).device
    return device


def _split(scores: torch.Tensor, prompts: Sequence[Prompt]) -> list[list[float]]:
    return [scores[b, : len(p.docs)].tolist() for b, p in enumerate(prompts)]


def _run_flat(model: Any, batch: FlatBatch, mask: torch.Tensor | None, layer: int) -> torch.Tensor:
    with (
        readout(model, layer, batch.signal_rows, batch.doc_index, max(batch.n_docs)) as found,
        contextlib.suppress(StopForward),
    ):
        base_model(model)(input_ids=batch.input_ids, attention_mask=mask, position_ids=batch.position_ids)
    return found["scores"]


@torch.inference_mode()
def score_reference(
    model: Any, prompts: Sequence[Prompt], layer: int, offset: int | None = None
) -> list[list[float]]:
    """Scores from a single pass with the explicit 4-D block mask."""
    batch = flat_batch(prompts, positions="block", offset=offset).to(_device(model))
    return _split(_run_flat(model, batch, block_mask(batch), layer), prompts)


@torch.inference_mode()
def score_full(model: Any, prompts: Sequence[Prompt], layer: int) -> list[list[float]]:
    """Scores of the full-attention baseline (causal mask, sequential positions)."""
    batch = flat_batch(prompts, positions="sequential").to(_device(model))
    # Without padding, no mask: the model's own causal path (SDPA's is_causal kernels), which
    # never holds an S x S matrix; a long list (N=100 x 160 tokens) would need gigabytes for one.
    mask = None if bool(batch.valid.all()) else causal_mask(batch)
    return _split(_run_flat(model, batch, mask, layer), prompts)


def _pad_rows(
    rows: Sequence[Sequence[int]], pad: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return ids.to(device), lengths.to(device)


def _cache(config: Any, layers: list[tuple[torch.Tensor, torch.Tensor]]) -> Any:
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    for i, (k, v) in enumerate(layers):
        cache.update(k, v, i)
    return cache


def _blank(t: torch.Tensor, rows: int, width: int) -> torch.Tensor:
    """Zeros shaped like the cache tensor ``t`` (batch, heads, positions, dim), with ``rows`` rows
    and ``width`` positions."""
    return t.new_zeros((rows, t.shape[1], width, t.shape[3]))


def _kv(cache: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _prefix_mask(
    prefix_len: torch.Tensor, prefix_width: int, new_len: torch.Tensor, new_width: int
) -> torch.Tensor:
    """Bool ``(B, 1, new, prefix + new)``: each row sees its real prefix columns and, causally, its
    new tokens (pad rows see only column ``prefix + row``, which keeps softmax finite)."""
    device = prefix_len.device
    cols = torch.arange(prefix_width, device=device)
    prefix = (cols[None, :] < prefix_len[:, None])[:, None, :].expand(-1, new_width, -1)
    idx = torch.arange(new_width, device=device)
    own = (idx[:, None] >= idx[None, :])[None] & (idx[None, None, :] < new_len[:, None, None])
    own |= torch.eye(new_width, dtype=torch.bool, device=device)[None]
    return torch.cat([prefix, own], dim=2)[:, None]


@torch.inference_mode()
def score_linear(
    model: Any,
    prompts: Sequence[Prompt],
    layer: int,
    offset: int | None = None,
    *,
    doc_tokens_per_batch: int = 16_384,
    pad_id: int = 0,
) -> list[list[float]]:
    """The block-mask scores at linear cost, through KV caches (see the module docstring).

    ``doc_tokens_per_batch`` bounds the padded tokens of one document batch (memory).
    """
    return score_linear_layers(
        model, prompts, [layer], offset, doc_tokens_per_batch=doc_tokens_per_batch, pad_id=pad_id
    )[layer]


@torch.inference_mode()
def score_linear_layers(
    model: Any,
    prompts: Sequence[Prompt],
    layers: Sequence[int],
    offset: int | None = None,
    *,
    doc_tokens_per_batch: int = 16_384,
    pad_id: int = 0,
) -> dict[int, list[list[float]]]:
    """:func:`score_linear` read at several layers from one pass (for choosing ``l*``)."""
    device = _device(model)
    decoder = base_model(model)
    config = decoder.config
    layer = max(layers)
    with layers_upto(model, layer):
        # 1. instructions, one row per query
        inst_ids, inst_len = _pad_rows([p.inst for p in prompts], pad_id, device)
        inst_width = inst_ids.shape[1]
        out = decoder(
            input_ids=inst_ids,
            attention_mask=_prefix_mask(inst_len, 0, inst_len, inst_width),
            position_ids=torch.arange(inst_width, device=device)[None].expand(len(prompts), -1),
            past_key_values=_cache(config, []),
            use_cache=True,
        )
        inst_kv = _kv(out.past_key_values)

        # 2. documents, batched across all queries on copies of their instruction's cache
        owners = [(q, k) for q, p in enumerate(prompts) for k in range(len(p.docs))]
        owners.sort(key=lambda qk: len(prompts[qk[0]].docs[qk[1]]))  # similar lengths pad less
        doc_kv: dict[tuple[int, int], list[tuple[torch.Tensor, torch.Tensor]]] = {}
        start = 0
        while start < len(owners):
            end = start + 1
            longest = len(prompts[owners[start][0]].docs[owners[start][1]])
            while end < len(owners):
                longest = max(longest, len(prompts[owners[end][0]].docs[owners[end][1]]))
                if longest * (end + 1 - start) > doc_tokens_per_batch:
                    break
                end += 1
            chunk = owners[start:end]
            start = end
            rows = torch.tensor([q for q, _ in chunk], device=device)
            ids, lengths = _pad_rows([prompts[q].docs[k] for q, k in chunk], pad_id, device)
            width = ids.shape[1]
            past = _cache(config, [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in inst_kv])
            lead = inst_len.index_select(0, rows)
            out = decoder(
                input_ids=ids,
                attention_mask=_prefix_mask(lead, inst_width, lengths, width),
                position_ids=lead[:, None] + torch.arange(width, device=device)[None],
                past_key_values=past,
                use_cache=True,
            )
            for r, (q, d) in enumerate(chunk):
                n = int(lengths[r])
                doc_kv[(q, d)] = [
                    (key[r, :, inst_width : inst_width + n], value[r, :, inst_width : inst_width + n])
                    for key, value in _kv(out.past_key_values)
                ]

        # 3. query segments over [instruction] + [documents] for each query, right-padded
        count = len(prompts)
        context_len = inst_len + torch.tensor([sum(len(d) for d in p.docs) for p in prompts], device=device)
        context_width = int(context_len.max())
        query_ids, query_len = _pad_rows([p.query for p in prompts], pad_id, device)
        query_width = query_ids.shape[1]
        doc_index = torch.full((count, context_width + query_width), -1, dtype=torch.long, device=device)
        layers_kv = [(_blank(k, count, context_width), _blank(v, count, context_width)) for k, v in inst_kv]
        for q, prompt in enumerate(prompts):
            at = int(inst_len[q])
            for (keys, values), (k, v) in zip(layers_kv, inst_kv, strict=True):
                keys[q, :, :at], values[q, :, :at] = k[q, :, :at], v[q, :, :at]
            for d in range(len(prompt.docs)):
                kv = doc_kv.pop((q, d))
                n = kv[0][0].shape[1]
                for (keys, values), (k, v) in zip(layers_kv, kv, strict=True):
                    keys[q, :, at : at + n], values[q, :, at : at + n] = k, v
                doc_index[q, at : at + n] = d
                at += n
        signal = max(p.signal for p in prompts)
        rows = torch.stack([query_len - signal + i for i in range(signal)], dim=1)
        offsets = torch.tensor([query_offset(p, offset) for p in prompts], device=device)
        cache = _cache(config, layers_kv)
        n_docs = max(len(p.docs) for p in prompts)
        with contextlib.ExitStack() as stack:
            found = {
                at: stack.enter_context(
                    readout(model, at, rows, doc_index, n_docs, stop=at == layer,
                            past_keys=lambda at=at: cache.layers[at].keys)
                )
                for at in sorted(set(layers))
            }  # fmt: skip
            stack.enter_context(contextlib.suppress(StopForward))
            decoder(
                input_ids=query_ids,
                attention_mask=_prefix_mask(context_len, context_width, query_len, query_width),
                position_ids=offsets[:, None] + torch.arange(query_width, device=device)[None],
                past_key_values=cache,
                use_cache=True,
            )
    return {at: _split(kept["scores"], prompts) for at, kept in found.items()}


@torch.inference_mode()
def score_decode(model: Any, prompts: Sequence[Prompt]) -> list[list[float]]:
    """The constrained-decoding baseline: full causal attention over the whole prompt through every
    layer and the LM head, then each document's score is the log-probability that the answer
    starts with its ID (``log p(id tokens | prompt)``). That is constrained decoding of the first
    answer ID carried out exhaustively over the valid IDs (a beam as wide as the list), which
    ranks every candidate rather than only the beam's survivors."""
    device = _device(model)
    results = []
    for prompt in prompts:
        ids = torch.tensor([prompt.inst + [t for d in prompt.docs for t in d] + prompt.query], device=device)
        out = model(input_ids=ids, use_cache=True)
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        labels = prompt.labels
        longest = max(len(label) for label in labels)
        scores = [float(first[label[0]]) for label in labels]
        if longest > 1:
            rows = torch.tensor(
                [label[:-1] + [0] * (longest - len(label)) for label in labels], device=device
            )
            cache = out.past_key_values
            cache.batch_repeat_interleave(len(labels))
            positions = ids.shape[1] + torch.arange(longest - 1, device=device)
            step = model(
                input_ids=rows, past_key_values=cache, position_ids=positions[None].expand(len(labels), -1)
            )
            logp = torch.log_softmax(step.logits.float(), dim=-1)  # (N, longest-1, vocab)
            for k, label in enumerate(labels):
                scores[k] += sum(float(logp[k, i, token]) for i, token in enumerate(label[1:]))
        results.append(scores)
    return results

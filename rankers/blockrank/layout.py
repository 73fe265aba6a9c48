"""Prompts as padded tensors: segment ids, positions, the block-sparse mask (spec §1-2).

A flat layout lays a prompt out as ``inst, doc_1 .. doc_N, query [, answer]`` and right-pads the
batch. ``doc_index`` marks every column with its document's number (``-1`` elsewhere): the
readout softmaxes over those columns and sums each document's share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from rankers.blockrank.prompt import Prompt

Positions = Literal["block", "sequential"]


def query_offset(prompt: Prompt, offset: int | None) -> int:
    """Where the query segment's positions start: ``offset`` if given, else right after the
    longest document (spec §6.2: inside a small model's trained range)."""
    return offset if offset is not None else len(prompt.inst) + prompt.longest_doc()


@dataclass
class FlatBatch:
    input_ids: torch.Tensor  # (B, S)
    seg: torch.Tensor  # (B, S): 0 inst, k doc k (1-based), N+1 query/answer, -1 pad
    valid: torch.Tensor  # (B, S) bool
    position_ids: torch.Tensor  # (B, S)
    doc_index: torch.Tensor  # (B, S): 0-based doc number, -1 for other columns
    signal_rows: torch.Tensor  # (B, R) column of each signal token
    labels: torch.Tensor  # (B, S): answer tokens' ids, -100 elsewhere
    n_docs: list[int]

    def to(self, device: str | torch.device) -> FlatBatch:
        return FlatBatch(
            self.input_ids.to(device),
            self.seg.to(device),
            self.valid.to(device),
            self.position_ids.to(device),
            self.doc_index.to(device),
            self.signal_rows.to(device),
            self.labels.to(device),
            self.n_docs,
        )


def flat_batch(
    prompts: Sequence[Prompt], *, positions: Positions = "block", offset: int | None = None, pad_id: int = 0
) -> FlatBatch:
    """Right-padded flat tensors for ``prompts``.

    ``positions="block"``: instruction ``0..L_I-1``, every document from ``L_I``, the query from
    :func:`query_offset`. ``"sequential"``: ``0..S-1`` (the full-attention baseline).
    """
    width = max(p.n_tokens for p in prompts)
    rows = len(prompts)
    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    seg = torch.full((rows, width), -1, dtype=torch.long)
    pos = torch.zeros((rows, width), dtype=torch.long)
    doc_index = torch.full((rows, width), -1, dtype=torch.long)
    labels = torch.full((rows, width), -100, dtype=torch.long)
    signal = torch.zeros((rows, max(p.signal for p in prompts)), dtype=torch.long)
    for b, prompt in enumerate(prompts):
        n = len(prompt.docs)
        parts = [prompt.inst, *prompt.docs, prompt.query + prompt.answer]
        start = 0
        lead = len(prompt.inst)
        tail_at = query_offset(prompt, offset)
        for k, part in enumerate(parts):
            end = start + len(part)
            ids[b, start:end] = torch.tensor(part, dtype=torch.long)
            seg[b, start:end] = k
            if positions == "sequential":
                pos[b, start:end] = torch.arange(start, end)
            elif k == 0:
                pos[b, start:end] = torch.arange(len(part))
            elif k <= n:
                pos[b, start:end] = lead + torch.arange(len(part))
            else:
                pos[b, start:end] = tail_at + torch.arange(len(part))
            if 1 <= k <= n:
                doc_index[b, start:end] = k - 1
            start = end
        query_end = start - len(prompt.answer)
        signal[b] = torch.arange(query_end - signal.shape[1], query_end)
        if prompt.answer:
            # labels[t] is the token at t: the model's output at t-1 predicts it (HF shifts)
            labels[b, query_end:start] = torch.tensor(prompt.answer, dtype=torch.long)
    return FlatBatch(ids, seg, seg >= 0, pos, doc_index, signal, labels, [len(p.docs) for p in prompts])


def block_mask(batch: FlatBatch) -> torch.Tensor:
    """The block-sparse attention pattern (spec §2) as a bool ``(B, 1, S, S)`` mask, True = attend.

    Instruction: causal within itself. A document: the whole instruction, causal within itself.
    The query segment (and a training answer): everything before it, causal within itself. Pad
    rows attend only to themselves (a row with nothing to attend to would give NaN).
    """
    seg, valid = batch.seg, batch.valid
    width = seg.shape[1]
    idx = torch.arange(width, device=seg.device)
    causal = idx[:, None] >= idx[None, :]
    n_docs = torch.tensor(batch.n_docs, device=seg.device)[:, None, None]
    rows, cols = seg[:, :, None], seg[:, None, :]
    allowed = (rows == cols) & causal
    allowed |= (rows >= 1) & (rows <= n_docs) & (cols == 0)
    allowed |= (rows == n_docs + 1) & (cols >= 0) & (cols <= n_docs)
    allowed &= valid[:, None, :]
    allowed |= torch.eye(width, dtype=torch.bool, device=seg.device)
    return allowed[:, None]


def causal_mask(batch: FlatBatch) -> torch.Tensor:
    """Full causal attention over the whole prompt (pads masked), bool ``(B, 1, S, S)``."""
    width = batch.seg.shape[1]
    idx = torch.arange(width, device=batch.seg.device)
    allowed = (idx[:, None] >= idx[None, :])[None] & batch.valid[:, None, :]
    allowed |= torch.eye(width, dtype=torch.bool, device=batch.seg.device)
    return allowed[:, None]


def additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A bool mask as the float mask eager attention adds to its logits."""
    zeros = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return zeros.masked_fill(~allowed, torch.finfo(dtype).min)

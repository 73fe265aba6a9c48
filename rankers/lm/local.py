"""The ``local`` backend: a causal LM run by transformers in this process, batched.

The model (the packaged SmolLM2 default or any local Hugging Face directory) is loaded on the
first cache miss, so a fully cached job never loads it. Greedy replies (temperature 0) are
generated in left-padded batches of ``batch_size``, exactly as :func:`rankers.lm.loading.generate`
does for the rewriters; sampled replies (temperature > 0) one prompt at a time with the seed
``seed + sample``, so a sample does not depend on which prompts shared its batch.

:meth:`LocalClient._options` gives exact log-probabilities: one forward pass over the prompt when
every option is a single token (the log-softmax of the next token), else one pass per (prompt,
option) sequence summing the option tokens' log-probabilities. An option's probability is that of
its own tokenization (the tokenizer's encoding of the option text), not summed over every way
of spelling it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rankers.lm import loading
from rankers.lm.cache import LMCache
from rankers.lm.client import LMClient, RawReply
from rankers.lm.config import LMConfig
from rankers.lm.records import Conversation, LMError


class LocalClient(LMClient):
    """An :class:`~rankers.lm.client.LMClient` over a model in this process."""

    backend = "local"

    def __init__(self, config: LMConfig, cache: LMCache | None, lm: loading.LoadedLM | None = None) -> None:
        super().__init__(config, cache)
        self._lm = lm
        self._fingerprint: str | None = None
        if lm is None:
            loading.fingerprint(config.model)  # a missing directory fails now, not at the first miss

    @classmethod
    def from_loaded(cls, lm: loading.LoadedLM, config: LMConfig | None = None) -> LocalClient:
        """A client over a model already loaded (e.g. the one being trained)."""
        cfg = config or LMConfig(model=lm.name)
        return cls(cfg, _cache_of(cfg), lm)

    @property
    def loaded(self) -> bool:
        return self._lm is not None

    @property
    def model_name(self) -> str:
        if self._lm is not None:
            return self._lm.name
        return loading.DEFAULT_LM if loading.is_default(self.config.model) else str(self.config.model)

    @property
    def fingerprint(self) -> str:
        """``<weights fingerprint>|<precision>``: greedy replies can differ between float32 and
        bfloat16, so the precision is part of it (as in the rewrite cache's keys)."""
        if self._fingerprint is None:
            if self._lm is not None:
                precision = str(self._lm.dtype).removeprefix("torch.")
                self._fingerprint = f"{self._lm.fingerprint}|{precision}"
            else:
                precision = self.config.dtype or (
                    "bfloat16" if loading.pick_device(self.config.device).startswith("cuda") else "float32"
                )
                self._fingerprint = f"{loading.fingerprint(self.config.model)}|{precision}"
        return self._fingerprint

    @property
    def chunk_size(self) -> int:
        return self.config.batch_size

    def model(self) -> loading.LoadedLM:
        """The loaded model (loaded now if it was not)."""
        if self._lm is None:
            self._lm = loading.load_lm(self.config.model, device=self.config.device, dtype=self.config.dtype)
        return self._lm

    def prompt_ids(self, conv: Conversation) -> list[int]:
        """The token ids of ``conv`` ending where the assistant's reply starts."""
        lm = self.model()
        turns: list[dict[str, str]] = [{"role": t["role"], "content": t["content"]} for t in conv]
        # One user turn (after an optional system turn): exactly the rewriters' prompt.
        if len(turns) == 1 or (len(turns) == 2 and turns[0]["role"] == "system"):
            system = turns[0]["content"] if len(turns) == 2 else None
            return loading.chat_prompt(lm, turns[-1]["content"], system)
        tokenizer = lm.tokenizer
        if getattr(tokenizer, "chat_template", None):
            ids = tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
            return list(ids)
        text = "\n\n".join(f"{t['role']}: {t['content']}" for t in turns) + "\nassistant:"
        return list(tokenizer(text, add_special_tokens=True)["input_ids"])

    def _chat(
        self, conversations: Sequence[Conversation], params: Mapping[str, Any], sample: int
    ) -> list[RawReply]:
        try:
            lm = self.model()
            prompts = [self.prompt_ids(c) for c in conversations]
            max_tokens = int(params["max_tokens"])
            temperature = float(params["temperature"])
            if temperature == 0.0:
                outputs = loading.generate(lm, prompts, max_new_tokens=max_tokens, batch_size=len(prompts))
                texts = [(o.text, o.prompt_tokens, o.new_tokens, o.new_tokens >= max_tokens) for o in outputs]
            else:
                texts = [
                    self._sample(lm, p, max_tokens, temperature, int(params["seed"]) + sample)
                    for p in prompts
                ]
        except (RuntimeError, ValueError) as exc:  # torch and transformers errors
            raise LMError(f"the local model {self.model_name} failed: {exc}") from None
        replies = []
        for text, prompt_tokens, new_tokens, full in texts:
            text, stopped = _cut(text, params.get("stop") or ())
            reason = "stop" if stopped or not full else "length"
            replies.append(RawReply(text, prompt_tokens, new_tokens, reason))
        return replies

    @staticmethod
    def _sample(
        lm: loading.LoadedLM, prompt: list[int], max_tokens: int, temperature: float, seed: int
    ) -> tuple[str, int, int, bool]:
        import torch

        torch.manual_seed(seed)
        ids = torch.tensor([prompt], device=lm.device)
        with torch.inference_mode():
            out = lm.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_tokens,
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                pad_token_id=lm.tokenizer.pad_token_id,
            )
        new = out[0, len(prompt) :].tolist()
        eos = lm.tokenizer.eos_token_id
        if eos in new:
            new = new[: new.index(eos)]
        return (
            lm.tokenizer.decode(new, skip_special_tokens=True),
            len(prompt),
            len(new),
            len(new) >= max_tokens,
        )

    def option_ids(self, options: Sequence[str]) -> list[list[int]]:
        tokenizer = self.model().tokenizer
        ids = [list(tokenizer(o, add_special_tokens=False)["input_ids"]) for o in options]
        for option, tokens in zip(options, ids, strict=True):
            if not tokens:
                raise LMError(f"option {option!r} encodes to no token")
        return ids

    def _options(
        self, conversations: Sequence[Conversation], options: Sequence[str]
    ) -> tuple[list[list[float | None]], bool, list[int]]:
        import torch

        lm = self.model()
        option_ids = self.option_ids(options)
        prompts = [self.prompt_ids(c) for c in conversations]
        single = all(len(ids) == 1 for ids in option_ids)
        values: list[list[float | None]] = []
        with torch.inference_mode():
            if single:
                last = self._next_token_logprobs(lm, prompts)
                wanted = [ids[0] for ids in option_ids]
                values = [[float(v) for v in row[wanted].tolist()] for row in last]
            else:
                for prompt in prompts:
                    values.append([self._sequence_logprob(lm, prompt, ids) for ids in option_ids])
        return values, True, [len(p) for p in prompts]

    @staticmethod
    def _next_token_logprobs(lm: loading.LoadedLM, prompts: list[list[int]]) -> Any:
        import torch

        pad = lm.tokenizer.pad_token_id
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=lm.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=lm.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = lm.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, -1, :]
        return torch.log_softmax(logits.float(), dim=-1).cpu()

    @staticmethod
    def _sequence_logprob(lm: loading.LoadedLM, prompt: list[int], option: list[int]) -> float:
        import torch

        ids = torch.tensor([prompt + option], device=lm.device)
        logits = lm.model(input_ids=ids).logits[0, len(prompt) - 1 : -1, :]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        return float(logprobs[torch.arange(len(option)), torch.tensor(option)].sum())


def _cut(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first of ``stops``, and whether one was found."""
    cut = min((text.index(s) for s in stops if s and s in text), default=None)
    return (text, False) if cut is None else (text[:cut], True)


def _cache_of(config: LMConfig) -> LMCache | None:
    path = config.cache_path()
    return LMCache(path) if path is not None else None

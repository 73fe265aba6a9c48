"""The LM client: one interface over the backends, with the cache, accounting and provenance.

:func:`open_client` builds a client from a config mapping (:class:`rankers.lm.config.LMConfig`).
A client offers three calls, each over a batch:

- :meth:`LMClient.chat`: replies to conversations (lists of ``{"role", "content"}`` turns);
- :meth:`LMClient.generate`: the same for one-turn prompts (a user message, optional system);
- :meth:`LMClient.score_options`: log-probabilities of a fixed set of answer options as the
  start of the reply (exact token log-probs locally; an endpoint's ``top_logprobs`` otherwise,
  or :class:`~rankers.lm.records.UnsupportedError` when it gives none).

Decoding is greedy (temperature 0) with seed 0 unless asked otherwise; ``sample=i`` asks for the
i-th sample (seed ``seed + i``), so samples are reproducible one by one. Outputs are looked up in
the cache first; only the misses reach the backend, in chunks, each chunk stored as soon as it is
answered (an interrupted job resumes from there). ``usage`` counts calls, cache hits, tokens,
retries and failures; :meth:`LMClient.pop_usage` hands a job its own counts.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rankers.lm.cache import LMCache, Stored, cache_key
from rankers.lm.config import LMConfig
from rankers.lm.records import (
    Conversation,
    LMError,
    Message,
    OptionScores,
    Provenance,
    Reply,
    Usage,
    prompt_hash,
)

Progress = Callable[[int], None] | None


@dataclass(frozen=True)
class RawReply:
    """What a backend returns for one conversation, before caching and provenance."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LMClient:
    """The interface; backends implement :meth:`_chat`, :meth:`_options` and the fingerprint."""

    backend = "?"

    def __init__(self, config: LMConfig, cache: LMCache | None) -> None:
        self.config = config
        self.cache = cache
        self.usage = Usage()
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()

    # -- what a backend provides ------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        """Identifies what answers (weights and precision, or endpoint and model); computed
        without loading a model."""
        raise NotImplementedError

    @property
    def model_name(self) -> str:
        raise NotImplementedError

    @property
    def chunk_size(self) -> int:
        """Prompts per backend call between two cache writes."""
        return 8

    def _chat(
        self, conversations: Sequence[Conversation], params: Mapping[str, Any], sample: int
    ) -> list[RawReply]:
        raise NotImplementedError

    def _options(
        self, conversations: Sequence[Conversation], options: Sequence[str]
    ) -> tuple[list[list[float | None]], bool, list[int]]:
        """Per conversation the options' log-probs; whether exact; prompt tokens per conversation."""
        raise NotImplementedError

    # -- the public calls ---------------------------------------------------------------------
    def params(
        self,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The decoding parameters a call uses: the config's defaults with the given overrides."""
        params: dict[str, Any] = {
            "temperature": float(self.config.temperature if temperature is None else temperature),
            "seed": int(self.config.seed if seed is None else seed),
            "max_tokens": int(self.config.max_tokens if max_tokens is None else max_tokens),
        }
        if stop:
            params["stop"] = list(stop)
        return params

    def chat(
        self,
        conversations: Sequence[Conversation],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        sample: int = 0,
        on_done: Progress = None,
    ) -> list[Reply]:
        """Replies to ``conversations``, in order (cached ones read back, the rest generated).

        Args:
            conversations: each a list of ``{"role": ..., "content": ...}`` turns ending with a
                user turn.
            max_tokens, temperature, seed: override the config's defaults.
            stop: strings that end a reply (not included in it).
            sample: which sample (seed ``seed + sample``); with temperature 0 all samples agree.
            on_done: called with the number of conversations finished, chunk by chunk.

        Raises:
            EndpointError: the endpoint is down, timed out or refused (after retries).
            LMError: the model cannot be loaded or run.
        """
        params = self.params(max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop)
        convs = [_conversation(c) for c in conversations]
        prompts = [list(map(dict, c)) for c in convs]
        keys = [cache_key(self.fingerprint, self.model_name, "chat", p, params, sample) for p in prompts]
        found = self._lookup(keys)
        replies: list[Reply | None] = [None] * len(convs)
        for i, key in enumerate(keys):
            hit = found.get(key)
            if hit is not None:
                replies[i] = self._reply(hit, convs[i], params, sample, cached=True)
        if on_done is not None and found:
            on_done(sum(r is not None for r in replies))
        todo = [i for i, r in enumerate(replies) if r is None]
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start : start + self.chunk_size]
            batch = [convs[i] for i in chunk]
            raw: list[RawReply] = self._timed("chat", functools.partial(self._chat, batch, params, sample))
            created = now()
            rows = []
            for i, out in zip(chunk, raw, strict=True):
                stored = Stored(
                    {"text": out.text, "finish_reason": out.finish_reason},
                    out.prompt_tokens,
                    out.completion_tokens,
                    created,
                )
                rows.append((keys[i], "chat", stored))
                replies[i] = self._reply(stored, convs[i], params, sample, cached=False)
                with self._lock:
                    self.usage.calls += 1
                    self.usage.prompt_tokens += out.prompt_tokens
                    self.usage.completion_tokens += out.completion_tokens
            self._store(rows)
            if on_done is not None:
                on_done(len(chunk))
        return [r for r in replies if r is not None]

    def generate(
        self,
        prompts: Sequence[str],
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        sample: int = 0,
        on_done: Progress = None,
    ) -> list[Reply]:
        """Replies to one-turn prompts (each a user message, after ``system`` when given)."""
        return self.chat(
            [one_turn(p, system) for p in prompts],
            max_tokens=max_tokens,
            temperature=temperature,
            seed=seed,
            stop=stop,
            sample=sample,
            on_done=on_done,
        )

    def score_options(
        self, conversations: Sequence[Conversation], options: Sequence[str], *, on_done: Progress = None
    ) -> list[OptionScores]:
        """Log-probabilities of each of ``options`` as the reply to each conversation.

        Raises:
            UnsupportedError: the backend gives no log-probabilities (an endpoint without
                ``logprobs``); the message says so and names the URL.
            EndpointError, LMError: as :meth:`chat`.
        """
        opts = tuple(str(o) for o in options)
        if not opts or any(not o for o in opts):
            raise LMError("score_options needs at least one non-empty option")
        convs = [_conversation(c) for c in conversations]
        params: dict[str, Any] = {"options": list(opts)}
        keys = [
            cache_key(self.fingerprint, self.model_name, "options", list(map(dict, c)), params, 0)
            for c in convs
        ]
        found = self._lookup(keys)
        results: list[OptionScores | None] = [None] * len(convs)
        for i, key in enumerate(keys):
            if key in found:
                results[i] = self._scores(found[key], convs[i], opts, cached=True)
        if on_done is not None and found:
            on_done(sum(r is not None for r in results))
        todo = [i for i, r in enumerate(results) if r is None]
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start : start + self.chunk_size]
            batch = [convs[i] for i in chunk]
            values, exact, tokens = self._timed("options", functools.partial(self._options, batch, opts))
            created = now()
            rows = []
            for i, lps, n in zip(chunk, values, tokens, strict=True):
                stored = Stored({"logprobs": lps, "exact": exact}, n, 0, created)
                rows.append((keys[i], "options", stored))
                results[i] = self._scores(stored, convs[i], opts, cached=False)
                with self._lock:
                    self.usage.calls += 1
                    self.usage.prompt_tokens += n
            self._store(rows)
            if on_done is not None:
                on_done(len(chunk))
        return [r for r in results if r is not None]

    def pop_usage(self) -> Usage:
        """The counts since the client was opened or since the last call, and start afresh."""
        with self._lock:
            usage, self.usage = self.usage, Usage()
        return usage

    def describe(self) -> dict[str, Any]:
        """What answers, for run files and provenance (never an API key)."""
        return {
            "backend": self.backend,
            "model": self.model_name,
            "fingerprint": self.fingerprint,
            "temperature": self.config.temperature,
            "seed": self.config.seed,
            "max_tokens": self.config.max_tokens,
        }

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    # -- helpers --------------------------------------------------------------------------------
    def _lookup(self, keys: list[str]) -> dict[str, Stored]:
        if self.cache is None or not keys:
            return {}
        with self._cache_lock:
            found = self.cache.get_many(keys)
        with self._lock:
            hits = sum(1 for k in keys if k in found)
            self.usage.cached += hits
        return found

    def _store(self, rows: list[tuple[str, str, Stored]]) -> None:
        if self.cache is not None and rows:
            with self._cache_lock:
                self.cache.put_many(rows, self.model_name, self.fingerprint)

    def _timed(self, kind: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return call()
        except LMError:
            with self._lock:
                self.usage.failures += 1
            raise
        finally:
            with self._lock:
                self.usage.seconds += time.perf_counter() - started
                self.usage.by_kind[kind] = self.usage.by_kind.get(kind, 0) + 1

    def _provenance(
        self,
        conv: Conversation,
        params: Mapping[str, Any],
        sample: int,
        created: str,
        cached: bool,
        extra: Any = None,
    ) -> Provenance:
        return Provenance(
            model=self.model_name,
            backend=self.backend,
            fingerprint=self.fingerprint,
            prompt_hash=prompt_hash(conv, extra),
            params=dict(params),
            sample=sample,
            created=created,
            cached=cached,
        )

    def _reply(
        self, stored: Stored, conv: Conversation, params: Mapping[str, Any], sample: int, *, cached: bool
    ) -> Reply:
        return Reply(
            text=str(stored.payload["text"]),
            prompt_tokens=stored.prompt_tokens,
            completion_tokens=stored.completion_tokens,
            finish_reason=str(stored.payload.get("finish_reason", "")),
            provenance=self._provenance(conv, params, sample, stored.created, cached),
        )

    def _scores(
        self, stored: Stored, conv: Conversation, options: tuple[str, ...], *, cached: bool
    ) -> OptionScores:
        values = tuple(None if v is None else float(v) for v in stored.payload["logprobs"])
        return OptionScores(
            options=options,
            logprobs=values,
            exact=bool(stored.payload["exact"]),
            provenance=self._provenance(
                conv, {"options": list(options)}, 0, stored.created, cached, list(options)
            ),
        )


def one_turn(prompt: str, system: str | None = None) -> list[Message]:
    """A one-turn conversation: ``system`` (when given), then ``prompt`` as the user's message."""
    turns: list[Message] = [{"role": "system", "content": system}] if system else []
    return [*turns, {"role": "user", "content": prompt}]


ROLES = ("system", "user", "assistant")


def _conversation(conv: Conversation) -> list[Message]:
    turns: list[Message] = []
    for turn in conv:
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES or not isinstance(content, str):
            raise LMError(
                f"a chat turn needs a role ({', '.join(ROLES)}) and text content, got {dict(turn)!r}"
            )
        turns.append({"role": role, "content": content})
    if not turns or turns[-1]["role"] != "user":
        raise LMError("a conversation must end with a user turn")
    return turns

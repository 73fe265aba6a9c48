"""What the LM layer hands back: replies, option scores, provenance, usage, and its errors.

Every output of a client carries a :class:`Provenance`: which model and backend made it (with the
backend's fingerprint), the SHA-256 of the exact prompt, the decoding parameters, the sample index,
when it was made and whether this call read it from the cache. Nothing secret is ever in it (an
API key is read from an environment variable at call time and never recorded).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

from ragbench.errors import InputError, RagbenchError


class Message(TypedDict):
    """One chat turn: ``{"role": "system" | "user" | "assistant", "content": text}``."""

    role: str
    content: str


Conversation = Sequence[Message]


class LMError(RagbenchError):
    """An LM call could not be made or answered (the message says which endpoint and why)."""


class EndpointError(LMError):
    """An OpenAI-compatible endpoint is down, timed out, refused the request or answered garbage,
    after the configured retries; the message names the URL."""


class UnsupportedError(LMError, InputError):
    """The backend cannot do what was asked (e.g. an endpoint that gives no log-probabilities)."""


def prompt_hash(messages: Conversation, extra: Any = None) -> str:
    """SHA-256 (hex) of the exact prompt: the messages (and options, for option scoring) as JSON."""
    payload = [list(map(dict, messages)), extra] if extra is not None else [list(map(dict, messages))]
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Where one output came from.

    Attributes:
        model: the model as the backend names it (the packaged default's name, a directory, or the
            endpoint's model id).
        backend: ``local`` or ``openai``.
        fingerprint: the backend's fingerprint (local: weights hash and precision; openai: the
            endpoint URL and model), part of every cache key.
        prompt_hash: SHA-256 of the exact prompt (:func:`prompt_hash`).
        params: decoding parameters (temperature, seed, max_tokens, ...).
        sample: the sample index (0 for the first; the seed used is ``seed + sample``).
        created: when the output was made (UTC, ISO 8601), also when it is read from the cache.
        cached: whether this call read it from the cache instead of calling the model.
    """

    model: str
    backend: str
    fingerprint: str
    prompt_hash: str
    params: Mapping[str, Any]
    sample: int
    created: str
    cached: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["params"] = dict(self.params)
        return data


@dataclass(frozen=True)
class Reply:
    """A generated reply: its text, token counts (of the call that made it) and provenance.

    ``finish_reason`` is ``stop`` (the model ended) or ``length`` (``max_tokens`` reached), or
    what the endpoint said.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    provenance: Provenance


@dataclass(frozen=True)
class OptionScores:
    """Log-probabilities of a fixed set of answer options as the start of the assistant's reply.

    Attributes:
        options: the options, as given.
        logprobs: natural-log probability of each option (``None``: the endpoint did not list it
            among its top alternatives).
        exact: ``True`` when each value is the exact log-probability of the option's whole token
            sequence (local backend); ``False`` when only the first token's was available (an
            endpoint's ``top_logprobs``).
        provenance: as for a reply.
    """

    options: tuple[str, ...]
    logprobs: tuple[float | None, ...]
    exact: bool
    provenance: Provenance

    @property
    def best(self) -> str | None:
        """The most probable option (the first of equals), ``None`` when none has a value."""
        scored = [(lp, -i) for i, lp in enumerate(self.logprobs) if lp is not None]
        return self.options[-max(scored)[1]] if scored else None


@dataclass
class Usage:
    """Counts of one client since it was opened (or since :meth:`LMClient.pop_usage`).

    ``calls`` are model calls made (one per prompt and sample, batched or not), ``cached`` outputs
    read from the cache, ``failures`` calls that raised after their retries, ``retries`` the retries
    made, ``seconds`` the wall time spent in backend calls.
    """

    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: int = 0
    retries: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: Usage) -> None:
        for name in ("calls", "cached", "prompt_tokens", "completion_tokens", "failures", "retries"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        for kind, count in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data

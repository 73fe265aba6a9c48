"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint, over httpx.

vLLM, llama.cpp's server, Ollama, ``transformers serve`` and hosted APIs all answer
``POST {base_url}/chat/completions``. Requests fan out on a thread pool of ``concurrency``
workers (bounded: never more in flight), each with ``timeout`` seconds; connection errors,
timeouts, 429 and 5xx answers are retried ``retries`` times with exponential backoff (``backoff``
seconds, doubled each time, or the server's ``Retry-After``). Other 4xx answers are not retried.
Every error names the URL and says what happened. The API key is read from the environment
variable the config names, when the client is opened, and sent as a bearer token; it is never
part of a fingerprint, a cache key or provenance.

Option scoring asks for one token with ``logprobs`` and ``top_logprobs`` (20, the OpenAI
maximum): an option's value is the log-probability of its first token among those (``None``
when not listed; ``exact`` is False when an option has more than one token). An endpoint that
refuses ``logprobs`` or answers without them raises :class:`UnsupportedError` saying so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rankers.lm.cache import LMCache
from rankers.lm.client import LMClient, RawReply
from rankers.lm.config import LMConfig
from rankers.lm.records import Conversation, EndpointError, UnsupportedError

TOP_LOGPROBS = 20
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class EndpointClient(LMClient):
    """An :class:`~rankers.lm.client.LMClient` over an OpenAI-compatible HTTP endpoint."""

    backend = "openai"

    def __init__(self, config: LMConfig, cache: LMCache | None) -> None:
        import httpx

        super().__init__(config, cache)
        assert config.base_url is not None and config.model is not None  # LMConfig.validate
        self.base_url = config.base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        key = config.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx.Limits(
            max_connections=config.concurrency, max_keepalive_connections=config.concurrency
        )
        self._http = httpx.Client(timeout=config.timeout, headers=headers, limits=limits)
        self._pool: ThreadPoolExecutor | None = None

    @property
    def model_name(self) -> str:
        return str(self.config.model)

    @property
    def fingerprint(self) -> str:
        return f"openai:{self.base_url}|{self.config.model}"

    @property
    def chunk_size(self) -> int:
        return max(8, 4 * self.config.concurrency)

    def _map(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.config.concurrency == 1 or len(bodies) == 1:
            return [self._post(b) for b in bodies]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="ragbench-lm")
        return list(self._pool.map(self._post, bodies))

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one request with retries; the decoded JSON answer.

        Raises:
            EndpointError: down, timed out, refused, or not JSON (naming the URL).
            UnsupportedError: a 4xx answer to a request for log-probabilities.
        """
        import httpx

        attempts = self.config.retries + 1
        last = ""
        for attempt in range(attempts):
            if attempt:
                with self._lock:
                    self.usage.retries += 1
            try:
                response = self._http.post(self.url, json=body)
            except httpx.TimeoutException:
                last = f"no answer within {self.config.timeout:g} s"
            except httpx.TransportError as exc:
                last = f"cannot connect ({type(exc).__name__}: {exc}); is the server running?"
            else:
                if response.status_code == 200:
                    try:
                        data = response.json()
                    except (json.JSONDecodeError, ValueError):
                        raise EndpointError(
                            f"{self.url}: the answer is not JSON: {response.text[:200]!r}"
                        ) from None
                    if not isinstance(data, dict):
                        raise EndpointError(
                            f"{self.url}: the answer is not a JSON object: {response.text[:200]!r}"
                        )
                    return data
                detail = _detail(response)
                if response.status_code not in RETRY_STATUS:
                    if body.get("logprobs"):
                        raise UnsupportedError(
                            f"{self.url} refused a request for log-probabilities (logprobs/top_logprobs) "
                            f"with HTTP {response.status_code}: {detail}; this endpoint cannot score "
                            "options, use a method that parses the reply text instead"
                        )
                    raise EndpointError(f"{self.url}: HTTP {response.status_code}: {detail}")
                last = f"HTTP {response.status_code}: {detail}"
                wait = _retry_after(response)
                if wait is not None and attempt + 1 < attempts:
                    time.sleep(min(wait, 60.0))
                    continue
            if attempt + 1 < attempts:
                time.sleep(self.config.backoff * 2**attempt)
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        raise EndpointError(f"{self.url}: {last}{tries}")

    def _body(self, conv: Conversation, params: Mapping[str, Any], sample: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [dict(t) for t in conv],
            "max_tokens": int(params["max_tokens"]),
            "temperature": float(params["temperature"]),
            "seed": int(params["seed"]) + sample,
            "stream": False,
        }
        if params.get("stop"):
            body["stop"] = list(params["stop"])
        return body

    def _chat(
        self, conversations: Sequence[Conversation], params: Mapping[str, Any], sample: int
    ) -> list[RawReply]:
        answers = self._map([self._body(c, params, sample) for c in conversations])
        return [self._reply_of(a) for a in answers]

    def _reply_of(self, answer: dict[str, Any]) -> RawReply:
        try:
            choice = answer["choices"][0]
            text = choice["message"]["content"]
            if text is None:
                text = ""
            if not isinstance(text, str):
                raise TypeError(type(text).__name__)
        except (KeyError, IndexError, TypeError) as exc:
            raise EndpointError(
                f"{self.url}: the answer is not a chat completion (no choices[0].message.content: {exc}): "
                f"{json.dumps(answer)[:200]}"
            ) from None
        usage = answer.get("usage") or {}
        return RawReply(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=str(choice.get("finish_reason") or ""),
        )

    def _options(
        self, conversations: Sequence[Conversation], options: Sequence[str]
    ) -> tuple[list[list[float | None]], bool, list[int]]:
        params = {"max_tokens": 1, "temperature": 0.0, "seed": self.config.seed}
        bodies = []
        for conv in conversations:
            body = self._body(conv, params, 0)
            body.update({"logprobs": True, "top_logprobs": TOP_LOGPROBS})
            bodies.append(body)
        answers = self._map(bodies)
        values: list[list[float | None]] = []
        tokens: list[int] = []
        for answer in answers:
            top = _top_logprobs(answer)
            if top is None:
                raise UnsupportedError(
                    f"{self.url} answered without log-probabilities (no choices[0].logprobs.content); "
                    "this endpoint cannot score options, use a method that parses the reply text instead"
                )
            values.append([_option_value(o, top) for o in options])
            tokens.append(int((answer.get("usage") or {}).get("prompt_tokens") or 0))
        # Without the tokenizer the options' token counts are unknown: only a single word-piece
        # per option can be exact, and even then only as its first token's value.
        return values, False, tokens

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._http.close()
        super().close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("an EndpointClient holds connections: open a client in each process instead")


def _detail(response: Any) -> str:
    try:
        data = response.json()
    except (json.JSONDecodeError, ValueError):
        return str(response.text[:300] or response.reason_phrase)
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(data)[:300]


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _top_logprobs(answer: dict[str, Any]) -> dict[str, float] | None:
    try:
        content = answer["choices"][0]["logprobs"]["content"]
        first = content[0]
    except (KeyError, IndexError, TypeError):
        return None
    top: dict[str, float] = {}
    for entry in [first, *(first.get("top_logprobs") or [])]:
        token, value = entry.get("token"), entry.get("logprob")
        if isinstance(token, str) and isinstance(value, int | float):
            top.setdefault(token, float(value))
    return top


def _option_value(option: str, top: dict[str, float]) -> float | None:
    """The best log-prob among listed tokens that spell the option's start (spaces ignored)."""
    found = [lp for token, lp in top.items() if token.strip() and option.startswith(token.strip())]
    if option.strip() and not found:
        found = [lp for token, lp in top.items() if token.strip() == option.strip()]
    return max(found) if found else None

"""The configuration of an LM client, read from a plain mapping (a YAML block, CLI options).

::

    {backend: local, model: SmolLM2-135M-Instruct, device: auto, dtype: null, batch_size: 8}
    {backend: openai, base_url: http://127.0.0.1:8080/v1, model: my-model, api_key_env: MY_KEY,
     concurrency: 4, timeout: 60, retries: 3}
    # both: temperature: 0, seed: 0, max_tokens: 64, cache: true | false | PATH

The API key is never in a config: ``api_key_env`` names the environment variable that holds it,
read when a request is made. Unknown keys and wrong types are errors that name the key (and
``where``, e.g. the config file and line).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ragbench.errors import InputError

BACKENDS = ("local", "openai")


@dataclass(frozen=True)
class LMConfig:
    """How to reach a model and decode with it (see the module docstring for the keys).

    Attributes:
        backend: ``local`` (transformers in this process) or ``openai`` (an OpenAI-compatible
            HTTP endpoint).
        model: local: ``None``/``SmolLM2-135M-Instruct`` (the packaged default) or a Hugging Face
            directory; openai: the model id the endpoint serves (required).
        base_url: openai: the endpoint's base URL, up to and including ``/v1``.
        api_key_env: openai: the environment variable holding the API key (none: no key sent).
        device, dtype: local: ``auto``/``cpu``/``cuda[:N]``; ``float32``/``bfloat16``/``None``.
        batch_size: local: prompts per forward pass.
        concurrency: openai: requests in flight at once.
        timeout: openai: seconds per request.
        retries: openai: further attempts after a failed request (connection errors, timeouts,
            429 and 5xx), with exponential backoff from ``backoff`` seconds.
        temperature, seed, max_tokens: decoding defaults (greedy, seed 0, 64 new tokens).
        cache: ``True`` (``lm.sqlite`` in the settings' cache folder), ``False`` or a path.
    """

    backend: str = "local"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    device: str | None = None
    dtype: str | None = None
    batch_size: int = 8
    concurrency: int = 4
    timeout: float = 60.0
    retries: int = 3
    backoff: float = 0.5
    temperature: float = 0.0
    seed: int = 0
    max_tokens: int = 64
    cache: bool | str = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None, where: str = "lm") -> LMConfig:
        """A config from ``values``; every error names ``where`` and the key.

        Raises:
            InputError: an unknown key, a wrong type or value, an openai backend without
                ``base_url`` or ``model``.
        """
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise InputError(f"{where}.{key}: unknown LM option; use {', '.join(sorted(known))}")
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if value is None and name not in ("model", "base_url", "api_key_env", "device", "dtype"):
                continue
            checked[name] = _check(where, name, value)
        config = cls(**checked)
        config.validate(where)
        return config

    def validate(self, where: str = "lm") -> None:
        """Check the combination of values.

        Raises:
            InputError: naming ``where`` and the key.
        """
        if self.backend not in BACKENDS:
            raise InputError(f"{where}.backend: {self.backend!r}: use one of {', '.join(BACKENDS)}")
        if self.backend == "openai":
            if not self.base_url:
                raise InputError(f"{where}.base_url: the openai backend needs the endpoint's URL")
            if not self.base_url.startswith(("http://", "https://")):
                raise InputError(f"{where}.base_url: {self.base_url!r} is not an http(s) URL")
            if not self.model:
                raise InputError(f"{where}.model: the openai backend needs the model id the endpoint serves")
        if self.api_key_env is not None and not self.api_key_env.replace("_", "").isalnum():
            raise InputError(
                f"{where}.api_key_env: {self.api_key_env!r} must be the NAME of an environment variable, "
                "not a key"
            )

    def with_overrides(self, **changes: Any) -> LMConfig:
        """A copy with some values changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def cache_path(self) -> Path | None:
        """Where the cache lives (``None``: no cache)."""
        if self.cache is False:
            return None
        if self.cache is True:
            from ragbench.settings import get_settings

            return get_settings().cache_dir / "lm.sqlite"
        return Path(self.cache).expanduser()

    def api_key(self) -> str | None:
        """The API key from the environment variable ``api_key_env`` (read now, never stored).

        Raises:
            InputError: the variable is named but not set.
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise InputError(f"the LM's API key variable {self.api_key_env} is not set")
        return key


_INTS = {"batch_size": 1, "concurrency": 1, "retries": 0, "seed": 0, "max_tokens": 1}
_FLOATS = {"timeout": (0.0, math.inf), "backoff": (0.0, 600.0), "temperature": (0.0, 2.0)}
_TEXTS = ("backend", "model", "base_url", "api_key_env", "device", "dtype")


def _check(where: str, name: str, value: Any) -> Any:
    key = f"{where}.{name}"
    if name in _INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < _INTS[name]:
            raise InputError(f"{key}: expected a whole number >= {_INTS[name]}, got {value!r}")
        return value
    if name in _FLOATS:
        low, high = _FLOATS[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise InputError(f"{key}: expected a number in [{low}, {high}], got {value!r}")
        if name == "timeout" and value <= 0:
            raise InputError(f"{key}: expected a number of seconds > 0, got {value!r}")
        return float(value)
    if name == "cache":
        if isinstance(value, bool) or (isinstance(value, str) and value):
            return value
        raise InputError(f"{key}: expected true, false or a file path, got {value!r}")
    if name in _TEXTS:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise InputError(f"{key}: expected text, got {value!r}")
        if name == "dtype" and value not in ("float32", "bfloat16", "float16"):
            raise InputError(f"{key}: {value!r}: use float32, bfloat16 or float16")
        return value
    raise AssertionError(name)  # pragma: no cover - every field is listed above

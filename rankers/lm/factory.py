"""Opening a client: the one place that knows every backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rankers.lm.cache import LMCache
from rankers.lm.client import LMClient
from rankers.lm.config import LMConfig


def open_client(config: LMConfig | Mapping[str, Any] | None = None, *, where: str = "lm") -> LMClient:
    """An LM client for ``config`` (an :class:`LMConfig` or a mapping of its keys).

    Nothing is loaded or contacted here: the local model loads on the first cache miss, the
    endpoint is first asked on the first miss.

    Raises:
        InputError: a bad config (naming ``where`` and the key), a missing local model directory.
        MissingExtraError: the backend's libraries are not installed.
    """
    from ragbench.extras import require

    cfg = config if isinstance(config, LMConfig) else LMConfig.from_mapping(config, where)
    path = cfg.cache_path()
    cache = LMCache(path) if path is not None else None
    if cfg.backend == "openai":
        require("lm", "httpx")
        from rankers.lm.endpoint import EndpointClient

        return EndpointClient(cfg, cache)
    require("lm", "torch", "transformers")
    from rankers.lm.local import LocalClient

    return LocalClient(cfg, cache)

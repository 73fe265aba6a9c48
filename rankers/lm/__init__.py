"""The LM layer: one client interface over a local model and OpenAI-compatible endpoints.

::

    from rankers.lm import open_client

    client = open_client({"backend": "local"})                      # the packaged SmolLM2
    client = open_client({"backend": "openai", "base_url": "http://127.0.0.1:8080/v1",
                          "model": "my-model", "api_key_env": "MY_KEY"})
    replies = client.generate(["Say hi."], max_tokens=8)            # [Reply(text, tokens, provenance)]
    replies = client.chat([[{"role": "user", "content": "Hi"}]])
    scores = client.score_options([[{"role": "user", "content": "2+2? Answer 3 or 4."}]], ["3", "4"])
    client.pop_usage()                                              # calls, cached, tokens, retries

Modules: :mod:`~rankers.lm.config` (``LMConfig``), :mod:`~rankers.lm.client` (the interface,
cache use, accounting, provenance), :mod:`~rankers.lm.local` and :mod:`~rankers.lm.endpoint` (the
backends), :mod:`~rankers.lm.cache` (the SQLite cache), :mod:`~rankers.lm.records` (replies,
provenance, errors), :mod:`~rankers.lm.loading` (loading a model in process: BlockRank uses it
directly, for attention internals). The public API is described in ``docs/lm.md``.
"""

from rankers.lm.cache import LMCache
from rankers.lm.client import LMClient, one_turn
from rankers.lm.config import BACKENDS, LMConfig
from rankers.lm.factory import open_client
from rankers.lm.loading import (
    DEFAULT_LM,
    Generation,
    LoadedLM,
    chat_prompt,
    fingerprint,
    generate,
    is_default,
    load_lm,
    models_home,
    pick_device,
    resolve_lm,
)
from rankers.lm.records import (
    Conversation,
    EndpointError,
    LMError,
    Message,
    OptionScores,
    Provenance,
    Reply,
    UnsupportedError,
    Usage,
    prompt_hash,
)

__all__ = (
    "BACKENDS",
    "DEFAULT_LM",
    "Conversation",
    "EndpointError",
    "Generation",
    "LMCache",
    "LMClient",
    "LMConfig",
    "LMError",
    "LoadedLM",
    "Message",
    "OptionScores",
    "Provenance",
    "Reply",
    "UnsupportedError",
    "Usage",
    "chat_prompt",
    "fingerprint",
    "generate",
    "is_default",
    "load_lm",
    "models_home",
    "one_turn",
    "open_client",
    "pick_device",
    "prompt_hash",
    "resolve_lm",
)

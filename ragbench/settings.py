"""The one settings object of ragbench: every ``RAGBENCH_*`` variable is read here and nowhere else.

Precedence, highest first:

1. a command-line option, where a command has one (``ragbench serve --port``, ``--workdir``);
2. the environment variable (``RAGBENCH_DATABASE_URL=...``);
3. the default, which for every path derives from the home folder (``RAGBENCH_HOME``, default
   ``~/.ragbench``): set only ``RAGBENCH_HOME`` and the database, caches and models all move.

:func:`get_settings` reads the environment once and caches the result; tests that change a
variable call ``get_settings.cache_clear()``. Reading the settings has no side effects (no folder
is created, nothing in ``os.environ`` changes). ``ragbench settings`` prints the effective values
and where each came from.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import InputError

DEFAULT_HOME = "~/.ragbench"
DEFAULT_SERVER_URL = "http://127.0.0.1:8000"


def _integer(name: str, raw: str) -> int:
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise InputError(f"{name}={raw!r} is not an integer") from None
    if value < 0:
        raise InputError(f"{name}={raw!r} must not be negative")
    return value


def _path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _text(name: str, raw: str) -> str:
    return raw


def _mapping(name: str, raw: str) -> dict[str, Any]:
    import json

    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f'{name} must be a JSON object such as {{"backend": "local"}}')
    return value


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its attribute, variable, parser, default (from the settings read so far) and meaning."""

    attribute: str
    variable: str
    parse: Callable[[str, str], Any]
    default: Callable[[Mapping[str, Any]], Any]
    doc: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "RAGBENCH_HOME", _path, lambda s: Path(DEFAULT_HOME).expanduser(),
            "home folder: the default database, caches, models and the demo's work folder live here"),
    Setting("database_url", "RAGBENCH_DATABASE_URL", _text,
            lambda s: f"sqlite:///{s['home'] / 'ragbench.db'}",
            "SQLAlchemy URL of the database (PostgreSQL: postgresql+psycopg://user:pass@host/db)"),
    Setting("cache_dir", "RAGBENCH_CACHE_DIR", _path, lambda s: s["home"] / "cache",
            "caches: LM replies, query rewrites, ONNX exports"),
    Setting("models_dir", "RAGBENCH_MODELS_DIR", _path, lambda s: s["home"] / "models",
            "models converted for local use (the packaged SmolLM2 GGUF as a Hugging Face folder)"),
    Setting("server_url", "RAGBENCH_URL", _text, lambda s: DEFAULT_SERVER_URL,
            "the ragbench server `ragbench submit` talks to"),
    Setting("token", "RAGBENCH_TOKEN", _text, lambda s: None,
            "API token `ragbench submit` sends", secret=True),
    Setting("max_upload_bytes", "RAGBENCH_MAX_UPLOAD_BYTES", _integer, lambda s: 200 * 2**20,
            "largest upload the service accepts (larger: 413)"),
    Setting("inline_scoring_lines", "RAGBENCH_INLINE_SCORING_LINES", _integer, lambda s: 300_000,
            "runs up to this many lines are scored inside the request; larger ones by the worker"),
    Setting("rag_judge", "RAGBENCH_RAG_JUDGE", _mapping, lambda s: {"backend": "local"},
            "the LM that judges RAG runs on the service (JSON: the LM layer's keys, docs/lm.md)"),
    Setting("rag_max_references", "RAGBENCH_RAG_MAX_REFERENCES", _integer, lambda s: 20,
            "most references one RAG answer may list (TREC RAG 2024: 20)"),
    Setting("rag_max_words", "RAGBENCH_RAG_MAX_WORDS", _integer, lambda s: 400,
            "word limit of a RAG answer (longer answers get a warning)"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective settings (see :data:`SETTINGS` for each one's variable and meaning).

    Attributes:
        home: ``RAGBENCH_HOME``, default ``~/.ragbench``.
        database_url: ``RAGBENCH_DATABASE_URL``, default ``sqlite:///HOME/ragbench.db``.
        cache_dir: ``RAGBENCH_CACHE_DIR``, default ``HOME/cache``.
        models_dir: ``RAGBENCH_MODELS_DIR``, default ``HOME/models``.
        server_url: ``RAGBENCH_URL``, default ``http://127.0.0.1:8000``.
        token: ``RAGBENCH_TOKEN``, default none.
        max_upload_bytes: ``RAGBENCH_MAX_UPLOAD_BYTES``, default 200 MiB.
        inline_scoring_lines: ``RAGBENCH_INLINE_SCORING_LINES``, default 300,000.
        rag_judge: ``RAGBENCH_RAG_JUDGE``, the RAG judge's LM config, default ``{"backend": "local"}``.
        rag_max_references: ``RAGBENCH_RAG_MAX_REFERENCES``, default 20.
        rag_max_words: ``RAGBENCH_RAG_MAX_WORDS``, default 400.
        sources: attribute -> the variable it came from, or ``"default"``.
    """

    home: Path
    database_url: str
    cache_dir: Path
    models_dir: Path
    server_url: str
    token: str | None
    max_upload_bytes: int
    inline_scoring_lines: int
    rag_judge: dict[str, Any] = field(default_factory=lambda: {"backend": "local"})
    rag_max_references: int = 20
    rag_max_words: int = 400
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); empty variables count as unset.

        Raises:
            InputError: a numeric variable is not a non-negative integer.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.variable, "").strip()
            if raw:
                values[setting.attribute] = setting.parse(setting.variable, raw)
                sources[setting.attribute] = setting.variable
            else:
                values[setting.attribute] = setting.default(values)
                sources[setting.attribute] = "default"
        return cls(**values, sources=sources)

    def describe(self) -> list[tuple[str, str, str, str]]:
        """``(variable, value, source, meaning)`` per setting, secrets shown as set / not set."""
        rows = []
        for setting in SETTINGS:
            value = getattr(self, setting.attribute)
            if setting.secret:
                shown = "(set)" if value else "(not set)"
            elif setting.attribute == "database_url":
                shown = _hide_password(value)
            else:
                shown = "" if value is None else str(value)
            source = self.sources.get(setting.attribute, "default")
            rows.append((setting.variable, shown, source, setting.doc))
        return rows


def _hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


@functools.cache
def get_settings() -> Settings:
    """The settings, read from the environment on the first call and cached.

    Raises:
        InputError: a numeric variable is not a non-negative integer.
    """
    return Settings.from_environ()

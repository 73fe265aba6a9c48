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


def _fraction(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{name}={raw!r} must be between 0 and 1")
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
    Setting("max_input_bytes", "RAGBENCH_MAX_INPUT_BYTES", _integer, lambda s: 4 * 2**30,
            "largest file a command reads (a FIFO or device that never ends stops here with an error)"),
    Setting("max_json_depth", "RAGBENCH_MAX_JSON_DEPTH", _integer, lambda s: 32,
            "deepest nesting of a JSON request body or of a run's metadata (deeper: 400/422)"),
    Setting("max_metadata_bytes", "RAGBENCH_MAX_METADATA_BYTES", _integer, lambda s: 64 * 2**10,
            "largest metadata of a system, as JSON text (larger: 422)"),
    Setting("submissions_per_day", "RAGBENCH_SUBMISSIONS_PER_DAY", _integer, lambda s: 10,
            "runs a member may submit to one hidden benchmark in 24 hours, deleted ones too (0: no limit)"),
    Setting("submissions_total", "RAGBENCH_SUBMISSIONS_TOTAL", _integer, lambda s: 100,
            "runs a member may ever submit to one hidden benchmark, deleted ones included (0: no limit)"),
    Setting("hidden_min_topic_share", "RAGBENCH_HIDDEN_MIN_TOPIC_SHARE", _fraction, lambda s: 0.5,
            "share of a hidden benchmark's judged topics (sessions) a run must answer"),
    Setting("hidden_min_docs", "RAGBENCH_HIDDEN_MIN_DOCS", _integer, lambda s: 10,
            "documents a run must rank for each topic it answers on a hidden benchmark"),
    Setting("rate_limit", "RAGBENCH_RATE_LIMIT", _integer, lambda s: 1200,
            "requests per minute per client (token, else IP address) to the API and pages (0: no limit)"),
    Setting("rate_limit_expensive", "RAGBENCH_RATE_LIMIT_EXPENSIVE", _integer, lambda s: 30,
            "requests per minute per client to endpoints that compute statistics (compare) (0: no limit)"),
    Setting("expensive_concurrency", "RAGBENCH_EXPENSIVE_CONCURRENCY", _integer, lambda s: 2,
            "comparisons computed at once by one server process; more wait their turn"),
    Setting("scoring_slots", "RAGBENCH_SCORING_SLOTS", _integer, lambda s: 2,
            "uploads read, parsed and scored at once by one server process (the worker takes one too); "
            "more wait their turn"),
    Setting("token_days", "RAGBENCH_TOKEN_DAYS", _integer, lambda s: 365,
            "days a new API token is valid (0: no expiry)"),
    Setting("retry_after_s", "RAGBENCH_RETRY_AFTER_S", _integer, lambda s: 5,
            "the Retry-After of a 503 answered while the database is unreachable"),
    Setting("llm_share_badge", "RAGBENCH_LLM_SHARE_BADGE", _fraction, lambda s: 0.2,
            "leaderboard badge when more than this share of a run's top 10 was judged by an LM"),
    Setting("ray_min_hits", "RAGBENCH_RAY_MIN_HITS", _integer, lambda s: 1_000_000,
            "a pipeline uses Ray by default only from this many topics x depth (or with an LM stage)"),
    Setting("ray_min_corpus_bytes", "RAGBENCH_RAY_MIN_CORPUS_BYTES", _integer, lambda s: 2**30,
            "... or when it must index a corpus of at least this many bytes"),
    Setting("secret_key", "RAGBENCH_SECRET_KEY", _text, lambda s: None,
            "key signing the pages' sign-in and voter cookies (default: a random key kept in "
            "HOME/secret_key; set the same one on every replica)", secret=True),
    Setting("arena_votes_per_minute", "RAGBENCH_ARENA_VOTES_PER_MINUTE", _integer, lambda s: 30,
            "arena votes one voter (user or anonymous session) may cast in a minute (0: no limit)"),
    Setting("arena_votes_per_day", "RAGBENCH_ARENA_VOTES_PER_DAY", _integer, lambda s: 1000,
            "arena votes one voter may cast in 24 hours (0: no limit)"),
    Setting("arena_rounds", "RAGBENCH_ARENA_ROUNDS", _integer, lambda s: 1000,
            "bootstrap rounds of the arena's rating intervals on the pages and the API"),
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
        max_input_bytes: ``RAGBENCH_MAX_INPUT_BYTES``, default 4 GiB.
        max_json_depth: ``RAGBENCH_MAX_JSON_DEPTH``, default 32.
        max_metadata_bytes: ``RAGBENCH_MAX_METADATA_BYTES``, default 64 KiB.
        submissions_per_day: ``RAGBENCH_SUBMISSIONS_PER_DAY``, default 10 (hidden benchmarks).
        submissions_total: ``RAGBENCH_SUBMISSIONS_TOTAL``, default 100 (hidden benchmarks).
        hidden_min_topic_share: ``RAGBENCH_HIDDEN_MIN_TOPIC_SHARE``, default 0.5.
        hidden_min_docs: ``RAGBENCH_HIDDEN_MIN_DOCS``, default 10.
        rate_limit: ``RAGBENCH_RATE_LIMIT``, default 1,200 per minute.
        rate_limit_expensive: ``RAGBENCH_RATE_LIMIT_EXPENSIVE``, default 30 per minute.
        expensive_concurrency: ``RAGBENCH_EXPENSIVE_CONCURRENCY``, default 2.
        scoring_slots: ``RAGBENCH_SCORING_SLOTS``, default 2.
        token_days: ``RAGBENCH_TOKEN_DAYS``, default 365.
        retry_after_s: ``RAGBENCH_RETRY_AFTER_S``, default 5.
        llm_share_badge: ``RAGBENCH_LLM_SHARE_BADGE``, default 0.2.
        ray_min_hits: ``RAGBENCH_RAY_MIN_HITS``, default 1,000,000 (topics x depth).
        ray_min_corpus_bytes: ``RAGBENCH_RAY_MIN_CORPUS_BYTES``, default 1 GiB.
        secret_key: ``RAGBENCH_SECRET_KEY``, default none (a key file under the home folder).
        arena_votes_per_minute: ``RAGBENCH_ARENA_VOTES_PER_MINUTE``, default 30.
        arena_votes_per_day: ``RAGBENCH_ARENA_VOTES_PER_DAY``, default 1,000.
        arena_rounds: ``RAGBENCH_ARENA_ROUNDS``, default 1,000.
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
    max_input_bytes: int
    max_json_depth: int
    max_metadata_bytes: int
    submissions_per_day: int
    submissions_total: int
    hidden_min_topic_share: float
    hidden_min_docs: int
    rate_limit: int
    rate_limit_expensive: int
    expensive_concurrency: int
    scoring_slots: int
    token_days: int
    retry_after_s: int
    llm_share_badge: float
    ray_min_hits: int
    ray_min_corpus_bytes: int
    secret_key: str | None
    arena_votes_per_minute: int
    arena_votes_per_day: int
    arena_rounds: int
    rag_judge: dict[str, Any] = field(default_factory=lambda: {"backend": "local"})
    rag_max_references: int = 20
    rag_max_words: int = 400
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); empty variables count as unset.

        Raises:
            InputError: a numeric variable is not a non-negative integer (or a share not in 0..1).
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

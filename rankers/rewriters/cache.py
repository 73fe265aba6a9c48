"""The cache of LM query rewrites: one SQLite file shared by every process that rewrites.

A rewrite is stored under the SHA-256 of everything that decides it under greedy decoding: the
model (its weights' fingerprint and the precision it runs in), the full prompt template, the query
text, the context text (context-aware rewriting) and ``max_new_tokens``. The value is the cleaned
rewrite and the token counts of the call that made it.

Several Ray actors write at once: the database is in WAL mode (readers never block the writer),
every connection waits up to ``timeout`` seconds for a lock instead of failing, and rows are
added with ``INSERT OR IGNORE`` (greedy decoding makes two writers of one key agree, and the first
row stays).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragbench.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS rewrites (
    key TEXT PRIMARY KEY,
    rewrite TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    new_tokens INTEGER NOT NULL,
    model TEXT NOT NULL
)
"""


def default_cache_path() -> Path:
    """``rewrites.sqlite`` in the settings' cache folder (``RAGBENCH_CACHE_DIR``, default
    ``$RAGBENCH_HOME/cache``)."""
    from ragbench.settings import get_settings

    return get_settings().cache_dir / "rewrites.sqlite"


def cache_key(model: str, template: str, query: str, context: str | None, max_new_tokens: int) -> str:
    """The key of one rewrite (JSON-encoded parts, so no two different tuples share a key)."""
    parts = [model, template, query, context, int(max_new_tokens)]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedRewrite:
    rewrite: str
    prompt_tokens: int
    new_tokens: int


class RewriteCache:
    """Rewrites by key in a SQLite file (created with its folder on first use)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path).expanduser()
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise InputError(f"{self.path}: cannot open the rewrite cache: {exc}") from None
            self._conn = conn
        return self._conn

    def get_many(self, keys: Iterable[str]) -> dict[str, CachedRewrite]:
        """The cached rewrites among ``keys``."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, CachedRewrite] = {}
        conn = self._connect()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = conn.execute(
                "SELECT key, rewrite, prompt_tokens, new_tokens FROM rewrites "
                f"WHERE key IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for key, rewrite, prompt_tokens, new_tokens in rows:
                found[key] = CachedRewrite(rewrite, int(prompt_tokens), int(new_tokens))
        return found

    def get(self, key: str) -> CachedRewrite | None:
        return self.get_many([key]).get(key)

    def put_many(self, rows: Sequence[tuple[str, CachedRewrite]], model: str) -> None:
        """Store rewrites in one transaction; a key already present keeps its first value."""
        if not rows:
            return
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT OR IGNORE INTO rewrites (key, rewrite, prompt_tokens, new_tokens, model) "
                "VALUES (?, ?, ?, ?, ?)",
                [(key, r.rewrite, r.prompt_tokens, r.new_tokens, model) for key, r in rows],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def put(self, key: str, value: CachedRewrite, model: str) -> None:
        self.put_many([(key, value)], model)

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM rewrites").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_conn"] = None  # a connection cannot cross processes; reopened on first use
        return state

"""The persistent cache of LM outputs: one SQLite file shared by every process of a machine.

An output is stored under the SHA-256 of everything that decides it: the backend's fingerprint,
the model, the kind of call (``chat`` or ``options``), the exact messages (and options), and the
decoding parameters with the sample index. A rerun with the same inputs reads every output back
and makes no model call; an interrupted job resumes where it stopped, since each batch is
written as soon as it is answered.

Several processes (Ray actors, a CLI run and the service worker) may write at once: WAL mode,
a busy timeout instead of failures, and ``INSERT OR IGNORE`` (the first row of a key stays, so
a value never changes once read).
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
CREATE TABLE IF NOT EXISTS outputs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    model TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created TEXT NOT NULL
)
"""


def cache_key(
    fingerprint: str, model: str, kind: str, prompt: Any, params: dict[str, Any], sample: int
) -> str:
    """The key of one output (JSON-encoded parts, so no two different tuples share a key)."""
    parts = [fingerprint, model, kind, prompt, sorted(params.items()), int(sample)]
    data = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Stored:
    """One cached output: its payload (reply text or option log-probs), tokens and creation time."""

    payload: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    created: str


class LMCache:
    """Outputs by key in a SQLite file (created with its folder on first use)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path).expanduser()
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
                conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(SCHEMA)
            except (OSError, sqlite3.Error) as exc:
                raise InputError(f"{self.path}: cannot open the LM cache: {exc}") from None
            self._conn = conn
        return self._conn

    def get_many(self, keys: Iterable[str]) -> dict[str, Stored]:
        """The cached outputs among ``keys``."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Stored] = {}
        conn = self._connect()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = conn.execute(
                "SELECT key, payload, prompt_tokens, completion_tokens, created FROM outputs "
                f"WHERE key IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for key, payload, prompt_tokens, completion_tokens, created in rows:
                found[key] = Stored(json.loads(payload), int(prompt_tokens), int(completion_tokens), created)
        return found

    def put_many(self, rows: Sequence[tuple[str, str, Stored]], model: str, fingerprint: str) -> None:
        """Store ``(key, kind, output)`` rows in one transaction; a key present keeps its value."""
        if not rows:
            return
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT OR IGNORE INTO outputs (key, kind, payload, prompt_tokens, completion_tokens, "
                "model, fingerprint, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        key,
                        kind,
                        json.dumps(out.payload, ensure_ascii=False),
                        out.prompt_tokens,
                        out.completion_tokens,
                        model,
                        fingerprint,
                        out.created,
                    )
                    for key, kind, out in rows
                ],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM outputs").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_conn"] = None  # a connection cannot cross processes; reopened on first use
        return state

"""Functions that tests run in child processes: they must be importable by name in a spawned
interpreter (test modules are not, under pytest's importlib import mode)."""

from __future__ import annotations

from rankers.rewriters.cache import CachedRewrite, RewriteCache


def cache_writer(path: str, worker: int, start: int, count: int) -> None:
    """Write keys ``start .. start + count - 1`` into the rewrite cache at ``path``, ten at a time."""
    cache = RewriteCache(path, timeout=60)
    for i in range(start, start + count, 10):
        rows = [(f"key-{j}", CachedRewrite(f"rewrite {j} by {worker}", j, worker)) for j in range(i, i + 10)]
        cache.put_many(rows, f"worker-{worker}")
        assert cache.get(f"key-{i}") is not None
    cache.close()

"""A small cache of encoded JSON for hot public reads (the leaderboard), and what invalidates it.

A leaderboard read costs several queries; under load the same page is asked for many times a
second. Entries live at most ``ttl`` seconds (1 s by default: the bound on staleness for writes
made by *other* processes, such as the CLI or another replica) and are dropped at once when this
process writes: any non-GET request that succeeds, and every run the background worker scores.
The generation is read before the database is, so a result computed across a write is never
served after it. Entries are public data only (the same for every requester).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import anyio.to_thread
import msgspec
from litestar import MediaType, Response
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ResponseCache:
    """Encoded responses keyed by what determines them, valid for one write generation.

    An entry of the current generation older than ``ttl`` is still served while one background
    task recomputes it (so an expiry never stalls the readers); after a write, readers wait for
    one shared recomputation rather than each querying the database.

    Args:
        ttl: Seconds after which an entry is recomputed (bounds staleness for writes by other
            processes to about ``ttl`` plus one computation).
        max_entries: Entries kept, least recently stored dropped first.
    """

    def __init__(self, ttl: float = 1.0, max_entries: int = 1024) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0
        self._entries: OrderedDict[Hashable, tuple[int, float, bytes]] = OrderedDict()
        self._inflight: dict[Hashable, tuple[int, asyncio.Task[bytes]]] = {}
        self._lock = threading.Lock()

    def put(self, key: Hashable, body: bytes, generation: int) -> None:
        """Store ``body``, computed from data read during ``generation`` (ignored if stale by now)."""
        with self._lock:
            if generation != self.generation:
                return
            self._entries[key] = (generation, time.monotonic() + self.ttl, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self) -> None:
        """Drop every entry (something was written); safe from any thread."""
        with self._lock:
            self.generation += 1
            self._entries.clear()

    async def json_response(self, key: Hashable, compute: Callable[[], Any]) -> Response[Any]:
        """A JSON response for ``key``: cached, or ``compute()`` (run in a thread) encoded and cached.

        Errors of ``compute`` (a ragbench error such as an unknown benchmark) propagate and are
        not cached.
        """
        generation = self.generation
        entry = self._entries.get(key)
        if entry is not None and entry[0] == generation:
            if entry[1] < time.monotonic():
                self._start(key, compute, generation, background=True)
            return Response(entry[2], media_type=MediaType.JSON)
        body = await asyncio.shield(self._start(key, compute, generation))
        return Response(body, media_type=MediaType.JSON)

    def _start(
        self, key: Hashable, compute: Callable[[], Any], generation: int, background: bool = False
    ) -> asyncio.Task[bytes]:
        running = self._inflight.get(key)
        if running is not None and running[0] == generation:
            return running[1]
        task = asyncio.create_task(self._compute(key, compute, generation))
        if background:
            task.add_done_callback(_drop_result)
        self._inflight[key] = (generation, task)
        return task

    async def _compute(self, key: Hashable, compute: Callable[[], Any], generation: int) -> bytes:
        try:
            body = msgspec.json.encode(await anyio.to_thread.run_sync(compute))
        except BaseException:
            with self._lock:
                self._entries.pop(key, None)
            raise
        finally:
            if self._inflight.get(key, (None,))[0] == generation:
                self._inflight.pop(key, None)
        self.put(key, body, generation)
        return body


def _drop_result(task: asyncio.Task[bytes]) -> None:
    """Background refreshes have no reader: retrieve their error so asyncio does not log it."""
    if not task.cancelled():
        task.exception()


def invalidating_middleware(cache: ResponseCache) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: a successful write request invalidates ``cache`` before its response starts,
    so a client that reads after its write sees it."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope.get("method", "GET") in SAFE_METHODS:
                await app(scope, receive, send)
                return

            async def send_after_invalidating(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] < 400:
                    cache.invalidate()
                await send(message)

            await app(scope, receive, send_after_invalidating)

        return wrapped

    return middleware

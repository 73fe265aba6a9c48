"""The background scoring worker: scores runs that were too large to score inside their request.

An asyncio task started with the app calls :func:`ragbench.store.service.process_pending` in a
thread every second, or at once when a handler calls :meth:`ScoringWorker.notify` after storing a
pending run. It starts with a pass, so runs left pending (or half-scored) by a restart are retried.
Each run it scores holds one of the app's scoring slots (:mod:`api.limits`), so uploads and the
worker together stay within ``RAGBENCH_SCORING_SLOTS``. A step that fails because the database is
away is logged and retried at the next poll; the run is left as it was (``docs/store.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio.to_thread

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from api.limits import WorkLimits

log = logging.getLogger("ragbench.api.worker")


class PollingWorker:
    """A background task that calls :meth:`drain` on start-up, whenever :meth:`notify` is called,
    and every ``interval`` seconds otherwise; the shared life cycle of the scoring and judge workers."""

    name = "ragbench-worker"
    interval: float

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def drain(self) -> int:
        """Do what is pending; returns how much was done."""
        raise NotImplementedError

    async def start(self) -> None:
        """Start polling (the app's ``on_startup`` hook)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop polling (the app's ``on_shutdown`` hook); work in a thread is finished first."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def notify(self) -> None:
        """Wake the worker now; safe to call from any thread (handlers run in a thread pool)."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()


class ScoringWorker(PollingWorker):
    """Polls for pending runs and scores them, one run per step, off the event loop.

    Args:
        factory: The session factory handed to ``process_pending``.
        interval: Seconds between polls when nobody notifies (default 1).
        on_scored: Called (in the worker's thread) after each step that finished a run.
        limits: The app's bounds; each step holds one scoring slot (None: no bound).
    """

    name = "ragbench-scoring-worker"

    def __init__(
        self,
        factory: sessionmaker[Session],
        interval: float = 1.0,
        on_scored: Callable[[], None] | None = None,
        limits: WorkLimits | None = None,
    ) -> None:
        super().__init__()
        self.factory = factory
        self.limits = limits
        self.interval = interval
        self.on_scored = on_scored
        self.processed = 0

    async def drain(self) -> int:
        """Score pending runs until none is left; returns how many were processed.

        An unexpected error is logged and ends this pass (the next poll retries); errors in a run
        itself are recorded on the run by ``process_pending``.
        """
        done = 0
        while True:
            try:
                step = await self._slotted_step()
            except Exception:
                log.exception("scoring worker step failed")
                return done
            if step == 0:
                return done
            done += step
            self.processed += step

    async def _slotted_step(self) -> int:
        if self.limits is not None:
            await self.limits.acquire_upload()
        try:
            # Not abandoned on cancel: shutdown waits for the run being scored.
            return await anyio.to_thread.run_sync(self._step)
        finally:
            if self.limits is not None:
                self.limits.release_upload()

    def _step(self) -> int:
        from ragbench.store.service import process_pending

        done = process_pending(self.factory, limit=1)
        if done and self.on_scored is not None:
            self.on_scored()
        return done

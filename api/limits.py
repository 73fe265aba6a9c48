"""Bounds on concurrent work in one server process: uploads being read and scored, comparisons.

**Uploads.** Reading a run upload, parsing it and scoring it takes memory in proportion to its
size (about 150 MiB per million lines: body, parsed tables and string pool, compressed copy).
``RAGBENCH_SCORING_SLOTS`` (default 2) uploads are handled at once; the background worker takes a
slot for each run it scores too. A request beyond them waits for a slot *before its body is
read*, so its bytes stay in the client's socket (TCP flow control) instead of the server's
memory: the excess is queued, never refused. Peak memory is then about slots x (the largest
run's cost) plus the process itself (``benchmarks/upload_memory.py``: 8 concurrent 5M-line
uploads peak at 1.5 GiB with 2 slots, 5.1 GiB with 8).

**Comparisons.** ``RAGBENCH_EXPENSIVE_CONCURRENCY`` (default 2) comparisons are computed at
once; the others wait (their answers are cached, see :mod:`api.cache`, so waiting requests for
the same runs share one computation).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from litestar.datastructures import State

T = TypeVar("T")


class WorkLimits:
    """The two bounds of one app (see the module docstring).

    Args:
        scoring_slots: Uploads (and worker runs) handled at once (at least 1).
        expensive: Comparisons computed at once (at least 1).
    """

    def __init__(self, scoring_slots: int, expensive: int) -> None:
        self.scoring_slots = max(1, scoring_slots)
        self.uploads = asyncio.Semaphore(self.scoring_slots)
        self.expensive = threading.BoundedSemaphore(max(1, expensive))
        self.in_use = 0
        self.peak = 0
        """The most slots held at once so far (for logs and tests of the bound)."""

    async def acquire_upload(self) -> None:
        """Wait for an upload slot."""
        await self.uploads.acquire()
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)

    def release_upload(self) -> None:
        """Give an upload slot back."""
        self.in_use -= 1
        self.uploads.release()

    def expensive_call(self, work: Callable[[], T]) -> T:
        """Run ``work()`` (in the calling thread) once a comparison slot is free."""
        with self.expensive:
            return work()


async def provide_upload_slot(state: State) -> AsyncIterator[None]:
    """Dependency of uploads: hold a scoring slot from before the body is read until the handler
    has stored (and, for small runs, scored) the run."""
    limits: WorkLimits = state.limits
    await limits.acquire_upload()
    try:
        yield
    finally:
        limits.release_upload()


def provide_limits(state: State) -> WorkLimits:
    """Dependency: the app's :class:`WorkLimits`."""
    limits: WorkLimits = state.limits
    return limits

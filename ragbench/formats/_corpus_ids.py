"""Duplicate document ids in a corpus of any size, in 8 bytes per document.

A set of the id strings would cost about 100 bytes per document (800 MB for MS MARCO's 8.8M
passages); here each id is kept as a 64-bit BLAKE2b digest in sorted numpy arrays, checked a
batch of documents at a time (one vectorised lookup per batch, not a Python loop per document).
A digest seen before is confirmed by reading the file again up to that line, so a hash collision
never reports a duplicate that is not there; after :data:`CONFIRMED` confirmed duplicates the
digests are trusted (a collision among 10^8 ids has a chance of about 3e-4).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import numpy as np

from ragbench.formats.problems import Problem

BATCH_DOCUMENTS = 4096
BATCH_BYTES = 4 << 20
"""Documents are held back until this many (or this many characters of text) are read."""
CONFIRMED = 10


def digest(doc_id: str) -> int:
    """The id's 64-bit digest (BLAKE2b)."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "little")


class DigestSet:
    """Sorted uint64 arrays, merged like a binary counter (O(log n) arrays, amortised O(1) merges)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(part.size for part in self.parts)

    def known(self, digests: np.ndarray) -> np.ndarray:
        """A mask of the ``digests`` already in the set."""
        found = np.zeros(digests.size, bool)
        for part in self.parts:
            at = np.searchsorted(part, digests)
            inside = at < part.size
            found[inside] |= part[at[inside]] == digests[inside]
        return found

    def add(self, digests: np.ndarray) -> None:
        self.parts.append(np.sort(digests))
        while len(self.parts) > 1 and self.parts[-1].size >= self.parts[-2].size:
            last = self.parts.pop()
            self.parts[-1] = np.sort(np.concatenate([self.parts[-1], last]))


class _Document(Protocol):
    @property
    def doc_id(self) -> str: ...
    @property
    def contents(self) -> str: ...


D = TypeVar("D", bound=_Document)


def unique_ids(
    items: Iterator[tuple[int, D] | Problem],
    name: str,
    rescan: Callable[[], Iterator[tuple[int, D] | Problem]],
) -> Iterator[D | Problem]:
    """The documents of ``items`` (``(line, document)`` pairs; problems passed through in order),
    with a Problem in place of each document whose id appeared before.

    Args:
        items: the format reader's output.
        name: the file name for messages.
        rescan: a fresh pass over the same file, to confirm a duplicate and name its first line.
    """
    seen = DigestSet()
    batch: list[tuple[int, D]] = []
    size = 0
    state = {"confirmed": 0}
    for item in items:
        if isinstance(item, Problem):
            yield from _flush(batch, seen, name, rescan, state)
            batch, size = [], 0
            yield item
            continue
        batch.append(item)
        size += len(item[1].contents)
        if len(batch) >= BATCH_DOCUMENTS or size >= BATCH_BYTES:
            yield from _flush(batch, seen, name, rescan, state)
            batch, size = [], 0
    yield from _flush(batch, seen, name, rescan, state)


def _flush(
    batch: list[tuple[int, D]],
    seen: DigestSet,
    name: str,
    rescan: Callable[[], Iterator[tuple[int, D] | Problem]],
    state: dict[str, int],
) -> Iterator[D | Problem]:
    if not batch:
        return
    digests = np.fromiter((digest(doc.doc_id) for _, doc in batch), np.uint64, len(batch))
    before = seen.known(digests)
    _, first = np.unique(digests, return_index=True)
    repeated = np.ones(len(batch), bool)
    repeated[first] = False  # a later copy within the batch
    suspects = np.flatnonzero(before | repeated)
    seen.add(np.unique(digests))
    duplicate: dict[int, int | None] = {}
    for index in suspects.tolist():
        line, doc = batch[index]
        if state["confirmed"] >= CONFIRMED:
            duplicate[index] = None
            continue
        earlier = _first_line(rescan, doc.doc_id, line)
        if earlier is not None:
            state["confirmed"] += 1
            duplicate[index] = earlier
    for index, (line, doc) in enumerate(batch):
        if index not in duplicate:
            yield doc
            continue
        earlier = duplicate[index]
        where = f"first on line {earlier}" if earlier else "it appears on an earlier line"
        yield Problem(name, line, f"duplicate document id {doc.doc_id!r} ({where})")


def _first_line(
    rescan: Callable[[], Iterator[tuple[int, D] | Problem]], doc_id: str, before: int
) -> int | None:
    """The first line before ``before`` with a document called ``doc_id`` (None: a hash collision)."""
    for item in rescan():
        if isinstance(item, Problem):
            continue
        line, doc = item
        if line >= before:
            return None
        if doc.doc_id == doc_id:
            return line
    return None

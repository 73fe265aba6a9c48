"""Columnar in-memory forms of TREC runs and qrels.

Strings (query and document ids) are interned: each table stores int32 codes into a shared
``strings`` list, so a run and its qrels can be joined on integers. Tables from one
:class:`StringPool` share codes; :func:`ragbench.evaluation.prepare.prepare` re-codes tables
from different pools.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np


def new_pool() -> StringPool:
    """A fresh string interner: the C one when built, else the Python one (same interface)."""
    try:
        from ragbench.formats._ctrec import Pool
    except ImportError:  # built without a C compiler
        return StringPool()
    pool: StringPool = Pool()  # the C twin has StringPool's interface; the extension has no stubs
    return pool


def is_c_pool(pool: object) -> bool:
    """Whether ``pool`` is the C interner (whose strings the C join can rank by)."""
    try:
        from ragbench.formats._ctrec import Pool
    except ImportError:
        return False
    return isinstance(pool, Pool)


class StringPool(Sequence[str]):
    """Interns strings to dense int32 codes (pure-Python twin of the C interner).

    A sequence of the interned strings, indexed by code: what the tables' ``strings`` hold.
    """

    __slots__ = ("_codes", "strings")

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self.strings: list[str] = []

    def code(self, text: str) -> int:
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = len(self.strings)
            self.strings.append(text)
        return code

    def __len__(self) -> int:
        return len(self.strings)

    @overload
    def __getitem__(self, code: int) -> str: ...
    @overload
    def __getitem__(self, code: slice) -> list[str]: ...
    def __getitem__(self, code: int | slice) -> str | list[str]:
        return self.strings[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self.strings)


@dataclass(frozen=True, slots=True)
class RunTable:
    """A TREC run: one row per (query, document, score) line, in file order.

    Attributes:
        query: int32 codes into ``strings``.
        doc: int32 codes into ``strings``.
        score: float64 scores.
        rank: int64 ranks as written in the file (trec_eval ignores them; validation reads them).
        line: int64 1-based line number of each row in its file (0 when built in memory).
        strings: the interned strings the codes point into.
        run_id: run tag of the last content line (trec_eval keeps that one).
        source: the file name (or ``<memory>``), for messages.
    """

    query: np.ndarray
    doc: np.ndarray
    score: np.ndarray
    rank: np.ndarray
    line: np.ndarray
    strings: Sequence[str]
    run_id: str = ""
    source: str = "<memory>"

    def __len__(self) -> int:
        return int(self.query.size)

    @classmethod
    def from_dict(cls, scores: dict[str, dict[str, float]], run_id: str = "run") -> RunTable:
        """Build from ``{query_id: {doc_id: score}}`` (ir-measures' and pytrec_eval's shape)."""
        pool = new_pool()
        q, d, s = [], [], []
        for qid, docs in scores.items():
            qc = pool.code(str(qid))
            for did, score in docs.items():
                q.append(qc)
                d.append(pool.code(str(did)))
                s.append(float(score))
        n = len(q)
        return cls(
            query=np.asarray(q, dtype=np.int32),
            doc=np.asarray(d, dtype=np.int32),
            score=np.asarray(s, dtype=np.float64),
            rank=np.zeros(n, dtype=np.int64),
            line=np.zeros(n, dtype=np.int64),
            strings=pool,
            run_id=run_id,
        )

    def to_dict(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        strings = self.strings
        for q, d, s in zip(self.query.tolist(), self.doc.tolist(), self.score.tolist(), strict=True):
            out.setdefault(strings[q], {})[strings[d]] = s
        return out

    def query_ids(self) -> list[str]:
        """Distinct query ids, in order of first appearance."""
        return [self.strings[c] for c in dict.fromkeys(self.query.tolist())]


@dataclass(frozen=True, slots=True)
class QrelsTable:
    """TREC relevance judgments: one row per (query, document, relevance) line.

    ``relevance`` is int64 and may be negative (trec_eval: in the pool but not judged).
    """

    query: np.ndarray
    doc: np.ndarray
    relevance: np.ndarray
    line: np.ndarray
    strings: Sequence[str]
    source: str = "<memory>"

    def __len__(self) -> int:
        return int(self.query.size)

    @classmethod
    def from_dict(cls, judgments: dict[str, dict[str, int]]) -> QrelsTable:
        """Build from ``{query_id: {doc_id: relevance}}``."""
        pool = new_pool()
        q, d, r = [], [], []
        for qid, docs in judgments.items():
            qc = pool.code(str(qid))
            for did, rel in docs.items():
                q.append(qc)
                d.append(pool.code(str(did)))
                r.append(int(rel))
        return cls(
            query=np.asarray(q, dtype=np.int32),
            doc=np.asarray(d, dtype=np.int32),
            relevance=np.asarray(r, dtype=np.int64),
            line=np.zeros(len(q), dtype=np.int64),
            strings=pool,
        )

    def to_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        strings = self.strings
        for q, d, r in zip(self.query.tolist(), self.doc.tolist(), self.relevance.tolist(), strict=True):
            out.setdefault(strings[q], {})[strings[d]] = r
        return out

    def query_ids(self) -> list[str]:
        return [self.strings[c] for c in dict.fromkeys(self.query.tolist())]

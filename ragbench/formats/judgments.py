"""Qrels made by a judge, and their provenance sidecar.

``ragbench judge ... --out NEW`` writes two files, atomically (each to a temporary file in the
same folder, then renamed; the sidecar first, so a qrels file never exists without it):

- ``NEW``: TREC qrels (``query 0 doc relevance``), human labels kept as they were and LLM labels
  added; a pair the judge failed on has no line (a failure is never a label);
- ``NEW.provenance.jsonl``: a header line ``{"ragbench": "label-provenance", "version": 1, ...}``
  (the judge, its settings and counts), then one JSON object per pair: ``query_id``, ``doc_id``,
  ``relevance`` (``null`` for a failure), ``source`` (``human`` or ``llm``), and for LLM labels
  ``provenance`` (model, backend, fingerprint, prompt name and hash, parameters, samples and their
  grades, time, cached) or ``failure`` (why no label).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import InputError

SIDECAR_SUFFIX = ".provenance.jsonl"
FORMAT = "label-provenance"
SOURCES = ("human", "llm")


@dataclass(frozen=True)
class LabelRecord:
    """One judged (or failed) pair and where its label came from."""

    query_id: str
    doc_id: str
    relevance: int | None
    source: str
    provenance: Mapping[str, Any] | None = None
    failure: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "query_id": self.query_id,
            "doc_id": self.doc_id,
            "relevance": self.relevance,
            "source": self.source,
        }
        if self.provenance is not None:
            data["provenance"] = dict(self.provenance)
        if self.failure is not None:
            data["failure"] = self.failure
        return data


@dataclass
class Sidecar:
    """A provenance sidecar read back: its header and records by ``(query_id, doc_id)``."""

    header: dict[str, Any]
    records: dict[tuple[str, str], LabelRecord] = field(default_factory=dict)

    def sources(self) -> dict[tuple[str, str], str]:
        """``(query, doc) -> "human" | "llm"`` for every pair with a label."""
        return {k: r.source for k, r in self.records.items() if r.relevance is not None}

    def failures(self) -> list[LabelRecord]:
        return [r for r in self.records.values() if r.relevance is None]


def sidecar_path(qrels: str | os.PathLike[str]) -> Path:
    """``QRELS.provenance.jsonl`` beside ``qrels``."""
    return Path(f"{os.fspath(qrels)}{SIDECAR_SUFFIX}")


def _order(record: LabelRecord) -> tuple[tuple[int, int, str], str]:
    q = record.query_id
    return ((0, int(q), "") if q.isdecimal() else (1, 0, q)), record.doc_id


def qrels_text(records: Iterable[LabelRecord]) -> str:
    """The TREC qrels lines of the records that have a label, by topic then document."""
    lines = [
        f"{r.query_id} 0 {r.doc_id} {r.relevance}\n"
        for r in sorted(records, key=_order)
        if r.relevance is not None
    ]
    return "".join(lines)


def sidecar_text(records: Iterable[LabelRecord], header: Mapping[str, Any]) -> str:
    head = {"ragbench": FORMAT, "version": 1, **header}
    lines = [json.dumps(head, ensure_ascii=False, sort_keys=True)]
    lines += [
        json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True) for r in sorted(records, key=_order)
    ]
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_judged(
    path: str | os.PathLike[str], records: Iterable[LabelRecord], header: Mapping[str, Any]
) -> Path:
    """Write the qrels of ``records`` to ``path`` and their provenance beside it, atomically;
    returns the sidecar's path.

    Raises:
        InputError: the folder does not exist or cannot be written.
    """
    target = Path(path)
    rows = list(records)
    if not target.parent.is_dir():
        raise InputError(f"{target.parent}: no such folder for {target.name}")
    sidecar = sidecar_path(target)
    try:
        _atomic_write(sidecar, sidecar_text(rows, header))
        _atomic_write(target, qrels_text(rows))
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return sidecar


def read_sidecar(path: str | os.PathLike[str]) -> Sidecar:
    """Read a provenance sidecar (``path`` is the sidecar or the qrels beside it).

    Raises:
        InputError: it is missing or not a label-provenance file (naming the file and line).
    """
    target = Path(path)
    if not target.name.endswith(SIDECAR_SUFFIX):
        target = sidecar_path(target)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{target}: cannot read the label provenance: {exc}") from None
    return parse_sidecar(text, str(target))


def parse_sidecar(text: str | bytes, name: str = "provenance") -> Sidecar:
    """A provenance sidecar from its text (see :func:`read_sidecar`).

    Raises:
        InputError: not a label-provenance file (naming ``name`` and the line).
    """
    target = name
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not UTF-8 text: {exc}") from None
    lines = text.splitlines()
    sidecar: Sidecar | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{target}:{number}: not JSON: {exc.msg}") from None
        if sidecar is None:
            if not isinstance(data, dict) or data.get("ragbench") != FORMAT:
                raise InputError(f"{target}:{number}: not a ragbench label-provenance file")
            sidecar = Sidecar(data)
            continue
        try:
            relevance = data["relevance"]
            record = LabelRecord(
                str(data["query_id"]),
                str(data["doc_id"]),
                None if relevance is None else int(relevance),
                str(data["source"]),
                data.get("provenance"),
                data.get("failure"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"{target}:{number}: a label record needs query_id, doc_id, relevance, source ({exc})"
            ) from None
        if record.source not in SOURCES:
            raise InputError(
                f"{target}:{number}: source {record.source!r} is not one of {', '.join(SOURCES)}"
            )
        sidecar.records[(record.query_id, record.doc_id)] = record
    if sidecar is None:
        raise InputError(f"{target}: empty label-provenance file")
    return sidecar

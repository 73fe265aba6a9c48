"""ir_datasets interop: benchmarks from ir_datasets' local cache, runs and qrels from its objects.

ir_datasets (``pip install 'ragbench[ir-datasets]'``) downloads a dataset's files the first time
they are read. ragbench never lets it: :func:`local_cache_only` blocks every download while a
dataset is read, so a dataset whose files are not in ir_datasets' cache (``IR_DATASETS_HOME``,
default ``~/.ir_datasets``) is a clear error rather than a network request (there is no network
on an evaluation cluster, and a benchmark's files should not change under it). Fill the cache once
where there is network (``ir_datasets export ID docs > /dev/null``) or copy its files there.

In the Python API, :func:`ragbench.evaluate` accepts an ir_datasets dataset (its qrels), and any
iterable of ir_datasets-style records: qrels with ``query_id``, ``doc_id``, ``relevance`` and runs
(``scoreddocs``) with ``query_id``, ``doc_id``, ``score``; see :func:`qrels_from_records` and
:func:`run_from_records`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ragbench.errors import InputError
from ragbench.extras import require
from ragbench.formats.lines import write_if_changed
from ragbench.formats.tables import QrelsTable, RunTable


class _NotCached(Exception):
    """Raised inside ir_datasets where it would download."""


@contextlib.contextmanager
def local_cache_only(dataset_id: str) -> Iterator[None]:
    """While active, any ir_datasets download raises; a read that needs one becomes an InputError
    saying that ``dataset_id`` is not in the local cache.

    ir_datasets has no offline switch, so its network download classes are replaced for the
    duration (local files and its cache are read as usual). Not thread-safe: use from one thread.
    """
    from ir_datasets.util import download

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise _NotCached(repr(self))

    classes = [
        getattr(download, n) for n in ("RequestsDownload", "GoogleDriveDownload", "GoogleCloudBucketStream")
    ]
    classes = [c for c in classes if c is not None]
    saved = [(c, c.__dict__.get("stream"), c.__dict__.get("__iter__")) for c in classes]
    for cls in classes:
        cls.stream = refuse
        cls.__iter__ = refuse
    try:
        yield
    except Exception as exc:
        if _caused_by_refusal(exc):
            from ir_datasets.util import home_path

            raise InputError(
                f"ir_datasets dataset {dataset_id!r} is not in the local cache ({home_path()}): ragbench "
                "does not download; fill the cache once where there is network "
                f"(ir_datasets export {dataset_id} docs > /dev/null) or copy its files there"
            ) from None
        raise
    finally:
        for cls, stream, it in saved:
            for name, original in (("stream", stream), ("__iter__", it)):
                if original is None:
                    with contextlib.suppress(AttributeError):
                        delattr(cls, name)
                else:
                    setattr(cls, name, original)


def _caused_by_refusal(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, _NotCached) or any(isinstance(a, _NotCached) for a in getattr(exc, "args", ())):
            return True
        if any(
            isinstance(item, tuple) and any(isinstance(x, _NotCached) for x in item)
            for arg in getattr(exc, "args", ())
            if isinstance(arg, list)
            for item in arg
        ):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def load_dataset(dataset_id: str) -> Any:
    """The ir_datasets dataset ``dataset_id`` (nothing is read or downloaded yet).

    Raises:
        MissingExtraError: ir_datasets is not installed.
        InputError: ir_datasets does not know the id.
    """
    require("ir-datasets", "ir_datasets")
    import ir_datasets

    try:
        return ir_datasets.load(dataset_id)
    except KeyError:
        raise InputError(f"ir_datasets has no dataset {dataset_id!r}") from None


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def export_dataset(dataset_id: str, folder: str | Path) -> tuple[str | None, str, str, dict[str, Any]]:
    """Write a dataset from ir_datasets' local cache as a JSONL corpus (when it has documents), JSONL
    topics and TREC qrels under ``folder``; returns their paths and the provenance to record (the
    id, ir_datasets' version, counts and the sha256 of each file written).

    Raises:
        MissingExtraError: ir_datasets is not installed.
        InputError: an unknown id, a dataset without queries or qrels, or one that is not in the
            local cache.
    """
    from importlib.metadata import version

    dataset = load_dataset(dataset_id)
    if not (dataset.has_queries() and dataset.has_qrels()):
        raise InputError(f"ir_datasets dataset {dataset_id!r} has no queries or no qrels: not a benchmark")
    out = Path(folder)
    provenance: dict[str, Any] = {
        "format": "ir_datasets",
        "ir_datasets": dataset_id,
        "version": version("ir_datasets"),
    }
    corpus = None
    with local_cache_only(dataset_id):
        if dataset.has_docs():
            lines, empty = [], 0
            for doc in dataset.docs_iter():
                text = _clean(doc.default_text()) if hasattr(doc, "default_text") else _clean(doc.text)
                if not text:
                    empty += 1
                    continue
                lines.append(json.dumps({"id": doc.doc_id, "contents": text}, ensure_ascii=False))
            corpus = write_if_changed(out / "corpus.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
            provenance["docs"] = len(lines)
            if empty:
                provenance["docs_left_out_without_text"] = empty
        queries = [
            json.dumps(
                {
                    "query_id": q.query_id,
                    "query": _clean(q.default_text() if hasattr(q, "default_text") else q.text),
                },
                ensure_ascii=False,
            )
            for q in dataset.queries_iter()
        ]
        topics = write_if_changed(out / "topics.jsonl", ("\n".join(queries) + "\n").encode("utf-8"))
        qrels_bytes = "".join(
            f"{q.query_id} 0 {q.doc_id} {int(q.relevance)}\n" for q in dataset.qrels_iter()
        ).encode()
        qrels = write_if_changed(out / "qrels.txt", qrels_bytes)
    provenance["queries"] = len(queries)
    provenance["sha256"] = {
        name: hashlib.sha256(Path(p).read_bytes()).hexdigest()
        for name, p in (("corpus", corpus), ("topics", topics), ("qrels", qrels))
        if p is not None
    }
    return corpus, topics, qrels, provenance


def qrels_from_records(records: Any, *, name: str = "ir_datasets qrels") -> QrelsTable:
    """Qrels from an ir_datasets dataset (its ``qrels_iter()``) or an iterable of records with
    ``query_id``, ``doc_id`` and ``relevance`` (ir_datasets' ``TrecQrel``, any namedtuple or object).

    Raises:
        InputError: a record without those fields, a non-integer relevance, a pair judged twice.
    """
    items = records.qrels_iter() if hasattr(records, "qrels_iter") else records
    table: dict[str, dict[str, int]] = {}
    for i, record in enumerate(_iterate(items, name), start=1):
        try:
            query, doc, relevance = str(record.query_id), str(record.doc_id), record.relevance
        except AttributeError:
            raise InputError(
                f"{name}: record {i} has no query_id, doc_id and relevance: {record!r}"
            ) from None
        if isinstance(relevance, bool) or int(relevance) != relevance:
            raise InputError(f"{name}: record {i}: relevance {relevance!r} is not a whole number")
        if doc in table.setdefault(query, {}):
            raise InputError(f"{name}: record {i}: document {doc!r} is judged twice for query {query!r}")
        table[query][doc] = int(relevance)
    if not table:
        raise InputError(f"{name}: no judgments")
    return QrelsTable.from_dict(table)


def run_from_records(records: Any, *, name: str = "ir_datasets run") -> RunTable:
    """A run from an ir_datasets dataset (its ``scoreddocs_iter()``) or an iterable of records with
    ``query_id``, ``doc_id`` and ``score`` (ir_datasets' ``GenericScoredDoc``, any namedtuple).

    Raises:
        InputError: a record without those fields, a score that is not a finite number, a document
            listed twice for a query.
    """
    import math

    items = records.scoreddocs_iter() if hasattr(records, "scoreddocs_iter") else records
    table: dict[str, dict[str, float]] = {}
    for i, record in enumerate(_iterate(items, name), start=1):
        try:
            query, doc, score = str(record.query_id), str(record.doc_id), float(record.score)
        except (AttributeError, TypeError, ValueError):
            raise InputError(
                f"{name}: record {i} has no query_id, doc_id and numeric score: {record!r}"
            ) from None
        if not math.isfinite(score):
            raise InputError(f"{name}: record {i}: score {score!r} is not a finite number")
        if doc in table.setdefault(query, {}):
            raise InputError(f"{name}: record {i}: document {doc!r} is listed twice for query {query!r}")
        table[query][doc] = score
    if not table:
        raise InputError(f"{name}: no scored documents")
    return RunTable.from_dict(table)


def _iterate(items: Any, name: str) -> Iterable[Any]:
    if isinstance(items, str | bytes) or not hasattr(items, "__iter__"):
        raise InputError(f"{name}: expected an ir_datasets dataset or an iterable of records")
    return items  # type: ignore[no-any-return]

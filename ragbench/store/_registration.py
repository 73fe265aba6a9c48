"""Registering a benchmark idempotently: the same files again change nothing, other files are an
error that says what differs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath

from sqlalchemy.orm import Session

from ragbench.errors import ConflictError, NotFoundError
from ragbench.store._benchmarks import _benchmark_measures, create_benchmark
from ragbench.store._common import as_bytes, benchmark_by_slug, latest_version, unpack
from ragbench.store._scoring import read_qrels_bytes
from ragbench.store.models import Benchmark, User

MAX_NAMED = 5


def normalize_ref(corpus_ref: str | None) -> str | None:
    """A corpus reference as stored: a local path made absolute and normalised (no ``..``); other
    references (an ir_datasets id, a URL) as given."""
    if corpus_ref is None or "://" in corpus_ref or not looks_like_path(corpus_ref):
        return corpus_ref
    return os.path.normpath(os.path.abspath(os.path.expanduser(corpus_ref)))


def looks_like_path(ref: str) -> bool:
    """Whether a corpus reference is a local file system path, not a URL or an id such as
    ir_datasets' ``msmarco-passage/dev``: absolute, home- or dot-relative, with backslashes, or
    with slashes and a file that exists or a file name extension."""
    if "://" in ref:
        return False
    if ref.startswith(("/", "~", ".")) or "\\" in ref:
        return True
    return "/" in ref and (os.path.exists(ref) or bool(PurePath(ref).suffix))


def public_ref(corpus_ref: str | None) -> str | None:
    """What pages and the API show of a corpus reference: a local path only by its file name."""
    if corpus_ref is None or not looks_like_path(corpus_ref):
        return corpus_ref
    return PurePath(corpus_ref.replace("\\", "/")).name or None


def _named(items: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in items[:MAX_NAMED])
    return shown + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")


def _topic_differences(stored: str | None, given: str) -> str | None:
    from ragbench.formats.topics import read_topics

    mine = {
        t.query_id: (t.title, t.description, t.narrative) for t in read_topics(as_bytes(given), name="topics")
    }
    theirs = (
        {
            t.query_id: (t.title, t.description, t.narrative)
            for t in read_topics(as_bytes(stored), name="stored")
        }
        if stored
        else {}
    )
    if mine == theirs:
        return None
    parts = []
    added = [q for q in mine if q not in theirs]
    removed = [q for q in theirs if q not in mine]
    changed = [q for q in mine if q in theirs and mine[q] != theirs[q]]
    if added:
        parts.append(f"{len(added)} topic(s) only in the new file ({_named(added)})")
    if removed:
        parts.append(f"{len(removed)} only in the stored topics ({_named(removed)})")
    if changed:
        parts.append(f"{len(changed)} with other text ({_named(changed)})")
    return "topics differ: " + "; ".join(parts)


def _qrels_differences(s: Session, benchmark: Benchmark, given: bytes) -> str | None:
    version = latest_version(s, benchmark.id)
    mine = read_qrels_bytes(given).to_dict()
    theirs = read_qrels_bytes(unpack(version.content, "qrels"), "stored").to_dict()
    if mine == theirs:
        return None
    pairs_mine = {(q, d): r for q, docs in mine.items() for d, r in docs.items()}
    pairs_theirs = {(q, d): r for q, docs in theirs.items() for d, r in docs.items()}
    added = [k for k in pairs_mine if k not in pairs_theirs]
    removed = [k for k in pairs_theirs if k not in pairs_mine]
    changed = [k for k in pairs_mine if k in pairs_theirs and pairs_mine[k] != pairs_theirs[k]]
    kinds = ((added, "only in the new file"), (removed, "only in the stored version"), (changed, "regraded"))
    parts = [f"{len(x)} judgment(s) {what}" for x, what in kinds if x]
    example = (added or removed or changed)[0]
    return (
        f"qrels differ from version {version.version}: "
        + ", ".join(parts)
        + f" (e.g. topic {example[0]!r}, document {example[1]!r}); add them as a new version with "
        "POST /api/v1/benchmarks/{slug}/qrels"
    )


def register_benchmark(
    s: Session,
    actor: User | None,
    slug: str,
    *,
    topics_text: str,
    qrels_text: str,
    title: str = "",
    description: str = "",
    corpus_ref: str | None = None,
    hidden: bool = False,
    measures: Sequence[str] | None = None,
    compare_measures: bool = True,
) -> tuple[Benchmark, bool]:
    """Create the benchmark, or find it registered with the same files: ``(benchmark, created)``.

    An existing benchmark with the same topics and qrels (as read: formatting does not count) and,
    with ``compare_measures``, the same measures and visibility, is left as it is. Anything else
    is a conflict whose message says what differs. The corpus reference is stored normalised
    (:func:`normalize_ref`).

    Raises:
        ConflictError: the benchmark exists with other topics, qrels, measures or visibility.
        and whatever :func:`~ragbench.store.service.create_benchmark` raises.
    """
    try:
        benchmark = benchmark_by_slug(s, slug)
    except NotFoundError:
        created = create_benchmark(
            s, actor, slug, title=title, description=description, topics_text=topics_text,
            qrels_text=qrels_text, corpus_ref=normalize_ref(corpus_ref), hidden=hidden, measures=measures,
        )  # fmt: skip
        return created, True
    problems = [
        _topic_differences(benchmark.topics, topics_text),
        _qrels_differences(s, benchmark, as_bytes(qrels_text)),
    ]
    if compare_measures:
        wanted = _benchmark_measures(measures)
        if wanted != list(benchmark.measures):
            problems.append(
                f"measures differ: stored {', '.join(benchmark.measures)}; given {', '.join(wanted)}"
            )
        if bool(hidden) != bool(benchmark.hidden):
            problems.append(f"visibility differs: stored {'hidden' if benchmark.hidden else 'public'}")
    found = [p for p in problems if p]
    if found:
        raise ConflictError(f"benchmark {slug!r} exists with other files: " + "; ".join(found))
    return benchmark, False

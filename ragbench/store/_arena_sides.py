"""What one side of an arena battle shows: one function per run kind renders it.

A side is a JSON object stored with the battle when it is drawn (so a vote always refers to
exactly what was shown, and a page view reads no run file):

- ``{"kind": "ranking", "k": 10, "items": [{"rank", "doc_id", "score", "title", "text"}, ...]}``:
  an ad hoc run's top ``k`` documents for the topic, in the tie rule's order (score descending,
  then document id descending), with each document's title and the start of its text when the
  benchmark's ``corpus_ref`` is a readable JSONL corpus (ids only otherwise);
- ``{"kind": "answer", "text": "...", "citations": [...], "passages": [{"id", "text"}, ...]}``:
  a generated answer with what it cites (imported answers carry the text only).

:data:`SIDE_RENDERERS` maps a run kind to its renderer; :func:`register_side_renderer` adds one
(RAG runs add ``"rag"``, rendering an answer side). :func:`side_features` reads the covariates of
style control from a side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import InputError, RagbenchError
from ragbench.store._common import unpack
from ragbench.store.models import Benchmark, Run

log = logging.getLogger(__name__)

SNIPPET_CHARS = 600
"""Characters of a document's text shown on a ranking side."""
DEFAULT_K = 10


@dataclass
class SideContext:
    """What renderers share while the sides of one draw are rendered.

    Attributes:
        benchmark: The benchmark.
        k: Documents shown per ranking.
        documents: ``doc_id -> (title, text)`` filled in by :func:`attach_documents`.
        cache: Per-run parsed content, so each run file is read once per draw.
    """

    benchmark: Benchmark
    k: int = DEFAULT_K
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)
    cache: dict[int, Any] = field(default_factory=dict)


SideRenderer = Callable[[SideContext, Run, str], "dict[str, Any] | None"]
"""``renderer(context, run, query_id)``: the side of ``run`` on ``query_id``, or None when the run
has nothing for that topic."""


def _ranking_hits(context: SideContext, run: Run) -> dict[str, list[tuple[str, float]]]:
    """``{query_id: top-k hits}`` of an ad hoc run (read once per draw)."""
    found = context.cache.get(run.id)
    if found is None:
        from ragbench.formats.trec import read_run
        from ragbench.jobs.ranking import sort_hits

        table = read_run(unpack(run.content, "run"), name=f"run {run.id}")
        strings = table.strings
        per_topic: dict[str, list[tuple[str, float]]] = {}
        for q, d, score in zip(table.query.tolist(), table.doc.tolist(), table.score.tolist(), strict=True):
            per_topic.setdefault(strings[q], []).append((strings[d], score))
        found = {q: sort_hits(hits, context.k) for q, hits in per_topic.items()}
        context.cache[run.id] = found
    hits: dict[str, list[tuple[str, float]]] = found
    return hits


def ranking_side(context: SideContext, run: Run, query_id: str) -> dict[str, Any] | None:
    """An ad hoc run's top ``k`` for the topic (module docstring); None when it has none."""
    hits = _ranking_hits(context, run).get(query_id)
    if not hits:
        return None
    return {
        "kind": "ranking",
        "k": context.k,
        "items": [
            {"rank": rank, "doc_id": doc, "score": score, "title": "", "text": ""}
            for rank, (doc, score) in enumerate(hits, start=1)
        ],
    }


def topics_of(context: SideContext, run: Run) -> set[str]:
    """The topics a run answers (for an ad hoc run: the topics of its file)."""
    if run.kind == "adhoc":
        return set(_ranking_hits(context, run))
    topics = TOPIC_READERS.get(run.kind)
    return topics(context, run) if topics is not None else set()


SIDE_RENDERERS: dict[str, SideRenderer] = {"adhoc": ranking_side}
"""Run kind -> renderer. Session runs have none: the arena compares runs on topics."""
TOPIC_READERS: dict[str, Callable[[SideContext, Run], set[str]]] = {}
"""Run kind -> the topics a run of that kind answers (ad hoc runs: built in)."""


def register_side_renderer(
    kind: str, renderer: SideRenderer, topics: Callable[[SideContext, Run], set[str]]
) -> None:
    """Let the arena draw battles between runs of ``kind`` (e.g. ``rag``): ``renderer`` gives a
    side (an ``answer`` side for RAG runs), ``topics`` the topics a run answers."""
    SIDE_RENDERERS[kind] = renderer
    TOPIC_READERS[kind] = topics


def render_side(context: SideContext, run: Run, query_id: str) -> dict[str, Any] | None:
    """The side of ``run`` on ``query_id`` by its kind's renderer.

    Raises:
        InputError: no renderer for the run's kind (session runs).
    """
    renderer = SIDE_RENDERERS.get(run.kind)
    if renderer is None:
        kinds = ", ".join(sorted(SIDE_RENDERERS))
        raise InputError(f"run {run.id} is a {run.kind} run; the arena compares runs of kind {kinds}")
    return renderer(context, run, query_id)


def answer_side(
    text: str, citations: Iterable[Any] = (), passages: Iterable[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """An answer side (imported answers, RAG runs)."""
    return {
        "kind": "answer",
        "text": text,
        "citations": list(citations),
        "passages": [dict(p) for p in passages],
    }


def attach_documents(context: SideContext, sides: Iterable[dict[str, Any]]) -> None:
    """Fill in the title and text of every document shown on ranking ``sides``, from the
    benchmark's corpus when ``corpus_ref`` is a readable JSONL file (else they stay ids only)."""
    items = [item for side in sides if side.get("kind") == "ranking" for item in side["items"]]
    wanted = {item["doc_id"] for item in items} - set(context.documents)
    if wanted:
        context.documents.update(_read_documents(context.benchmark.corpus_ref, wanted))
    for item in items:
        title, text = context.documents.get(item["doc_id"], ("", ""))
        item["title"], item["text"] = title, text


def _read_documents(corpus_ref: str | None, wanted: set[str]) -> dict[str, tuple[str, str]]:
    if not corpus_ref:
        return {}
    path = Path(corpus_ref).expanduser()
    if not path.is_file():
        return {}
    from ragbench.formats.corpus import iter_corpus

    found: dict[str, tuple[str, str]] = {}
    try:
        for doc in iter_corpus(path, empty="warning"):
            if doc.doc_id in wanted:
                text = doc.contents
                found[doc.doc_id] = (
                    doc.title,
                    text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…",
                )
                if len(found) == len(wanted):
                    break
    except RagbenchError as exc:  # a broken corpus: show ids rather than refuse the draw
        log.warning("arena: documents of %s not shown: %s", corpus_ref, exc)
    return found


def side_features(side: Mapping[str, Any]) -> dict[str, float | None]:
    """Style-control covariates of a side: ``length`` (words of the answer, or of the documents
    shown), ``citations`` (citations of the answer, or documents shown) and ``supported`` (the
    share of citations judged supported, None when the side carries no support labels)."""
    if side.get("kind") == "answer":
        citations = list(side.get("citations") or [])
        labels = [c.get("support") for c in citations if isinstance(c, dict) and "support" in c]
        supported = sum(1.0 if s == "full" else 0.5 if s == "partial" else 0.0 for s in labels)
        return {
            "length": float(len(str(side.get("text", "")).split())),
            "citations": float(len(citations)),
            "supported": supported / len(labels) if labels else None,
        }
    items = list(side.get("items") or [])
    return {
        "length": float(sum(len(str(i.get("text", "")).split()) for i in items)),
        "citations": float(len(items)),
        "supported": None,
    }

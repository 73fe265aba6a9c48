"""Training lists for BlockRank: (query, shuffled candidates, positives), spec §4.

Two sources:

- :func:`lists_from_qrels`: a training benchmark's topics and qrels. Positives are the judged
  relevant documents (relevance > 0); hard negatives are BM25's top documents for the query that
  are not judged relevant.
- :func:`synthetic_lists`: a corpus without training qrels. The LM writes one search query for
  each of ``n_queries`` sampled documents (greedy decoding); BM25 retrieves for that query; the
  source document is the positive and BM25's other top documents are the hard negatives. An
  optional round-trip filter keeps only queries whose source document BM25 ranks in its top
  ``k``. Nothing here reads a benchmark's test qrels. The generated queries are cached as JSONL
  (keyed by model fingerprint, prompt and document), so a rerun does not call the LM again.

Positives are always in the list (teacher forcing); the list is shuffled with a seeded RNG.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import InputError

SYNTHETIC_PROMPT = (
    "Write one short search query that a user might type to find the document below. "
    "Reply with the query only.\n\nDocument: {document}"
)
MIN_WORDS = 20
"""Sampled documents shorter than this (in words) are skipped: too little to write a query for."""
DOC_WORDS = 160
"""Words of the sampled document shown to the LM."""
MAX_QUERY_WORDS = 16
"""A longer reply is cut to this many words (a small LM may copy the document's opening)."""
QUERY_CACHE = "synthetic-queries.jsonl"
Progress = Callable[[int, int], None]


@dataclass
class TrainingList:
    """One training example: a query over shuffled candidates, some of them positive."""

    query: str
    candidates: list[tuple[str, str]]
    """``(doc_id, text)`` in list order."""
    positives: set[str]
    query_id: str = ""

    def positive_ids(self) -> list[str]:
        """The positives in list order (the order the model is taught to answer them in)."""
        return [doc for doc, _ in self.candidates if doc in self.positives]


@dataclass
class SyntheticStats:
    """What :func:`synthetic_lists` did, for the checkpoint manifest."""

    sampled: int = 0
    generated: int = 0
    """Queries the LM wrote in this call (the rest came from the cache)."""
    cached: int = 0
    empty: int = 0
    """Replies with no usable query text."""
    no_hits: int = 0
    round_trip_dropped: int = 0
    kept: int = 0
    round_trip_k: int | None = None
    queries: list[dict[str, str]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sampled": self.sampled,
            "generated": self.generated,
            "cached": self.cached,
            "empty": self.empty,
            "no_hits": self.no_hits,
            "round_trip_k": self.round_trip_k,
            "round_trip_dropped": self.round_trip_dropped,
            "kept": self.kept,
        }


def _retriever(index_dir: str | Path) -> Any:
    from indexers.bm25 import BM25Retriever

    return BM25Retriever(str(index_dir))


def _assemble(
    query: str,
    positives: Sequence[str],
    ranked: Sequence[str],
    corpus: Mapping[str, str],
    candidates: int,
    rng: random.Random,
    query_id: str,
) -> TrainingList:
    pos = list(dict.fromkeys(positives))
    chosen = set(pos)
    negatives: list[str] = []
    for doc in ranked:
        if len(pos) + len(negatives) >= candidates:
            break
        if doc not in chosen and doc in corpus:
            chosen.add(doc)
            negatives.append(doc)
    docs = pos + negatives
    rng.shuffle(docs)
    return TrainingList(query, [(d, corpus[d]) for d in docs], set(pos), query_id)


def lists_from_qrels(
    topics: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    index_dir: str | Path,
    corpus: Mapping[str, str],
    candidates: int = 30,
    seed: int = 0,
    *,
    max_positives: int | None = None,
    retriever: Any = None,
) -> list[TrainingList]:
    """One list per topic with at least one relevant document in ``corpus``.

    Args:
        topics: ``query_id -> query text``.
        qrels: ``query_id -> {doc_id: relevance}``; relevance > 0 is a positive.
        index_dir: a BM25 index of ``corpus`` (for the hard negatives).
        corpus: ``doc_id -> text``.
        candidates: list size (positives plus hard negatives).
        seed: the shuffles (and the choice of positives when there are too many).
        max_positives: at most this many positives per list, sampled (default: a third of
            ``candidates``, at least 1), so that every list keeps hard negatives.
    """
    if candidates < 2:
        raise InputError(f"candidates={candidates}: a training list needs at least 2 documents")
    limit = max_positives if max_positives is not None else max(1, candidates // 3)
    rng = random.Random(seed)
    wanted: dict[str, list[str]] = {}
    for query_id in sorted(topics):
        judged = qrels.get(query_id, {})
        relevant = sorted(d for d, rel in judged.items() if rel > 0 and d in corpus)
        if relevant:
            if len(relevant) > limit:
                relevant = sorted(rng.sample(relevant, limit))
            wanted[query_id] = relevant
    if not wanted:
        raise InputError("no topic has a relevant document (qrels relevance > 0) in the corpus")
    searcher = retriever if retriever is not None else _retriever(index_dir)
    depth = candidates + max(len(qrels.get(q, {})) for q in wanted)
    ranking = searcher.search({q: topics[q] for q in wanted}, depth)
    lists = []
    for query_id, positives in wanted.items():
        relevant_all = {d for d, rel in qrels.get(query_id, {}).items() if rel > 0}
        ranked = [d for d, _ in ranking.get(query_id, []) if d not in relevant_all]
        lists.append(_assemble(topics[query_id], positives, ranked, corpus, candidates, rng, query_id))
    return lists


_PREFIX = re.compile(
    r"^(?:(?:here\s+is\s+)?(?:a|the|my|your)?\s*(?:short\s+)?(?:search\s+)?(?:query|question|search|document)"
    r"(?:\s+is)?\s*[:\-]\s*)",
    re.IGNORECASE,
)
_QUOTES = "\"'`“”‘’«»*"


def clean_query(text: str) -> str:
    """The query in the LM's reply: its first line with content, without a ``Query:``-style prefix,
    list marker or surrounding quotes; whitespace collapsed. Preamble lines that end in a colon
    ("The document is:") are skipped. ``''`` when no line has two alphabetic words (a small LM
    often echoes the document's trailing numbers)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.endswith(":"):
            continue
        line = re.sub(r"^(?:[-*•]|\d+[.)])\s+", "", line)
        for _ in range(2):
            line = _PREFIX.sub("", line.strip()).strip().strip(_QUOTES).strip()
        line = " ".join(line.split()[:MAX_QUERY_WORDS])
        if len(re.findall(r"[^\W\d_]{2,}", line)) >= 2:
            return line
    return ""


def _eligible(corpus: Mapping[str, str], n: int, seed: int) -> list[str]:
    order = sorted(corpus)
    random.Random(seed).shuffle(order)
    picked = []
    for doc in order:
        if len(corpus[doc].split()) >= MIN_WORDS:
            picked.append(doc)
            if len(picked) == n:
                break
    return picked


def _cache_key(fingerprint: str, prompt: str) -> str:
    return hashlib.sha256(f"{fingerprint}\n{prompt}".encode()).hexdigest()[:16]


def _read_cache(path: Path, key: str) -> dict[str, str]:
    found: dict[str, str] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interrupted run
        if isinstance(row, dict) and row.get("key") == key and isinstance(row.get("query"), str):
            # the LM's reply is what is cached: clean it again, so a change to the cleaning applies
            raw = row.get("raw")
            found[str(row["doc_id"])] = clean_query(raw) if isinstance(raw, str) else row["query"]
    return found


def generate_queries(
    lm: Any,
    texts: Mapping[str, str],
    *,
    prompt: str = SYNTHETIC_PROMPT,
    cache: Path | None = None,
    batch_size: int = 8,
    on_progress: Progress | None = None,
) -> tuple[dict[str, str], int]:
    """``doc_id -> cleaned query`` for every document of ``texts``, and how many the LM wrote
    (the rest were in ``cache``, a JSONL file appended to as batches finish).

    ``lm`` is a loaded model (:class:`rankers.lm.LoadedLM`, e.g. the one about to be trained) or
    any LM-layer client (:class:`rankers.lm.LMClient`: another local model, or an endpoint whose
    bigger model writes the queries). Decoding is greedy either way."""
    from rankers.lm import LMConfig, LoadedLM
    from rankers.lm.local import LocalClient

    if isinstance(lm, LoadedLM):
        client: Any = LocalClient.from_loaded(lm, LMConfig(model=lm.name, batch_size=batch_size, cache=False))
        key = _cache_key(lm.fingerprint, prompt)  # the key of earlier releases: their caches stay valid
        model = lm.model
    else:
        client, key, model = lm, _cache_key(lm.fingerprint, prompt), None
    queries = _read_cache(cache, key) if cache is not None else {}
    todo = [doc for doc in texts if doc not in queries]
    was_training = model.training if model is not None else False
    if model is not None:
        model.eval()
    try:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            prompts = [prompt.format(document=" ".join(texts[d].split()[:DOC_WORDS])) for d in chunk]
            replies = client.generate(prompts, max_tokens=48, temperature=0.0)
            rows = []
            for doc, reply in zip(chunk, replies, strict=True):
                queries[doc] = clean_query(reply.text)
                rows.append({"key": key, "doc_id": doc, "query": queries[doc], "raw": reply.text})
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                with cache.open("a", encoding="utf-8") as handle:
                    handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            if on_progress is not None:
                on_progress(start + len(chunk), len(todo))
    finally:
        if model is not None:
            model.train(was_training)
    return {doc: queries[doc] for doc in texts}, len(todo)


def synthetic_lists(
    corpus: Mapping[str, str],
    index_dir: str | Path,
    lm: Any,
    n_queries: int,
    candidates: int = 30,
    seed: int = 0,
    *,
    out_dir: str | Path | None = None,
    round_trip: bool = True,
    round_trip_k: int | None = None,
    prompt: str = SYNTHETIC_PROMPT,
    retriever: Any = None,
    on_progress: Progress | None = None,
) -> tuple[list[TrainingList], SyntheticStats]:
    """Lists from LM-written queries for ``n_queries`` sampled documents of ``corpus``.

    Args:
        corpus: ``doc_id -> text``.
        index_dir: a BM25 index of ``corpus``.
        lm: a :class:`rankers.lm.LoadedLM` or an LM-layer client (greedy decoding).
        n_queries: documents to sample (seeded; documents under :data:`MIN_WORDS` words skipped).
        candidates: list size (the source document plus BM25's other top documents).
        out_dir: where the query cache (:data:`QUERY_CACHE`) lives; ``None``: no cache.
        round_trip: keep only queries whose source document is in BM25's top ``round_trip_k``
            (default ``candidates``).
    """
    if n_queries < 1:
        raise InputError(f"--synthetic {n_queries}: sample at least one document")
    if candidates < 2:
        raise InputError(f"candidates={candidates}: a training list needs at least 2 documents")
    stats = SyntheticStats(round_trip_k=(round_trip_k or candidates) if round_trip else None)
    sampled = _eligible(corpus, n_queries, seed)
    if not sampled:
        raise InputError(f"no document of the corpus has {MIN_WORDS} words or more to write a query for")
    stats.sampled = len(sampled)
    cache = Path(out_dir) / QUERY_CACHE if out_dir is not None else None
    queries, stats.generated = generate_queries(
        lm, {d: corpus[d] for d in sampled}, prompt=prompt, cache=cache, on_progress=on_progress
    )
    stats.cached = stats.sampled - stats.generated
    usable = {d: q for d, q in queries.items() if q}
    stats.empty = len(queries) - len(usable)
    searcher = retriever if retriever is not None else _retriever(index_dir)
    depth = max(candidates, stats.round_trip_k or 0)
    ranking = searcher.search(usable, depth) if usable else {}
    rng = random.Random(seed)
    lists = []
    for doc in sampled:
        if doc not in usable:
            continue
        ranked = [d for d, _ in ranking.get(doc, [])]
        if not ranked:
            stats.no_hits += 1
            continue
        if round_trip and doc not in ranked[: stats.round_trip_k]:
            stats.round_trip_dropped += 1
            continue
        lists.append(_assemble(usable[doc], [doc], ranked, corpus, candidates, rng, f"synthetic:{doc}"))
        stats.queries.append({"doc_id": doc, "query": usable[doc]})
    stats.kept = len(lists)
    return lists, stats

"""Pools and holes: which (topic, document) pairs runs retrieve that the judgments lack.

A run's top ``depth`` documents are taken by the one tie rule (score descending, then document
id descending; :func:`ragbench.jobs.ranking.sort_hits`), as trec_eval reads runs. The pool of a
set of runs is the union of their tops per topic, in first-seen order. A *hole* is a pooled pair
without a judgment; a negative judgment (``-1``: in the pool but unjudged, as trec_eval reads it)
is a hole too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ragbench.errors import InputError
from ragbench.jobs.ranking import sort_hits

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]
Pool = dict[str, list[str]]


def top_k(run: Run, depth: int) -> Pool:
    """Each topic's top ``depth`` documents of ``run`` by the tie rule."""
    return {q: [d for d, _ in sort_hits(docs.items(), depth)] for q, docs in run.items()}


def pool(runs: Sequence[Run], depth: int, topics: Sequence[str] | None = None) -> Pool:
    """The union of the runs' top ``depth`` per topic (restricted to ``topics`` when given),
    documents in first-seen order (run by run, rank by rank)."""
    if depth < 1:
        raise InputError(f"depth {depth}: must be at least 1")
    wanted = None if topics is None else set(topics)
    found: Pool = {}
    for run in runs:
        for query_id, docs in top_k(run, depth).items():
            if wanted is not None and query_id not in wanted:
                continue
            seen = found.setdefault(query_id, [])
            seen.extend(d for d in docs if d not in seen)
    return {q: found[q] for q in sorted(found, key=topic_key)}


def holes(pooled: Pool, qrels: Qrels) -> Pool:
    """The pooled pairs that ``qrels`` does not judge (or judges negatively: unjudged)."""
    out: Pool = {}
    for query_id, docs in pooled.items():
        judged = qrels.get(query_id, {})
        missing = [d for d in docs if judged.get(d, -1) < 0]
        if missing:
            out[query_id] = missing
    return out


def common_topics(qrels: Qrels, runs: Sequence[Run], names: Sequence[str] = ()) -> list[str]:
    """The topics that the qrels judge and at least one run answers, sorted.

    Raises:
        InputError: there is none (the message names the files and a few topic ids of each).
    """
    answered: set[str] = set()
    for run in runs:
        answered.update(run)
    common = sorted(set(qrels) & answered, key=topic_key)
    if not common:
        some_q = ", ".join(sorted(qrels, key=topic_key)[:5]) or "none"
        some_r = ", ".join(sorted(answered, key=topic_key)[:5]) or "none"
        what = f" ({', '.join(names)})" if names else ""
        raise InputError(
            f"the qrels and the runs{what} have no topic in common (qrels topics: {some_q}...; "
            f"run topics: {some_r}...)"
        )
    return common


def topic_key(query_id: str) -> tuple[int, int, str]:
    """Numeric topic ids by number, then the others alphabetically."""
    return (0, int(query_id), "") if query_id.isdecimal() else (1, 0, query_id)

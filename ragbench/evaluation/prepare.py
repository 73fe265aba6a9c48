"""Join a run with its qrels into :class:`PreparedTopics`, trec_eval 10.0's way, all topics at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragbench.evaluation.prepared import RELVALUE_NONPOOL, RELVALUE_UNJUDGED, PreparedTopics
from ragbench.formats.tables import QrelsTable, RunTable, is_c_pool

try:
    import ragbench.evaluation._cjoin as _cjoin  # noqa: PLR0402 (mypy resolves the stub only this way)
except ImportError:  # built without a C compiler: the numpy join below does everything
    _cjoin = None  # type: ignore[assignment]

NO_LIMIT = np.iinfo(np.int64).max


def _recode(codes: np.ndarray, strings: Sequence[str], lookup: dict[str, int]) -> np.ndarray:
    """Map codes of one string pool to codes of another (-1 where absent), via the distinct strings."""
    table = np.fromiter((lookup.get(s, -1) for s in strings), dtype=np.int64, count=len(strings))
    return table[codes] if codes.size else np.zeros(0, dtype=np.int64)


def _byte_order_rank(strings: Sequence[str], codes: np.ndarray) -> np.ndarray:
    """Rank (0..k-1) of each distinct code's string in strcmp order; code points order as UTF-8 bytes do."""
    distinct = np.unique(codes)
    order = sorted(range(distinct.size), key=lambda i: strings[int(distinct[i])])
    rank_of_distinct = np.empty(distinct.size, dtype=np.int64)
    rank_of_distinct[np.asarray(order, dtype=np.int64)] = np.arange(distinct.size, dtype=np.int64)
    return rank_of_distinct[np.searchsorted(distinct, codes)]


def prepare(
    qrels: QrelsTable,
    run: RunTable,
    *,
    relevance_level: int = 1,
    complete: bool = False,
    max_docs: int | None = None,
    judged_only: bool = False,
) -> PreparedTopics:
    """Sort each topic's documents and attach their judgments, as trec_eval's form_res_rels does.

    Args:
        qrels: the judgments.
        run: the run; its rank column is ignored (ranks come from scores, then docno descending).
        relevance_level: ``-l``: least judgment counted as relevant.
        complete: ``-c``: evaluate every qrels topic, empty when the run lacks it.
        max_docs: ``-M``: keep only the first ``max_docs`` documents of each topic.
        judged_only: ``-J``: drop retrieved documents that are not judged (after ``-M``).
    """
    limit = NO_LIMIT if max_docs is None else int(max_docs)
    if _cjoin is not None and is_c_pool(qrels.strings) and run.strings is qrels.strings:
        return _prepare_c(qrels, run, relevance_level, complete, limit, judged_only)
    return _prepare_numpy(qrels, run, relevance_level, complete, limit, judged_only)


def _evaluated_topics(qrels: QrelsTable, run_topics: np.ndarray, complete: bool) -> np.ndarray:
    """Codes of the topics to evaluate, in trec_eval's output order (byte order of the ids)."""
    qrels_topics = np.unique(qrels.query)
    topics = qrels_topics if complete else np.intersect1d(qrels_topics, run_topics)
    return topics[np.argsort(_byte_order_rank(qrels.strings, topics), kind="stable")].astype(np.int64)


def _judgment_counts(
    qrels: QrelsTable, topic_index: np.ndarray, n: int, relevance_level: int
) -> tuple[np.ndarray, np.ndarray]:
    """rel_levels (n, max_rel + 1) and num_rel per evaluated topic, from the qrels alone."""
    q_topic = topic_index[qrels.query]
    counted = (q_topic >= 0) & (qrels.relevance >= 0)
    levels = qrels.relevance[counted]
    max_rel = int(levels.max()) if levels.size else 0
    rel_levels = np.zeros((n, max_rel + 1), dtype=np.int64)
    np.add.at(rel_levels, (q_topic[counted], levels), 1)
    level = max(relevance_level, 0)
    num_rel = rel_levels[:, level:].sum(axis=1).astype(np.int64)
    return rel_levels, num_rel


def _prepare_c(
    qrels: QrelsTable, run: RunTable, relevance_level: int, complete: bool, limit: int, judged_only: bool
) -> PreparedTopics:
    pool = qrels.strings
    run_topics = np.flatnonzero(np.bincount(run.query, minlength=len(pool)))
    topics = _evaluated_topics(qrels, run_topics, complete)
    n = topics.size
    topic_index = np.full(len(pool), -1, dtype=np.int64)
    topic_index[topics] = np.arange(n, dtype=np.int64)
    rel, num_ret, num_rel_ret, num_nonpool, num_unjudged = (
        np.frombuffer(b, dtype=np.int64)
        for b in _cjoin.form_res_rels(
            run.query,
            run.doc,
            run.score,
            qrels.query,
            qrels.doc,
            qrels.relevance,
            topic_index,
            n,
            limit,
            judged_only,
            relevance_level,
            pool,
        )
    )
    return _assemble(qrels, run, topics, topic_index, rel, num_ret, num_rel_ret, num_nonpool, num_unjudged,
                     relevance_level)  # fmt: skip


def _assemble(
    qrels: QrelsTable,
    run: RunTable,
    topics: np.ndarray,
    topic_index: np.ndarray,
    rel: np.ndarray,
    num_ret: np.ndarray,
    num_rel_ret: np.ndarray,
    num_nonpool: np.ndarray,
    num_unjudged: np.ndarray,
    relevance_level: int,
) -> PreparedTopics:
    """Both paths end here: offsets from the per-topic counts, judgment counts from the qrels."""
    n = topics.size
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(num_ret, out=offsets[1:])
    rel_levels, num_rel = _judgment_counts(qrels, topic_index, n, relevance_level)
    return PreparedTopics(
        query_ids=tuple(qrels.strings[t] for t in topics.tolist()),
        offsets=offsets,
        rel=rel,
        rel_levels=rel_levels,
        num_rel=num_rel,
        num_rel_ret=num_rel_ret,
        num_nonpool=num_nonpool,
        num_unjudged_in_pool=num_unjudged,
        relevance_level=relevance_level,
        run_id=run.run_id,
    )


def _prepare_numpy(
    qrels: QrelsTable, run: RunTable, relevance_level: int, complete: bool, limit: int, judged_only: bool
) -> PreparedTopics:
    """The reference implementation: plain numpy, any two string pools."""
    # One code space: the qrels' strings. Run strings the qrels never mention get -1.
    if run.strings is qrels.strings:
        run_q = run.query.astype(np.int64)
        run_d = run.doc.astype(np.int64)
    else:
        lookup = {s: i for i, s in enumerate(qrels.strings)}
        run_q = _recode(run.query, run.strings, lookup)
        run_d = _recode(run.doc, run.strings, lookup)

    topics = _evaluated_topics(qrels, np.unique(run_q[run_q >= 0]), complete)
    n = topics.size
    topic_index = np.full(len(qrels.strings) + 1, -1, dtype=np.int64)
    topic_index[topics] = np.arange(n, dtype=np.int64)

    # Rows of evaluated topics, in rank order: topic, score descending, docno descending.
    row_topic = np.full(run_q.size, -1, dtype=np.int64)
    known = run_q >= 0
    row_topic[known] = topic_index[run_q[known]]
    rows = np.flatnonzero(row_topic >= 0)
    docrank = _byte_order_rank(run.strings, run.doc[rows]) if rows.size else rows
    rows = rows[np.lexsort((-docrank, -run.score[rows], row_topic[rows]))]
    r_topic = row_topic[rows]
    counts = np.bincount(r_topic, minlength=n)
    starts = np.cumsum(counts) - counts
    position = np.arange(rows.size, dtype=np.int64) - np.repeat(starts, counts)
    within = position < limit
    rows, r_topic = rows[within], r_topic[within]

    # Judgments by (topic, doc) key.
    width = np.int64(len(qrels.strings) + 1)
    q_topic = topic_index[qrels.query]
    in_topics = q_topic >= 0
    q_keys = q_topic[in_topics] * width + qrels.doc[in_topics].astype(np.int64)
    q_rel = qrels.relevance[in_topics]
    key_order = np.argsort(q_keys, kind="stable")
    q_keys, q_rel = q_keys[key_order], q_rel[key_order]
    r_doc = run_d[rows]
    r_keys = r_topic * width + np.where(r_doc >= 0, r_doc, width - 1)
    found_at = np.minimum(np.searchsorted(q_keys, r_keys), max(q_keys.size - 1, 0))
    found = q_keys[found_at] == r_keys if q_keys.size else np.zeros(r_keys.size, dtype=bool)
    rel = np.full(rows.size, RELVALUE_NONPOOL, dtype=np.int64)
    rel[found] = q_rel[found_at[found]]
    rel[found & (rel < 0)] = RELVALUE_UNJUDGED

    if judged_only:
        judged = rel >= 0
        rel, r_topic = rel[judged], r_topic[judged]

    relevant = (rel >= relevance_level) & (rel >= 0)  # negative codes are never relevant, whatever -l says
    num_rel_ret = np.bincount(r_topic[relevant], minlength=n).astype(np.int64)
    if judged_only:
        num_nonpool = np.zeros(n, dtype=np.int64)
        num_unjudged = np.zeros(n, dtype=np.int64)
    else:
        num_nonpool = np.bincount(r_topic[rel == RELVALUE_NONPOOL], minlength=n).astype(np.int64)
        num_unjudged = np.bincount(r_topic[rel == RELVALUE_UNJUDGED], minlength=n).astype(np.int64)
    num_ret = np.bincount(r_topic, minlength=n).astype(np.int64)
    return _assemble(qrels, run, topics, topic_index, rel, num_ret, num_rel_ret, num_nonpool, num_unjudged,
                     relevance_level)  # fmt: skip


def load(
    qrels: str | bytes | QrelsTable,
    run: str | bytes | RunTable,
    **options: object,
) -> PreparedTopics:
    """Read a qrels file and a run file into one string pool and :func:`prepare` them.

    Paths, raw bytes and already-read tables are all accepted; ``options`` are prepare's.
    """
    from ragbench.formats.tables import new_pool
    from ragbench.formats.trec import read_qrels, read_run

    pool = new_pool()
    qrels_table = qrels if isinstance(qrels, QrelsTable) else read_qrels(qrels, pool=pool)
    run_table = run if isinstance(run, RunTable) else read_run(run, pool=pool)
    return prepare(qrels_table, run_table, **options)  # type: ignore[arg-type]


def variant(prepared: PreparedTopics, relevance_level: int, judged_only: bool) -> PreparedTopics:
    """The same topics under another ``-l`` and/or with ``-J`` applied, without re-reading files.

    ``-J`` removes unjudged documents after the ``-M`` cut, exactly as :func:`prepare` would.
    """
    if relevance_level == prepared.relevance_level and not judged_only:
        return prepared
    rel, offsets = prepared.rel, prepared.offsets
    num_nonpool, num_unjudged = prepared.num_nonpool, prepared.num_unjudged_in_pool
    n = prepared.num_topics
    topic = prepared.topic_of_row
    if judged_only:
        keep = rel >= 0
        rel, topic = rel[keep], topic[keep]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(topic, minlength=n), out=offsets[1:])
        num_nonpool = num_unjudged = np.zeros(n, dtype=np.int64)
    level = max(relevance_level, 0)
    num_rel = prepared.rel_levels[:, level:].sum(axis=1).astype(np.int64)
    relevant = (rel >= relevance_level) & (rel >= 0)
    return PreparedTopics(
        query_ids=prepared.query_ids,
        offsets=offsets,
        rel=rel,
        rel_levels=prepared.rel_levels,
        num_rel=num_rel,
        num_rel_ret=np.bincount(topic[relevant], minlength=n).astype(np.int64),
        num_nonpool=num_nonpool,
        num_unjudged_in_pool=num_unjudged,
        relevance_level=relevance_level,
        run_id=prepared.run_id,
    )

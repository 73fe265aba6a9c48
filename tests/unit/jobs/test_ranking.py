"""One tie rule: the order sort_hits gives is the order trec_eval's join reads back from the run file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragbench.evaluation.prepare import prepare
from ragbench.formats.tables import StringPool, new_pool
from ragbench.formats.trec import read_qrels, read_run
from ragbench.jobs.ranking import is_sorted, sort_hits
from ragbench.jobs.runfile import format_run


def test_ties_go_to_the_larger_document_id() -> None:
    hits = [("d1", 1.0), ("d10", 1.0), ("d2", 2.0), ("d9", 1.0), ("a", 1.0)]
    # by hand: d2 first (score 2); then the four ties by id descending as strings: d9 > d10 > d1 > a
    assert sort_hits(hits) == [("d2", 2.0), ("d9", 1.0), ("d10", 1.0), ("d1", 1.0), ("a", 1.0)]
    assert sort_hits(hits, 2) == [("d2", 2.0), ("d9", 1.0)]
    assert is_sorted(sort_hits(hits)) and not is_sorted(hits)


doc_ids = st.text(alphabet="ab9Zé-_.", min_size=1, max_size=4)
hit_lists = st.lists(
    st.tuples(doc_ids, st.sampled_from([0.5, 1.0, 1.0, 2.25, -3.0])), unique_by=lambda h: h[0]
)


@pytest.mark.parametrize("pool", [new_pool, StringPool], ids=["C join", "numpy join"])
@settings(max_examples=60, deadline=None)
@given(rankings=st.dictionaries(st.sampled_from(["q1", "q2", "q3"]), hit_lists.filter(bool), min_size=1))
def test_the_pipeline_order_is_the_order_the_evaluation_reads(pool, rankings) -> None:
    ranking = {q: sort_hits(hits) for q, hits in rankings.items()}
    run_bytes = format_run(ranking, "tag", {"tag": "tag"})
    # each document gets its own grade, so the judged list of a topic spells its document order
    grade = {doc: i for i, doc in enumerate(sorted({d for hits in ranking.values() for d, _ in hits}))}
    qrels_bytes = "".join(f"{q} 0 {d} {grade[d]}\n" for q, hits in ranking.items() for d, _ in hits).encode()
    strings = pool()
    prepared = prepare(read_qrels(qrels_bytes, pool=strings), read_run(run_bytes, pool=strings))
    for i, query in enumerate(prepared.query_ids):
        assert prepared.topic(i).tolist() == [grade[d] for d, _ in ranking[query]]
    # and the rank column written is 1, 2, 3... in that order
    for line in run_bytes.decode().splitlines():
        if not line.startswith("#"):
            query, _, doc, rank, _, _ = line.split()
            assert [d for d, _ in ranking[query]][int(rank) - 1] == doc

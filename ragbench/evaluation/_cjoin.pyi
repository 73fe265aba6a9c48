"""Types of the C join (``_cjoin.c``)."""

def form_res_rels(
    run_query: object,
    run_doc: object,
    run_score: object,
    qrels_query: object,
    qrels_doc: object,
    qrels_rel: object,
    topic_index: object,
    n_topics: int,
    max_docs: int,
    judged_only: bool,
    relevance_level: int,
    pool: object,
    /,
) -> tuple[bytes, bytes, bytes, bytes, bytes]: ...

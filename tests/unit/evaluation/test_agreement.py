"""Property: every engine measure equals ir-measures' pytrec_eval provider (trec_eval 9.0.8) within
1e-9 on random qrels and runs, except where trec_eval 10.0 documentedly differs from 9.0.8
(docs/trec_eval_differences.md)."""

from __future__ import annotations

import math

import ir_measures
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ragbench.evaluation.engine import evaluate

# Everything the pytrec_eval provider computes and the engine maps (ragbench.evaluation.providers.trec_eval).
MEASURES = [
    "P@1", "P@5", "P@10", "P(rel=2)@5", "R@5", "R@10", "AP", "AP@5", "AP(rel=2)", "AP(judged_only=True)",
    "RR", "RR(rel=2)", "nDCG", "nDCG@3", "nDCG@10", "nDCG(gains={0:0,1:1,2:3,3:7})@5", "nDCG(judged_only=True)@5",
    "Rprec", "Rprec(rel=2)", "Bpref", "infAP", "Success@1", "Success@5", "SetP", "SetP(relative=True)",
    "SetR", "SetF", "SetF(beta=0.5)", "SetAP", "NumRet", "NumRet(rel=1)", "NumRel", "NumQ",
    "IPrec@0.0", "IPrec@0.5", "IPrec@1.0",  # levels whose cut-off both versions round alike
]  # fmt: skip
# trec_eval 10.0 turns recall level x into lround(x * R) relevant documents, 9.0.8 into
# (long)(x * R + 0.9) (docs/trec_eval_differences.md): they differ exactly when the fractional
# part of x * R lies in (0.1, 0.5).
IPREC_LEVELS = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]

docs = st.sampled_from([f"d{i}" for i in range(12)])
qids = st.sampled_from(["1", "2", "3", "10"])


@st.composite
def collection(draw: st.DrawFn) -> tuple[dict, dict]:
    judgments = draw(st.dictionaries(st.tuples(qids, docs), st.integers(-1, 3), min_size=1, max_size=30))
    retrieved = draw(
        st.dictionaries(
            st.tuples(qids, docs),
            st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.5, -1.0]),
            min_size=1,
            max_size=40,
        )
    )
    qrels: dict[str, dict[str, int]] = {}
    for (q, d), r in judgments.items():
        qrels.setdefault(q, {})[d] = r
    # pytrec_eval (not ragbench) hangs or crashes on a topic whose judgments are all negative
    # (docs/trec_eval_differences.md); keep such topics out of the reference's way.
    assume(all(any(r >= 0 for r in docs.values()) for docs in qrels.values()))
    run: dict[str, dict[str, float]] = {}
    for (q, d), s in retrieved.items():
        run.setdefault(q, {})[d] = s
    return qrels, run


def reference(measures: list[str], qrels: dict, run: dict) -> dict[tuple[str, str], float]:
    parsed = [ir_measures.parse_measure(m) for m in measures]
    return {
        (str(m.measure), m.query_id): float(m.value)
        for m in ir_measures.pytrec_eval.iter_calc(parsed, qrels, run)
    }


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collection())
def test_engine_equals_pytrec_eval(data: tuple[dict, dict]) -> None:
    qrels, run = data
    ours = evaluate(qrels, run, MEASURES)
    expected = reference(MEASURES, qrels, run)
    assert set(ours.query_ids) == {q for q in run if q in qrels}
    compared = 0
    for measure in ours.measures:
        for i, query_id in enumerate(ours.query_ids):
            if (measure, query_id) not in expected:
                continue  # pytrec_eval reports nothing for this topic/measure
            want, got = expected[(measure, query_id)], float(ours.per_query[measure][i])
            assert math.isclose(got, want, rel_tol=0, abs_tol=1e-9), (measure, query_id, got, want)
            compared += 1
    assert compared == sum(1 for (m, q) in expected if q in ours.query_ids and m in ours.measures)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collection())
def test_iprec_differs_from_pytrec_eval_only_where_documented(data: tuple[dict, dict]) -> None:
    qrels, run = data
    measures = [f"IPrec@{x}" for x in IPREC_LEVELS]
    ours = evaluate(qrels, run, measures)
    expected = reference(measures, qrels, run)
    for x, measure in zip(IPREC_LEVELS, ours.measures, strict=True):
        for i, query_id in enumerate(ours.query_ids):
            num_rel = sum(r >= 1 for r in qrels[query_id].values())
            fraction = (x * num_rel) % 1.0
            got, want = float(ours.per_query[measure][i]), expected[(measure, query_id)]
            if 0.1 + 1e-9 < fraction < 0.5 - 1e-9:
                assert got >= want - 1e-12  # 10.0 asks for fewer relevant documents: never lower
            else:
                assert math.isclose(got, want, rel_tol=0, abs_tol=1e-9), (measure, query_id, got, want)

"""The measure registry: routing to providers, canonical names, default lists, clear errors, and
engine values that agree with independent implementations."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import ir_measures
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ragbench.errors import InputError, MeasureError
from ragbench.evaluation import registry
from ragbench.evaluation.engine import evaluate, read_qrels_like, read_run_like
from ragbench.evaluation.prepare import prepare
from ragbench.evaluation.providers import ENGINE_MEASURES, MeasurePattern, TopicData
from ragbench.evaluation.providers.session import families
from ragbench.evaluation.session import evaluate_sessions
from ragbench.evaluation.session.names import SPECS
from ragbench.evaluation.trec_eval import MEASURES, evaluate_trec
from ragbench.evaluation.trec_eval._registry import lookup

QRELS = {
    "1": {"a": 2, "b": 0, "c": 1, "d": 1, "x": -1},
    "2": {"e": 1, "f": 0, "g": 3},
    "3": {"h": 0},
}
RUN = {
    "1": {"a": 0.5, "b": 2.0, "c": 1.0, "x": 1.0, "z": 3.0},
    "2": {"g": 0.1, "f": 0.9, "q": 0.4, "e": 0.4},
    "3": {"h": 1.0, "i": 2.0},
}

# Names the engine computes, at least one for every pattern of ENGINE_MEASURES.
ENGINE_NAMES = [
    "P@5", "P(rel=2)@5", "P(judged_only=True)@3", "R@3", "Success@1", "AP", "AP@2", "AP(rel=2)",
    "RR", "RR@1", "RR(rel=2)@3", "nDCG", "nDCG@3", "nDCG(gains={0:0,1:1,2:3})@3",
    "nDCG(gains={0:0,1:1,2:3})", "nDCG(judged_only=True)@3", "Rprec", "Bpref", "infAP", "IPrec@0.5",
    "SetP", "SetP(relative=True)", "SetR", "SetAP", "SetF(beta=0.5)", "NumRet", "NumRet(rel=2)",
    "NumRel", "NumQ", "Judged@2",
]  # fmt: skip
FALLBACK_NAMES = ["ERR@20", "nDCG(dcg='exp-log2')@10"]
SESSION_NAMES = [
    "NUM",
    "U",
    "qU",
    "sessDCG",
    "sessDCG/q",
    "nsessDCG",
    "esNDCG",
    "esNCG",
    "sRBP(p=0.8,b=0.5)",
    "qnDCG",
]


# --- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_engine_claims_what_it_declares(name: str) -> None:
    routed = registry.route([name])[0]
    assert routed.provider is registry.TREC_EVAL
    assert isinstance(registry.TREC_EVAL.pattern(routed.measure), MeasurePattern)


def test_every_engine_pattern_is_reached() -> None:
    reached = {registry.TREC_EVAL.pattern(r.measure) for r in registry.route(ENGINE_NAMES)}
    assert reached == set(ENGINE_MEASURES)


@pytest.mark.parametrize("name", FALLBACK_NAMES)
def test_fallback_gets_the_rest(name: str) -> None:
    routed = registry.route([name])[0]
    assert not registry.TREC_EVAL.supports(routed.measure)
    assert registry.IR_MEASURES.supports(routed.measure)
    assert routed.provider is registry.IR_MEASURES
    assert any(p.name == routed.measure.NAME for p in registry.IR_MEASURES.patterns)


def test_engine_is_asked_first_even_where_ir_measures_could() -> None:
    routed = registry.route(["P@10", "nDCG@10"])
    assert all(registry.IR_MEASURES.supports(r.measure) for r in routed)
    assert [r.provider.name for r in routed] == ["ragbench.trec_eval", "ragbench.trec_eval"]


@pytest.mark.parametrize("name", SESSION_NAMES)
def test_session_provider_claims_session_names(name: str) -> None:
    routed = registry.route([name])[0]
    assert routed.provider is registry.SESSION
    assert registry.kind_of(name) == "session"


def test_session_families_are_declared_once_and_all_computed() -> None:
    assert {p.name for p in registry.SESSION.patterns} == set(SPECS) == set(families())


def test_pattern_fixed_values_and_unknown_parameters() -> None:
    pattern = MeasurePattern("nDCG", frozenset({"cutoff"}), (("dcg", "log2"),))
    defaults = {"dcg": "log2"}
    assert pattern.matches("nDCG", {"cutoff": 10}, {"cutoff": 10, **defaults}.get)
    assert pattern.matches("nDCG", {"dcg": "log2"}, defaults.get)
    assert not pattern.matches("nDCG", {"dcg": "exp-log2"}, lambda k: "exp-log2" if k == "dcg" else None)
    assert not pattern.matches("nDCG", {"gains": {1: 2}}, defaults.get)
    assert not pattern.matches("P", {}, defaults.get)


def test_fingerprint_implementation_is_the_provider_name() -> None:
    names = ["AP", "Judged@2", "RR@1", "ERR@20"]
    result = evaluate(QRELS, RUN, names)
    for routed in registry.route(names):
        assert result.fingerprints[routed.name].implementation == routed.provider.name
    assert result.fingerprints["AP"].implementation == "ragbench.trec_eval"  # stored; never changes
    assert result.fingerprints["ERR@20"].implementation == "ir_measures"
    assert registry.provider_named("ragbench.trec_eval") is registry.TREC_EVAL
    sessions = evaluate_sessions({"s1": {"d1": 1}}, {"s1": [["d1", "d2"], ["d3"]]}, ["NUM", "sessDCG"])
    assert {f.implementation for f in sessions.fingerprints.values()} == {"ragbench.session"}


def test_judged_and_rr_at_k_are_engine_extensions_not_trec_eval_measures() -> None:
    for name, family in (("Judged@10", "judged"), ("RR@10", "recip_rank_cut")):
        spec = registry.TREC_EVAL.spec(registry.route([name])[0].measure)
        assert spec.definition.name == family
        assert family not in {m.name for m in MEASURES}
        with pytest.raises(MeasureError, match="illegal measure"):
            lookup(family)  # the trec-eval command does not know it


# --- canonical names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "name"),
    [
        (["NDCG@10", "nDCG@10", "nDCG(dcg='log2')@10"], "nDCG@10"),
        (["MAP", "AP", "AP(rel=1)"], "AP"),
        (["MRR", "RR"], "RR"),
        (["Precision@5", "P(rel=1)@5"], "P@5"),
        (["NumRelRet", "NumRet(rel=1)"], "NumRet(rel=1)"),
        (["NUM", "num(L=1000)", "NUM(L=1000,c_q=10)"], "NUM(L=1000)"),
        (["sessDCG", "sessDCG(b=2,bq=4)@10", "SESSDCG@10"], "sessDCG(b=2,bq=4)@10"),
        (["sessDCG(conv=D)", "sessDCG(conv=D,bq=2)"], "sessDCG(b=2,bq=2,conv=D)@10"),
    ],
)
def test_two_spellings_one_name(spellings: list[str], name: str) -> None:
    assert {registry.canonical(s) for s in spellings} == {name}
    assert registry.canonical_measures(spellings) == [name]


def test_canonical_measures_keep_order_and_kinds() -> None:
    assert registry.canonical_measures(["NDCG@10", "NUM", "MAP", "nDCG@10", "NUM(L=1000)"]) == [
        "nDCG@10",
        "NUM(L=1000)",
        "AP",
    ]
    assert registry.canonical_measures("MAP") == ["AP"]
    assert registry.canonical_measures([]) == []
    with pytest.raises(MeasureError, match="cannot parse measure 'NUM'"):
        registry.canonical("NUM", "adhoc")
    with pytest.raises(MeasureError, match="unknown session measure 'AP'"):
        registry.canonical("AP", "session")
    with pytest.raises(ValueError, match="kind"):
        registry.canonical("AP", "sessions")  # type: ignore[arg-type]


# --- default lists ------------------------------------------------------------------------------


def test_default_lists_by_purpose() -> None:
    assert dict(registry.DEFAULTS) == {
        "eval": ("nDCG@10", "AP", "P@10", "R@1000"),
        "pipeline": ("AP", "P@30", "nDCG@10", "R@1000"),
        "leaderboard": ("nDCG@10", "AP", "P@10", "R@1000", "RR", "Bpref", "Judged@10"),
        "session": (
            "NUM(L=1000)",
            "U(L=1000)",
            "sessDCG(b=2,bq=4)@10",
            "nsessDCG(b=2,bq=4)@10",
            "esNDCG(p_reform=0.9,p_down=0.7)@10",
        ),
        "conformance": ("nDCG@10", "AP", "P@10", "R@1000", "Bpref", "RR", "Judged@10"),
        "rag": (
            "NuggetWeighted", "NuggetAll", "NuggetAllStrict", "NuggetVital", "NuggetVitalStrict",
            "SupportPrecision", "SupportRecall", "AnswerWords", "Citations", "RefnDCG@10", "RefJudged@10",
        ),
        "qa": ("ClaimF1", "ClaimPrecision", "ClaimRecall", "RougeL", "EmbeddingSim", "AnswerWords"),
    }  # fmt: skip
    for purpose, names in registry.DEFAULTS.items():
        assert registry.canonical_measures(names) == list(names), purpose  # stored as listed
        assert registry.default_measures(purpose) == list(names)
    fresh = registry.default_measures("eval")
    fresh.append("RR")
    assert registry.default_measures("eval") == ["nDCG@10", "AP", "P@10", "R@1000"]
    with pytest.raises(ValueError, match="leaderboard"):
        registry.default_measures("board")


def test_old_names_are_the_registry_lists() -> None:
    from ragbench.evaluation.session import DEFAULT_SESSION_MEASURES

    assert registry.DEFAULTS["session"] == DEFAULT_SESSION_MEASURES
    models = pytest.importorskip("ragbench.store.models")
    assert registry.DEFAULTS["leaderboard"] == models.DEFAULT_MEASURES


# --- errors -------------------------------------------------------------------------------------


def test_a_measure_no_installed_provider_computes_names_the_pip_install() -> None:
    with pytest.raises(MeasureError) as caught:
        evaluate(QRELS, "/nonexistent/run", ["nDCG@10", "alpha_nDCG@10"])  # before any file is read
    message = str(caught.value)
    assert "alpha_nDCG@10" in message and "pip install ir-measures[pyndeval]" in message
    assert isinstance(caught.value, InputError)  # a user error: message and exit 2, no traceback


def test_every_unsupported_measure_is_named_at_once() -> None:
    with pytest.raises(MeasureError) as caught:
        registry.route(["AP", "RBP(p=0.5)", "StRecall@10"])
    message = str(caught.value)
    assert "RBP(p=0.5)" in message and "check its parameters" in message
    assert "StRecall@10" in message and "pip install" in message


def test_an_unavailable_provider_is_named_with_its_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry.IR_MEASURES, "available", lambda: False)
    with pytest.raises(MeasureError, match=r"ERR@20.*ir_measures \(pip install ir-measures\)"):
        registry.route(["ERR@20"])
    assert registry.route(["AP"])[0].provider is registry.TREC_EVAL  # the engine needs no extra


def test_a_missing_cutoff_is_named() -> None:
    for name in ("P", "Judged"):
        with pytest.raises(MeasureError, match=f"{name} needs a cutoff, e.g. {name}@10"):
            registry.route([name])


# --- routing happens once per call --------------------------------------------------------------


def test_names_are_parsed_and_providers_called_once_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[str] = []
    real_parse = ir_measures.parse_measure
    monkeypatch.setattr(ir_measures, "parse_measure", lambda s: parses.append(s) or real_parse(s))
    calls: list[int] = []
    real_compute = registry.TREC_EVAL.compute
    monkeypatch.setattr(
        registry.TREC_EVAL,
        "compute",
        lambda measures, data: calls.append(len(measures)) or real_compute(measures, data),
    )
    qrels = {str(q): {f"d{i}": i % 3 for i in range(20)} for q in range(300)}
    run = {str(q): {f"d{i}": float(i) for i in range(0, 40, 2)} for q in range(300)}
    result = evaluate(qrels, run, ["AP", "P@10", "nDCG@10"])
    assert len(result.query_ids) == 300
    assert parses == ["AP", "P@10", "nDCG@10"]
    assert calls == [3]


def test_importing_the_registry_is_light() -> None:
    heavy = {"numpy", "pandas", "scipy", "ir_measures", "sqlalchemy", "pytrec_eval", "torch"}
    probe = (
        "import sys, ragbench.evaluation.registry; "
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy!r})))"
    )
    leaked = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert leaked.strip() == ""


# --- engine values equal independent paths ------------------------------------------------------

# ir-measures name -> the trec_eval value the `trec-eval` command prints for the same family.
SAME_FAMILY = {
    "P@5": "P_5",
    "P@10": "P_10",
    "AP": "map",
    "nDCG@10": "ndcg_cut_10",
    "R@5": "recall_5",
    "RR": "recip_rank",
}
PYTREC = ["P@5", "P@10", "AP", "nDCG@10"]

docs = st.sampled_from([f"d{i}" for i in range(12)])
qids = st.sampled_from(["1", "2", "3", "10"])


@st.composite
def collections(draw: st.DrawFn) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    judged = draw(st.dictionaries(st.tuples(qids, docs), st.integers(-1, 3), min_size=1, max_size=30))
    scored = draw(
        st.dictionaries(st.tuples(qids, docs), st.sampled_from([0.0, 0.5, 1.0, 2.0, -1.0]), min_size=1)
    )
    qrels: dict[str, dict[str, int]] = {}
    for (q, d), r in judged.items():
        qrels.setdefault(q, {})[d] = r
    assume(
        all(any(r >= 0 for r in topic.values()) for topic in qrels.values())
    )  # pytrec_eval hangs otherwise
    run: dict[str, dict[str, float]] = {}
    for (q, d), s in scored.items():
        run.setdefault(q, {})[d] = s
    assume(any(q in qrels for q in run))
    return qrels, run


def _pytrec(names: list[str], qrels: dict[str, Any], run: dict[str, Any]) -> dict[tuple[str, str], float]:
    parsed = [ir_measures.parse_measure(n) for n in names]
    return {
        (str(m.measure), m.query_id): float(m.value)
        for m in ir_measures.pytrec_eval.iter_calc(parsed, qrels, run)
    }


def _check(qrels: dict[str, Any], run: dict[str, Any]) -> int:
    ours = evaluate(qrels, run, list(SAME_FAMILY))
    q = read_qrels_like(qrels)
    table = evaluate_trec(
        prepare(q, read_run_like(run, q)), ["P.5,10", "map", "ndcg_cut.10", "recall.5", "recip_rank"]
    )
    for name, value_name in SAME_FAMILY.items():
        assert table.query_ids == ours.query_ids
        np.testing.assert_array_equal(ours.per_query[name], table.per_topic[value_name], err_msg=name)
    expected = _pytrec(PYTREC, qrels, run)
    compared = 0
    for name in PYTREC:
        for i, query_id in enumerate(ours.query_ids):
            if (name, query_id) in expected:
                got, want = float(ours.per_query[name][i]), expected[(name, query_id)]
                assert math.isclose(got, want, rel_tol=0, abs_tol=1e-9), (name, query_id, got, want)
                compared += 1
    return compared


def test_engine_equals_trec_eval_table_and_pytrec_eval_on_a_fixture() -> None:
    assert _check(QRELS, RUN) == len(PYTREC) * 3
    result = evaluate(QRELS, RUN, ["P@5", "AP", "nDCG@10"])
    # Ranked by score, then docno descending: 1: z b x c a; 2: f q e g; 3: i h.
    assert result.aggregate["P@5"] == pytest.approx((2 / 5 + 2 / 5 + 0) / 3)  # c, a / e, g / none


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(collections())
def test_engine_equals_trec_eval_table_and_pytrec_eval(data: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _check(*data)


def test_judged_at_k_equals_ir_measures_judged_provider() -> None:
    names = ["Judged@1", "Judged@3", "Judged@10"]
    ours = evaluate(QRELS, RUN, names)
    parsed = [ir_measures.parse_measure(n) for n in names]
    theirs = {(str(m.measure), m.query_id): m.value for m in ir_measures.judged.iter_calc(parsed, QRELS, RUN)}
    for name in names:
        assert ours.per_query[name].tolist() == pytest.approx([theirs[(name, q)] for q in ours.query_ids])


def test_rr_at_k_counts_only_the_top_k() -> None:
    result = evaluate(QRELS, RUN, ["RR@2", "RR@3", "RR@4", "RR"])
    # Rankings (score, then docno descending): 1: z b x c a (c first relevant, rank 4);
    # 2: f q e g (e at rank 3: q and e tie); 3: i h (nothing relevant).
    assert result.per_query["RR@2"].tolist() == [0.0, 0.0, 0.0]
    assert result.per_query["RR@3"].tolist() == pytest.approx([0.0, 1 / 3, 0.0])
    assert result.per_query["RR@4"].tolist() == pytest.approx([1 / 4, 1 / 3, 0.0])
    assert result.per_query["RR"].tolist() == pytest.approx([1 / 4, 1 / 3, 0.0])


def test_compute_calls_each_provider_once_with_its_measures() -> None:
    q = read_qrels_like(QRELS)
    r = read_run_like(RUN, q)
    routed = registry.route(["AP", "ERR@20", "nDCG@3", "AP"])
    values = registry.compute(routed, TopicData(q, r, prepare(q, r)))
    assert [v.per_query.shape for v in values] == [(3,)] * 4
    assert values[0] is values[3]


def test_aggregation_follows_the_family_table() -> None:
    names = {
        "NumRet": "num_ret",
        "NumRel": "num_rel",
        "NumRet(rel=1)": "num_rel_ret",
        "NumQ": "num_q",
        "AP": "map",
    }
    ours = evaluate(QRELS, RUN, list(names))
    q = read_qrels_like(QRELS)
    table = evaluate_trec(prepare(q, read_run_like(RUN, q)), list(names.values()))
    for name, value_name in names.items():
        assert ours.aggregate[name] == pytest.approx(table.summary[value_name]), name
    assert ours.aggregate["NumRet"] == 11.0 and ours.aggregate["NumQ"] == 3.0  # sums, not means

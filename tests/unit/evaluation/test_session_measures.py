"""Session measures: every worked example of ../shared/spec/session-metrics.md, the reference
(ir_metrics) conventions, and properties checked with hypothesis against plain-Python
transcriptions of the spec (``session_reference.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import session_reference as ref

from ragbench.errors import FormatError, InputError, MeasureError
from ragbench.evaluation.session import REFERENCE, evaluate_sessions, parse_session_measure

# The spec's running example (section 0).
RUN = {"s1": [["d1", "d2", "d3", "d4"], ["d5", "d2", "d6"]]}
QRELS = {"s1": {"d1": 0, "d2": 2, "d3": 1, "d4": 0, "d5": 1, "d7": 2}}
CLICKS = {"s1": [["d3"], ["d2", "d5"]]}
CHARS = "cost=chars,c_snip=10,c_doc=50"


def value(measure: str, run=RUN, qrels=QRELS, clicks=CLICKS, session: str = "s1", **kw) -> float:
    result = evaluate_sessions(qrels, run, [measure], clicks=clicks, **kw)
    name = result.measures[0]
    return float(result.per_query[name][result.query_ids.index(session)])


WORKED = [
    # (measure, spec value, where in the spec)
    (f"NUM({CHARS},c_q=30,L=300)", 0.645833, "1.4(a)"),
    (f"NUM({CHARS},c_q=30,L=300,labels=clicks)", 0.870370, "1.4(b) with A2"),
    (f"NUM({CHARS},c_q=30,L=300,labels=clicks,a2=0)", 0.740741, "1.4(b) without A2"),
    ("NUM", 0.628067, "1.4(c) time preset"),
    ("NUM(L=1000)", 0.628067, "1.4(c) as the issue names it"),
    (f"U({CHARS},L=300)", 3.2, "2 session U"),
    ("sessDCG", 4.884502, "3 (A)"),
    ("sessDCG(b=2,bq=4)@10", 4.884502, "3 (A), explicit"),
    ("nsessDCG", 0.450620, "3 (A) nsDCG"),
    ("sessDCG/q", 2.442251, "3 sDCG/q"),
    ("sessDCG(qdisc=0)", 5.285579, "3 (A) without query discount"),
    ("nsessDCG(qdisc=0)", 0.453817, "3 (A) nsDCG without query discount"),
    ("sessDCG(conv=B)", 6.297596, "3 (B)"),
    ("sessDCG(conv=C)", 2.720186, "3 (C)"),
    ("nsessDCG(conv=C)", 0.644565, "3 (C) normalised by the DD bound"),
    ("esNDCG(p_reform=0.9,p_down=0.7)", 0.488474, "4 esNDCG exact"),
    ("esNCG(p_reform=0.8,p_down=0.7)", 0.651300, "4 esNCG exact"),
    ("sRBP(p=0.8,b=0.5)", 0.216, "5 sRBP"),
    ("qnDCG(agg=mean)", 0.453817, "6 mean"),
    ("qnDCG(agg=sum)", 0.907635, "6 sum"),
    ("qnDCG(agg=max)", 0.496747, "6 max"),
    ("qnDCG(agg=min)", 0.410887, "6 min"),
    ("qnDCG(agg=first)", 0.410887, "6 first"),
    ("qnDCG(agg=last)", 0.496747, "6 last"),
]


@pytest.mark.parametrize(("measure", "expected", "where"), WORKED, ids=[w[2] for w in WORKED])
def test_worked_examples(measure: str, expected: float, where: str) -> None:
    assert value(measure) == pytest.approx(expected, abs=5e-7), where


def test_worked_example_u_trail_items() -> None:
    # Section 2: items d2@70 (g=3), d3@130 (g=1), d5@200 (g=1) -> 2.3 + 0.566667 + 0.333333.
    assert value(f"U({CHARS},L=300)") == pytest.approx(3 * (1 - 70 / 300) + (1 - 130 / 300) + (1 - 200 / 300))


def test_monte_carlo_agrees_with_exact_and_is_seeded() -> None:
    exact = value("esNDCG")
    sampled = value("esNDCG(samples=40000,seed=7)")
    # Per-path nDCG lies in [0, ~1.2] here: a standard error under 0.003 with 40k samples.
    assert sampled == pytest.approx(exact, abs=0.012)
    assert sampled == value("esNDCG(samples=40000,seed=7)")
    assert sampled != value("esNDCG(samples=40000,seed=8)")


def test_canonical_names_and_stored_form() -> None:
    assert parse_session_measure("NUM").name == "NUM(L=1000)"
    assert parse_session_measure("sessDCG").name == "sessDCG(b=2,bq=4)@10"
    assert parse_session_measure("nsessdcg@9").name == "nsessDCG(b=2,bq=4)@9"
    assert parse_session_measure("esNDCG@9").name == "esNDCG(p_reform=0.9,p_down=0.7)@9"
    assert parse_session_measure("NUM(c_q=10,L=1000)@10").name == "NUM(L=1000)"
    assert parse_session_measure("sessDCG(conv=D)").name == "sessDCG(b=2,bq=2,conv=D)@10"
    assert parse_session_measure("sessDCG(conv=C)")["gain"] == "lin"
    result = evaluate_sessions(QRELS, RUN, ["NUM", "NUM(L=1000)@10", "sessDCG"], clicks=CLICKS)
    assert result.measures == ("NUM(L=1000)", "sessDCG(b=2,bq=4)@10")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("SDCG@10", "unknown session measure 'SDCG'"),
        ("NUM(L=0)", "must be > 0"),
        ("NUM(foo=1)", "has no parameter 'foo'"),
        ("esNDCG(p_down=1.5)", "between 0 and 1"),
        ("sessDCG(b=1)", "must be > 1"),
        ("sessDCG@0", "must be >= 1"),
        ("sessDCG@x", "is not an integer"),
        ("sRBP", "needs p"),
        ("NUM(L=1,L=2)", "given twice"),
        ("NUM(labels=votes)", "one of qrels, clicks"),
    ],
)
def test_bad_names(name: str, message: str) -> None:
    with pytest.raises(MeasureError, match=message):
        parse_session_measure(name)


def test_chars_without_lengths_is_an_input_error() -> None:
    with pytest.raises(InputError, match="cost=chars needs lengths"):
        value("NUM(cost=chars)")
    # Per-document lengths instead of constants: the same costs as c_snip=10, c_doc=50.
    lengths = {d: (10.0, 50.0) for d in ["d1", "d2", "d3", "d4", "d5", "d6", "d7"]}
    assert value("NUM(cost=chars,c_q=30,L=300)", doc_lengths=lengths) == pytest.approx(0.645833, abs=5e-7)


def test_clicks_measure_needs_clicks() -> None:
    with pytest.raises(InputError, match="needs a run with a clicked column"):
        evaluate_sessions(QRELS, RUN, ["NUM(labels=clicks)"])


# --- Reference (ir_metrics) conventions --------------------------------------------------------

QRELS_JUNK = {"s1": {**QRELS["s1"], "d1": -1}}  # d1 is junk (-1), as in the CHIIR'16 qrels


def test_negative_grade_is_a_penalty_in_raw_mode() -> None:
    # d1 (grade -1) is at rank 1 of query 1, where rdisc = qdisc = 1: gain 2^-1 - 1 = -0.5.
    assert value("sessDCG", qrels=QRELS_JUNK) == pytest.approx(4.884502, abs=5e-7)
    assert value("sessDCG(neg=raw)", qrels=QRELS_JUNK) == pytest.approx(4.884502 - 0.5, abs=5e-7)
    assert value("sessDCG", qrels=QRELS_JUNK, overrides=REFERENCE) == pytest.approx(4.384502, abs=5e-7)


def test_negative_grade_enters_the_ideal_list_in_raw_mode() -> None:
    # Ideal list by grade: d2 d7 (3), d3 d5 (1), d4 (0), d1 (-0.5) at rank 6, all within k = 10.
    idcg = 3 + 3 / math.log2(3) + 1 / math.log2(4) + 1 / math.log2(5) + 0 - 0.5 / math.log2(7)
    qdisc = 1 + 1 / (math.log(5) / math.log(4))
    assert value("nsessDCG(neg=raw)", qrels=QRELS_JUNK) == pytest.approx(
        (4.884502 - 0.5) / (idcg * qdisc), abs=5e-7
    )


def test_time_lookup_of_a_negative_grade_is_the_last_entry() -> None:
    run = {"s": [["junk", "good"]]}
    qrels = {"s": {"junk": -1, "good": 2}}
    # ir_metrics' per-query U, T = 100: clamped, junk costs time[0] = 9.8 and gains nothing.
    clamped = 0.75 * (1 - (9.8 + 37.6) / 100)
    # Raw: junk costs time[-1] = 37.6 and gains (2^-1 - 1)/4 = -0.125 at 37.6.
    raw = -0.125 * (1 - 37.6 / 100) + 0.75 * (1 - 75.2 / 100)
    assert value("qU(T=100)", run, qrels, None, "s") == pytest.approx(clamped)
    assert value("qU(T=100,neg=raw)", run, qrels, None, "s") == pytest.approx(raw)
    # NUM scans the junk document: t0 clamped, time[-1] = t2 in raw mode.
    assert value("NUM", run, qrels, None, "s") == pytest.approx((1 - 47.4 / 1000) / (1 - 37.6 / 1000))
    assert value("NUM(neg=raw)", run, qrels, None, "s") == pytest.approx(
        (1 - 75.2 / 1000) / (1 - 37.6 / 1000)
    )


@pytest.mark.parametrize(
    "measure", ["NUM", "nsessDCG", "esNDCG", "esNCG", "nsessDCG(conv=C)", "nsessDCG(conv=D)"]
)
def test_zero_ideal(measure: str) -> None:
    run = {"s1": RUN["s1"], "z": [["d1", "d2"]]}
    qrels = {"s1": QRELS["s1"], "z": {"d1": 0, "d2": 0}}
    default = evaluate_sessions(qrels, run, [measure])
    name = default.measures[0]
    assert default.per_query[name][1] == 0.0
    assert default.aggregate[name] == pytest.approx(default.per_query[name][0] / 2)
    for kw in ({"overrides": REFERENCE}, {}):
        spelled = (
            measure
            if kw
            else measure.replace(")", ",zero=nan)")
            if "(" in measure
            else f"{measure}(zero=nan)"
        )
        result = evaluate_sessions(qrels, run, [spelled], **kw)
        name = result.measures[0]
        assert math.isnan(result.per_query[name][1])
        assert result.aggregate[name] == pytest.approx(result.per_query[name][0])  # NaN sessions skipped


def test_compat_quirk_changes_no_value() -> None:
    # The first query returns nothing: the empty path has probability 1 - p_reform.
    run = {"s": [[], ["d2", "d1"], ["d3"]]}
    qrels = {"s": {"d2": 2, "d3": 1}}
    plain = value("esNDCG", run, qrels, None, "s")
    assert value("esNDCG(compat=1)", run, qrels, None, "s") == pytest.approx(plain, abs=1e-15)
    assert plain == pytest.approx(ref.esndcg(run["s"], qrels["s"]), abs=1e-12)


# --- Properties ----------------------------------------------------------------------------------

DOCS = [f"d{i}" for i in range(9)]


@st.composite
def sessions(draw, max_sessions: int = 3):
    n = draw(st.integers(1, max_sessions))
    run, qrels, clicks = {}, {}, {}
    for s in range(n):
        sid = f"s{s}"
        queries = draw(
            st.lists(st.lists(st.sampled_from(DOCS), max_size=5, unique=True), min_size=1, max_size=4)
        )
        run[sid] = queries
        qrels[sid] = draw(st.dictionaries(st.sampled_from(DOCS), st.integers(0, 3), max_size=7))
        clicks[sid] = [draw(st.lists(st.sampled_from(q), unique=True)) if q else [] for q in queries]
    return run, qrels, clicks


def _all(measure: str, run, qrels, clicks=None, **kw) -> dict[str, float]:
    result = evaluate_sessions(qrels, run, [measure], clicks=clicks, **kw)
    return dict(zip(result.query_ids, result.per_query[result.measures[0]].tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(sessions(), st.integers(2, 6))
def test_vectorised_equals_the_spec_transcription(data, k: int) -> None:
    run, qrels, clicks = data
    checks = {
        f"NUM@{k}": lambda q, j, c: ref.num(q, j, c, k=k),
        f"NUM({CHARS},c_q=30,L=300)@{k}": lambda q, j, c: ref.num(
            q, j, c, k=k, cost="chars", c_snip=10, c_doc=50, c_q=30, L=300
        ),
        f"NUM(labels=clicks,L=200)@{k}": lambda q, j, c: ref.num(q, j, c, k=k, mode="clicks", L=200),
        f"NUM(labels=clicks,a2=0,L=200)@{k}": lambda q, j, c: ref.num(
            q, j, c, k=k, mode="clicks", a2=False, L=200
        ),
        f"U(L=300)@{k}": lambda q, j, c: ref.trail_u(q, j, c, k=k, L=300, c_q=0),
        f"sessDCG@{k}": lambda q, j, c: ref.sdcg(q, j, k=k),
        f"sessDCG(conv=B,b=3)@{k}": lambda q, j, c: ref.sdcg(q, j, k=k, conv="B", b=3),
        f"sessDCG(conv=C)@{k}": lambda q, j, c: ref.sdcg(q, j, k=k, conv="C"),
        f"sessDCG(conv=D)@{k}": lambda q, j, c: ref.sdcg(q, j, k=k, conv="D", bq=2),
        f"nsessDCG@{k}": lambda q, j, c: ref.nsdcg_a(q, j, k=k),
        f"nsessDCG(qdisc=0)@{k}": lambda q, j, c: ref.nsdcg_a(q, j, k=k, qdisc=False),
        f"esNDCG@{k}": lambda q, j, c: ref.esndcg(q, j, k=k),
        f"esNCG@{k}": lambda q, j, c: ref.esndcg(q, j, k=k, p_reform=0.8, discount=False),
        f"qnDCG(agg=max)@{k}": lambda q, j, c: ref.qndcg(q, j, k=k, agg="max"),
        "sRBP(p=0.8,b=0.5,max_grade=3)": lambda q, j, c: ref.srbp(q, j, p=0.8, b=0.5, max_grade=3),
    }
    for measure, reference in checks.items():
        got = _all(measure, run, qrels, clicks)
        for sid in run:
            assert got[sid] == pytest.approx(reference(run[sid], qrels[sid], clicks[sid]), abs=1e-9), (
                measure,
                sid,
            )


def _ideal_session(grades: dict[str, int], extra: list[str]) -> list[str]:
    return [d for d, _ in sorted(grades.items(), key=lambda item: -item[1]) if grades[d] > 0] + extra


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(st.sampled_from(DOCS), st.integers(0, 4), min_size=1, max_size=8).filter(
        lambda g: any(v > 0 for v in g.values())
    ),
    st.sampled_from(["NUM", f"NUM({CHARS},L=300)", "NUM(L=200)", "NUM(L=60)"]),
)
def test_num_of_the_ideal_session_is_one(grades: dict[str, int], measure: str) -> None:
    ranked = _ideal_session(grades, [d for d in ["x1", "x2"]])
    assert _all(f"{measure}@20", {"s": [ranked]}, {"s": grades})["s"] == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    sessions(max_sessions=2),
    st.sampled_from(["NUM", f"NUM({CHARS},c_q=30,L=300)", "NUM(L=100)", "NUM(labels=clicks)"]),
)
def test_num_stays_in_unit_interval(data, measure: str) -> None:
    run, qrels, clicks = data
    for v in _all(measure, run, qrels, clicks).values():
        assert 0.0 <= v <= 1.0


def _swaps(run: dict[str, list[list[str]]], qrels: dict[str, dict[str, int]]):
    """Every adjacent swap that moves a relevant document before a non-relevant one."""
    for sid, queries in run.items():
        for qi, ranked in enumerate(queries):
            for r in range(1, len(ranked)):
                before, doc = ranked[r - 1], ranked[r]
                if qrels[sid].get(doc, 0) > 0 and qrels[sid].get(before, 0) <= 0:
                    moved = [list(q) for q in queries]
                    moved[qi][r - 1], moved[qi][r] = doc, before
                    yield sid, {**run, sid: moved}


@settings(max_examples=60, deadline=None)
@given(sessions(max_sessions=2))
def test_moving_a_relevant_document_earlier_never_lowers_num_u_sdcg(data) -> None:
    run, qrels, _ = data
    measures = [
        "NUM",
        f"NUM({CHARS},c_q=30,L=300)",
        "NUM(L=150)",
        "U",
        f"U({CHARS},L=300)",
        "sessDCG",
        "nsessDCG",
    ]
    base = {m: _all(m, run, qrels) for m in measures}
    for sid, moved in _swaps(run, qrels):
        for m in measures:
            assert _all(m, moved, qrels)[sid] >= base[m][sid] - 1e-12, (m, sid, moved[sid])


@settings(max_examples=60, deadline=None)
@given(sessions(max_sessions=1), st.data())
def test_sdcg_moving_a_better_document_any_distance_earlier_never_lowers_it(data, draw) -> None:
    run, qrels, _ = data
    (sid,) = run
    queries = run[sid]
    qi = draw.draw(st.integers(0, len(queries) - 1))
    ranked = queries[qi]
    if len(ranked) < 2:
        return
    i, j = sorted(draw.draw(st.lists(st.integers(0, len(ranked) - 1), min_size=2, max_size=2, unique=True)))
    if qrels[sid].get(ranked[j], 0) <= qrels[sid].get(ranked[i], 0):
        return
    moved = [list(q) for q in queries]
    moved[qi][i], moved[qi][j] = ranked[j], ranked[i]
    for m in ["sessDCG", "sessDCG(conv=B)", "sessDCG(conv=C)", "nsessDCG", "qnDCG"]:
        assert _all(m, {sid: moved}, qrels)[sid] >= _all(m, run, qrels)[sid] - 1e-12, m


@settings(max_examples=60, deadline=None)
@given(sessions(max_sessions=1), st.data())
def test_an_all_irrelevant_reformulation_never_raises_num(data, draw) -> None:
    run, qrels, clicks = data
    (sid,) = run
    at = draw.draw(st.integers(0, len(run[sid])))
    junk = draw.draw(st.lists(st.sampled_from(["j1", "j2", "j3"]), max_size=3, unique=True))
    longer = {sid: [*run[sid][:at], junk, *run[sid][at:]]}
    longer_clicks = {sid: [*clicks[sid][:at], [], *clicks[sid][at:]]}
    for m in [
        "NUM",
        f"NUM({CHARS},c_q=30,L=300)",
        "NUM(L=120)",
        "NUM(labels=clicks)",
        "NUM(labels=clicks,a2=0)",
    ]:
        before = _all(m, run, qrels, clicks)[sid]
        after = _all(m, longer, qrels, longer_clicks)[sid]
        assert after <= before + 1e-12, (m, at, junk)


@settings(max_examples=60, deadline=None)
@given(sessions(max_sessions=1), st.data())
def test_duplicates_are_credited_once_by_num_and_every_time_by_sdcg(data, draw) -> None:
    run, qrels, _ = data
    (sid,) = run
    copied = draw.draw(st.integers(0, len(run[sid]) - 1))
    repeated = {sid: [*run[sid], list(run[sid][copied])]}
    for m in ["NUM", "U", f"U({CHARS},L=300)"]:
        assert _all(m, repeated, qrels)[sid] == pytest.approx(_all(m, run, qrels)[sid], abs=1e-12), m
    n = len(run[sid]) + 1
    dcg = sum(
        (2.0 ** max(qrels[sid].get(d, 0), 0) - 1) / math.log2(r + 1)
        for r, d in enumerate(run[sid][copied][:10], 1)
    )
    expected = _all("sessDCG", run, qrels)[sid] + dcg / (math.log(n + 3) / math.log(4))
    assert _all("sessDCG", repeated, qrels)[sid] == pytest.approx(expected, abs=1e-9)


def test_per_query_labels() -> None:
    # d2 is relevant (2) for query 2 only; session-level label = max over queries = 2.
    qrels = {"s1": {1: {"d3": 1}, 2: {"d2": 2, "d5": 1}}}
    got = value("sessDCG", qrels=qrels)
    q1 = 1 / math.log2(4)  # d3 at rank 3 of query 1; d2 is not relevant for query 1
    q2 = (1 + 3 / math.log2(3)) / (math.log(5) / math.log(4))
    assert got == pytest.approx(q1 + q2)
    # NUM uses the session-level label: d2 counts in query 1 already, like the session-level qrels.
    session_level = {"s1": {"d2": 2, "d3": 1, "d5": 1}}
    assert value("NUM", qrels=qrels) == pytest.approx(value("NUM", qrels=session_level))


def test_sessions_missing_from_the_run_score_zero_and_unknown_ones_are_errors() -> None:
    from ragbench.formats.sessions import read_sessions

    topics = read_sessions(b"s1\t1\tfirst\ns1\t2\tsecond\ns2\t1\tother\n", name="sessions.tsv")
    result = evaluate_sessions(QRELS, RUN, ["NUM", "sessDCG"], sessions=topics, clicks=CLICKS)
    assert result.query_ids == ("s1", "s2")
    assert result.per_query["NUM(L=1000)"].tolist() == pytest.approx([0.628067, 0.0], abs=5e-7)
    assert result.aggregate["NUM(L=1000)"] == pytest.approx(0.628067 / 2, abs=5e-7)
    with pytest.raises(FormatError) as caught:
        evaluate_sessions(b"s1 0 d2 2\ns9 0 d1 1\n", RUN, ["NUM"])
    assert caught.value.problems[0].line == 2
    assert "s9" in caught.value.problems[0].message


def test_vectorised_over_many_sessions_matches_one_at_a_time() -> None:
    # Bit for bit: a session's value does not depend on the other sessions scored with it.
    rng = np.random.default_rng(3)
    run, qrels = {}, {}
    for s in range(300):
        sid = f"s{s:03d}"
        run[sid] = [
            list(rng.choice(DOCS, size=rng.integers(0, 6), replace=False)) for _ in range(rng.integers(1, 6))
        ]
        qrels[sid] = {d: int(rng.integers(0, 4)) for d in rng.choice(DOCS, size=4, replace=False)}
    measures = ["NUM", "U", "qU", "sessDCG", "nsessDCG", "nsessDCG(conv=C)", "nsessDCG(conv=D)", "esNDCG", "esNCG",
                "qnDCG", "sRBP(p=0.8,b=0.5,max_grade=3)"]  # fmt: skip
    together = evaluate_sessions(qrels, run, measures)
    for sid in list(run)[::37]:
        alone = evaluate_sessions({sid: qrels[sid]}, {sid: run[sid]}, measures)
        for m in together.measures:
            assert together.per_query[m][together.query_ids.index(sid)] == alone.per_query[m][0], (sid, m)


# --- The session fixes of issue 16 ---------------------------------------------------------------


def test_num_ideal_shown_by_hand() -> None:
    # Spec 1.4(a) costs: the session showed d1..d6; d7 (grade 2) was judged but never shown.
    # ideal=shown lists d2 (g=3), d3 (g=1), d5 (g=1) at 60, 120, 180: U* = 3(0.8) + 0.6 + 0.4 = 3.4,
    # and the actual U is 3.1 (spec 1.4(a)), so NUM = 3.1 / 3.4 where ideal=judged gives 3.1 / 4.8.
    assert value(f"NUM({CHARS},c_q=30,L=300,ideal=shown)") == pytest.approx(3.1 / 3.4, abs=1e-12)
    assert value(f"NUM({CHARS},c_q=30,L=300,ideal=judged)") == pytest.approx(3.1 / 4.8, abs=1e-12)
    # Time preset (spec 1.4(c)): gains (2^r - 1)/4, costs t(2) = 37.6, t(1) = 23; the shown ideal is
    # d2, d3, d5 at 37.6, 60.6, 83.6 (without d7 at 75.2 in between).
    ideal = 0.75 * (1 - 37.6 / 1000) + 0.25 * (1 - 60.6 / 1000) + 0.25 * (1 - 83.6 / 1000)
    actual = 0.75 * (1 - 47.4 / 1000) + 0.25 * (1 - 70.4 / 1000) + 0.25 * (1 - 113.2 / 1000)
    assert value("NUM(ideal=shown)") == pytest.approx(actual / ideal, abs=1e-12)
    # Only the top k counts as shown: with k=2 the session showed d1, d2 and d5, d2 (d3 is at rank 3).
    assert value(f"NUM({CHARS},c_q=30,L=300,ideal=shown)@2") == pytest.approx(
        (3 * (1 - 70 / 300) + (1 - (70 + 30 + 60) / 300)) / (3 * 0.8 + 0.6), abs=1e-12
    )


def test_ideal_shown_is_in_the_canonical_name_and_judged_is_the_default() -> None:
    assert parse_session_measure("NUM(ideal=shown)").name == "NUM(L=1000,ideal=shown)"
    assert parse_session_measure("NUM(ideal=judged)").name == parse_session_measure("NUM").name


@pytest.mark.parametrize("queries", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("grades", [[2, 1], [3, 2, 2, 1, 1], [1, 1, 1], [4, 0, 3, 1, 2, 2, 1]])
def test_normalised_values_at_their_ideal_are_one_exactly(queries: int, grades: list[int]) -> None:
    # Every query returns the ideal list: the ratio of two sums taken in different orders must
    # come out as 1.0, not 1.0000000000000002.
    docs = [f"d{i}" for i in range(len(grades))]
    ideal = [d for d, _ in sorted(zip(docs, grades, strict=True), key=lambda x: -x[1])]
    run = {"s": [ideal] * queries}
    qrels = {"s": dict(zip(docs, grades, strict=True))}
    for measure in ("nsessDCG", "nsessDCG(qdisc=0)", "nsessDCG(b=3,bq=2)@5"):
        assert value(measure, run, qrels, None, "s") == 1.0
    single = {"s": [ideal]}
    assert value("NUM", single, qrels, None, "s") == 1.0


def test_cost_chars_with_the_default_l_warns_naming_measure_and_reason() -> None:
    lengths = {f"d{i}": (200.0, 3000.0) for i in range(1, 8)}
    result = evaluate_sessions(QRELS, RUN, ["NUM(cost=chars)"], doc_lengths=lengths)
    [name] = result.measures
    assert result.per_query[name].tolist() == [0.0]  # 3,200 characters a document > L = 1000
    assert result.notes[name].startswith(f"warning: {name} is 0 in every session: with cost=chars, L=1000")
    assert "reading one relevant document costs 3,200 characters on average" in result.notes[name]
    assert "NUM(cost=chars,L=32000)" in result.notes[name]


def test_a_zero_ideal_warns_and_numpy_stays_quiet() -> None:
    import warnings

    run = {"s1": RUN["s1"], "z": [["d1", "d2"]]}
    qrels = {"s1": QRELS["s1"], "z": {"d1": 0, "d2": 0}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning (divide by zero) would raise here
        result = evaluate_sessions(qrels, run, ["nsessDCG", "NUM", "NUM(cost=chars,c_snip=0,c_doc=0)"])
    for name in result.measures:
        assert (
            "warning: 1 of 2 session(s) have a zero ideal (no document judged relevant)" in result.notes[name]
        )
        assert name in result.notes[name]


def test_c_snip_and_c_doc_in_the_name_win_over_a_lengths_file() -> None:
    import hashlib

    from ragbench.formats.lengths import read_lengths

    data = b"".join(b"d%d 1 1\n" % i for i in range(1, 8))  # every document 1 + 1 characters
    lengths = read_lengths(data, name="lengths.txt")
    named = evaluate_sessions(QRELS, RUN, [f"NUM({CHARS},c_q=30,L=300)"], doc_lengths=lengths)
    [name] = named.measures
    assert named.per_query[name][0] == pytest.approx(0.645833, abs=5e-7)  # spec 1.4(a): the name's costs
    assert "doc lengths" not in str(named.fingerprints[name])
    from_file = evaluate_sessions(QRELS, RUN, ["NUM(cost=chars,c_q=30,L=300)"], doc_lengths=lengths)
    [other] = from_file.measures
    assert from_file.per_query[other][0] != pytest.approx(0.645833, abs=1e-3)
    digest = hashlib.sha256(data).hexdigest()[:16]
    assert f"doc lengths sha256 {digest}" in str(from_file.fingerprints[other])
    # The file's lengths, when they equal the name's constants, give the name's value.
    same = read_lengths(b"".join(b"d%d 10 50\n" % i for i in range(1, 8)))
    equal = evaluate_sessions(QRELS, RUN, ["NUM(cost=chars,c_q=30,L=300)"], doc_lengths=same)
    assert equal.per_query[other][0] == pytest.approx(0.645833, abs=5e-7)

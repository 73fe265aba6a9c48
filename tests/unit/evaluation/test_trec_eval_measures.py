"""trec_eval 10.0 measures: hand-worked cases for the tricky ones, parsing, output, and two oracles.

Oracles: pytrec_eval (trec_eval 9.0.8) for every measure whose code did not change in 10.0, and
a literal per-topic transcription of trec_eval's loops for the gain-pair measures, which
pytrec_eval cannot be given parameters for.
"""

from __future__ import annotations

import io
import math
import shlex

import numpy as np
import pytest

from ragbench.errors import InputError, MeasureError
from ragbench.evaluation.prepare import prepare
from ragbench.evaluation.prepared import PreparedTopics
from ragbench.evaluation.trec_eval import (
    TopicView,
    bpref,
    eleven_point_average,
    evaluate_trec,
    gain,
    inferred_average_precision,
    interpolated_precision,
    ndcg,
    ndcg_at,
    ndcg_rel,
    precision,
    r_ndcg,
    r_precision_multiples,
    rbp,
    rbp_residual,
    select_measures,
)
from ragbench.evaluation.trec_eval._gains import glibc_msort
from ragbench.evaluation.trec_eval._output import c_float
from ragbench.evaluation.trec_eval._params import parse_double_cutoffs, parse_long_cutoffs, parse_pairs
from ragbench.evaluation.trec_eval._view import segmented_cumsum
from ragbench.evaluation.trec_eval.cli import main, parse_args
from ragbench.formats.tables import QrelsTable, RunTable

EPS = 0.00001


def topics(qrels: dict, run: dict, **options: object) -> PreparedTopics:
    """Rank ``run`` by descending score (ties: docno descending) and join it with ``qrels``."""
    return prepare(QrelsTable.from_dict(qrels), RunTable.from_dict(run), **options)  # type: ignore[arg-type]


def ranked(*docs: str) -> dict[str, float]:
    """A run for one topic retrieving ``docs`` in this order."""
    return {d: float(len(docs) - i) for i, d in enumerate(docs)}


# ----------------------------------------------------------------------------- bpref / infAP
def test_bpref_counts_judged_nonrelevant_above_each_relevant() -> None:
    # R = 2 (a, b), N = 3 judged non-relevant; u is not in the pool and is skipped.
    qrels = {"q": {"a": 1, "b": 1, "x": 0, "y": 0, "z": 0}}
    t = topics(qrels, {"q": ranked("x", "a", "y", "u", "b")})
    # a: 1 non-relevant above -> 1 - min(1,2)/min(3,2) = 0.5; b: 2 above -> 1 - 2/2 = 0.
    assert bpref(t)[0] == pytest.approx((0.5 + 0.0) / 2)


def test_bpref_with_relevance_level_two_treats_level_one_as_nonrelevant() -> None:
    qrels = {"q": {"a": 2, "b": 1, "c": 0}}
    t = topics(qrels, {"q": ranked("b", "c", "a")}, relevance_level=2)
    # R = 1, N = 2 (levels 0 and 1); a has 2 judged non-relevant above: 1 - min(2,1)/min(2,1) = 0.
    assert bpref(t)[0] == 0.0


def test_infap_by_hand() -> None:
    # p is in the pool but unjudged (qrels -1 -> code -2); u is not in the pool.
    qrels = {"q": {"a": 1, "b": 1, "x": 0, "p": -1}}
    t = topics(qrels, {"q": ranked("x", "a", "p", "u", "b")})
    at_a = 1 / 2 + (1 / 2) * ((0 + 1 + 0) / 1) * ((0 + EPS) / (0 + 1 + 2 * EPS))
    at_b = 1 / 5 + (4 / 5) * ((1 + 1 + 1) / 4) * ((1 + EPS) / (1 + 1 + 2 * EPS))
    assert inferred_average_precision(t)[0] == pytest.approx((at_a + at_b) / 2, rel=1e-15)


# ----------------------------------------------------------------------------- Rprec_mult
def test_rprec_mult_cutoffs_are_truncated_x_times_r_plus_point_nine() -> None:
    qrels = {"q": {"a": 1, "b": 1, "c": 1, "n": 0}}
    t = topics(qrels, {"q": ranked("a", "n", "b", "m")})  # R = 3, 4 retrieved, 2 relevant
    values = r_precision_multiples(t, [0.2, 1.0, 2.0])[0]
    # cutoffs (long)(0.6 + 0.9) = 1, (long)(3.9) = 3, (long)(6.9) = 6 > num_ret -> num_rel_ret / 6
    assert values.tolist() == [1.0, 2 / 3, 2 / 6]


# ----------------------------------------------------------------------------- interpolation
INTERP_QRELS = {"q": {"r1": 1, "r2": 1, "r3": 1, "r4": 1}}
INTERP_RUN = {"q": ranked("r1", "n1", "n2", "r2", "n3", "r3")}  # precision at rel docs: 1, 2/4, 3/6


def test_iprec_uses_lround_of_recall_times_r() -> None:
    t = topics(INTERP_QRELS, INTERP_RUN)
    points = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    values = interpolated_precision(t, points)[0]
    # lround(x * 4): 0,0,1,1,2,2,2,3,3,4,4 relevant docs; 4 > 3 retrieved -> 0.
    # (trec_eval 9.0.8's (long)(x * 4 + 0.9) gives 4 at 0.8, hence 0.0 there.)
    assert values.tolist() == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0]
    assert eleven_point_average(t, points)[0] == pytest.approx(6.5 / 11)


def test_11pt_avg_keeps_unsorted_parameters_like_trec_eval() -> None:
    t = topics(INTERP_QRELS, INTERP_RUN)
    # trec_eval walks cutoffs from the last given: .2 -> 1 rel doc (1.0); then .8 -> 3 rel docs can no
    # longer be matched and gets the top interpolated precision (1.0), not 0.5.
    assert eleven_point_average(t, [0.8, 0.2])[0] == 1.0
    assert eleven_point_average(t, [0.2, 0.8])[0] == 0.75


def test_iprec_of_an_empty_ranking_is_nan_like_trec_eval_but_zero_for_absent_topics() -> None:
    t = topics({"q": {"a": 1}}, {"q": ranked("u")}, judged_only=True)  # -J empties the ranking
    present = TopicView(t, absent=np.array([False]))
    assert math.isnan(interpolated_precision(present, [0.0])[0, 0])
    assert interpolated_precision(TopicView(t), [0.0])[0, 0] == 0.0  # default: empty means absent


# ----------------------------------------------------------------------------- ndcg gains
NDCG_QRELS = {"q": {"a": 2, "b": 1, "c": 0, "d": 1}}
NDCG_RUN = {"q": ranked("b", "a", "c")}


def test_ndcg_default_gains_are_the_judgment_levels() -> None:
    t = topics(NDCG_QRELS, NDCG_RUN)
    dcg = 1 / math.log2(2) + 2 / math.log2(3)
    ideal = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg(t)[0] == pytest.approx(dcg / ideal, rel=1e-15)


def test_ndcg_gain_pairs_replace_level_gains() -> None:
    t = topics(NDCG_QRELS, NDCG_RUN)
    dcg = 3 / math.log2(2) + 9 / math.log2(3)
    ideal = 9 / math.log2(2) + 3 / math.log2(3) + 3 / math.log2(4)
    assert ndcg(t, (("1", 3.0), ("2", 9.0)))[0] == pytest.approx(dcg / ideal, rel=1e-15)
    assert ndcg(t, {1: 3.0, 2: 9.0})[0] == ndcg(t, (("1", 3.0), ("2", 9.0)))[0]


def test_ndcg_reproduces_trec_eval_gain_sort_truncation() -> None:
    # comp_rel_gain truncates 0.5 - 0.0 to 0: "equal", so level 0 stays on top and the ideal is empty.
    t = topics({"q": {"a": 1, "b": 0}}, {"q": ranked("a", "b")})
    assert ndcg(t, (("1", 0.5),))[0] == 0.0
    assert ndcg(t, (("1", 2.0),))[0] == 1.0


def test_glibc_msort_is_stable_top_down_merge() -> None:
    items = [(1, 0.5), (0, 0.0), (2, 2.0), (3, 1.2)]
    out = glibc_msort(items, lambda a, b: int(a[1] - b[1]))
    # 2.0 - 1.2 truncates to 0: "equal", so they keep their order; the halves merge by their heads.
    assert out == [(1, 0.5), (0, 0.0), (2, 2.0), (3, 1.2)]


def test_ndcg_cut_uses_raw_levels_and_ideal_at_k() -> None:
    t = topics(NDCG_QRELS, NDCG_RUN)
    at2 = (1 / math.log2(2) + 2 / math.log2(3)) / (2 / math.log2(2) + 1 / math.log2(3))
    values = ndcg_at(t, [2, 10])[0]
    assert values[0] == pytest.approx(at2, rel=1e-15)
    assert values[1] == pytest.approx(ndcg(t)[0], rel=1e-15)
    # Custom gains (ir-measures' nDCG(gains=...)): level 2 -> 3.
    dcg = 1 / math.log2(2) + 3 / math.log2(3)
    assert ndcg_at(t, [2], gains={2: 3})[0, 0] == pytest.approx(dcg / (3 + 1 / math.log2(3)), rel=1e-15)


# ----------------------------------------------------------------------------- rbp
def test_rbp_rescales_gains_outside_zero_one_and_reads_p() -> None:
    t = topics({"q": {"a": 2, "b": 0, "c": 1}}, {"q": ranked("a", "b", "c")})
    # levels 0..2 -> gains 0, 0.5, 1 after (g - 0) / (2 - 0); p = 0.5: 0.5 * (1 + 0 + 0.5 * 0.25)
    assert rbp(t, (("p", 0.5),))[0] == 0.5 * (1.0 + 0.5 * 0.25)


def test_rbp_resid_adds_the_tail_and_the_unjudged_weight() -> None:
    t = topics({"q": {"a": 1, "p": -1}}, {"q": ranked("a", "u", "p")})
    # unjudged at 0-based ranks 1 and 2: p^3 + (1 - p) * (p + p^2)
    assert rbp_residual(t)[0] == pytest.approx(0.9**3 + 0.1 * (0.9 + 0.81), rel=1e-15)
    assert rbp_residual(topics({"q": {"a": 1}}, {"q": ranked("a")}))[0] == 0.0


# ----------------------------------------------------------------------------- sequential sums
@pytest.mark.parametrize("segments", [3, 400])  # fewer segments than positions, and more
def test_segmented_cumsum_is_sequential_within_each_segment(segments: int) -> None:
    rng = np.random.default_rng(segments)
    lengths = rng.integers(0, 40, size=segments)
    starts = np.cumsum(lengths) - lengths
    values = rng.random(int(lengths.sum())) * 10.0 ** rng.integers(-8, 8, size=int(lengths.sum()))
    got = segmented_cumsum(values, starts, lengths)
    for s, n in zip(starts.tolist(), lengths.tolist(), strict=True):
        running = 0.0
        for k in range(n):
            running += float(values[s + k])
            assert got[s + k] == running


# ----------------------------------------------------------------------------- -J and -M
def test_judged_only_removes_unjudged_documents_before_ranking() -> None:
    qrels = {"q": {"a": 1, "b": 0}}
    run = {"q": ranked("u", "a", "b")}
    assert precision(topics(qrels, run), [1])[0, 0] == 0.0
    assert precision(topics(qrels, run, judged_only=True), [1])[0, 0] == 1.0


def test_max_docs_truncates_before_everything() -> None:
    qrels = {"q": {"a": 1, "b": 1}}
    run = {"q": ranked("x", "a", "b")}
    result = evaluate_trec(topics(qrels, run, max_docs=2), ["num_ret", "P.2,3", "map"])
    assert result.per_topic["num_ret"].tolist() == [2.0]
    assert result.per_topic["P_3"].tolist() == [1 / 3]
    assert result.summary["map"] == pytest.approx((1 / 2) / 2)


# ----------------------------------------------------------------------------- parameters
def test_parameter_parsing_matches_trec_eval() -> None:
    assert parse_long_cutoffs("10,20,23.4").values == (10, 20, 23)
    assert parse_double_cutoffs(".75,.10").values == (0.1, 0.75)
    assert parse_pairs("1=3,2=9,4=4.5").pairs == (("1", 3.0), ("2", 9.0), ("4", 4.5))
    specs = ["P.7,3", "iprec_at_recall..1", "ndcg.1=3", "utility.2,-1,0,0"]
    names = [n for s in select_measures(specs) for n in s.names]
    assert names == ["iprec_at_recall_0.10", "P_3", "P_7", "utility_2,-1,0,0", "ndcg_1=3"]


def test_first_parameters_win_and_sets_expand_in_trec_eval_order() -> None:
    names = [n for s in select_measures(["P.5", "map", "P.10"]) for n in s.names]
    assert names == ["map", "P_5"]
    official = [s.measure.name for s in select_measures(None)]
    assert official[:3] == ["runid", "num_q", "num_ret"] and official[-1] == "P"


@pytest.mark.parametrize(
    "spec",
    ["nope", "P.0", "P.5,5", "P.", "ndcg.1=3,2", "ndcg.1==2", "prefs_simp", "all_prefs", "utility.1,2"],
)
def test_bad_measures_raise_measure_error(spec: str) -> None:
    t = topics({"q": {"a": 1}}, {"q": ranked("a")})
    with pytest.raises(MeasureError):
        evaluate_trec(t, [spec])


# ----------------------------------------------------------------------------- output and cli
def test_c_float_formats_like_printf() -> None:
    assert c_float(0.03125) == "0.0312"  # exact tie: round half to even, as glibc
    assert c_float(-0.0) == "-0.0000"
    assert c_float(-412.66666) == "-412.6667"
    assert c_float(float(np.float64(0.0) / np.float64(-1.0) * np.nan)) in ("   nan", "  -nan")


def test_cli_rejects_preference_formats_and_unknown_options() -> None:
    with pytest.raises(InputError, match="prefs"):
        main(["-R", "prefs", "q", "r"], io.StringIO())
    with pytest.raises(InputError, match="invalid option"):
        main(["-x", "q", "r"], io.StringIO())
    with pytest.raises(InputError, match="illegal measure 'foo'"):
        main(["-m", "foo", "q", "r"], io.StringIO())


def test_cli_option_styles() -> None:
    opts = parse_args(shlex.split("-qc -M100 -m P.5 -mall_trec qrels run -l2 --Judged_docs_only"))
    assert opts.per_query and opts.complete and opts.judged_only
    assert (opts.max_docs, opts.relevance_level) == (100, 2)
    assert opts.measures == ["P.5", "all_trec"] and opts.files == ["qrels", "run"]


def test_cli_complete_flag_zeroes_absent_topics(tmp_path) -> None:
    (tmp_path / "qrels").write_text("q1 0 a 1\nq2 0 b 1\n")
    (tmp_path / "run").write_text("q1 Q0 a 1 1.0 tag\n")
    out = io.StringIO()
    argv = shlex.split("-c -q -m num_ret -m utility.1,1,1,0 -m num_q")
    main([*argv, str(tmp_path / "qrels"), str(tmp_path / "run")], out)
    assert out.getvalue().splitlines() == [
        "num_ret               \tq1\t1",
        "utility_1,1,1,0       \tq1\t1.0000",
        "num_ret               \tq2\t0",
        "utility_1,1,1,0       \tq2\t0.0000",
        "num_q                 \tall\t2",
        "num_ret               \tall\t1",
        "utility_1,1,1,0       \tall\t0.5000",
    ]


# ----------------------------------------------------------------------------- oracle: pytrec_eval
UNCHANGED_SINCE_9 = [
    "map", "gm_map", "Rprec", "bpref", "recip_rank", "P", "recall", "infAP", "gm_bpref", "Rprec_mult",
    "utility", "binG", "G", "ndcg", "ndcg_rel", "Rndcg", "ndcg_cut", "map_cut", "relative_P", "success",
    "set_P", "set_relative_P", "set_recall", "set_map", "set_F", "num_nonrel_judged_ret",
]  # fmt: skip


def random_collection(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    qrels: dict = {}
    run: dict = {}
    for q in range(int(rng.integers(1, 6))):
        docs = [f"d{i}" for i in range(int(rng.integers(1, 30)))]
        judged = rng.choice(len(docs), size=int(rng.integers(1, len(docs) + 1)), replace=False)
        qrels[f"q{q}"] = {docs[i]: int(rng.choice([-1, 0, 0, 1, 1, 2, 3])) for i in judged}
        qrels[f"q{q}"][docs[judged[0]]] = int(rng.integers(0, 3))  # at least one judged level
        ret = rng.choice(len(docs), size=int(rng.integers(1, len(docs) + 1)), replace=False)
        ties = rng.random() < 0.5
        scores = rng.integers(0, 4, size=ret.size) if ties else rng.random(ret.size)
        run[f"q{q}"] = {docs[i]: float(s) for i, s in zip(ret, scores, strict=True)}
    return qrels, run


@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_pytrec_eval_where_trec_eval_did_not_change(seed: int) -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, run = random_collection(seed)
    for level, judged_only in ((1, False), (2, False), (1, True)):
        reference = pytrec_eval.RelevanceEvaluator(
            qrels, set(UNCHANGED_SINCE_9), relevance_level=level, judged_docs_only_flag=judged_only
        ).evaluate(run)
        t = topics(qrels, run, relevance_level=level, judged_only=judged_only)
        result = evaluate_trec(t, UNCHANGED_SINCE_9, absent=np.zeros(t.num_topics, dtype=bool))
        for i, qid in enumerate(t.query_ids):
            for name, values in result.per_topic.items():
                assert values[i] == reference[qid][name], (qid, name, level, judged_only)


# ----------------------------------------------------------------------------- oracle: C loops
def _entries(pairs: tuple, counts: list[int], levels: int) -> list[list]:
    """gain_init.c's setup_gains, transcribed: [level, gain, count] sorted by truncated gain difference."""
    entries = [[int(n), v, 0] for n, v in pairs if n.lstrip("+-").isdigit()]
    for i in range(levels):
        hit = next((e for e in entries if e[0] == i), None)
        if hit is not None:
            hit[2] = counts[i]
        else:
            entries.append([i, float(i), counts[i]])
    order = glibc_msort([(j, e[1]) for j, e in enumerate(entries)], lambda a, b: int(a[1] - b[1]))
    return [entries[j] for j, _ in order]


class _IdealWalk:
    def __init__(self, entries: list[list]) -> None:
        self.entries, self.cur, self.num = entries, len(entries) - 1, 0
        self.gain = entries[self.cur][1] if self.cur >= 0 else 0.0

    def advance(self) -> None:
        self.num += 1
        while self.cur >= 0 and self.num > self.entries[self.cur][2]:
            self.num, self.cur = 1, self.cur - 1
            self.gain = self.entries[self.cur][1] if self.cur >= 0 else 0.0


def _gain_of(rel: int, entries: list[list]) -> float:
    return next((e[1] for e in entries if e[0] == rel), 0.0)


def _oracle(rels: list[int], counts: list[int], levels: int, pairs: tuple, num_rel: int) -> dict[str, float]:
    e = _entries(pairs, counts, levels)
    g = [_gain_of(r, e) for r in rels]
    out: dict[str, float] = {}
    # ndcg
    w, res, ideal, i = _IdealWalk(e), 0.0, 0.0, 0
    while i < len(rels) and w.gain > 0:
        res += g[i] / math.log2(i + 2) if g[i] != 0 else 0.0
        w.advance()
        ideal += w.gain / math.log2(i + 2) if w.gain > 0 else 0.0
        i += 1
    for j in range(i, len(rels)):
        res += g[j] / math.log2(j + 2) if g[j] != 0 else 0.0
    while w.gain > 0:
        w.advance()
        ideal += w.gain / math.log2(i + 2) if w.gain > 0 else 0.0
        i += 1
    out["ndcg"] = res / ideal if ideal > 0 else 0.0
    # Rndcg
    if num_rel == 0:
        out["Rndcg"] = 0.0
    else:
        w, res, ideal, total, changes, i = _IdealWalk(e), 0.0, 0.0, 0.0, 0, 0
        old = w.gain
        while i < len(rels) and w.gain > 0:
            w.advance()
            if old != w.gain:
                if ideal > 0:
                    total, changes = total + res / ideal, changes + 1
                old = w.gain
            res += g[i] / math.log2(i + 2) if g[i] != 0 else 0.0
            ideal += w.gain / math.log2(i + 2) if w.gain > 0 else 0.0
            i += 1
        if i < len(rels):
            for j in range(i, len(rels)):
                res += g[j] / math.log2(j + 2) if g[j] != 0 else 0.0
            i = len(rels)
            if ideal > 0:
                total, changes = total + res / ideal, changes + 1
        while w.gain > 0:
            w.advance()
            if old != w.gain:
                if ideal > 0:
                    total, changes = total + res / ideal, changes + 1
                old = w.gain
            ideal += w.gain / math.log2(i + 2) if w.gain > 0 else 0.0
            i += 1
        out["Rndcg"] = total / changes if changes else math.nan
    out["ndcg_rel"] = _oracle_ndcg_rel(g, e)
    out["G"] = _oracle_g(g, e)
    return out


def _div(a: float, b: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _log2(x: float) -> float:
    return math.log2(x) if x > 0 else (-math.inf if x == 0 else math.nan)


def _oracle_ndcg_rel(g: list[float], e: list[list]) -> float:
    w, res, ideal, total, nrel, nrr, i = _IdealWalk(e), 0.0, 0.0, 0.0, 0, 0, 0
    while i < len(g) and w.gain > 0:
        res += g[i] / math.log2(i + 2) if g[i] != 0 else 0.0
        w.advance()
        if w.gain > 0:
            nrel, ideal = nrel + 1, ideal + w.gain / math.log2(i + 2)
        if g[i] > 0:
            total, nrr = total + _div(res, ideal), nrr + 1
        i += 1
    for j in range(i, len(g)):
        res += g[j] / math.log2(j + 2) if g[j] != 0 else 0.0
        if g[j] > 0:
            total, nrr = total + _div(res, ideal), nrr + 1
    i = max(i, len(g))
    while w.gain > 0:
        w.advance()
        if w.gain > 0:
            nrel, ideal = nrel + 1, ideal + w.gain / math.log2(i + 2)
        i += 1
    total += _div(float(nrel - nrr) * res, ideal)
    return _div(total, nrel) if total > 0 else 0.0


def _oracle_g(g: list[float], e: list[list]) -> float:
    w, results_g, sum_results, sum_ideal, sum_cost, i = _IdealWalk(e), 0.0, 0.0, 0.0, 0.0, 0
    while i < len(g) and w.gain > 0:
        sum_results += g[i]
        w.advance()
        sum_ideal += w.gain if w.gain > 0 else 0.0
        sum_cost += w.gain if w.gain >= 1.0 else 1.0
        if g[i] != 0:
            results_g += _div(g[i], _log2(2 + sum_cost - sum_results))
        i += 1
    for j in range(i, len(g)):
        sum_results += g[j]
        sum_cost += 1.0
        if g[j] != 0:
            results_g += _div(g[j], _log2(2 + sum_cost - sum_results))
    while w.gain > 0:
        w.advance()
        sum_ideal += w.gain if w.gain > 0 else 0.0
    return results_g / sum_ideal if sum_ideal > 0 else 0.0


@pytest.mark.parametrize("seed", range(60))
def test_gain_pair_measures_match_a_transcription_of_the_c_loops(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    qrels, run = random_collection(seed)
    choices = ["0", "1", "2", "3", "4", "-1", "p"]
    pairs = tuple(
        (str(rng.choice(choices)), float(rng.choice([-1.0, 0.0, 0.3, 0.5, 1.0, 1.2, 2.5, 4.0, 9.0])))
        for _ in range(int(rng.integers(0, 4)))
    )
    t = topics(qrels, run)
    got = {
        "ndcg": ndcg(t, pairs),
        "Rndcg": r_ndcg(t, pairs),
        "ndcg_rel": ndcg_rel(t, pairs),
        "G": gain(t, pairs),
    }
    for i in range(t.num_topics):
        counts = t.rel_levels[i].tolist()
        levels = max((lv + 1 for lv, c in enumerate(counts) if c), default=0)
        want = _oracle(t.topic(i).tolist(), counts, levels, pairs, int(t.num_rel[i]))
        for name, value in want.items():
            assert got[name][i] == value or (math.isnan(value) and math.isnan(got[name][i])), (name, pairs)

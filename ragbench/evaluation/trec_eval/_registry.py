"""The trec_eval 10.0 measure table: names, parameters, defaults, averaging, printing, measure sets.

The order of :data:`MEASURES` is trec_eval's ``te_trec_measures`` order, which is also the
order measures are printed in, whatever order ``-m`` named them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ragbench.errors import MeasureError
from ragbench.evaluation.trec_eval import _average_precision as ap
from ragbench.evaluation.trec_eval import _bpref as bp
from ragbench.evaluation.trec_eval import _gain_measures as gm
from ragbench.evaluation.trec_eval import _ndcg as dc
from ragbench.evaluation.trec_eval import _precision as pr
from ragbench.evaluation.trec_eval._params import (
    CutoffParams,
    DoubleParams,
    PairParams,
    double_cutoff_names,
    long_cutoff_names,
    param_name,
    parse_double_cutoffs,
    parse_double_params,
    parse_long_cutoffs,
    parse_pairs,
)
from ragbench.evaluation.trec_eval._view import TopicView

__all__ = ["MEASURES", "MEASURE_SETS", "MeasureDef", "Params", "lookup", "relstrings"]

ParamKind = Literal["none", "long_cutoffs", "double_cutoffs", "doubles", "pairs"]
Output = Literal["double", "long", "relstring", "runid"]
Average = Literal["mean", "sum", "geometric", "num_q", "none"]
Params = CutoffParams | DoubleParams | PairParams | None

_CUTS = (5, 10, 15, 20, 30, 100, 200, 500, 1000)
_RECALL_POINTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True, slots=True)
class MeasureDef:
    """One trec_eval measure.

    Attributes:
        name: trec_eval's name (``P``, ``ndcg_cut``...).
        kind: how ``-m name.params`` is parsed.
        default: parameters when none are given.
        output: printed as ``%6.4f`` (double), ``%ld`` (long), quoted string, or the run id.
        average: how the ``all`` line combines topics: arithmetic mean, sum, geometric mean
            (per-topic values are logs), the topic count, or no summary.
        per_query: printed for each topic with ``-q``.
        compute: ``(view, params) -> (n_topics, n_values)`` array.
    """

    name: str
    kind: ParamKind
    default: Params
    output: Output
    average: Average
    per_query: bool
    compute: Callable[[TopicView, Params], np.ndarray]

    def parse(self, text: str | None) -> Params:
        """Parameters from the text after ``name.`` (``None``: the defaults).

        Raises:
            MeasureError: malformed parameters, or parameters for a measure that takes none.
        """
        if text is None:
            return self.default
        if text == "":
            raise MeasureError(f"trec_eval: improper measure in parameter '{self.name}'")
        if self.kind == "long_cutoffs":
            return parse_long_cutoffs(text)
        if self.kind == "double_cutoffs":
            return parse_double_cutoffs(text)
        if self.kind == "doubles":
            return parse_double_params(text)
        if self.kind == "pairs":
            return parse_pairs(text)
        return self.default  # trec_eval ignores parameters of measures that take none

    def value_names(self, params: Params) -> list[str]:
        """The printed names of this measure's values under ``params``."""
        if isinstance(params, CutoffParams):
            if self.kind == "long_cutoffs":
                return long_cutoff_names(self.name, params.values)  # type: ignore[arg-type]
            return double_cutoff_names(self.name, params.values)
        if isinstance(params, DoubleParams | PairParams):
            return [param_name(self.name, params.printable)]
        return [self.name]


def _col(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1, 1)


def _cuts(params: Params) -> tuple[int, ...]:
    assert isinstance(params, CutoffParams)
    return tuple(int(c) for c in params.values)


def _fracs(params: Params) -> tuple[float, ...]:
    assert isinstance(params, CutoffParams | DoubleParams)
    return tuple(float(c) for c in params.values)


def _cut_gains(params: Params) -> dict[int, float] | None:
    gains = params.gains if isinstance(params, CutoffParams) else None
    return dict(gains) if gains else None


def _pairs(params: Params) -> tuple[tuple[str, float], ...]:
    return params.pairs if isinstance(params, PairParams) else ()


def _doubles(params: Params) -> tuple[float, ...]:
    assert isinstance(params, DoubleParams)
    return params.values


def _absent_zero(view: TopicView, values: np.ndarray) -> np.ndarray:
    values[view.absent] = 0
    return values


def relstrings(view: TopicView, length: int) -> list[str]:
    """``relstring``: the first ``length`` judgments as characters (``-`` not pooled, ``.`` unjudged)."""
    out = []
    for i in range(view.n):
        if view.absent[i] or length <= 0:
            out.append("")
            continue
        chunk = view.rel[view.starts[i] : view.starts[i] + min(length, int(view.lengths[i]))].tolist()
        out.append(
            "".join(
                ">" if r > 9 else chr(48 + r) if r >= 0 else "-" if r == -1 else "." if r == -2 else "<"
                for r in chunk
            )
        )
    return out


def _relstring(view: TopicView, params: Params) -> np.ndarray:
    first = _doubles(params)[0] if _doubles(params) else 0.0
    length = int(first) if math.isfinite(first) else 0  # (long) NaN/inf is LONG_MIN on x86-64
    return np.asarray(relstrings(view, length), dtype=object).reshape(-1, 1)


_NONE = None
MEASURES: tuple[MeasureDef, ...] = (
    MeasureDef("runid", "none", _NONE, "runid", "none", False, lambda v, p: np.zeros((v.n, 0))),
    MeasureDef("num_q", "none", _NONE, "long", "num_q", False, lambda v, p: np.ones((v.n, 1))),
    MeasureDef("num_ret", "none", _NONE, "long", "sum", True, lambda v, p: _absent_zero(v, _col(v.lengths))),
    MeasureDef("num_rel", "none", _NONE, "long", "sum", True, lambda v, p: _col(v.num_rel)),
    MeasureDef("num_rel_ret", "none", _NONE, "long", "sum", True, lambda v, p: _col(v.num_rel_ret)),
    MeasureDef("map", "none", _NONE, "double", "mean", True, lambda v, p: _col(ap.average_precision(v))),
    MeasureDef(
        "gm_map", "none", _NONE, "double", "geometric", False, lambda v, p: _col(ap.log_average_precision(v))
    ),
    MeasureDef("Rprec", "none", _NONE, "double", "mean", True, lambda v, p: _col(pr.r_precision(v))),
    MeasureDef("bpref", "none", _NONE, "double", "mean", True, lambda v, p: _col(bp.bpref(v))),
    MeasureDef("recip_rank", "none", _NONE, "double", "mean", True, lambda v, p: _col(pr.reciprocal_rank(v))),
    MeasureDef(
        "iprec_at_recall",
        "double_cutoffs",
        CutoffParams(_RECALL_POINTS),
        "double",
        "mean",
        True,
        lambda v, p: ap.interpolated_precision(v, _fracs(p)),
    ),
    MeasureDef(
        "P",
        "long_cutoffs",
        CutoffParams(_CUTS),
        "double",
        "mean",
        True,
        lambda v, p: pr.precision(v, _cuts(p)),
    ),
    MeasureDef("relstring", "doubles", DoubleParams((10.0,)), "relstring", "none", True, _relstring),
    MeasureDef(
        "recall",
        "long_cutoffs",
        CutoffParams(_CUTS),
        "double",
        "mean",
        True,
        lambda v, p: pr.recall(v, _cuts(p)),
    ),
    MeasureDef(
        "infAP", "none", _NONE, "double", "mean", True, lambda v, p: _col(bp.inferred_average_precision(v))
    ),
    MeasureDef("gm_bpref", "none", _NONE, "double", "geometric", False, lambda v, p: _col(bp.log_bpref(v))),
    MeasureDef(
        "Rprec_mult",
        "double_cutoffs",
        CutoffParams((0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0)),
        "double",
        "mean",
        True,
        lambda v, p: pr.r_precision_multiples(v, _fracs(p)),
    ),
    MeasureDef(
        "utility",
        "doubles",
        DoubleParams((1.0, -1.0, 0.0, 0.0)),
        "double",
        "mean",
        True,
        lambda v, p: _col(pr.utility(v, _utility_coefficients(p))),
    ),
    MeasureDef(
        "11pt_avg",
        "doubles",
        DoubleParams(_RECALL_POINTS),
        "double",
        "mean",
        True,
        lambda v, p: _col(ap.eleven_point_average(v, _fracs(p))),
    ),
    MeasureDef("binG", "none", _NONE, "double", "mean", True, lambda v, p: _col(gm.binary_gain(v))),
    MeasureDef("G", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(gm.gain(v, _pairs(p)))),
    MeasureDef(
        "dcg", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(dc.dcg_parts(v, _pairs(p))[0])
    ),
    MeasureDef(
        "ideal_dcg", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(dc.dcg_parts(v, _pairs(p))[1])
    ),
    MeasureDef("ndcg", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(dc.ndcg(v, _pairs(p)))),
    MeasureDef(
        "ndcg_rel", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(dc.ndcg_rel(v, _pairs(p)))
    ),
    MeasureDef("Rndcg", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(dc.r_ndcg(v, _pairs(p)))),
    MeasureDef(
        "ndcg_cut",
        "long_cutoffs",
        CutoffParams(_CUTS),
        "double",
        "mean",
        True,
        lambda v, p: dc.ndcg_at(v, _cuts(p), gains=_cut_gains(p)),
    ),
    MeasureDef(
        "map_cut",
        "long_cutoffs",
        CutoffParams(_CUTS),
        "double",
        "mean",
        True,
        lambda v, p: ap.average_precision_at(v, _cuts(p)),
    ),
    MeasureDef(
        "relative_P",
        "long_cutoffs",
        CutoffParams(_CUTS),
        "double",
        "mean",
        True,
        lambda v, p: pr.relative_precision(v, _cuts(p)),
    ),
    MeasureDef(
        "success",
        "long_cutoffs",
        CutoffParams((1, 5, 10)),
        "double",
        "mean",
        True,
        lambda v, p: pr.success(v, _cuts(p)),
    ),
    MeasureDef("set_P", "none", _NONE, "double", "mean", True, lambda v, p: _col(pr.set_precision(v))),
    MeasureDef(
        "set_relative_P",
        "none",
        _NONE,
        "double",
        "mean",
        True,
        lambda v, p: _col(pr.set_relative_precision(v)),
    ),
    MeasureDef("set_recall", "none", _NONE, "double", "mean", True, lambda v, p: _col(pr.set_recall(v))),
    MeasureDef("set_map", "none", _NONE, "double", "mean", True, lambda v, p: _col(pr.set_map(v))),
    MeasureDef(
        "set_F",
        "doubles",
        DoubleParams((1.0,)),
        "double",
        "mean",
        True,
        lambda v, p: _col(pr.set_f(v, _doubles(p)[0])),
    ),
    MeasureDef(
        "num_nonrel_judged_ret",
        "none",
        _NONE,
        "long",
        "sum",
        True,
        lambda v, p: _col(pr.num_nonrel_judged_ret(v)),
    ),
    MeasureDef(
        "num_nonjudged_ret", "none", _NONE, "long", "sum", True, lambda v, p: _col(pr.num_nonjudged_ret(v))
    ),
    MeasureDef("yaap", "none", _NONE, "double", "mean", True, lambda v, p: _col(ap.yaap(v))),
    MeasureDef("rbp", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(gm.rbp(v, _pairs(p)))),
    MeasureDef(
        "rbp_resid", "pairs", _NONE, "double", "mean", True, lambda v, p: _col(gm.rbp_residual(v, _pairs(p)))
    ),
    MeasureDef(
        "unj",
        "long_cutoffs",
        CutoffParams((5, 10, 20)),
        "double",
        "mean",
        True,
        lambda v, p: pr.unjudged(v, _cuts(p)),
    ),
)


def _utility_coefficients(params: Params) -> tuple[float, float, float, float]:
    values = _doubles(params)
    if len(values) != 4:
        raise MeasureError("trec_eval.calc_utility: improper number of coefficients (utility needs 4)")
    return values[0], values[1], values[2], values[3]


_OFFICIAL = (
    "runid",
    "num_q",
    "num_ret",
    "num_rel",
    "num_rel_ret",
    "map",
    "gm_map",
    "Rprec",
    "bpref",
    "recip_rank",
    "iprec_at_recall",
    "P",
)
MEASURE_SETS: dict[str, tuple[str, ...]] = {
    "official": _OFFICIAL,
    "set": (
        "runid",
        "num_q",
        "num_ret",
        "num_rel",
        "num_rel_ret",
        "utility",
        "set_P",
        "set_recall",
        "set_relative_P",
        "set_map",
        "set_F",
    ),
    "all_trec": (
        *_OFFICIAL,
        "relstring",
        "recall",
        "unj",
        "rbp",
        "rbp_resid",
        "infAP",
        "gm_bpref",
        "utility",
        "11pt_avg",
        "ndcg",
        "relative_P",
        "Rprec_mult",
        "success",
        "map_cut",
        "ndcg_cut",
        "ndcg_rel",
        "Rndcg",
        "binG",
        "G",
        "set_P",
        "set_recall",
        "set_relative_P",
        "set_map",
        "set_F",
        "num_nonrel_judged_ret",
    ),
}
"""trec_eval's nicknames for sets of measures (``-m all_trec``), restricted to the qrels format."""

UNSUPPORTED_SETS = ("all_prefs", "prefs", "qrels_jg")
"""Nicknames of preference / judgment-group measures, which need ``-R prefs``/``qrels_jg`` input."""

_BY_NAME = {m.name: m for m in MEASURES}


def lookup(name: str) -> MeasureDef:
    """The measure called ``name``.

    Raises:
        MeasureError: no such measure (the message lists the known ones).
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(m.name for m in MEASURES)
        raise MeasureError(f"trec_eval: illegal measure '{name}' (known measures: {known})") from None

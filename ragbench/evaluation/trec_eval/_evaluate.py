"""Evaluate a set of trec_eval measures over :class:`PreparedTopics`: per topic and over all topics.

:func:`evaluate_trec` is the library entry point. It resolves measure specifications the way
``trec_eval -m`` does (nicknames, ``name.params``, first parameters given win, printing in
trec_eval's measure order) and returns a :class:`TrecEvalResult`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ragbench.errors import MeasureError
from ragbench.evaluation.prepared import PreparedTopics
from ragbench.evaluation.trec_eval._registry import (
    MEASURE_SETS,
    MEASURES,
    UNSUPPORTED_SETS,
    MeasureDef,
    Params,
    lookup,
)
from ragbench.evaluation.trec_eval._view import TopicView

__all__ = [
    "MeasureSpec",
    "MeasureValues",
    "SelectedMeasure",
    "TrecEvalResult",
    "evaluate_trec",
    "select_measures",
    "spec_text",
    "summarize",
    "to_zscores",
]

MISSING_ZSCORE_VALUE = -1000000.0
"""What trec_eval -Z reports for a (topic, measure) missing from the z-score file."""

_PREFS_MEASURES = ("prefs_", "map_avgjg", "P_avgjg", "Rprec_mult_avgjg")


@dataclass(frozen=True, slots=True)
class SelectedMeasure:
    """A measure with its resolved parameters and the names of the values it produces."""

    measure: MeasureDef
    params: Params
    names: tuple[str, ...]


MeasureSpec = str | tuple[str, object]
"""``"P.5,10"``, or ``("P", (5, 10))`` / ``("ndcg", {1: 3, 2: 9})`` / ``("map", None)``."""


def spec_text(spec: MeasureSpec) -> str:
    """The ``-m`` text of a measure specification: ``("P", (5, 10))`` -> ``"P.5,10"``."""
    if isinstance(spec, str):
        return spec
    name, params = spec
    if params is None:
        return name
    if isinstance(params, str):
        return f"{name}.{params}"
    if isinstance(params, Mapping):
        return f"{name}." + ",".join(f"{k}={v}" for k, v in params.items())
    if isinstance(params, Iterable):
        return f"{name}." + ",".join(str(p) for p in params)
    return f"{name}.{params}"


def select_measures(specs: Iterable[MeasureSpec] | None = None) -> list[SelectedMeasure]:
    """Resolve ``-m`` arguments (``official``, ``all_trec``, ``P.5,10``, ``ndcg.1=3``...) as trec_eval does.

    Args:
        specs: measure arguments in command-line order (strings, or ``(name, params)`` tuples,
            see :func:`spec_text`); ``None`` or empty means ``official``.

    Returns:
        The selected measures in trec_eval's printing order. When a measure is given
        parameters more than once, the first parameters win (trec_eval's rule).

    Raises:
        MeasureError: an unknown measure or set, a preference measure (needs ``-R prefs``), or
            malformed parameters.
    """
    texts = [spec_text(s) for s in specs or ()] or ["official"]
    params_given: list[tuple[str, str]] = []
    marked: set[str] = set()
    for spec in texts:
        name, dot, text = spec.partition(".")
        if dot:
            if text == "":
                raise MeasureError(f"trec_eval: improper measure in parameter '{name}'")
            params_given.append((name, text))
        if name in MEASURE_SETS:
            marked.update(MEASURE_SETS[name])
        elif name in UNSUPPORTED_SETS or name.startswith(_PREFS_MEASURES):
            raise MeasureError(
                f"trec_eval: measure '{name}' needs preference or judgment-group input (-R prefs, "
                "qrels_prefs or qrels_jg), which ragbench does not support"
            )
        else:
            marked.add(lookup(name).name)
    selected = []
    for measure in MEASURES:
        if measure.name in marked:
            given = next((t for n, t in params_given if n == measure.name), None)
            params = measure.parse(given)
            selected.append(SelectedMeasure(measure, params, tuple(measure.value_names(params))))
    return selected


@dataclass(frozen=True, slots=True)
class MeasureValues:
    """One selected measure's per-topic values: ``(n_topics, len(selected.names))``.

    float64, except ``relstring`` (str objects); ``runid`` has no columns.
    """

    selected: SelectedMeasure
    values: np.ndarray


def _sequential_sum(values: np.ndarray) -> float:
    """``accum += value`` over topics in order, starting from 0.0, as trec_eval accumulates."""
    return float(np.cumsum(np.concatenate(([0.0], values.astype(np.float64))))[-1])


def summarize(measure: MeasureDef, values: np.ndarray, num_topics: int) -> float:
    """The ``all`` value of one column of per-topic values, by the measure's averaging rule."""
    if measure.average == "num_q":
        return float(num_topics)
    total = _sequential_sum(values)
    if measure.average == "sum":
        return total
    if num_topics == 0:
        return total
    if measure.average == "geometric":
        return math.exp(total / num_topics)
    return total / num_topics


@dataclass(frozen=True)
class TrecEvalResult:
    """trec_eval's numbers for one run.

    Attributes:
        query_ids: the evaluated topics, in trec_eval's order (the rows of every array).
        run_id: the run tag trec_eval reports.
        measures: the selected measures with their per-topic values, in printing order.
        per_topic: value name (``P_10``, ``ndcg_cut_10``, ``map``...) -> per-topic array. For
            ``gm_map``/``gm_bpref`` these are trec_eval's per-topic ``log(max(x, 1e-5))``;
            ``relstring`` is an array of str; counts are float64 holding integers.
        summary: value name -> the ``all`` value (float; ``runid`` -> str), as trec_eval prints it
            before formatting (``num_ret`` is a sum, ``gm_map`` a geometric mean...).
    """

    query_ids: tuple[str, ...]
    run_id: str
    measures: list[MeasureValues]
    per_topic: dict[str, np.ndarray] = field(default_factory=dict)
    summary: dict[str, float | str] = field(default_factory=dict)


def to_zscores(
    result: TrecEvalResult, zscores: Mapping[str, Mapping[str, tuple[float, float]]]
) -> list[MeasureValues]:
    """Per-topic values as z-scores against ``zscores[query_id][value_name] = (mean, stddev)``.

    trec_eval's ``te_convert_to_zscore``: ``(value - mean) / stddev``; with stddev 0 the score is
    0 if the value equals the mean; anything missing becomes -1000000.
    """
    out = []
    for mv in result.measures:
        if mv.selected.measure.output in ("relstring", "runid"):
            out.append(mv)
            continue
        values = np.array(mv.values, dtype=np.float64, copy=True)
        for i, qid in enumerate(result.query_ids):
            table = zscores.get(qid)
            for j, name in enumerate(mv.selected.names):
                entry = table.get(name) if table is not None else None
                if entry is None:
                    values[i, j] = MISSING_ZSCORE_VALUE
                    continue
                mean, std = entry
                if std:
                    values[i, j] = (values[i, j] - mean) / std
                else:
                    values[i, j] = 0.0 if values[i, j] == mean else MISSING_ZSCORE_VALUE
        out.append(MeasureValues(mv.selected, values))
    return out


def summaries(measures: Sequence[MeasureValues], num_topics: int, run_id: str) -> dict[str, float | str]:
    """The ``all`` value of every value of ``measures``."""
    out: dict[str, float | str] = {}
    for mv in measures:
        m = mv.selected.measure
        if m.output == "runid":
            out["runid"] = run_id
        elif m.average != "none":
            for j, name in enumerate(mv.selected.names):
                out[name] = summarize(m, mv.values[:, j], num_topics)
    return out


def evaluate_trec(
    prepared: PreparedTopics,
    measures: Iterable[MeasureSpec] | None = None,
    *,
    absent: np.ndarray | None = None,
    placeholder_ranked: bool = True,
    num_docs_in_coll: int = 0,
) -> TrecEvalResult:
    """Compute trec_eval 10.0 measures for every topic at once.

    Args:
        prepared: the run joined with the qrels (``prepare(..., relevance_level=-l,
            complete=-c, max_docs=-M, judged_only=-J)``).
        measures: trec_eval measure arguments, e.g. ``["map", "P.5,10", "ndcg_cut.10"]``,
            ``[("P", (5, 10)), ("ndcg", {1: 3, 2: 9})]`` or ``["all_trec"]``; default ``official``.
        absent: bool per topic: qrels topics the run lacks (``-c``). Default: every empty topic.
        placeholder_ranked: False under ``-J`` or ``-M 0``, where trec_eval's placeholder
            ranking for absent topics is itself emptied (see :class:`TopicView`).
        num_docs_in_coll: ``-N``, for ``utility``'s fourth coefficient.

    Returns:
        A :class:`TrecEvalResult`; e.g. ``result.per_topic["ndcg_cut_10"]`` and
        ``result.summary["map"]``.

    Raises:
        MeasureError: unknown or malformed measure specifications.
    """
    selected = select_measures(measures)
    view = TopicView(
        prepared, absent=absent, placeholder_ranked=placeholder_ranked, num_docs_in_coll=num_docs_in_coll
    )
    computed = [MeasureValues(s, s.measure.compute(view, s.params)) for s in selected]
    per_topic: dict[str, np.ndarray] = {}
    for mv in computed:
        if mv.selected.measure.output == "runid":
            continue
        for j, name in enumerate(mv.selected.names):
            per_topic[name] = mv.values[:, j]
    return TrecEvalResult(
        query_ids=prepared.query_ids,
        run_id=prepared.run_id,
        measures=computed,
        per_topic=per_topic,
        summary=summaries(computed, prepared.num_topics, prepared.run_id),
    )

"""Per-topic scores as the statistics functions accept them, and their aligned array form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np

from ragbench.errors import InputError
from ragbench.stats._checks import check_choice

if TYPE_CHECKING:
    import pandas as pd

#: Per-topic scores of several runs on several measures, in either of two shapes:
#:
#: - a pandas DataFrame with columns ``run``, ``measure``, ``query_id``, ``value``: the rows of
#:   ``ir_measures.iter_calc`` (``Metric(query_id, measure, value)``) with a ``run`` column added;
#:   other columns are ignored;
#: - a nested mapping ``{run: {measure: {query_id: value}}}``.
#:
#: Measures may be strings or ir-measures ``Measure`` objects; both become ``str(measure)``, the
#: canonical name (``nDCG@10``). Query ids become strings. Values must be finite numbers, and a
#: (run, measure, query_id) may appear once.
PerTopicScores: TypeAlias = "pd.DataFrame | Mapping[str, Mapping[Any, Mapping[Any, float]]]"

MissingPolicy = Literal["zero", "common", "error"]
MISSING_POLICIES: tuple[str, ...] = ("zero", "common", "error")

COLUMNS: tuple[str, ...] = ("run", "measure", "query_id", "value")


@dataclass(frozen=True, eq=False, slots=True)
class ScoreTable:
    """Scores aligned on topics: one runs x topics array per measure.

    Attributes:
        runs: Run names, in input order (first appearance).
        measures: Canonical measure names, in input order.
        topics: Per measure, the sorted query ids: every query id any run has for that measure.
        values: Per measure, a float64 array (len(runs) x len(topics)).
    """

    runs: tuple[str, ...]
    measures: tuple[str, ...]
    topics: Mapping[str, tuple[str, ...]]
    values: Mapping[str, np.ndarray]

    def run_index(self, run: str) -> int:
        """Row of ``run`` in each values array.

        Raises:
            InputError: no run is called ``run``; the message lists the runs.
        """
        return self.runs.index(check_choice(run, "run", self.runs))


def to_score_table(scores: PerTopicScores, *, missing: MissingPolicy = "zero") -> ScoreTable:
    """Check per-topic scores and align them on topics.

    For each measure the topics are every query id that any run has a score for. A run that lacks
    one of them scores 0 there when ``missing="zero"`` (trec_eval's ``-c`` convention: a query the
    system did not answer retrieved nothing relevant); ``missing="common"`` keeps only the topics
    every run has (trec_eval's default, applied to all runs at once); ``missing="error"`` raises.

    Raises:
        InputError: an unknown ``missing`` policy, a DataFrame without the columns ``run``,
            ``measure``, ``query_id``, ``value``, a duplicate (run, measure, query_id), a value that
            is not a finite number, no scores at all, a run with no scores for some measure, or
            (``missing="error"``) a run without a score for some topic.
    """
    policy = check_choice(missing, "missing-topic policy", MISSING_POLICIES)
    if hasattr(scores, "columns") and hasattr(scores, "groupby"):
        runs, measures, topics, values = _from_frame(scores)
    elif isinstance(scores, Mapping):
        runs, measures, topics, values = _from_mapping(scores)
    else:
        raise InputError(
            "scores must be a DataFrame with columns run, measure, query_id, value "
            f"or a mapping {{run: {{measure: {{query_id: value}}}}}}, got {type(scores).__name__}"
        )
    if not runs or not measures:
        raise InputError("no scores given: need at least one run with one measure")
    for measure in measures:
        _apply_missing(values[measure], runs, measure, topics[measure], policy)
        if policy == "common":
            keep = ~np.isnan(values[measure]).any(axis=0)
            if not keep.any():
                raise InputError(f"measure {measure!r}: no topic has a score from every run")
            values[measure] = values[measure][:, keep]
            topics[measure] = tuple(t for t, k in zip(topics[measure], keep.tolist(), strict=True) if k)
    return ScoreTable(tuple(runs), tuple(measures), topics, values)


def _apply_missing(
    array: np.ndarray, runs: list[str], measure: str, topics: tuple[str, ...], policy: str
) -> None:
    absent = np.isnan(array)
    if not absent.any():
        return
    for r, run in enumerate(runs):
        if absent[r].all():
            raise InputError(f"run {run!r} has no scores for measure {measure!r}")
    if policy == "error":
        r = int(np.flatnonzero(absent.any(axis=1))[0])
        lacking = [topics[t] for t in np.flatnonzero(absent[r])]
        more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        shown = ", ".join(map(repr, lacking[:5])) + more
        raise InputError(
            f"run {runs[r]!r} lacks {len(lacking)} of the {len(topics)} topics of measure {measure!r} "
            f"({shown}); pass missing='zero' to score them 0"
        )
    if policy == "zero":
        array[absent] = 0.0


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: value {value!r} is not a number") from None
    if not np.isfinite(number):
        raise InputError(f"{where}: value {number} is not finite")
    return number


def _from_mapping(
    scores: Mapping[Any, Any],
) -> tuple[list[str], list[str], dict[str, tuple[str, ...]], dict[str, np.ndarray]]:
    runs = [str(run) for run in scores]
    if len(set(runs)) != len(runs):
        raise InputError("two runs have the same name")
    per_measure: dict[str, dict[str, dict[str, float]]] = {}
    for run, by_measure in zip(runs, scores.values(), strict=True):
        if not isinstance(by_measure, Mapping):
            raise InputError(f"run {run!r}: expected a mapping {{measure: {{query_id: value}}}}")
        for measure_key, by_topic in by_measure.items():
            measure = str(measure_key)
            if not isinstance(by_topic, Mapping):
                raise InputError(f"run {run!r}, measure {measure!r}: expected a mapping {{query_id: value}}")
            column = per_measure.setdefault(measure, {})
            if run in column:
                raise InputError(f"run {run!r}: measure {measure!r} is given twice")
            column[run] = {
                str(q): _number(v, f"run {run!r}, measure {measure!r}, query {q!r}")
                for q, v in by_topic.items()
            }
    topics: dict[str, tuple[str, ...]] = {}
    values: dict[str, np.ndarray] = {}
    for measure, column in per_measure.items():
        topics[measure] = tuple(sorted({q for by_topic in column.values() for q in by_topic}))
        position = {q: i for i, q in enumerate(topics[measure])}
        array = np.full((len(runs), len(position)), np.nan)
        for r, run in enumerate(runs):
            for q, v in column.get(run, {}).items():
                array[r, position[q]] = v
        values[measure] = array
    return runs, list(per_measure), topics, values


def _from_frame(
    frame: pd.DataFrame,
) -> tuple[list[str], list[str], dict[str, tuple[str, ...]], dict[str, np.ndarray]]:
    import pandas as pd

    lacking = [c for c in COLUMNS if c not in frame.columns]
    if lacking:
        raise InputError(
            f"scores DataFrame lacks column(s) {', '.join(lacking)}; "
            f"need {', '.join(COLUMNS)} (has {', '.join(map(str, frame.columns))})"
        )
    data = pd.DataFrame(
        {
            "run": frame["run"].astype(str),
            "measure": frame["measure"].map(str),
            "query_id": frame["query_id"].astype(str),
            "value": pd.to_numeric(frame["value"], errors="coerce").astype(np.float64),
        }
    )
    bad = ~np.isfinite(data["value"].to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = data.iloc[i]
        raise InputError(
            f"run {row['run']!r}, measure {row['measure']!r}, query {row['query_id']!r}: "
            f"value {frame['value'].iloc[i]!r} is not a finite number"
        )
    duplicated = data.duplicated(["run", "measure", "query_id"])
    if duplicated.any():
        row = data[duplicated].iloc[0]
        raise InputError(
            f"run {row['run']!r}, measure {row['measure']!r}, query {row['query_id']!r} "
            "appears more than once; each (run, measure, query_id) may appear once"
        )
    runs = list(pd.unique(data["run"]))
    measures = list(pd.unique(data["measure"]))
    topics: dict[str, tuple[str, ...]] = {}
    values: dict[str, np.ndarray] = {}
    for measure, part in data.groupby("measure", sort=False):
        grid = part.pivot(index="run", columns="query_id", values="value")
        topics[str(measure)] = tuple(sorted(grid.columns))
        values[str(measure)] = grid.reindex(index=runs, columns=list(topics[str(measure)])).to_numpy(
            dtype=np.float64, copy=True
        )
    return runs, measures, topics, values

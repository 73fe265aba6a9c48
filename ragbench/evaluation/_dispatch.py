"""From an :class:`EngineSpec` to the trec_eval port's vectorised function that computes it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ragbench.evaluation import trec_eval as te
from ragbench.evaluation.measures import EngineSpec
from ragbench.evaluation.prepared import PreparedTopics

Compute = Callable[[PreparedTopics, EngineSpec], np.ndarray]


def _cut(fn: Callable[..., np.ndarray]) -> Compute:
    return lambda topics, spec: fn(topics, [int(spec.param)])[:, 0]  # type: ignore[arg-type]


def _gains(spec: EngineSpec) -> dict[int, float] | None:
    return dict(spec.gains) if spec.gains else None


FAMILIES: dict[str, Compute] = {
    "P": _cut(te.precision),
    "recall": _cut(te.recall),
    "success": _cut(te.success),
    "map": lambda t, s: te.average_precision(t),
    "map_cut": _cut(te.average_precision_at),
    "recip_rank": lambda t, s: te.reciprocal_rank(t),
    "Rprec": lambda t, s: te.r_precision(t),
    "bpref": lambda t, s: te.bpref(t),
    "infAP": lambda t, s: te.inferred_average_precision(t),
    "ndcg": lambda t, s: te.ndcg(t, tuple((str(k), v) for k, v in s.gains or ())),
    "ndcg_cut": lambda t, s: te.ndcg_at(t, [int(s.param)], gains=_gains(s))[:, 0],  # type: ignore[arg-type]
    "iprec_at_recall": lambda t, s: te.interpolated_precision(t, [float(s.param)])[:, 0],  # type: ignore[arg-type]
    "set_P": lambda t, s: te.set_precision(t),
    "set_relative_P": lambda t, s: te.set_relative_precision(t),
    "set_recall": lambda t, s: te.set_recall(t),
    "set_map": lambda t, s: te.set_map(t),
    "set_F": lambda t, s: te.set_f(t, float(s.param)),  # type: ignore[arg-type]
    "num_ret": lambda t, s: t.num_ret.astype(np.float64),
    "num_rel": lambda t, s: t.num_rel.astype(np.float64),
    "num_rel_ret": lambda t, s: t.num_rel_ret.astype(np.float64),
    "num_q": lambda t, s: np.ones(t.num_topics),
}


def compute(topics: PreparedTopics, spec: EngineSpec) -> np.ndarray:
    """Per-topic float64 values of one measure (``topics`` already under the spec's -l and -J)."""
    return np.asarray(FAMILIES[spec.trec_name](topics, spec), dtype=np.float64)

"""``evaluate``: score runs against qrels with trec_eval 10.0 semantics, per topic and on average.

The engine computes the measures it implements (see :mod:`ragbench.evaluation.measures`) on a
:class:`PreparedTopics`; every other measure ir-measures knows is delegated to ir-measures. Each
value carries the :class:`EngineFingerprint` of what produced it, so stored scores say how they
were computed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ragbench import __version__
from ragbench.evaluation import prepare as _prepare
from ragbench.evaluation.measures import EngineSpec, engine_spec, parse_measures
from ragbench.evaluation.prepared import RELVALUE_NONPOOL, PreparedTopics
from ragbench.formats.tables import QrelsTable, RunTable, new_pool
from ragbench.formats.trec import read_qrels, read_run

if TYPE_CHECKING:
    import pandas as pd

TIE_RULE = "score desc, docno desc (trec_eval 10.0)"

QrelsLike = str | os.PathLike[str] | bytes | QrelsTable | Mapping[str, Mapping[str, int]]
RunLike = str | os.PathLike[str] | bytes | RunTable | Mapping[str, Mapping[str, float]]


@dataclass(frozen=True, slots=True)
class EngineFingerprint:
    """What computed a score: implementation, version, tie rule, relevance level, gains."""

    implementation: str
    version: str
    tie_rule: str
    relevance_level: int
    gains: str | None = None
    judged_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        parts = [
            f"{self.implementation} {self.version}",
            f"ties: {self.tie_rule}",
            f"rel>={self.relevance_level}",
        ]
        if self.gains:
            parts.append(f"gains {self.gains}")
        if self.judged_only:
            parts.append("judged only")
        return "; ".join(parts)


@dataclass(frozen=True)
class EvalResult:
    """Scores of one run: per topic and averaged.

    Attributes:
        run: the run's name (file stem or run tag).
        measures: canonical measure names, in the order asked.
        query_ids: evaluated topics (trec_eval's order).
        per_query: measure -> float64 values aligned with ``query_ids``.
        aggregate: measure -> mean over ``query_ids`` (sum for the Num* counts, as trec_eval).
        fingerprints: measure -> what computed it.
        notes: measure -> a remark worth telling the user (e.g. NUM values clipped to [0, 1]).
    """

    run: str
    measures: tuple[str, ...]
    query_ids: tuple[str, ...]
    per_query: dict[str, np.ndarray]
    aggregate: dict[str, float]
    fingerprints: dict[str, EngineFingerprint] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def to_dataframe(self, per_query: bool = True) -> pd.DataFrame:
        """Long form: columns run, measure, query_id, value (query_id 'all' for the aggregate)."""
        import pandas as pd

        frames = []
        for m in self.measures:
            if per_query:
                frames.append(
                    pd.DataFrame(
                        {
                            "run": self.run,
                            "measure": m,
                            "query_id": self.query_ids,
                            "value": self.per_query[m],
                        }
                    )
                )
            frames.append(
                pd.DataFrame(
                    {"run": [self.run], "measure": [m], "query_id": ["all"], "value": [self.aggregate[m]]}
                )
            )
        return pd.concat(frames, ignore_index=True)


SUMMED = {"num_ret", "num_rel", "num_rel_ret", "num_q"}


def _fingerprint(spec: EngineSpec | None, measure: Any) -> EngineFingerprint:
    if spec is None:
        import ir_measures

        return EngineFingerprint(
            implementation="ir_measures",
            version=ir_measures.__version__,
            tie_rule="provider's own",
            relevance_level=int(measure.params.get("rel", 1) or 1),
        )
    gains = ",".join(f"{k}={v:g}" for k, v in spec.gains) if spec.gains else None
    return EngineFingerprint(
        implementation="ragbench.trec_eval",
        version=f"{__version__} (trec_eval 10.0 semantics)",
        tie_rule=TIE_RULE,
        relevance_level=spec.relevance_level,
        gains=gains,
        judged_only=spec.judged_only,
    )


def read_qrels_like(qrels: QrelsLike) -> QrelsTable:
    """A :class:`QrelsTable` from any accepted form."""
    if isinstance(qrels, QrelsTable):
        return qrels
    if isinstance(qrels, Mapping):
        return QrelsTable.from_dict(qrels)  # type: ignore[arg-type]
    return read_qrels(qrels, pool=new_pool())


def read_run_like(run: RunLike, qrels: QrelsTable) -> RunTable:
    """A :class:`RunTable` from any accepted form, interned into the qrels' pool when read here
    (shared codes let :func:`prepare` take its fast path)."""
    if isinstance(run, RunTable):
        return run
    if isinstance(run, Mapping):
        return RunTable.from_dict(run)  # type: ignore[arg-type]
    pool = qrels.strings if hasattr(qrels.strings, "code") else None
    return read_run(run, pool=pool)  # type: ignore[arg-type]


def _top(prepared: PreparedTopics, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows within the top k of their topic: (row mask, topic of row, effective depth per topic)."""
    rank = prepared.rank_of_row
    return rank <= k, prepared.topic_of_row, np.minimum(prepared.num_ret, k)


def _judged_at(prepared: PreparedTopics, k: int) -> np.ndarray:
    """ir-measures' Judged@k: judged share of the top min(k, retrieved) documents (0 when none)."""
    top, topic, depth = _top(prepared, k)
    judged = np.bincount(topic[top & (prepared.rel != RELVALUE_NONPOOL)], minlength=prepared.num_topics)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(depth > 0, judged / np.maximum(depth, 1), 0.0)


def _recip_rank_at(prepared: PreparedTopics, k: int) -> np.ndarray:
    """RR@k: 1 / rank of the first relevant document within the top k, else 0."""
    top, topic, _ = _top(prepared, k)
    hit = top & (prepared.rel >= prepared.relevance_level) & (prepared.rel >= 0)
    first = np.full(prepared.num_topics, np.inf)
    np.minimum.at(first, topic[hit], prepared.rank_of_row[hit].astype(np.float64))
    return 1.0 / first


def _engine_values(prepared: PreparedTopics, spec: EngineSpec) -> np.ndarray:
    topics = _prepare.variant(prepared, spec.relevance_level, spec.judged_only)
    if spec.trec_name == "judged":
        return _judged_at(topics, int(spec.param or 0))
    if spec.trec_name == "recip_rank_cut":
        return _recip_rank_at(topics, int(spec.param or 0))
    from ragbench.evaluation._dispatch import compute

    return compute(topics, spec)


def _fallback_values(
    qrels: QrelsTable, run: RunTable, measures: list[Any], query_ids: Sequence[str]
) -> dict[Any, np.ndarray]:
    """Per-topic values from ir-measures for measures the engine does not implement."""
    import ir_measures

    found: dict[Any, dict[str, float]] = {m: {} for m in measures}
    for metric in ir_measures.iter_calc(measures, qrels.to_dict(), run.to_dict()):
        found[metric.measure][metric.query_id] = float(metric.value)
    return {
        m: np.asarray([found[m].get(q, float(m.DEFAULT)) for q in query_ids], dtype=np.float64)
        for m in measures
    }


def evaluate(
    qrels: QrelsLike,
    run: RunLike,
    measures: Sequence[str],
    *,
    complete: bool = False,
    max_docs: int | None = None,
    name: str | None = None,
) -> EvalResult:
    """Score one run.

    Args:
        qrels: judgments: a path, bytes, a :class:`QrelsTable` or ``{query: {doc: relevance}}``.
        run: the run: a path, bytes, a :class:`RunTable` or ``{query: {doc: score}}``.
        measures: ir-measures names, e.g. ``["nDCG@10", "AP", "P(rel=2)@5"]``.
        complete: trec_eval's ``-c``: also score qrels topics the run lacks (as empty rankings,
            so they count 0) and average over all qrels topics. Default: only topics in both.
        max_docs: trec_eval's ``-M``: read only the first ``max_docs`` documents of each topic.
        name: the run's name in results (default: the file stem, else the run tag).

    Raises:
        FormatError: a file is malformed (every problem with file and line).
        MeasureError: a measure name does not parse or lacks a parameter.
    """
    parsed = parse_measures(measures)
    specs = [engine_spec(m) for m in parsed]
    q = read_qrels_like(qrels)
    r = read_run_like(run, q)
    prepared = _prepare.prepare(q, r, complete=complete, max_docs=max_docs)
    if name is None:
        name = os.path.basename(os.fspath(run)) if isinstance(run, str | os.PathLike) else (r.run_id or "run")

    fallback = [m for m, s in zip(parsed, specs, strict=True) if s is None]
    fallback_values = _fallback_values(q, r, fallback, prepared.query_ids) if fallback else {}

    per_query: dict[str, np.ndarray] = {}
    aggregate: dict[str, float] = {}
    fingerprints: dict[str, EngineFingerprint] = {}
    for measure, spec in zip(parsed, specs, strict=True):
        key = str(measure)
        values = fallback_values[measure] if spec is None else _engine_values(prepared, spec)
        per_query[key] = values
        summed = spec is not None and spec.trec_name in SUMMED
        aggregate[key] = float(values.sum()) if summed else (float(values.mean()) if values.size else 0.0)
        fingerprints[key] = _fingerprint(spec, measure)
    return EvalResult(
        run=name,
        measures=tuple(str(m) for m in parsed),
        query_ids=prepared.query_ids,
        per_query=per_query,
        aggregate=aggregate,
        fingerprints=fingerprints,
    )

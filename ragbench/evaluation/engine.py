"""``evaluate``: score runs against qrels with trec_eval 10.0 semantics, per topic and on average.

Measure names are parsed and routed once per call by :mod:`ragbench.evaluation.registry`: the
trec_eval-exact engine computes the measures it declares on a :class:`PreparedTopics`, and every
other measure an installed ir-measures provider knows is delegated to ir-measures. Each value
carries the :class:`EngineFingerprint` of what produced it, so stored scores say how they were
computed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ragbench.evaluation import prepare as _prepare
from ragbench.evaluation import registry
from ragbench.evaluation.providers import EngineFingerprint, TopicData
from ragbench.evaluation.providers.trec_eval import TIE_RULE
from ragbench.formats.tables import QrelsTable, RunTable, new_pool
from ragbench.formats.trec import read_qrels, read_run

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TIE_RULE",
    "EngineFingerprint",
    "EvalResult",
    "QrelsLike",
    "RunLike",
    "evaluate",
    "read_qrels_like",
    "read_run_like",
]

QrelsLike = str | os.PathLike[str] | bytes | QrelsTable | Mapping[str, Mapping[str, int]] | Iterable[Any]
RunLike = str | os.PathLike[str] | bytes | RunTable | Mapping[str, Mapping[str, float]] | Iterable[Any]
"""Also an ir_datasets dataset or an iterable of its records (:mod:`ragbench.formats.irds`)."""


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


def _records(value: object) -> bool:
    """Whether ``value`` is an ir_datasets dataset or an iterable of records (not a file or table)."""
    if isinstance(value, str | bytes | os.PathLike | Mapping | QrelsTable | RunTable):
        return False
    return hasattr(value, "__iter__") or hasattr(value, "qrels_iter") or hasattr(value, "scoreddocs_iter")


def read_qrels_like(qrels: QrelsLike) -> QrelsTable:
    """A :class:`QrelsTable` from any accepted form (also an ir_datasets dataset or its
    ``qrels_iter()``: :func:`ragbench.formats.irds.qrels_from_records`)."""
    if isinstance(qrels, QrelsTable):
        return qrels
    if isinstance(qrels, Mapping):
        return QrelsTable.from_dict(qrels)  # type: ignore[arg-type]
    if _records(qrels):
        from ragbench.formats.irds import qrels_from_records

        return qrels_from_records(qrels)
    return read_qrels(qrels, pool=new_pool())  # type: ignore[arg-type]


def read_run_like(run: RunLike, qrels: QrelsTable) -> RunTable:
    """A :class:`RunTable` from any accepted form, interned into the qrels' pool when read here
    (shared codes let :func:`prepare` take its fast path)."""
    if isinstance(run, RunTable):
        return run
    if isinstance(run, Mapping):
        return RunTable.from_dict(run)  # type: ignore[arg-type]
    if _records(run):
        from ragbench.formats.irds import run_from_records

        return run_from_records(run)
    pool = qrels.strings if hasattr(qrels.strings, "code") else None
    return read_run(run, pool=pool)  # type: ignore[arg-type]


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
        qrels: judgments: a path, bytes, a :class:`QrelsTable`, ``{query: {doc: relevance}}``, an
            ir_datasets dataset or an iterable of its qrels records (``query_id doc_id relevance``).
        run: the run: a path, bytes, a :class:`RunTable`, ``{query: {doc: score}}``, or an iterable
            of ir_datasets scored documents (``query_id doc_id score``) or a dataset with them.
        measures: ir-measures names, e.g. ``["nDCG@10", "AP", "P(rel=2)@5"]``.
        complete: trec_eval's ``-c``: also score qrels topics the run lacks (as empty rankings,
            so they count 0) and average over all qrels topics. Default: only topics in both.
        max_docs: trec_eval's ``-M``: read only the first ``max_docs`` documents of each topic.
        name: the run's name in results (default: the file stem, else the run tag).

    Raises:
        FormatError: a file is malformed (every problem with file and line).
        MeasureError: a measure name does not parse or lacks a parameter, or no installed
            provider computes it (the message names what to ``pip install``).
    """
    routed = registry.route(measures, "adhoc")
    q = read_qrels_like(qrels)
    r = read_run_like(run, q)
    prepared = _prepare.prepare(q, r, complete=complete, max_docs=max_docs)
    if name is None:
        name = os.path.basename(os.fspath(run)) if isinstance(run, str | os.PathLike) else (r.run_id or "run")
    values = registry.compute(routed, TopicData(q, r, prepared))
    return EvalResult(
        run=name,
        measures=tuple(m.name for m in routed),
        query_ids=prepared.query_ids,
        per_query={m.name: v.per_query for m, v in zip(routed, values, strict=True)},
        aggregate={m.name: v.aggregate for m, v in zip(routed, values, strict=True)},
        fingerprints={m.name: m.provider.fingerprint(m.measure) for m in routed},
    )

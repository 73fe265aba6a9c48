"""Meta-evaluation of answer measures against pairwise human preferences (RAGChecker's protocol).

The data (``../shared/data/rag-pairwise``, RAGChecker's ``human_labeled_data.json`` as JSON
Lines): one comparison of two answers (``model1``, ``model2``) to one query, labelled by two
annotators (two lines with the same ``instance_id``), each label in -2..2 being the preference
for model2 over model1 (``overall_label``, ``correctness_label``, ``completeness_label``).

A measure is computed for both answers; its *difference* (model2 - model1) is correlated with
the human label (the mean of the annotators' labels per comparison), Pearson and Spearman, with
paired-bootstrap BCa 95 % intervals (:func:`ragbench.stats.correlate`). Beside it the annotators'
agreement with each other, on the same comparisons and with the same statistics, is the ceiling
a measure can be compared with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragbench.errors import FormatError, InputError

LABELS = ("overall_label", "correctness_label", "completeness_label")


@dataclass(frozen=True, slots=True)
class Comparison:
    """One pairwise comparison: the query, the reference answer, the two answers and the labels
    of each annotator (file order)."""

    instance_id: str
    dataset: str
    query_id: str
    query: str
    gt_answer: str
    answer1: str
    answer2: str
    model1: str
    model2: str
    labels: Mapping[str, tuple[float, ...]]


def read_pairwise(path: str, name: str | None = None) -> list[Comparison]:
    """Read the pairwise file (one comparison per ``instance_id``, its lines its annotators).

    Raises:
        FormatError: a line is not JSON, lacks a field, or a label is not in -2..2.
    """
    from ragbench.formats.problems import Problem

    name = name or path
    grouped: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = str(row["instance_id"])
                labels = {label: float(row[label]) for label in LABELS}
                if any(not -2 <= v <= 2 for v in labels.values()):
                    raise ValueError("a label outside -2..2")
                entry = grouped.setdefault(key, {"row": row, "labels": {label: [] for label in LABELS}})
                for label, value in labels.items():
                    entry["labels"][label].append(value)
                row["model1"]["response"], row["model2"]["response"]
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(Problem(name, lineno, f"not a pairwise comparison: {exc}"))
    if problems:
        raise FormatError(problems[:50], more=max(0, len(problems) - 50))
    out = []
    for key, entry in grouped.items():
        row = entry["row"]
        out.append(
            Comparison(
                key, str(row.get("dataset", "")), str(row.get("query_id", "")), str(row.get("query", "")),
                str(row.get("gt_answer", "")), row["model1"]["response"], row["model2"]["response"],
                str(row["model1"].get("model_name", "")), str(row["model2"].get("model_name", "")),
                {label: tuple(values) for label, values in entry["labels"].items()},
            )
        )  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class MetaRow:
    """One measure (or the annotators) against the human labels."""

    name: str
    n: int
    pearson: float
    pearson_low: float
    pearson_high: float
    spearman: float
    spearman_low: float
    spearman_high: float


def _row(name: str, x: Sequence[float], y: Sequence[float], trials: int, seed: int) -> MetaRow:
    from ragbench.stats import correlate

    found = {
        c.coefficient: c
        for c in correlate(x, y, coefficients=("pearson", "spearman"), trials=trials, seed=seed)
    }
    p, s = found["pearson"], found["spearman"]
    return MetaRow(name, p.n, p.estimate, p.low, p.high, s.estimate, s.low, s.high)


def meta_evaluate(
    comparisons: Sequence[Comparison],
    values: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    label: str = "overall_label",
    trials: int = 2000,
    seed: int = 0,
) -> list[MetaRow]:
    """The correlation of each measure's difference (answer2 - answer1) with the mean human label,
    and, last, the agreement of the first two annotators with each other.

    Args:
        comparisons: from :func:`read_pairwise`.
        values: measure -> (values of answer1, values of answer2), aligned with ``comparisons``
            (NaN: not computed; that comparison is left out for that measure).
        label: which human label.

    Raises:
        InputError: an unknown label, misaligned values, fewer than 3 usable comparisons.
    """
    if label not in LABELS:
        raise InputError(f"label {label!r} is not one of {', '.join(LABELS)}")
    human = [sum(c.labels[label]) / len(c.labels[label]) for c in comparisons]
    rows = []
    for measure, (first, second) in values.items():
        if len(first) != len(comparisons) or len(second) != len(comparisons):
            raise InputError(
                f"{measure}: {len(first)}/{len(second)} values for {len(comparisons)} comparisons"
            )
        rows.append(_row(measure, [b - a for a, b in zip(first, second, strict=True)], human, trials, seed))
    paired = [c for c in comparisons if len(c.labels[label]) >= 2]
    if len(paired) >= 3:
        rows.append(
            _row(
                "annotator 1 vs annotator 2",
                [c.labels[label][0] for c in paired],
                [c.labels[label][1] for c in paired],
                trials,
                seed,
            )
        )
    return rows

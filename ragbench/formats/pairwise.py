"""Reader for pairwise preference judgments between two systems' answers (the arena's imports).

The layout is RAGChecker's human meta-evaluation file (``human_labeled_data.json`` as JSON
Lines; ``../shared/data/rag-pairwise``): one object per line and annotator, with

- ``instance_id``: the comparison (the lines of one comparison are its annotators, in file order);
- ``dataset`` (optional) and ``query_id``: the topic, read as ``dataset/query_id`` when a dataset
  is given (so ids of different datasets do not collide), else ``query_id``; ``query``: its text;
- ``model1`` and ``model2``: ``{"model_name", "response", ...}``, the two sides;
- labels in -2..2, the preference for ``model2`` over ``model1`` (positive: model2's answer
  better; 0: a tie): ``overall_label``, ``correctness_label``, ``completeness_label`` (any key
  ending in ``_label`` can be chosen).

Every problem is reported with its line (and column for bad JSON): not JSON, a missing or
mistyped field, a label that is not an integer in -2..2, the two sides naming the same system,
lines of one comparison that disagree on its topic, query or systems.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ragbench.errors import InputError
from ragbench.formats.corpus import decode_problem, json_problem, json_type
from ragbench.formats.lines import ProblemList, Source, load
from ragbench.formats.problems import Problem

LABELS = (-2, -1, 0, 1, 2)
DEFAULT_LABEL = "overall_label"


@dataclass(frozen=True, slots=True)
class PairwiseJudgment:
    """One annotator's judgment of one comparison.

    Attributes:
        line: Its line in the file.
        instance: The comparison's id (``instance_id``).
        annotator: 0 for the comparison's first line, 1 for its second, ...
        query_id: The topic (``dataset/query_id`` when the line names a dataset).
        query: The topic's text.
        system_1: ``model1.model_name``.
        system_2: ``model2.model_name``.
        answer_1: ``model1.response``.
        answer_2: ``model2.response``.
        label: The chosen label, -2..2: the preference for ``system_2`` over ``system_1``.
        labels: Every ``*_label`` field of the line.
    """

    line: int
    instance: str
    annotator: int
    query_id: str
    query: str
    system_1: str
    system_2: str
    answer_1: str
    answer_2: str
    label: int
    labels: dict[str, int]


def read_pairwise(
    source: Source, *, label: str = DEFAULT_LABEL, name: str | None = None
) -> list[PairwiseJudgment]:
    """Read a pairwise judgments file (module docstring).

    Args:
        source: A path, or the file's bytes.
        label: Which label field to read (default ``overall_label``).
        name: The name to use in messages (defaults to the path).

    Raises:
        FormatError: every problem (up to 50) with its line.
        InputError: ``label`` does not end in ``_label``.
    """
    if not label.endswith("_label"):
        raise InputError(f"label {label!r} is not a label field (one ending in _label, e.g. {DEFAULT_LABEL})")
    data, name = load(source, name)
    problems = ProblemList()
    judgments: list[PairwiseJudgment] = []
    first: dict[str, PairwiseJudgment] = {}
    annotators: dict[str, int] = {}
    for lineno, raw in _lines(data):
        bad = decode_problem(raw, name, lineno)
        if bad is not None:
            problems.append(bad)
            continue
        judgment = _parse(raw.decode("utf-8"), lineno, name, label, problems)
        if judgment is None:
            continue
        seen = first.get(judgment.instance)
        if seen is not None:
            mismatch = _mismatch(seen, judgment)
            if mismatch:
                problems.append(
                    Problem(
                        name,
                        lineno,
                        f"instance {judgment.instance}: {mismatch} differs from line {seen.line}",
                    )
                )
                continue
            judgment = _with_annotator(judgment, annotators[judgment.instance])
        else:
            first[judgment.instance] = judgment
        annotators[judgment.instance] = annotators.get(judgment.instance, 0) + 1
        judgments.append(judgment)
    if not judgments and not problems:
        problems.append(Problem(name, 0, "empty file: no judgments"))
    problems.raise_if_any()
    return judgments


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            yield lineno, raw.rstrip(b"\r")


def _with_annotator(j: PairwiseJudgment, annotator: int) -> PairwiseJudgment:
    return PairwiseJudgment(
        j.line,
        j.instance,
        annotator,
        j.query_id,
        j.query,
        j.system_1,
        j.system_2,
        j.answer_1,
        j.answer_2,
        j.label,
        j.labels,
    )


def _mismatch(a: PairwiseJudgment, b: PairwiseJudgment) -> str:
    for attr in ("query_id", "query", "system_1", "system_2"):
        if getattr(a, attr) != getattr(b, attr):
            return attr.replace("_1", " 1").replace("_2", " 2").replace("_", " ")
    return ""


def _parse(text: str, lineno: int, name: str, label: str, problems: ProblemList) -> PairwiseJudgment | None:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(name, lineno, json_problem(exc), exc.colno))
        return None
    if not isinstance(obj, dict):
        problems.append(Problem(name, lineno, f"expected a JSON object, found {json_type(obj)}"))
        return None
    found: list[str] = []

    def need(value: Any, what: str, kinds: tuple[type, ...] = (str,)) -> Any:
        if value is None or isinstance(value, bool) or not isinstance(value, kinds):
            shown = "missing" if value is None else f"{json_type(value)}"
            found.append(
                f"{what}: {shown}, expected {'a string' if kinds == (str,) else 'a string or integer'}"
            )
            return None
        return value

    instance = need(obj.get("instance_id"), "instance_id", (str, int))
    query_id = need(obj.get("query_id"), "query_id", (str, int))
    dataset = obj.get("dataset")
    if dataset is not None:
        need(dataset, "dataset")
    query = need(obj.get("query"), "query")
    sides = []
    for key in ("model1", "model2"):
        side = obj.get(key)
        if not isinstance(side, dict):
            found.append(f"{key}: {'missing' if side is None else json_type(side)}, expected an object")
            sides.append(("", ""))
            continue
        system = need(side.get("model_name"), f"{key}.model_name")
        response = need(side.get("response"), f"{key}.response")
        sides.append((str(system or "").strip(), response or ""))
    labels: dict[str, int] = {}
    for key, value in obj.items():
        if key.endswith("_label"):
            if isinstance(value, bool) or not isinstance(value, int) or value not in LABELS:
                found.append(f"{key} is {json.dumps(value)}: labels are integers from -2 to 2")
            else:
                labels[key] = value
    if label not in obj:
        found.append(f"{label}: missing")
    if not found and sides[0][0] == sides[1][0]:
        found.append(f"model1 and model2 are the same system {sides[0][0]!r}: a battle needs two")
    if not found and not (sides[0][0] and sides[1][0]):
        found.append("a model_name is empty")
    if found:
        for message in found:
            problems.append(Problem(name, lineno, message))
        return None
    topic = f"{dataset}/{query_id}" if dataset else str(query_id)
    return PairwiseJudgment(
        line=lineno,
        instance=str(instance),
        annotator=0,
        query_id=topic.strip(),
        query=str(query),
        system_1=sides[0][0],
        system_2=sides[1][0],
        answer_1=sides[0][1],
        answer_2=sides[1][1],
        label=labels[label],
        labels=labels,
    )

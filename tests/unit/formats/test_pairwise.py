"""The pairwise judgments reader: the rag-pairwise file, and every malformed line named."""

from __future__ import annotations

import json

import pytest
from support.paths import SHARED

from ragbench.errors import FormatError, InputError
from ragbench.formats.pairwise import read_pairwise


def line(instance: int = 0, label: object = 1, m1: str = "x", m2: str = "y", **extra: object) -> str:
    row = {
        "instance_id": instance,
        "dataset": "d",
        "query_id": "7",
        "query": "why?",
        "model1": {"model_name": m1, "response": "because"},
        "model2": {"model_name": m2, "response": "since"},
        "overall_label": label,
        "correctness_label": 0,
        **extra,
    }
    return json.dumps(row)


def test_the_shared_file() -> None:
    path = SHARED / "data" / "rag-pairwise" / "human_pairwise.jsonl"
    if not path.is_file():
        pytest.skip("../shared/data/rag-pairwise is not beside this checkout")
    judgments = read_pairwise(path)
    assert len(judgments) == 280 and len({j.instance for j in judgments}) == 140
    assert {j.annotator for j in judgments} == {0, 1}
    assert len({j.system_1 for j in judgments} | {j.system_2 for j in judgments}) == 8
    first = json.loads(path.read_text().splitlines()[0])
    assert judgments[0].query_id == f"{first['dataset']}/{first['query_id']}"
    assert judgments[0].label == first["overall_label"]
    assert read_pairwise(path, label="correctness_label")[0].label == first["correctness_label"]


def test_two_annotators_of_one_comparison() -> None:
    judgments = read_pairwise(f"{line(label=-2)}\n\n{line(label=0)}\n{line(instance=1)}\n".encode())
    assert [(j.instance, j.annotator, j.label, j.line) for j in judgments] == [
        ("0", 0, -2, 1),
        ("0", 1, 0, 3),
        ("1", 0, 1, 4),
    ]
    assert judgments[0].labels == {"overall_label": -2, "correctness_label": 0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "bad JSON"),
        ("[1, 2]", "expected a JSON object, found an array"),
        (line(label=3), "overall_label is 3: labels are integers from -2 to 2"),
        (line(label=-3), "overall_label is -3"),
        (line(label=1.5), "overall_label is 1.5"),
        (line(label=True), "overall_label is true"),
        (line(m2="x"), "the same system 'x'"),
        (line(m1=""), "a model_name is empty"),
        (line().replace('"model1"', '"modelX"'), "model1: missing, expected an object"),
        (line().replace('"query"', '"question"'), "query: missing"),
        (line().replace('"overall_label"', '"other_label"'), "overall_label: missing"),
        (line() + "\n" + line(m2="z"), "instance 0: system 2 differs from line 1"),
        ("", "empty file"),
    ],
)
def test_malformed_lines(text: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        read_pairwise(text.encode(), name="j.jsonl")
    problems = info.value.problems
    assert any(message in p.message for p in problems), problems
    assert all(p.file == "j.jsonl" for p in problems)


def test_every_problem_is_listed_with_its_line() -> None:
    text = "\n".join([line(), line(instance=1, label=9), "oops", line(instance=2, m1="y")])
    with pytest.raises(FormatError) as info:
        read_pairwise(text.encode())
    assert [p.line for p in info.value.problems] == [2, 3, 4]


def test_label_field_must_be_a_label() -> None:
    with pytest.raises(InputError, match="not a label field"):
        read_pairwise(line().encode(), label="query")

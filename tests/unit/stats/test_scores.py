"""Per-topic score input: the nested mapping and the DataFrame shapes, and the missing-topic policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ragbench.errors import InputError
from ragbench.stats import to_score_table

# FIXTURES

NESTED = {
    "bm25": {"AP": {"q1": 0.2, "q2": 0.4, "q3": 0.1}, "P@10": {"q1": 0.3, "q2": 0.5, "q3": 0.0}},
    "dense": {"AP": {"q1": 0.3, "q3": 0.2}, "P@10": {"q1": 0.4, "q2": 0.6, "q3": 0.1}},
}


def as_frame(nested: dict) -> pd.DataFrame:
    rows = [
        {"run": run, "measure": measure, "query_id": qid, "value": value}
        for run, by_measure in nested.items()
        for measure, by_topic in by_measure.items()
        for qid, value in by_topic.items()
    ]
    return pd.DataFrame(rows)


class Measure:
    """Stands in for an ir_measures Measure: its str() is the canonical name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return self.name

    def __hash__(self) -> int:
        return hash(self.name)


# TEST


def test_nested_mapping_aligns_topics_and_fills_zero() -> None:
    table = to_score_table(NESTED)
    assert table.runs == ("bm25", "dense")
    assert table.measures == ("AP", "P@10")
    assert table.topics["AP"] == ("q1", "q2", "q3")
    np.testing.assert_array_equal(table.values["AP"], [[0.2, 0.4, 0.1], [0.3, 0.0, 0.2]])
    np.testing.assert_array_equal(table.values["P@10"], [[0.3, 0.5, 0.0], [0.4, 0.6, 0.1]])
    assert table.run_index("dense") == 1


def test_dataframe_gives_the_same_table() -> None:
    frame = as_frame(NESTED).sample(frac=1.0, random_state=0)  # row order must not matter
    frame = frame.assign(extra="ignored")
    table, expected = to_score_table(frame), to_score_table(NESTED)
    assert set(table.runs) == set(expected.runs) and set(table.measures) == set(expected.measures)
    for measure in expected.measures:
        assert table.topics[measure] == expected.topics[measure]
        for run in expected.runs:
            np.testing.assert_array_equal(
                table.values[measure][table.run_index(run)], expected.values[measure][expected.run_index(run)]
            )


def test_dataframe_keeps_first_appearance_order() -> None:
    table = to_score_table(as_frame(NESTED))
    assert table.runs == ("bm25", "dense") and table.measures == ("AP", "P@10")


def test_measure_objects_and_numeric_query_ids_become_strings() -> None:
    table = to_score_table({"r": {Measure("nDCG@10"): {1: 0.5, 2: 0.25}}})
    assert table.measures == ("nDCG@10",)
    assert table.topics["nDCG@10"] == ("1", "2")


def test_missing_error_names_run_and_topics() -> None:
    with pytest.raises(InputError, match=r"run 'dense' lacks 1 of the 3 topics of measure 'AP' \('q2'\)"):
        to_score_table(NESTED, missing="error")


def test_run_without_a_measure_is_an_error() -> None:
    with pytest.raises(InputError, match="run 'b' has no scores for measure 'AP'"):
        to_score_table({"a": {"AP": {"q1": 0.1}}, "b": {"P@10": {"q1": 0.2}}})


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"r": {"AP": {"q1": "high"}}}, "'high' is not a number"),
        ({"r": {"AP": {"q1": float("inf")}}}, "not finite"),
        ({"r": [0.1, 0.2]}, "expected a mapping"),
        ({"r": {"AP": [0.1]}}, "expected a mapping"),
        ({}, "no scores"),
        ([1, 2], "DataFrame .* or a mapping"),
    ],
)
def test_bad_mappings(scores: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        to_score_table(scores)  # type: ignore[arg-type]


def test_bad_frames() -> None:
    frame = as_frame(NESTED)
    with pytest.raises(InputError, match="lacks column"):
        to_score_table(frame.rename(columns={"query_id": "qid"}))
    with pytest.raises(InputError, match="appears more than once"):
        to_score_table(pd.concat([frame, frame.iloc[:1]]))
    with pytest.raises(InputError, match="not a finite number"):
        to_score_table(frame.assign(value=frame["value"].astype(object).where(frame.index != 2, "x")))


def test_unknown_missing_policy() -> None:
    with pytest.raises(InputError, match="'zero', 'common', 'error'"):
        to_score_table(NESTED, missing="skip")  # type: ignore[arg-type]


def test_common_keeps_the_topics_every_run_has() -> None:
    # dense has no AP for q2: AP is over q1 and q3 for both runs; P@10 keeps all three topics.
    table = to_score_table(NESTED, missing="common")
    assert table.topics["AP"] == ("q1", "q3")
    assert table.topics["P@10"] == ("q1", "q2", "q3")
    assert table.values["AP"].tolist() == [[0.2, 0.1], [0.3, 0.2]]
    with pytest.raises(InputError, match="no topic has a score from every run"):
        to_score_table({"a": {"AP": {"q1": 1.0}}, "b": {"AP": {"q2": 1.0}}}, missing="common")


def test_ir_measures_iter_calc_rows_with_a_run_column() -> None:
    ir_measures = pytest.importorskip("ir_measures")
    qrels = [ir_measures.Qrel(q, d, 1) for q, d in [("q1", "d1"), ("q1", "d3"), ("q2", "d2"), ("q3", "d9")]]
    runs = {
        "bm25": [
            ("q1", "d1", 3.0),
            ("q1", "d2", 2.0),
            ("q2", "d5", 1.0),
            ("q2", "d2", 0.5),
            ("q3", "d9", 1.0),
        ],
        "dense": [("q1", "d3", 3.0), ("q1", "d1", 2.0), ("q2", "d2", 1.0)],
    }
    measures = [ir_measures.AP, ir_measures.nDCG @ 10]
    frame = pd.DataFrame(
        [
            {"run": name, **metric._asdict()}
            for name, rows in runs.items()
            for metric in ir_measures.iter_calc(
                measures, qrels, [ir_measures.ScoredDoc(*row) for row in rows]
            )
        ]
    )
    table = to_score_table(frame)
    assert table.measures == ("AP", "nDCG@10")
    assert table.topics["AP"] == ("q1", "q2", "q3")
    dense = table.values["AP"][table.run_index("dense")]
    assert dense[:2].tolist() == [1.0, 1.0] and dense[2] == 0.0  # q3: dense retrieved nothing

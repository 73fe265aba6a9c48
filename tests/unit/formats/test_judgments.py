"""Judged qrels and their provenance sidecar: round trip, order, atomic writes, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragbench.errors import InputError
from ragbench.formats.judgments import LabelRecord, parse_sidecar, read_sidecar, sidecar_path, write_judged
from ragbench.formats.trec import read_qrels

RECORDS = [
    LabelRecord("10", "b", 1, "human"),
    LabelRecord("2", "z", 3, "llm", {"model": "m", "grades": [3, 3, 2]}),
    LabelRecord("2", "a", None, "llm", {"model": "m"}, "no grade in 'maybe'"),
    LabelRecord("2", "c", 0, "human"),
]


def test_round_trip_in_topic_order_without_failures_in_the_qrels(tmp_path: Path) -> None:
    out = tmp_path / "new.qrels"
    sidecar = write_judged(out, RECORDS, {"judge": {"model": "m"}, "counts": {"failures": 1}})
    assert sidecar == sidecar_path(out) == tmp_path / "new.qrels.provenance.jsonl"
    assert out.read_text() == "2 0 c 0\n2 0 z 3\n10 0 b 1\n"  # topics numerically, the failure left out
    assert read_qrels(out).to_dict() == {"2": {"c": 0, "z": 3}, "10": {"b": 1}}
    back = read_sidecar(out)
    assert back.header["judge"] == {"model": "m"} and back.header["ragbench"] == "label-provenance"
    assert back.records[("2", "z")] == RECORDS[1]
    assert [r.failure for r in back.failures()] == ["no grade in 'maybe'"]
    assert back.sources() == {("10", "b"): "human", ("2", "z"): "llm", ("2", "c"): "human"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "new.qrels",
        "new.qrels.provenance.jsonl",
    ]  # no temp files


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        write_judged(tmp_path / "missing" / "x.qrels", RECORDS, {})
    out = tmp_path / "x.qrels"
    out.mkdir()  # the qrels cannot replace a folder: the sidecar was written, the qrels not
    with pytest.raises(InputError, match="cannot write"):
        write_judged(out, RECORDS, {})
    assert not any(p.name.startswith(".x.qrels") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty label-provenance file"),
        ('{"ragbench": "other"}\n', ":1: not a ragbench label-provenance file"),
        ('{"ragbench": "label-provenance"}\nnot json\n', ":2: not JSON"),
        ('{"ragbench": "label-provenance"}\n{"query_id": "1"}\n', ":2: a label record needs"),
        ('{"ragbench": "label-provenance"}\n{"query_id": "1", "doc_id": "d", "relevance": 1, "source": "crowd"}\n',
         "source 'crowd' is not one of human, llm"),
    ],
)  # fmt: skip
def test_bad_sidecars_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_sidecar(text, "p.jsonl")
    assert str(caught.value).startswith("p.jsonl") and message in str(caught.value)

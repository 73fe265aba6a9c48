"""ir_datasets interop: export from the local cache only, and runs and qrels from its objects."""

from __future__ import annotations

import json
from collections import namedtuple
from pathlib import Path

import pytest

from ragbench.errors import InputError
from ragbench.evaluation.engine import evaluate
from ragbench.formats.irds import (
    export_dataset,
    load_dataset,
    local_cache_only,
    qrels_from_records,
    run_from_records,
)
from ragbench.formats.smart import read_smart_qrels

Qrel = namedtuple("Qrel", "query_id doc_id relevance iteration")
Scored = namedtuple("Scored", "query_id doc_id score")


def test_export_from_the_local_cache(irds_home: Path, tmp_path: Path) -> None:
    from support.irds import CRANFIELD, fill_cranfield_cache

    pytest.importorskip("ir_datasets")
    # vaswani is in no scratch cache (the session's holds Cranfield only): refused, never downloaded
    with pytest.raises(InputError, match="ir_datasets dataset 'vaswani' is not in the local cache"):
        export_dataset("vaswani", tmp_path / "before")
    fill_cranfield_cache(irds_home)
    corpus, topics, qrels, provenance = export_dataset("cranfield", tmp_path / "out")
    assert provenance["ir_datasets"] == "cranfield" and provenance["version"]
    assert (
        provenance["docs"] == 1398
        and provenance["docs_left_out_without_text"] == 2
        and provenance["queries"] == 225
    )
    first = json.loads(Path(corpus).read_text().splitlines()[0])
    assert first["id"] == "1" and first["contents"].startswith("experimental investigation")
    raw = read_smart_qrels(CRANFIELD / "cranqrel")  # ir_datasets keeps Cleverdon's grades as written
    assert Path(qrels).read_text().splitlines() == [f"{j.query_id} 0 {j.doc_id} {j.grade}" for j in raw]
    assert json.loads(Path(topics).read_text().splitlines()[2])["query_id"] == "3"
    with pytest.raises(InputError, match="has no dataset 'cranfeld'"):
        load_dataset("cranfeld")


def test_runs_and_qrels_from_ir_datasets_objects(irds_home: Path) -> None:
    qrels = [Qrel("1", "a", 2, "0"), Qrel("1", "b", 0, "0"), Qrel("2", "c", 1, "0")]
    run = [Scored("1", "a", 3.0), Scored("1", "b", 2.0), Scored("2", "d", 1.0), Scored("2", "c", 0.5)]
    ours = evaluate(qrels, run, ["AP", "nDCG@10"])
    plain = evaluate(
        {"1": {"a": 2, "b": 0}, "2": {"c": 1}},
        {"1": {"a": 3.0, "b": 2.0}, "2": {"d": 1.0, "c": 0.5}},
        ["AP", "nDCG@10"],
    )
    assert ours.aggregate == plain.aggregate and ours.aggregate["AP"] == pytest.approx(0.75)
    with pytest.raises(InputError, match="judged twice"):
        qrels_from_records([*qrels, Qrel("1", "a", 1, "0")])
    with pytest.raises(InputError, match="no query_id, doc_id and numeric score"):
        run_from_records([("1", "a", 1.0)])
    pytest.importorskip("ir_datasets")
    from support.irds import fill_cranfield_cache

    fill_cranfield_cache(irds_home)
    dataset = load_dataset("cranfield")
    with local_cache_only("cranfield"):
        table = qrels_from_records(dataset)  # a dataset: its qrels_iter()
    assert len(table.relevance) == 1837

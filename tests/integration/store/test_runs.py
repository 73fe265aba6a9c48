"""Submitting, reading and deleting runs."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from support.paths import FIXTURES

from ragbench.errors import (
    AuthError,
    ConflictError,
    FormatError,
    InputError,
    NotFoundError,
    PermissionDenied,
    TooLargeError,
)
from ragbench.evaluation.engine import evaluate
from ragbench.settings import get_settings
from ragbench.store import service
from ragbench.store.models import DEFAULT_MEASURES, Benchmark, Run, Score, System, User

BAD = FIXTURES / "bad"
BAD_RUNS = [
    row for row in csv.reader((BAD / "EXPECTED.tsv").open(), delimiter="\t") if row[0].startswith("run_")
]


@pytest.fixture
def results(trec_eval_data: Path) -> bytes:
    return (trec_eval_data / "results.test").read_bytes()


def test_submit_scores_equal_evaluate(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    qrels_text: str,
    results: bytes,
    run_in: Callable[..., object],
) -> None:
    run = run_in(
        service.submit_run, users["alice"], "te", results, name="bm25", description="d", filename="r.txt"
    )
    assert (run.status, run.num_lines, run.num_topics, run.attempts) == ("scored", 1500, 3, 0)
    assert run.scored_at is not None and run.error is None

    expected = evaluate(qrels_text.encode(), results, list(DEFAULT_MEASURES), complete=True)
    scores = run_in(service.run_scores, run.id, None, per_topic=True)
    assert list(scores) == list(DEFAULT_MEASURES)
    for measure in DEFAULT_MEASURES:
        assert list(scores[measure]) == ["all", *expected.query_ids]
        assert scores[measure]["all"] == expected.aggregate[measure]
        assert np.array_equal([scores[measure][q] for q in expected.query_ids], expected.per_query[measure])
    assert run_in(service.run_scores, run.id, None) == {
        m: {"all": expected.aggregate[m]} for m in DEFAULT_MEASURES
    }
    with factory() as s:
        fingerprints = {m: f for m, f in s.execute(select(Score.measure, Score.fingerprint)).all()}
        assert fingerprints == {m: expected.fingerprints[m].to_dict() for m in DEFAULT_MEASURES}
        assert s.scalar(select(Run.content)) != results  # stored compressed


def test_topics_missing_from_a_run_count_zero(
    users: dict[str, User],
    benchmark: Benchmark,
    qrels_text: str,
    results: bytes,
    run_in: Callable[..., object],
) -> None:
    only_301 = b"".join(line + b"\n" for line in results.splitlines() if line.startswith(b"301"))
    run = run_in(service.submit_run, users["alice"], "te", only_301, name="partial")
    scores = run_in(service.run_scores, run.id, None, per_topic=True)
    assert set(scores["AP"]) == {"all", "301", "302", "303"}
    assert scores["AP"]["302"] == scores["AP"]["303"] == 0.0
    assert scores["AP"]["all"] == pytest.approx(scores["AP"]["301"] / 3)
    assert run.num_topics == 1


@pytest.mark.parametrize(("fixture", "line", "message"), [(r[0], int(r[2]), r[3]) for r in BAD_RUNS])
def test_malformed_run_changes_nothing(
    users: dict[str, User],
    benchmark: Benchmark,
    run_in: Callable[..., object],
    table_counts,
    fixture,
    line,
    message,
) -> None:
    before = table_counts()
    with pytest.raises(FormatError) as info:
        run_in(
            service.submit_run,
            users["alice"],
            "te",
            (BAD / fixture).read_bytes(),
            name="bad",
            filename=fixture,
        )
    first = info.value.problems[0]
    assert (first.file, first.line) == (fixture, line)
    assert message in first.message
    assert table_counts() == before


def test_duplicate_content_is_a_conflict(
    users: dict[str, User], benchmark: Benchmark, results: bytes, run_in: Callable[..., object], table_counts
) -> None:
    first = run_in(service.submit_run, users["alice"], "te", results, name="a")
    before = table_counts()
    with pytest.raises(ConflictError, match=f"run {first.id}"):
        run_in(service.submit_run, users["bob"], "te", results, name="b")
    assert table_counts() == before


def test_system_names_belong_to_their_first_user(
    factory, users: dict[str, User], benchmark: Benchmark, results: bytes, run_in: Callable[..., object]
) -> None:
    one = run_in(
        service.submit_run,
        users["alice"],
        "te",
        results,
        name="sys",
        url="https://x.org/a",
        metadata={"k": 1},
    )
    two = run_in(service.submit_run, users["alice"], "te", results + b"\n", name="sys", description="v2")
    assert one.system_id == two.system_id
    with factory() as s:
        system = s.get(System, one.system_id)
        assert (system.description, system.url, system.metadata_) == ("v2", "https://x.org/a", {"k": 1})
    with pytest.raises(ConflictError, match="another user"):
        run_in(service.submit_run, users["bob"], "te", results + b"\n\n", name="sys")


def test_submit_input_errors(
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    run_in: Callable[..., object],
    table_counts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = table_counts()
    with pytest.raises(AuthError):
        run_in(service.submit_run, None, "te", results, name="x")
    with pytest.raises(NotFoundError):
        run_in(service.submit_run, users["alice"], "nope", results, name="x")
    for kwargs in ({"name": " "}, {"name": "x" * 201}, {"name": "x", "url": "javascript:alert(1)"},
                   {"name": "x", "metadata": ["not", "an", "object"]}, {"name": "x", "metadata": {"f": object()}}):  # fmt: skip
        with pytest.raises(InputError):
            run_in(service.submit_run, users["alice"], "te", results, **kwargs)
    monkeypatch.setenv("RAGBENCH_MAX_UPLOAD_BYTES", str(len(results) - 1))
    get_settings.cache_clear()
    with pytest.raises(TooLargeError, match="RAGBENCH_MAX_UPLOAD_BYTES"):
        run_in(service.submit_run, users["alice"], "te", results, name="x")
    assert table_counts() == before


def test_large_runs_wait_for_the_worker(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    run_in: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inline = run_in(service.submit_run, users["alice"], "te", results, name="inline")
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "1499")
    get_settings.cache_clear()
    pending = run_in(service.submit_run, users["alice"], "te", results + b"\n", name="queued")
    assert pending.status == "pending"
    assert run_in(service.run_scores, pending.id, None) == {}
    assert service.process_pending(factory) == 1
    done = run_in(service.get_run, pending.id)
    assert (done.status, done.attempts, done.error) == ("scored", 1, None)
    assert run_in(service.run_scores, pending.id, None, per_topic=True) == run_in(
        service.run_scores, inline.id, None, per_topic=True
    )


def test_hidden_benchmark_withholds_per_topic_scores(
    users: dict[str, User], benchmark: Benchmark, results: bytes, run_in: Callable[..., object]
) -> None:
    run = run_in(service.submit_run, users["alice"], "te", results, name="a")
    run_in(service.set_hidden, users["root"], "te", True)
    for actor in (None, users["alice"], users["bob"]):  # the owner too: per-topic scores would leak qrels
        scores = run_in(service.run_scores, run.id, actor, per_topic=True)
        assert all(list(values) == ["all"] for values in scores.values())
    assert len(run_in(service.run_scores, run.id, users["root"], per_topic=True)["AP"]) == 4
    run_in(service.set_hidden, users["root"], "te", False)
    assert len(run_in(service.run_scores, run.id, None, per_topic=True)["AP"]) == 4


def test_delete_is_for_the_owner_or_an_admin(
    factory, users: dict[str, User], benchmark: Benchmark, results: bytes, run_in: Callable[..., object]
) -> None:
    one = run_in(service.submit_run, users["alice"], "te", results, name="a")
    two = run_in(service.submit_run, users["alice"], "te", results + b"\n", name="a")
    with pytest.raises(PermissionDenied):
        run_in(service.delete_run, users["bob"], one.id)
    with pytest.raises(AuthError):
        run_in(service.delete_run, None, one.id)
    run_in(service.delete_run, users["alice"], one.id)
    with pytest.raises(NotFoundError):
        run_in(service.get_run, one.id)
    with factory() as s:
        assert s.scalars(select(Score.run_id).distinct()).all() == [two.id]
        assert s.get(System, two.system_id) is not None  # still has a run
    run_in(service.delete_run, users["root"], two.id)
    with factory() as s:
        assert s.scalars(select(Score)).all() == []
        assert s.scalars(select(System)).all() == []  # the name is free again
    with pytest.raises(NotFoundError):
        run_in(service.delete_run, users["root"], two.id)
    run_in(service.submit_run, users["bob"], "te", results, name="a")


def test_score_run_rescores_in_place(
    factory, users: dict[str, User], benchmark: Benchmark, results: bytes, run_in: Callable[..., object]
) -> None:
    run = run_in(service.submit_run, users["alice"], "te", results, name="a")
    before = run_in(service.run_scores, run.id, None, per_topic=True)
    again = run_in(service.score_run, run.id)
    assert again.status == "scored"
    assert run_in(service.run_scores, run.id, None, per_topic=True) == before
    with factory() as s:
        assert len(s.scalars(select(Score.id)).all()) == 7 * 4
    with pytest.raises(NotFoundError):
        run_in(service.score_run, 999)


def test_ids_no_table_can_hold_are_not_found(
    users: dict[str, User], benchmark: Benchmark, results: bytes, run_in: Callable[..., object]
) -> None:
    run = run_in(service.submit_run, users["alice"], "te", results, name="a")
    for big in (2**31, 2**63, 2**64 + 5, 0, -1):
        for call in (
            lambda: run_in(service.get_run, big),
            lambda: run_in(service.run_scores, big, None),
            lambda: run_in(service.delete_run, users["root"], big),
            lambda: run_in(service.compare_runs, [run.id, big], None, None),
            lambda: run_in(service.revoke_tokens, None, token_id=big),
        ):
            with pytest.raises(NotFoundError):
                call()


def test_metadata_is_bounded_in_depth_and_size(
    users: dict[str, User], benchmark: Benchmark, results: bytes, run_in: Callable[..., object], table_counts
) -> None:
    before = table_counts()
    deep: dict[str, object] = {}
    node = deep
    for _ in range(970):  # stored, then unreadable, before the bound
        node["k"] = {}
        node = node["k"]  # type: ignore[assignment]
    for metadata, message in ((deep, "nested deeper than 32"), ({"x": "y" * 70_000}, "larger than 65,536")):
        with pytest.raises(InputError, match=message):
            run_in(service.submit_run, users["alice"], "te", results, name="a", metadata=metadata)
    assert table_counts() == before
    ok = {"a": [{"b": [1, 2, {"c": None}]}]}
    run = run_in(service.submit_run, users["alice"], "te", results, name="a", metadata=ok)
    assert run.system.metadata_ == ok


def test_the_ir_metadata_header_is_stored_with_the_run(
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    run_in: Callable[..., object],
    factory,
    table_counts,
) -> None:
    header = b"# ir_metadata.start\n# tag: bm25\n# method: {retrieval: [{name: bm25, k1: 0.9}]}\n# ir_metadata.end\n"
    run = run_in(service.submit_run, users["alice"], "te", header + results, name="with-header")
    with factory() as s:
        stored = s.get(Run, run.id)
        assert stored.ir_metadata == {"tag": "bm25", "method": {"retrieval": [{"name": "bm25", "k1": 0.9}]}}
    plain = run_in(service.submit_run, users["alice"], "te", results, name="plain")
    with factory() as s:
        assert s.get(Run, plain.id).ir_metadata is None
    before = table_counts()
    with pytest.raises(FormatError, match=r"ir_metadata header: no '# ir_metadata\.end' line"):
        run_in(service.submit_run, users["alice"], "te", b"# ir_metadata.start\n" + results, name="bad")
    assert table_counts() == before

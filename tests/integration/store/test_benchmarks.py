"""Benchmarks and qrels versions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from ragbench.errors import (
    AuthError,
    ConflictError,
    FormatError,
    InputError,
    MeasureError,
    NotFoundError,
    PermissionDenied,
)
from ragbench.evaluation.engine import evaluate
from ragbench.store import service
from ragbench.store.models import DEFAULT_MEASURES, Benchmark, QrelsVersion, Run, Score, User

TOPICS = "<top>\n<num> Number: 301\n<title> international organized crime\n</top>\n"


def test_create_benchmark_stores_qrels_version_1(
    factory, users: dict[str, User], qrels_text: str, run_in: Callable[..., object]
) -> None:
    made = run_in(
        service.create_benchmark,
        users["root"],
        "te",
        title="T",
        description="D",
        topics_text=TOPICS,
        qrels_text=qrels_text,
        corpus_ref="irds:some/corpus",
    )
    assert (made.slug, made.title, made.hidden, made.corpus_ref) == ("te", "T", False, "irds:some/corpus")
    assert made.measures == list(DEFAULT_MEASURES)
    with factory() as s:
        (version,) = service.qrels_versions(s, "te")
        assert (version.version, version.label_source, version.num_judgments) == (1, "human", 3681)
        benchmark = s.scalars(select(Benchmark)).one()
        assert benchmark.topics == TOPICS


def test_measures_are_canonical_and_judged_at_10_always_scored(
    users: dict[str, User], qrels_text: str, run_in: Callable[..., object]
) -> None:
    made = run_in(
        service.create_benchmark, users["root"], "m", qrels_text=qrels_text, measures=["NDCG@10", "MAP", "AP"]
    )
    assert made.measures == ["nDCG@10", "AP"]
    assert made.scored_measures == ["nDCG@10", "AP", "Judged@10"]
    with pytest.raises(MeasureError):
        run_in(service.create_benchmark, users["root"], "bad", qrels_text=qrels_text, measures=["nDCG@"])
    with pytest.raises(MeasureError, match="cutoff"):
        run_in(service.create_benchmark, users["root"], "bad", qrels_text=qrels_text, measures=["P"])


def test_only_admins_create_benchmarks(
    users: dict[str, User], qrels_text: str, run_in: Callable[..., object]
) -> None:
    with pytest.raises(PermissionDenied):
        run_in(service.create_benchmark, users["alice"], "te", qrels_text=qrels_text)
    with pytest.raises(AuthError):
        run_in(service.create_benchmark, None, "te", qrels_text=qrels_text)


def test_benchmark_input_errors(
    users: dict[str, User], qrels_text: str, run_in: Callable[..., object], table_counts
) -> None:
    root = users["root"]
    before = table_counts()
    for slug in ("", "Upper", "has space", "-lead", "x" * 101, "a/b"):
        with pytest.raises(InputError, match="slug"):
            run_in(service.create_benchmark, root, slug, qrels_text=qrels_text)
    with pytest.raises(FormatError) as info:
        run_in(service.create_benchmark, root, "te", qrels_text="301 0 d1 1\n301 0 d2 high\n")
    assert (info.value.problems[0].file, info.value.problems[0].line) == ("qrels", 2)
    with pytest.raises(FormatError) as info:
        run_in(service.create_benchmark, root, "te", qrels_text=qrels_text, topics_text="<top>\n<num> 1\n")
    assert info.value.problems[0].file == "topics"
    with pytest.raises(InputError, match="'all'"):
        run_in(service.create_benchmark, root, "te", qrels_text="all 0 d1 1\n")
    assert table_counts() == before
    run_in(service.create_benchmark, root, "te", qrels_text=qrels_text)
    with pytest.raises(ConflictError, match="exists"):
        run_in(service.create_benchmark, root, "te", qrels_text=qrels_text)


def test_list_get_and_hide(users: dict[str, User], qrels_text: str, run_in: Callable[..., object]) -> None:
    root = users["root"]
    run_in(service.create_benchmark, root, "b", qrels_text=qrels_text, hidden=True)
    run_in(service.create_benchmark, root, "a", qrels_text=qrels_text)
    assert [b.slug for b in run_in(service.list_benchmarks, None)] == ["a", "b"]  # hidden ones are listed
    assert run_in(service.get_benchmark, "b", None).hidden
    with pytest.raises(NotFoundError):
        run_in(service.get_benchmark, "c")
    with pytest.raises(PermissionDenied):
        run_in(service.set_hidden, users["alice"], "b", False)
    assert not run_in(service.set_hidden, root, "b", False).hidden
    assert run_in(service.set_hidden, root, "a", True).hidden


def test_new_qrels_version_rescores_every_run_and_keeps_old_scores(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    qrels_text: str,
    trec_eval_data: Path,
    run_in: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    results = (trec_eval_data / "results.test").read_bytes()
    small = run_in(service.submit_run, users["alice"], "te", results, name="a")
    other = results.replace(b"STANDARD", b"OTHER").replace(b"  2.1", b"  0.1")
    big = run_in(service.submit_run, users["bob"], "te", other, name="b")
    old = {r: run_in(service.run_scores, r.id, users["root"], per_topic=True) for r in (small, big)}

    # Version 2 judges only topic 301's documents and relabels them: every value may move.
    lines = [line for line in qrels_text.splitlines() if line.startswith("301 ")]
    v2_text = "\n".join(f"{q} {it} {doc} {1 - int(rel)}" for q, it, doc, rel in map(str.split, lines)) + "\n"
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "1400")  # results.test has 1500 lines
    from ragbench.settings import get_settings

    get_settings.cache_clear()
    with pytest.raises(PermissionDenied):
        run_in(service.add_qrels_version, users["alice"], "te", v2_text)
    version = run_in(service.add_qrels_version, users["root"], "te", v2_text, label_source="llm")
    assert (version.version, version.label_source) == (2, "llm")
    with factory() as s:
        assert {r.id: r.status for r in s.scalars(select(Run))} == {small.id: "pending", big.id: "pending"}
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "300000")
    get_settings.cache_clear()
    assert service.process_pending(factory) == 2

    for run, data in ((small, results), (big, other)):
        new = run_in(service.run_scores, run.id, users["root"], per_topic=True)
        expected = evaluate(v2_text.encode(), data, list(DEFAULT_MEASURES), complete=True)
        assert list(new["AP"]) == ["all", "301"]
        for measure in DEFAULT_MEASURES:
            assert new[measure]["all"] == expected.aggregate[measure]
            assert np.array_equal([new[measure][q] for q in expected.query_ids], expected.per_query[measure])
        # the version 1 scores are still there, under version 1
        assert run_in(service.run_scores, run.id, users["root"], per_topic=True, version=1) == old[run]
    with factory() as s:
        versions = s.execute(select(Score.qrels_version_id).distinct()).scalars().all()
        assert sorted(s.get(QrelsVersion, v).version for v in versions) == [1, 2]

    with pytest.raises(ConflictError, match="identical to version 2"):
        run_in(service.add_qrels_version, users["root"], "te", v2_text)
    with pytest.raises(InputError, match="label source"):
        run_in(service.add_qrels_version, users["root"], "te", "301 0 x 1\n", label_source="crowd")
    with pytest.raises(NotFoundError):
        run_in(service.run_scores, small.id, None, version=9)


def test_new_qrels_version_scores_small_runs_at_once(
    users: dict[str, User], benchmark: Benchmark, trec_eval_data: Path, run_in: Callable[..., object]
) -> None:
    results = (trec_eval_data / "results.test").read_bytes()
    run = run_in(service.submit_run, users["alice"], "te", results, name="a")
    v2 = b"301 0 FR940202-2-00150 1\n302 0 nothing 1\n"
    run_in(service.add_qrels_version, users["root"], "te", v2.decode())
    assert run_in(service.get_run, run.id).status == "scored"
    scores = run_in(service.run_scores, run.id, None, per_topic=True)
    expected = evaluate(v2, results, ["AP", "P@10"], complete=True)
    assert scores["AP"] == {
        "all": expected.aggregate["AP"],
        **dict(zip(expected.query_ids, expected.per_query["AP"])),
    }
    assert set(scores["P@10"]) == {"all", "301", "302"}


def test_a_version_added_during_a_submission_still_scores_the_run(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    trec_eval_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ragbench.store import _runs

    results = (trec_eval_data / "results.test").read_bytes()
    parsing, release = threading.Event(), threading.Event()
    real_parse = _runs.parse_run

    def slow_parse(*args: object, **kwargs: object) -> object:
        parsing.set()
        assert release.wait(30)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(_runs, "parse_run", slow_parse)
    box: dict[str, object] = {}

    def submit() -> None:
        with factory() as s, s.begin():
            box["run"] = service.submit_run(s, users["alice"], "te", results, name="a")

    def add_version() -> None:
        with factory() as s, s.begin():
            service.add_qrels_version(s, users["root"], "te", "301 0 FR940202-2-00150 1\n")

    submitter, versioner = threading.Thread(target=submit), threading.Thread(target=add_version)
    submitter.start()
    assert parsing.wait(30)  # the submission has read version 1 and is scoring against it
    versioner.start()
    versioner.join(1.0)  # PostgreSQL: waits for the submission; SQLite: commits at once
    release.set()
    submitter.join(30)
    versioner.join(30)
    service.process_pending(factory)  # SQLite: the submission saw version 2 and queued its run
    with factory() as s:
        run = s.get(Run, box["run"].id)
        assert run.status == "scored"
        assert set(service.run_scores(s, run.id, None, per_topic=True)["AP"]) == {"all", "301"}  # version 2
        assert len(service.run_scores(s, run.id, None, per_topic=True, version=1)["AP"]) == 4


def test_a_version_added_before_a_submission_commits_still_scores_the_run(
    factory, users: dict[str, User], benchmark: Benchmark, trec_eval_data: Path
) -> None:
    results = (trec_eval_data / "results.test").read_bytes()

    def add_version() -> None:
        with factory() as s, s.begin():
            service.add_qrels_version(s, users["root"], "te", "301 0 FR940202-2-00150 1\n")

    versioner = threading.Thread(target=add_version)
    with factory() as s, s.begin():
        run = service.submit_run(s, users["alice"], "te", results, name="a")
        assert run.status == "scored"  # against version 1, not committed yet
        versioner.start()
        versioner.join(1.0)  # it must wait for this transaction (a lock), or miss the run
    versioner.join(30)
    service.process_pending(factory)
    with factory() as s:
        assert set(service.run_scores(s, run.id, None, per_topic=True)["AP"]) == {"all", "301"}

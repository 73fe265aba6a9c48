"""Benchmarks with sessions: session qrels versions, session runs, their scores and leaderboard."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from support.paths import FIXTURES
from support.webserver import synthetic_session_run, synthetic_sessions

from ragbench.errors import (
    AuthError,
    ConflictError,
    FormatError,
    InputError,
    MeasureError,
    NotFoundError,
    PermissionDenied,
    TooLargeError,
)
from ragbench.evaluation.session import DEFAULT_SESSION_MEASURES, evaluate_sessions
from ragbench.formats.sessions import SessionTopics, read_sessions
from ragbench.settings import get_settings
from ragbench.store import service
from ragbench.store.models import Benchmark, QrelsVersion, Run, Score, User

SESSION_FILES = FIXTURES / "sessions"
NUM, SDCG = "NUM(L=1000)", "sessDCG(b=2,bq=4)@10"
EXAMPLE = "s1"
"""The session of the spec's running example in ``tests/fixtures/sessions``."""


@pytest.fixture
def example() -> dict[str, bytes]:
    """The spec's running example: ``sessions``, ``qrels`` and ``run`` files."""
    names = {"sessions": "sessions.tsv", "qrels": "qrels.txt", "run": "run.tsv"}
    return {key: (SESSION_FILES / name).read_bytes() for key, name in names.items()}


@pytest.fixture
def synthetic() -> tuple[str, str]:
    """Eight sessions of 1 to 3 queries and their session qrels."""
    return synthetic_sessions(8, seed=5)


@pytest.fixture
def session_benchmark(
    users: dict[str, User], qrels_text: str, example: dict[str, bytes], run_in: Callable[..., object]
) -> Benchmark:
    """Benchmark ``sb`` (trec_eval's qrels) with the running example as its sessions."""
    return run_in(
        service.create_benchmark,
        users["root"],
        "sb",
        qrels_text=qrels_text,
        sessions_text=example["sessions"],
        session_qrels_text=example["qrels"],
    )


def test_running_example_is_stored_with_the_hand_worked_values(
    factory, users: dict[str, User], session_benchmark: Benchmark, example: dict[str, bytes], run_in
) -> None:
    assert session_benchmark.session_measures == list(DEFAULT_SESSION_MEASURES)
    assert session_benchmark.sessions == example["sessions"].decode()
    with factory() as s:
        (version,) = service.qrels_versions(s, "sb", kind="session")
        assert (version.kind, version.version, version.label_source) == ("session", 1, "human")
        assert [v.version for v in service.qrels_versions(s, "sb")] == [1]  # ad hoc versions apart

    run = run_in(
        service.submit_run,
        users["alice"],
        "sb",
        example["run"],
        name="example",
        filename="run.tsv",
        kind="session",
    )
    assert (run.kind, run.status, run.error) == ("session", "scored", None)
    scores = run_in(service.run_scores, run.id, None, per_topic=True)
    assert list(scores) == list(DEFAULT_SESSION_MEASURES)
    assert round(scores[NUM][EXAMPLE], 6) == 0.628067  # spec section 1.4 (c)
    assert round(scores[SDCG][EXAMPLE], 6) == 4.884502  # spec section 3 (A)

    topics = read_sessions(example["sessions"], name="sessions")
    expected = evaluate_sessions(
        example["qrels"], example["run"], list(DEFAULT_SESSION_MEASURES), sessions=topics
    )
    for measure in DEFAULT_SESSION_MEASURES:
        assert list(scores[measure]) == ["all", *expected.query_ids]
        assert scores[measure]["all"] == pytest.approx(expected.aggregate[measure], abs=1e-12)
        values = [scores[measure][q] for q in expected.query_ids]
        assert np.allclose(values, expected.per_query[measure], rtol=0, atol=1e-12)
    with factory() as s:
        fingerprints = dict(
            s.execute(select(Score.measure, Score.fingerprint).where(Score.run_id == run.id)).all()
        )
        assert fingerprints == {m: expected.fingerprints[m].to_dict() for m in DEFAULT_SESSION_MEASURES}


def test_sessions_missing_from_a_run_score_zero(
    users: dict[str, User], benchmark: Benchmark, synthetic: tuple[str, str], run_in
) -> None:
    sessions, qrels = synthetic
    run_in(service.add_sessions, users["root"], "te", sessions, qrels, measures=["NUM", "sessDCG@10"])
    full = synthetic_session_run(sessions, qrels, quality=3.0, seed=1)
    only_s01 = "".join(line + "\n" for line in full.splitlines() if line.startswith("s01\t"))
    run = run_in(service.submit_run, users["alice"], "te", only_s01.encode(), name="partial", kind="session")
    assert run.num_topics == 1
    scores = run_in(service.run_scores, run.id, None, per_topic=True)
    assert list(scores) == [NUM, SDCG]
    assert len(scores[NUM]) == 1 + 8
    assert all(scores[NUM][f"s{i:02d}"] == 0.0 for i in range(2, 9))
    assert scores[NUM]["all"] == pytest.approx(scores[NUM]["s01"] / 8)


def test_add_sessions_is_for_admins_once(
    users: dict[str, User], benchmark: Benchmark, synthetic: tuple[str, str], run_in, table_counts
) -> None:
    sessions, qrels = synthetic
    before = table_counts()
    with pytest.raises(PermissionDenied):
        run_in(service.add_sessions, users["alice"], "te", sessions, qrels)
    with pytest.raises(AuthError):
        run_in(service.add_sessions, None, "te", sessions, qrels)
    with pytest.raises(NotFoundError):
        run_in(service.add_sessions, users["root"], "nope", sessions, qrels)
    with pytest.raises(MeasureError):
        run_in(service.add_sessions, users["root"], "te", sessions, qrels, measures=["NUM", "sessDCG@x"])
    with pytest.raises(InputError, match="label source"):
        run_in(service.add_sessions, users["root"], "te", sessions, qrels, label_source="crowd")
    assert table_counts() == before

    made = run_in(
        service.add_sessions, users["root"], "te", sessions, qrels, measures=["sessDCG@10", "NUM", "NUM"]
    )
    assert made.session_measures == [SDCG, NUM]
    assert made.measures_of("session") == [SDCG, NUM]
    with pytest.raises(ConflictError, match="already has sessions"):
        run_in(service.add_sessions, users["root"], "te", sessions, qrels)


def test_bad_sessions_or_session_qrels_change_nothing(
    users: dict[str, User], qrels_text: str, synthetic: tuple[str, str], run_in, table_counts
) -> None:
    sessions, qrels = synthetic
    root = users["root"]
    create = {"qrels_text": qrels_text}
    before = table_counts()
    gap = "s1\t1\tfirst\ns1\t3\tthird\n"
    with pytest.raises(FormatError) as info:
        run_in(service.create_benchmark, root, "x", **create, sessions_text=gap, session_qrels_text=qrels)
    assert (info.value.problems[0].file, info.value.problems[0].line) == ("sessions", 2)
    unknown = qrels + "s99 0 d1 1\n"
    with pytest.raises(FormatError) as info:
        run_in(
            service.create_benchmark, root, "x", **create, sessions_text=sessions, session_qrels_text=unknown
        )
    problem = info.value.problems[0]
    assert (problem.file, problem.line) == ("session qrels", len(unknown.splitlines()))
    assert "s99" in problem.message
    with pytest.raises(InputError, match="go together"):
        run_in(service.create_benchmark, root, "x", **create, sessions_text=sessions)
    with pytest.raises(InputError, match="'all'"):
        run_in(
            service.create_benchmark,
            root,
            "x",
            **create,
            sessions_text="all\t1\tq\n",
            session_qrels_text="all 0 d1 1\n",
        )
    run_in(service.create_benchmark, root, "y", **create)
    with pytest.raises(FormatError) as info:
        run_in(service.add_sessions, root, "y", sessions, "s01 0 d1 high\n")
    assert (info.value.problems[0].file, info.value.problems[0].line) == ("session qrels", 1)
    after = table_counts()
    assert (
        after["benchmark"] == before["benchmark"] + 1
        and after["qrels_version"] == before["qrels_version"] + 1
    )
    with pytest.raises(InputError, match="no sessions"):
        run_in(service.add_session_qrels_version, root, "y", qrels)
    assert table_counts() == after


def test_bad_session_run_is_refused_with_its_line_and_adds_no_row(
    users: dict[str, User], session_benchmark: Benchmark, example: dict[str, bytes], run_in, table_counts
) -> None:
    good = example["run"].decode()
    lines = good.splitlines(keepends=True)
    # the second query of the session becomes its third: a gap in its query indexes
    second = next(i for i, line in enumerate(lines) if line.split("\t")[:2] == [EXAMPLE, "2"])
    gap = "".join(
        line.replace(f"{EXAMPLE}\t2\t", f"{EXAMPLE}\t3\t", 1) if line.startswith(f"{EXAMPLE}\t2\t") else line
        for line in lines
    )
    unknown = good.rstrip("\n") + "\nnosuch\t1\t1\td1\t0\n"
    before = table_counts()
    cases = [
        (gap.encode(), "gap.tsv", second + 1, "query"),
        (unknown.encode(), "unknown.tsv", len(unknown.splitlines()), "nosuch"),
        (b"301 Q0 doc 1 2.5 tag\n", "trec.txt", 1, ""),
        (b"", "empty.tsv", 0, ""),
    ]
    for content, filename, line, words in cases:
        with pytest.raises(FormatError) as info:
            run_in(
                service.submit_run,
                users["alice"],
                "sb",
                content,
                name="bad",
                filename=filename,
                kind="session",
            )
        first = info.value.problems[0]
        assert (first.file, first.line) == (filename, line) or (line == 0 and first.file == filename), first
        assert words in first.message
        assert table_counts() == before
    with pytest.raises(InputError, match="kind"):
        run_in(service.submit_run, users["alice"], "sb", example["run"], name="x", kind="sessions")
    assert table_counts() == before


def test_session_runs_need_sessions_and_respect_the_upload_limit(
    users: dict[str, User], benchmark: Benchmark, session_benchmark: Benchmark, example, run_in, monkeypatch
) -> None:
    with pytest.raises(InputError, match="no sessions"):
        run_in(service.submit_run, users["alice"], "te", example["run"], name="x", kind="session")
    with pytest.raises(InputError, match="no sessions"):
        run_in(service.leaderboard, "te", "NUM", kind="session")
    monkeypatch.setenv("RAGBENCH_MAX_UPLOAD_BYTES", "10")
    get_settings.cache_clear()
    with pytest.raises(TooLargeError):
        run_in(service.submit_run, users["alice"], "sb", example["run"], name="x", kind="session")


def test_duplicate_session_run_is_a_conflict(
    users: dict[str, User], session_benchmark: Benchmark, example: dict[str, bytes], run_in, table_counts
) -> None:
    first = run_in(service.submit_run, users["alice"], "sb", example["run"], name="a", kind="session")
    before = table_counts()
    with pytest.raises(ConflictError, match=f"run {first.id}"):
        run_in(service.submit_run, users["bob"], "sb", example["run"], name="b", kind="session")
    assert table_counts() == before


def test_hidden_benchmark_withholds_per_session_scores(
    users: dict[str, User], session_benchmark: Benchmark, example: dict[str, bytes], run_in
) -> None:
    run = run_in(service.submit_run, users["alice"], "sb", example["run"], name="a", kind="session")
    run_in(service.set_hidden, users["root"], "sb", True)
    for actor in (None, users["alice"], users["bob"]):
        withheld = run_in(service.run_scores, run.id, actor, per_topic=True)
        assert all(list(values) == ["all"] for values in withheld.values()), actor
    assert EXAMPLE in run_in(service.run_scores, run.id, users["root"], per_topic=True)[NUM]
    board = run_in(service.leaderboard, "sb", "NUM", kind="session")  # aggregates stay public
    assert board.hidden and [r.run_id for r in board.rows] == [run.id]


def test_only_the_owner_or_an_admin_deletes_a_session_run(
    factory, users: dict[str, User], session_benchmark: Benchmark, example: dict[str, bytes], run_in
) -> None:
    run = run_in(service.submit_run, users["alice"], "sb", example["run"], name="a", kind="session")
    with pytest.raises(PermissionDenied):
        run_in(service.delete_run, users["bob"], run.id)
    run_in(service.delete_run, users["alice"], run.id)
    with factory() as s:
        assert s.scalar(select(Score.id).where(Score.run_id == run.id)) is None
        assert s.get(Run, run.id) is None


@pytest.fixture
def ranked(
    users: dict[str, User], benchmark: Benchmark, synthetic: tuple[str, str], run_in, trec_eval_data: Path
) -> dict[str, int]:
    """Benchmark ``te`` with the synthetic sessions and four session runs (and one ad hoc run)."""
    sessions, qrels = synthetic
    run_in(service.add_sessions, users["root"], "te", sessions, qrels)
    ids = {}
    for name, quality, seed in (("good", 3.0, 1), ("fair", 1.0, 2), ("noisy", 0.6, 3), ("poor", 0.0, 4)):
        content = synthetic_session_run(sessions, qrels, quality=quality, seed=seed).encode()
        ids[name] = run_in(service.submit_run, users["alice"], "te", content, name=name, kind="session").id
    ids["adhoc"] = run_in(
        service.submit_run, users["bob"], "te", (trec_eval_data / "results.test").read_bytes(), name="adhoc"
    ).id
    return ids


def test_session_leaderboard_ranks_by_the_chosen_measure(ranked: dict[str, int], run_in) -> None:
    session_ids = {v for k, v in ranked.items() if k != "adhoc"}
    orders = {}
    for measure in DEFAULT_SESSION_MEASURES:
        board = run_in(
            service.leaderboard, "te", measure.split("(")[0] + measure.split(")")[1], kind="session"
        )
        assert (board.kind, board.measure, board.measures) == ("session", measure, DEFAULT_SESSION_MEASURES)
        assert {r.run_id for r in board.rows} == session_ids and board.total == 4
        means = {r.run_id: run_in(service.run_scores, r.run_id, None)[measure]["all"] for r in board.rows}
        assert [r.value for r in board.rows] == [means[r.run_id] for r in board.rows]
        assert [r.run_id for r in board.rows] == sorted(means, key=lambda i: (-means[i], i))
        assert [r.rank for r in board.rows] == [1, 2, 3, 4]
        for row in board.rows:
            assert list(row.values) == list(DEFAULT_SESSION_MEASURES) and row.values[measure] == row.value
            assert row.judged_at_10 is None and row.tier is not None
        orders[measure] = [r.run_id for r in board.rows]
    assert orders[NUM][0] == ranked["good"] and orders[NUM][-1] == ranked["poor"]
    adhoc = run_in(service.leaderboard, "te", "AP")
    assert [r.run_id for r in adhoc.rows] == [ranked["adhoc"]] and adhoc.kind == "adhoc"
    with pytest.raises(InputError, match="not scored on"):
        run_in(service.leaderboard, "te", "esNCG@10", kind="session")
    with pytest.raises(MeasureError, match="unknown session measure"):
        run_in(service.leaderboard, "te", "AP", kind="session")
    with pytest.raises(InputError, match="kind"):
        run_in(service.leaderboard, "te", "AP", kind="sessions")


def test_compare_session_runs(ranked: dict[str, int], run_in) -> None:
    report = run_in(service.compare_runs, [ranked["good"], ranked["poor"]], None, None)
    assert {c.measure for c in report} == set(DEFAULT_SESSION_MEASURES)
    assert all(c.n_topics == 8 for c in report)
    with pytest.raises(InputError, match="session runs"):
        run_in(service.compare_runs, [ranked["good"], ranked["adhoc"]], None, None)


def test_a_new_session_qrels_version_rescores_session_runs_only(
    factory,
    users: dict[str, User],
    ranked: dict[str, int],
    synthetic: tuple[str, str],
    run_in,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sessions, qrels = synthetic
    before = {k: run_in(service.run_scores, v, None, per_topic=True) for k, v in ranked.items()}
    # every judged document of s01 becomes highly relevant
    changed = "".join(
        (line.rsplit(" ", 1)[0] + " 2\n") if line.startswith("s01 ") else line + "\n"
        for line in qrels.splitlines()
    )
    with pytest.raises(PermissionDenied):
        run_in(service.add_session_qrels_version, users["alice"], "te", changed)
    with pytest.raises(ConflictError, match="identical"):
        run_in(service.add_session_qrels_version, users["root"], "te", qrels)
    with pytest.raises(FormatError):
        run_in(service.add_session_qrels_version, users["root"], "te", changed + "s77 0 x 1\n")

    # runs over 30 rows wait for the worker; smaller ones are re-scored at once
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "30")
    get_settings.cache_clear()
    version = run_in(service.add_session_qrels_version, users["root"], "te", changed, label_source="llm")
    assert (version.kind, version.version, version.label_source) == ("session", 2, "llm")
    with factory() as s:
        statuses = {k: s.get(Run, v).status for k, v in ranked.items()}
    assert statuses == {
        "good": "pending",
        "fair": "pending",
        "noisy": "pending",
        "poor": "pending",
        "adhoc": "scored",
    }
    assert service.process_pending(factory) == 4

    topics: SessionTopics = read_sessions(sessions.encode(), name="sessions")
    with factory() as s:
        for name, run_id in ranked.items():
            run = s.get(Run, run_id)
            assert run.status == "scored", (name, run.error)
            after = service.run_scores(s, run_id, None, per_topic=True)
            if name == "adhoc":
                assert after == before[name]  # ad hoc runs are not touched by session qrels
                continue
            assert service.run_scores(s, run_id, None, per_topic=True, version=1) == before[name]
            content = zlib.decompress(run.content)
            expected = evaluate_sessions(
                changed.encode(), content, list(DEFAULT_SESSION_MEASURES), sessions=topics
            )
            assert after[NUM]["all"] == pytest.approx(expected.aggregate[NUM], abs=1e-12)
            assert after[NUM]["s01"] != before[name][NUM]["s01"] or before[name][NUM]["s01"] == 0
            others = [q for q in after[NUM] if q not in ("all", "s01")]
            assert [after[NUM][q] for q in others] == pytest.approx([before[name][NUM][q] for q in others])
        assert [v.version for v in service.qrels_versions(s, "te", kind="session")] == [1, 2]
        assert [v.version for v in service.qrels_versions(s, "te")] == [1]
        assert s.scalar(select(QrelsVersion.kind).where(QrelsVersion.id == version.id)) == "session"
    board = run_in(service.leaderboard, "te", "NUM", kind="session")
    assert board.qrels_version == 2 and board.total == 4


def test_large_session_runs_wait_for_the_worker(
    factory,
    users: dict[str, User],
    session_benchmark: Benchmark,
    example: dict[str, bytes],
    run_in,
    monkeypatch,
) -> None:
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "1")
    get_settings.cache_clear()
    run = run_in(service.submit_run, users["alice"], "sb", example["run"], name="a", kind="session")
    assert run.status == "pending" and run_in(service.run_scores, run.id, None) == {}
    assert service.process_pending(factory) == 1
    scores = run_in(service.run_scores, run.id, None, per_topic=True)
    assert round(scores[NUM][EXAMPLE], 6) == 0.628067
    # and from the stored file, as a worker in another process scores it
    run_in(service.score_run, run.id)
    assert round(run_in(service.run_scores, run.id, None, per_topic=True)[SDCG][EXAMPLE], 6) == 4.884502

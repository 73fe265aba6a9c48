"""The background worker's step: process_pending."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from ragbench.settings import get_settings
from ragbench.store import _scoring, service
from ragbench.store.models import Benchmark, Run, User


@pytest.fixture
def results(trec_eval_data: Path) -> bytes:
    return (trec_eval_data / "results.test").read_bytes()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every run waits for the worker."""
    monkeypatch.setenv("RAGBENCH_INLINE_SCORING_LINES", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _runs(factory) -> dict[int, Run]:
    with factory() as s:
        return {r.id: r for r in s.scalars(select(Run))}


def _set(factory, run_id: int, **values: object) -> None:
    with factory() as s, s.begin():
        s.execute(update(Run).where(Run.id == run_id).values(**values))


def test_scores_pending_runs_oldest_first_with_a_limit(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    ids = [
        run_in(service.submit_run, users["alice"], "te", results + b"\n" * k, name=f"s{k}").id
        for k in range(3)
    ]
    assert {r.status for r in _runs(factory).values()} == {"pending"}
    assert service.process_pending(factory, limit=2) == 2
    assert [_runs(factory)[i].status for i in ids] == ["scored", "scored", "pending"]
    assert service.process_pending(factory) == 1
    assert service.process_pending(factory) == 0
    assert all(r.status == "scored" and r.attempts == 1 for r in _runs(factory).values())


def test_scores_without_the_handoff_too(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    run = run_in(service.submit_run, users["alice"], "te", results, name="a")
    _scoring._handoffs.clear()  # as in a worker process other than the API's
    assert service.process_pending(factory) == 1
    get_settings.cache_clear()
    assert _runs(factory)[run.id].status == "scored"
    assert len(run_in(service.run_scores, run.id, None, per_topic=True)["AP"]) == 4


def test_failures_are_recorded_with_their_reason(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    damaged = run_in(service.submit_run, users["alice"], "te", results, name="a").id
    malformed = run_in(service.submit_run, users["alice"], "te", results + b"\n", name="b").id
    fine = run_in(service.submit_run, users["alice"], "te", results + b"\n\n", name="c").id
    _scoring._handoffs.clear()
    _set(factory, damaged, content=b"not zlib")
    _set(factory, malformed, content=zlib.compress(b"301 Q0 doc 1 high tag\n"))
    assert service.process_pending(factory) == 3
    runs = _runs(factory)
    assert runs[damaged].status == "failed" and "the stored run file is damaged" in runs[damaged].error
    assert runs[malformed].status == "failed"
    assert runs[malformed].error == f"run {malformed}:1:14: error: score 'high' is not a number"
    assert runs[fine].status == "scored"
    assert service.process_pending(factory) == 0  # failed runs are not retried


def test_runs_left_scoring_by_a_stopped_worker_are_retried(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    run_id = run_in(service.submit_run, users["alice"], "te", results, name="a").id
    _set(factory, run_id, status="scoring", attempts=1)  # claimed, then the worker died
    assert service.process_pending(factory) == 1
    run = _runs(factory)[run_id]
    assert (run.status, run.attempts) == ("scored", 2)


def test_worker_gives_up_after_max_attempts(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    run_id = run_in(service.submit_run, users["alice"], "te", results, name="a").id
    _set(factory, run_id, status="scoring", attempts=service.MAX_ATTEMPTS)
    assert service.process_pending(factory) == 1
    run = _runs(factory)[run_id]
    assert run.status == "failed" and f"after {service.MAX_ATTEMPTS} attempts" in run.error


def test_a_run_locked_by_a_live_worker_is_left_alone(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    run_id = run_in(service.submit_run, users["alice"], "te", results, name="a").id
    _set(factory, run_id, status="scoring", attempts=1)
    with factory() as s, s.begin():
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's")
        s.execute(select(Run).where(Run.id == run_id).with_for_update())  # a worker scoring it right now
        assert service.process_pending(factory) == 0
    assert _runs(factory)[run_id].attempts == 1
    assert service.process_pending(factory) == 1


def test_a_run_interrupted_by_restarts_is_retried_with_backoff_not_failed(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    from datetime import UTC, datetime, timedelta

    run_id = run_in(service.submit_run, users["alice"], "te", results, name="a").id
    _scoring._handoffs.clear()
    # Three restarts, each while the run was being scored: it was claimed three times.
    soon = datetime.now(UTC) + timedelta(minutes=5)
    _set(factory, run_id, status="scoring", attempts=3, retry_at=soon)
    assert service.process_pending(factory) == 0  # backing off: not claimed before retry_at
    assert _runs(factory)[run_id].status == "scoring"
    _set(factory, run_id, retry_at=datetime.now(UTC) - timedelta(seconds=1))
    assert service.process_pending(factory) == 1
    run = _runs(factory)[run_id]
    assert (run.status, run.attempts, run.error) == ("scored", 4, None)
    # The backoff doubles from 30 s and stops at an hour.
    from ragbench.store._worker import backoff

    waits = [backoff(k).total_seconds() for k in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_claim_sets_when_an_abandoned_run_may_be_claimed_again(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    from datetime import UTC, datetime

    from ragbench.store import _worker

    run_id = run_in(service.submit_run, users["alice"], "te", results, name="a").id
    with factory() as s:
        database = _scoring.database_of(s)
    claimed, gave_up = _worker._claim(factory, database)  # then the worker "dies"
    _worker._in_progress.discard((database, run_id))
    assert (claimed, gave_up) == (run_id, 0)
    with factory() as s:
        run = s.get(Run, run_id)
        assert run.status == "scoring" and run.attempts == 1
        assert (run.retry_at - datetime.now(UTC)).total_seconds() == pytest.approx(30, abs=5)
    assert service.process_pending(factory) == 0  # abandoned, but not retried before its time


def test_a_failed_runs_file_can_be_submitted_again(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    results: bytes,
    queued,
    run_in: Callable[..., object],
) -> None:
    first = run_in(service.submit_run, users["alice"], "te", results, name="a").id
    _set(factory, first, status="failed", error="scoring did not finish")
    again = run_in(service.submit_run, users["bob"], "te", results, name="b")
    assert again.id != first and again.status == "pending"
    runs = _runs(factory)
    assert first not in runs and set(runs) == {again.id}
    assert service.process_pending(factory) == 1
    assert _runs(factory)[again.id].status == "scored"
    from ragbench.errors import ConflictError

    with pytest.raises(ConflictError):  # a run that did not fail still refuses its copy
        run_in(service.submit_run, users["alice"], "te", results, name="c")

"""Concurrent submissions on a real PostgreSQL server (SQLite serialises writers: skipped there)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ragbench.errors import ConflictError
from ragbench.store import service
from ragbench.store.db import make_engine, session_factory, upgrade
from ragbench.store.models import Run, Score, System

THREADS = 20
RUNS_PER_THREAD = 10


@pytest.fixture
def pg_engine(postgres_url: str, trec_eval_data: Path) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = make_engine(postgres_url, pool_size=THREADS + 2)
    factory = session_factory(engine)
    with factory() as s, s.begin():
        root = service.create_user(s, "root", role="admin")
        for k in range(THREADS):
            service.create_user(s, f"user{k}")
        service.create_benchmark(s, root, "te", qrels_text=(trec_eval_data / "qrels.test").read_text())
    yield engine
    engine.dispose()


def _in_threads(target, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def guarded(k: int) -> None:
        try:
            barrier.wait()
            target(k)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def test_200_concurrent_submissions(pg_engine: Engine, trec_eval_data: Path) -> None:
    results = (trec_eval_data / "results.test").read_bytes()
    factory = session_factory(pg_engine)

    def submit(k: int) -> None:
        with factory() as s:
            actor = service.user_by_name(s, f"user{k % 4}")  # 4 owners; systems shared across threads
            s.rollback()
            for i in range(RUNS_PER_THREAD):
                data = results.replace(b"STANDARD", f"T{k}R{i}".encode())
                with s.begin():
                    service.submit_run(s, actor, "te", data, name=f"system{k % 4}-{i % 3}")

    assert _in_threads(submit, THREADS) == []
    with factory() as s:
        total = THREADS * RUNS_PER_THREAD
        assert s.scalar(select(func.count()).select_from(Run)) == total
        assert s.scalar(select(func.count(func.distinct(Run.sha256)))) == total
        assert s.scalars(select(Run.status).distinct()).all() == ["scored"]
        assert s.scalar(select(func.count()).select_from(System)) == 4 * 3
        assert s.scalar(select(func.count()).select_from(Score)) == total * 7 * 4
        assert service.leaderboard(s, "te", "AP", limit=1000).total == total


def test_the_same_file_submitted_concurrently_is_stored_once(pg_engine: Engine, trec_eval_data: Path) -> None:
    results = (trec_eval_data / "results.test").read_bytes()
    factory = session_factory(pg_engine)
    conflicts: list[int] = []

    def submit(k: int) -> None:
        with factory() as s, s.begin():
            try:
                service.submit_run(s, service.user_by_name(s, f"user{k}"), "te", results, name=f"s{k}")
            except ConflictError:
                conflicts.append(k)
                raise

    errors = _in_threads(submit, THREADS)
    assert len(errors) == len(conflicts) == THREADS - 1
    assert all(isinstance(e, ConflictError) for e in errors)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 1
        assert s.scalar(select(func.count()).select_from(System)) == 1

"""Helpers of the arena tests: the rag-pairwise data as a benchmark, small retrieval arenas, and an
independent Bradley–Terry fit.

The rag-pairwise file (``../shared/data/rag-pairwise``) holds answers of 8 RAG systems but no
retrieval runs; until RAG runs are stored, each system is registered with a placeholder TREC run
(one line per topic) so that the imported battles have runs to point at.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from support.paths import SHARED

RAG_PAIRWISE = SHARED / "data" / "rag-pairwise" / "human_pairwise.jsonl"


def rag_pairwise_rows(path: Path = RAG_PAIRWISE) -> list[dict[str, Any]]:
    """The file's JSON objects, in order."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def topic_id(row: dict[str, Any]) -> str:
    """The topic id the importer gives a row: ``dataset/query_id``."""
    return f"{row['dataset']}/{row['query_id']}"


def rag_pairwise_benchmark(path: Path = RAG_PAIRWISE) -> tuple[str, str, dict[str, str]]:
    """``(topics JSONL, qrels, {system: placeholder TREC run})`` for the file's topics and systems."""
    rows = rag_pairwise_rows(path)
    topics = {topic_id(r): r["query"] for r in rows}
    systems = sorted({r[m]["model_name"] for r in rows for m in ("model1", "model2")})
    topics_text = "".join(json.dumps({"query_id": q, "query": text}) + "\n" for q, text in topics.items())
    qrels = "".join(f"{q} 0 reference-{i} 1\n" for i, q in enumerate(topics))
    runs = {
        name: "".join(f"{q} Q0 {name}-{i} 1 1.0 {name}\n" for i, q in enumerate(topics)) for name in systems
    }
    return topics_text, qrels, runs


def votes_from_file(
    path: Path = RAG_PAIRWISE, label: str = "overall_label"
) -> tuple[list[str], list[tuple[str, str, float]]]:
    """Independently of the importer: the systems, and one ``(model1, model2, outcome for model1)``
    per line (label > 0: model2 won, outcome 0; < 0: model1 won, 1; 0: a tie, 0.5)."""
    rows = rag_pairwise_rows(path)
    votes = []
    for r in rows:
        value = r[label]
        outcome = 0.0 if value > 0 else 1.0 if value < 0 else 0.5
        votes.append((r["model1"]["model_name"], r["model2"]["model_name"], outcome))
    systems = sorted({name for a, b, _ in votes for name in (a, b)})
    return systems, votes


def logistic_bradley_terry(
    systems: list[str], votes: list[tuple[str, str, float]], ridge: float = 0.0
) -> dict[str, float]:
    """Bradley–Terry by a plain logistic regression on the votes (one row per vote, x = e_a - e_b,
    y = outcome with a tie as 1/2), Newton's method with an optional L2 penalty; strengths
    centred to sum zero. Written here, independent of ragbench.stats."""
    index = {s: i for i, s in enumerate(systems)}
    k, n = len(systems), len(votes)
    x = np.zeros((n, k))
    for row, (a, b, _) in enumerate(votes):
        x[row, index[a]] += 1.0
        x[row, index[b]] -= 1.0
    y = np.array([o for _, _, o in votes])
    # Pin the last strength to 0 without a penalty; with one, every strength is free.
    free = x if ridge > 0 else x[:, :-1]
    w = np.zeros(free.shape[1])
    for _ in range(200):
        p = 1 / (1 + np.exp(-(free @ w)))
        gradient = free.T @ (y - p) - ridge * w
        hessian = (free * (p * (1 - p))[:, None]).T @ free + ridge * np.eye(free.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w += step
        if np.abs(step).max() < 1e-14:
            break
    theta = w if ridge > 0 else np.append(w, 0.0)
    theta = theta - theta.mean()
    return {s: float(theta[i]) for s, i in index.items()}


@contextmanager
def module_database(kind: str, folder: Path) -> Iterator[str]:
    """A migrated database (``kind`` ``sqlite`` or ``postgresql``) for a module's tests, dropped on
    exit; PostgreSQL skips without ``RAGBENCH_TEST_POSTGRES_URL``. Migrating and dropping one is
    most of a small store test's time, so the arena's store modules share one per kind and empty
    it after each test (:func:`emptied_engine`)."""
    from ragbench.store.db import scratch_postgres_database, upgrade

    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{folder / 'ragbench.db'}"
        else:
            admin_url = os.environ.get("RAGBENCH_TEST_POSTGRES_URL")
            if not admin_url:
                pytest.skip("no PostgreSQL server: set RAGBENCH_TEST_POSTGRES_URL (.ci/run does)")
            url = stack.enter_context(scratch_postgres_database(admin_url, prefix="ragbench_test"))
        upgrade(url)
        yield url


@contextmanager
def emptied_engine(url: str) -> Iterator[Any]:
    """An engine on ``url``; on exit every table of the models is emptied (the next test starts
    from an empty, migrated database) and the engine disposed."""
    from ragbench.store.db import make_engine
    from ragbench.store.models import Base

    engine = make_engine(url)
    try:
        yield engine
        with engine.begin() as c:
            for table in reversed(Base.metadata.sorted_tables):
                c.execute(table.delete())
    finally:
        engine.dispose()

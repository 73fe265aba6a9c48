"""Qrels probing on hidden benchmarks: the probe of issue 15, the minimum run shape, the quotas.

The probe: one run per candidate document, holding only that document, and its P@10 read back:
P@10 = relevance / (10 x judged topics), so each run tells one label. On a public benchmark it
recovers every label (the positive control); on a hidden one every probe is refused before it is
scored, and a probe padded to the minimum shape is stopped by the quota, deletions included.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ragbench.errors import InputError, QuotaExceeded
from ragbench.settings import get_settings
from ragbench.store import service
from ragbench.store.models import Benchmark, Submission, User

PROBES = 20


@pytest.fixture
def quotas(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RAGBENCH_SUBMISSIONS_PER_DAY", "3")
    monkeypatch.setenv("RAGBENCH_SUBMISSIONS_TOTAL", "5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _labels(qrels_text: str) -> dict[tuple[str, str], int]:
    labels = {}
    for line in qrels_text.splitlines():
        topic, _, doc, rel = line.split()
        labels[topic, doc] = int(int(rel) > 0)
    return labels


def _probe(
    run_in: Callable[..., object], user: User, candidates: list[tuple[str, str]], pad: bool
) -> dict[tuple[str, str], int]:
    """Submit one run per candidate and read each label back from P@10; delete the probes after.
    With ``pad``, every other judged topic gets 10 documents that are not in the qrels."""
    recovered = {}
    for i, (topic, doc) in enumerate(candidates):
        lines = [f"{topic} Q0 {doc} 1 100 probe"]
        if pad:
            lines += [f"{topic} Q0 PAD-{i}-{k} {k + 2} {50 - k} probe" for k in range(9)]
            lines += [
                f"{t} Q0 PAD-{i}-{t}-{k} {k + 1} {10 - k} probe" for t in ("302", "303") for k in range(10)
            ]
        try:
            run = run_in(service.submit_run, user, "te", ("\n".join(lines) + "\n").encode(), name=f"probe{i}")
        except (InputError, QuotaExceeded):
            continue
        p10 = run_in(service.run_scores, run.id, user)["P@10"]["all"]
        recovered[topic, doc] = round(p10 * 10 * 3)
        run_in(service.delete_run, user, run.id)  # no trace left... but the submission counts
    return recovered


def test_the_probe_recovers_no_label_from_a_hidden_benchmark(
    users: dict[str, User],
    benchmark: Benchmark,
    qrels_text: str,
    quotas: None,
    run_in: Callable[..., object],
) -> None:
    labels = _labels(qrels_text)
    rng = random.Random(7)
    relevant = [k for k, v in labels.items() if v and k[0] == "301"]
    other = [k for k, v in labels.items() if not v and k[0] == "301"]
    candidates = rng.sample(relevant, PROBES // 2) + rng.sample(other, PROBES // 2)

    # Positive control: on the public benchmark the probe reads every label.
    found = _probe(run_in, users["alice"], candidates, pad=False)
    assert found == {k: labels[k] for k in candidates}

    run_in(service.set_hidden, users["root"], "te", True)
    # The probe as it was: one-document runs are refused (minimum shape), nothing is scored.
    assert _probe(run_in, users["bob"], candidates, pad=False) == {}
    # Padded to the minimum shape, probes are accepted up to the daily quota, and no further:
    # deleting them does not give the quota back.
    padded = _probe(run_in, users["bob"], candidates, pad=True)
    assert len(padded) == 3
    with pytest.raises(QuotaExceeded) as refused:
        run_in(service.submit_run, users["bob"], "te", b"301 Q0 x 1 1 t\n", name="late")
    assert refused.value.retry_after is not None and 0 < refused.value.retry_after <= 86_400
    assert "deleted runs count too" in str(refused.value)
    # Admins are not probing: no quota or shape for them.
    run_in(service.submit_run, users["root"], "te", b"301 Q0 x 1 1 t\n", name="admin-run")


def test_the_total_quota_counts_deleted_runs_and_never_resets(
    factory,
    users: dict[str, User],
    benchmark: Benchmark,
    trec_eval_data: Path,
    quotas: None,
    run_in: Callable[..., object],
) -> None:
    results = (trec_eval_data / "results.test").read_bytes()
    run_in(service.set_hidden, users["root"], "te", True)
    for k in range(3):
        run = run_in(service.submit_run, users["alice"], "te", results + b"\n" * k, name=f"r{k}")
        run_in(service.delete_run, users["alice"], run.id)
    with pytest.raises(QuotaExceeded) as daily:
        run_in(service.submit_run, users["alice"], "te", results + b"\n" * 9, name="r9")
    assert daily.value.retry_after is not None
    with factory() as s, s.begin():  # a day later
        for row in s.scalars(select(Submission)):
            row.created_at = row.created_at.replace(year=row.created_at.year - 1)
    for k in range(3, 5):
        run_in(service.submit_run, users["alice"], "te", results + b"\n" * k, name=f"r{k}")
    with pytest.raises(QuotaExceeded) as total:
        run_in(service.submit_run, users["alice"], "te", results + b"\n" * 7, name="r7")
    assert total.value.retry_after is None and "RAGBENCH_SUBMISSIONS_TOTAL=5" in str(total.value)
    # bob's quota is his own; a public benchmark has none
    run_in(service.submit_run, users["bob"], "te", results + b"\n" * 20, name="bob")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 6

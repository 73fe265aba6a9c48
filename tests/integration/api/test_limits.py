"""The bound on concurrent uploads: the excess waits for a slot (queued, not refused), before its
body is read. Peak memory under 8 concurrent 5M-line uploads is measured by
``benchmarks/upload_memory.py``, not here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from support.webserver import Server


def test_uploads_beyond_the_slots_wait_for_one_and_are_all_accepted(
    server_factory: Callable[..., Server], trec_eval_data: Path
) -> None:
    server = server_factory(RAGBENCH_SCORING_SLOTS="1")
    with server.client("admin") as admin:
        qrels = (trec_eval_data / "qrels.test").read_text()
        assert admin.post("/api/v1/benchmarks", json={"slug": "slots", "qrels": qrels}).status_code == 201
    slow = (trec_eval_data / "results.test").read_bytes()
    quick = (trec_eval_data / "results.trunc").read_bytes()
    done: dict[str, float] = {}
    codes: dict[str, int] = {}

    def chunks() -> Iterator[bytes]:  # a slow client: it holds its slot while its body trickles in
        step = len(slow) // 4 + 1
        for i in range(0, len(slow), step):
            yield slow[i : i + step]
            time.sleep(0.6)

    def send(name: str, body: bytes | Iterator[bytes], user: str) -> None:
        with server.client(user) as client:
            response = client.post(
                "/api/v1/benchmarks/slots/runs",
                params={"name": name},
                content=body,
                headers={"Content-Type": "text/plain"},
            )
        codes[name] = response.status_code
        done[name] = time.monotonic()

    first = threading.Thread(target=send, args=("slow", chunks(), "alice"))
    first.start()
    time.sleep(0.8)  # the slow upload holds the only slot now
    started = time.monotonic()
    second = threading.Thread(target=send, args=("quick", quick, "bob"))
    second.start()
    first.join(timeout=120)
    second.join(timeout=120)
    assert codes == {"slow": 201, "quick": 201}  # queued, not refused
    assert done["quick"] > done["slow"]  # it waited for the slot
    assert done["quick"] - started > 0.8


def test_sigkill_mid_upload_leaves_no_partial_run(
    server_factory: Callable[..., Server], trec_eval_data: Path
) -> None:
    import contextlib
    import signal

    import httpx

    server = server_factory()
    with server.client("admin") as admin:
        qrels = (trec_eval_data / "qrels.test").read_text()
        assert admin.post("/api/v1/benchmarks", json={"slug": "killed", "qrels": qrels}).status_code == 201
    run = (trec_eval_data / "results.test").read_bytes()
    before = server.counts()
    sent = threading.Event()

    def trickle() -> Iterator[bytes]:
        yield run[: len(run) // 2]
        sent.set()
        time.sleep(30)  # the server dies meanwhile
        yield run[len(run) // 2 :]

    def upload() -> None:
        with server.client("alice") as alice, contextlib.suppress(httpx.HTTPError):  # the server died
            alice.post(
                "/api/v1/benchmarks/killed/runs",
                params={"name": "half"},
                content=trickle(),
                headers={"Content-Type": "text/plain"},
            )

    client = threading.Thread(target=upload, daemon=True)
    client.start()
    assert sent.wait(timeout=60)
    time.sleep(0.5)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=30)
    assert server.counts() == before  # no partial run, system or submission
    restarted = server_factory()
    with restarted.client("alice") as alice:
        whole = alice.post(
            "/api/v1/benchmarks/killed/runs", data={"name": "half"}, files={"file": ("r", run)}
        )
        assert whole.status_code == 201, whole.text
    assert restarted.counts()["run"] == before["run"] + 1

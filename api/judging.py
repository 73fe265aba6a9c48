"""The worker's LM work for judge jobs, and the background task that runs them.

:func:`judge_for_job` builds a :class:`rankers.judges.relevance.RelevanceJudge` from a job's config
(the LM layer: a local model in the worker's process, or an endpoint whose key is in the worker's
environment under ``api_key_env``) and judges the pairs the store hands it. :class:`JudgeWorker`
polls for pending judge jobs every few seconds (or when notified) and runs one at a time in a
thread, so the API keeps answering; progress is written to the job as pairs finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from api.worker import PollingWorker

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("ragbench.api.judging")

LM_KEYS = (
    "backend",
    "model",
    "base_url",
    "api_key_env",
    "concurrency",
    "batch_size",
    "timeout",
    "temperature",
)


def judge_for_job(
    config: Mapping[str, Any], pairs: list[tuple[str, str, str, str]], progress: Callable[[int], None]
) -> tuple[list[Any], dict[str, Any]]:
    """Judge ``pairs`` as the job's ``config`` says; returns the judgments and the judge's description."""
    from rankers.judges.prompts import load_prompt
    from rankers.judges.relevance import RelevanceJudge
    from rankers.lm import open_client

    client = open_client({k: config[k] for k in LM_KEYS if k in config}, where="judge")
    try:
        judge = RelevanceJudge(
            client,
            load_prompt(str(config.get("prompt", "umbrela"))),
            samples=int(config.get("samples", 1)),
            temperature=config.get("temperature"),
            retries=int(config.get("retries", 1)),
            max_tokens=config.get("max_tokens"),
            doc_words=int(config.get("doc_words", 300)),
            method=str(config.get("method", "generate")),
        )
        judgments = judge.judge_pairs(pairs, on_done=progress)
        return judgments, {**judge.describe(), "usage": client.pop_usage().to_dict()}
    finally:
        client.close()


class JudgeWorker(PollingWorker):
    """Runs pending judge jobs off the event loop, one job per step (see the module docstring)."""

    name = "ragbench-judge-worker"

    def __init__(self, factory: sessionmaker[Session], interval: float = 2.0) -> None:
        super().__init__()
        self.factory = factory
        self.interval = interval

    async def drain(self) -> int:
        try:
            return await anyio.to_thread.run_sync(self._step)
        except Exception:
            log.exception("judge worker step failed")
            return 0

    def _step(self) -> int:
        from ragbench.store.service import process_judge_jobs

        return process_judge_jobs(self.factory, judge_for_job, limit=1)

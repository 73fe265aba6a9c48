"""The generation step of a RAG pipeline: answers from the final ranking, as a TREC RAG file.

After retrieval (and reranking) the ``generator`` stage writes an answer per topic from the top
``k`` documents (in batches, on Ray actors or in process, like every stage); the answers are
written as TREC RAG 2024 JSONL (``run_id`` = the pipeline's name, the topic text as the topics
file gives it) and read back with the strict reader, so a pipeline never writes a file that
``ragbench rag validate`` would refuse. Stored, they become a RAG run of the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragbench.formats.rag import RagAnswer, Sentence, read_rag, write_trec_rag
from ragbench.jobs.config import PipelineConfig
from ragbench.jobs.execute import run_batches, split
from ragbench.jobs.ranking import Ranking

Progress = Callable[[str, int, int], None]


def generate_answers(
    config: PipelineConfig,
    queries: dict[str, str],
    ranking: Ranking,
    *,
    use_ray: bool,
    progress: Progress | None = None,
    nodes: dict[str, set[str]] | None = None,
    stats: dict[str, dict[str, dict[str, float]]] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Run the config's generator over every topic; (the TREC RAG file's bytes, raw answers).

    Raises:
        FormatError: the generator produced answers the reader refuses (a bug in the stage).
    """
    spec = config.generator
    assert spec is not None
    label = f"generate {spec.name}"
    order = list(queries)
    batches = split(order, config.ray.batch_size)
    done = 0
    if progress is not None:
        progress(label, 0, len(order))

    def tick(size: int) -> None:
        nonlocal done
        done += size
        if progress is not None:
            progress(label, done, len(order))

    parts = run_batches(
        spec,
        "generate",
        [({q: queries[q] for q in batch}, {q: ranking.get(q, []) for q in batch}) for batch in batches],
        [len(batch) for batch in batches],
        use_ray=use_ray,
        parallelism=config.ray.parallelism,
        on_done=tick,
        nodes=(nodes or {}).setdefault(label, set()) if use_ray and nodes is not None else None,
        stats=(stats if stats is not None else {}).setdefault(label, {}),
    )
    raw: dict[str, Any] = {}
    for part in parts:
        raw.update(part)
    answers = [
        RagAnswer(
            q,
            queries[q],
            tuple(raw[q]["references"]),
            tuple(Sentence(s["text"], tuple(s["citations"])) for s in raw[q]["answer"]),
        )
        for q in order
        if q in raw
    ]
    data = write_trec_rag(config.name, answers)
    read_rag(data, name=Path(config.answers or "answers.jsonl").name, max_words=10**9)  # refuses a bad writer
    return data, raw

"""Running a stage over all queries: in this process, or in batches on Ray actors.

On Ray each stage gets up to ``parallelism`` actors; an actor builds its stage once (one JVM,
model or FAISS index per worker) and serves query batches. Batches are fixed by the query order
and the batch size, not by which worker takes them, and results are merged in query order, so
the output is the same whichever worker ran what and however many there were. An actor that dies
is restarted and its batch retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ragbench.errors import RagbenchError
from ragbench.jobs import registry
from ragbench.jobs.config import StageSpec

Batch = tuple[Any, ...]
Tick = Callable[[int], None] | None


class StageWorker:
    """Holds one built stage and calls its methods (the body of a Ray actor, or used in-process)."""

    def __init__(self, spec: StageSpec, *, defer_errors: bool = False) -> None:
        # On Ray an error in an actor's constructor kills the actor and loses the error's type;
        # kept and raised by the first call, it reaches the driver as the stage's own error.
        self.stage: Any = None
        self.error: BaseException | None = None
        try:
            self.stage = registry.build(spec)
        except Exception as exc:
            if not defer_errors:
                raise
            self.error = exc

    def call(self, method: str, *args: Any) -> tuple[Any, dict[str, Any]]:
        """``stage.method(*args)``, and the per-query stats the stage kept while it ran (a stage
        with a ``pop_stats()`` method reports e.g. latency and token counts; others ``{}``)."""
        if self.error is not None:
            raise self.error
        result = getattr(self.stage, method)(*args)
        pop_stats = getattr(self.stage, "pop_stats", None)
        return result, (pop_stats() if callable(pop_stats) else {})

    def node(self) -> str:
        """The Ray node this worker runs on ("local" outside Ray)."""
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"

    def describe(self) -> dict[str, Any]:
        describe = getattr(self.stage, "describe", None)
        return describe() if callable(describe) else {}


def run_batches(
    spec: StageSpec,
    method: str,
    batches: Sequence[Batch],
    sizes: Sequence[int],
    *,
    use_ray: bool,
    parallelism: int | None = None,
    on_done: Tick = None,
    nodes: set[str] | None = None,
    stats: dict[str, Any] | None = None,
) -> list[Any]:
    """``stage.method(*batch)`` for every batch, results in batch order.

    Args:
        spec: the stage to build (once per worker).
        method: ``search``, ``rerank`` or ``rewrite``.
        batches: argument tuples, one per call.
        sizes: queries per batch (for ``on_done``).
        use_ray: run on Ray actors (local Ray, or ``RAY_ADDRESS``) instead of in this process.
        parallelism: actors per stage (default: the cluster's CPUs, at most the batch count).
        on_done: called with a batch's size when it finishes.
        nodes: if given, the Ray node ids of the actors are added to it.
        stats: if given, the stages' per-query stats (``{query_id: {...}}``) are added to it.
    """
    if not batches:
        return []
    if not use_ray:
        worker = StageWorker(spec)
        pairs = []
        for batch, size in zip(batches, sizes, strict=True):
            pairs.append(worker.call(method, *batch))
            if on_done is not None:
                on_done(size)
        return _unpack(pairs, stats)
    from ragbench.jobs.cluster import ensure_ray, gpu_count

    ray = ensure_ray()
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors_wanted = max(1, min(parallelism or cpus, len(batches)))
    gpus = gpu_count()
    options: dict[str, Any] = {"num_cpus": 1, "max_restarts": 2, "max_task_retries": 2}
    if gpus and registry.stage_type(spec).gpu:
        options["num_gpus"] = min(1.0, gpus / actors_wanted)
    actor_class = ray.remote(StageWorker).options(**options)
    actors = [actor_class.remote(spec, defer_errors=True) for _ in range(actors_wanted)]
    try:
        refs = [actors[i % len(actors)].call.remote(method, *batch) for i, batch in enumerate(batches)]
        size_of = {ref: size for ref, size in zip(refs, sizes, strict=True)}
        waiting = list(refs)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            try:
                ray.get(ready[0])  # raise the stage's error now, not after every batch has run
            except ray.exceptions.RayTaskError as exc:
                if isinstance(exc.cause, RagbenchError):
                    raise exc.cause from None
                raise
            if on_done is not None:
                on_done(size_of[ready[0]])
        if nodes is not None:
            nodes.update(ray.get([actor.node.remote() for actor in actors]))
        return _unpack(ray.get(refs), stats)
    finally:
        for actor in actors:
            ray.kill(actor)


def _unpack(pairs: list[tuple[Any, dict[str, Any]]], stats: dict[str, Any] | None) -> list[Any]:
    if stats is not None:
        for _, kept in pairs:
            stats.update(kept)
    return [result for result, _ in pairs]


def split(query_ids: Sequence[str], batch_size: int) -> list[list[str]]:
    """Consecutive batches of ``batch_size`` query ids (the last may be shorter)."""
    return [list(query_ids[i : i + batch_size]) for i in range(0, len(query_ids), batch_size)]

"""``ragbench judge``: LLM relevance labels for the holes of a test collection (or its whole pool),
``ragbench judge simulate-holes`` and ``ragbench judge-agreement``.

The LM stack (torch, transformers, httpx) is imported inside the commands."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ragbench.cli import judging as j
from ragbench.cli.console import err, out, user_errors
from ragbench.errors import InputError


class DefaultGroup(TyperGroup):
    """A group whose first argument, when it is not a subcommand, goes to the ``fill`` command:
    ``ragbench judge QRELS RUN...`` and ``ragbench judge simulate-holes ...`` both work."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["fill", *args]
        return super().parse_args(ctx, args)


judge_app = typer.Typer(
    cls=DefaultGroup,
    help="LLM relevance judges: fill a test collection's holes (ragbench judge QRELS RUN... --out NEW).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``judge`` (``judge QRELS RUN...``, ``judge simulate-holes``) and ``judge-agreement``."""
    from ragbench.cli.judge_agreement import agreement_command, simulate_command

    judge_app.command("simulate-holes")(simulate_command)
    app.add_typer(judge_app, name="judge")
    app.command("judge-agreement")(agreement_command)


@judge_app.command("fill")
@user_errors
def fill_command(
    qrels: Annotated[Path, typer.Argument(help="Human qrels (TREC).")],
    runs: Annotated[list[Path], typer.Argument(help="Runs whose top documents are judged.")],
    out_path: Annotated[Path, typer.Option("--out", help="New qrels to write (with NEW.provenance.jsonl).")],
    corpus: j.CorpusOpt,
    topics: j.TopicsOpt,
    depth: j.DepthOpt = 10,
    whole_pool: Annotated[
        bool, typer.Option("--all", help="Judge every pooled pair (LLM-only qrels), not just the holes.")
    ] = False,
    prompt: j.PromptOpt = "umbrela",
    backend: j.BackendOpt = "local",
    model: j.ModelOpt = None,
    base_url: j.BaseUrlOpt = None,
    api_key_env: j.KeyEnvOpt = None,
    samples: j.SamplesOpt = 1,
    temperature: j.TemperatureOpt = None,
    concurrency: j.ConcurrencyOpt = 4,
    batch_size: j.BatchOpt = 8,
    timeout: j.TimeoutOpt = 60.0,
    retries: j.RetriesOpt = 1,
    max_tokens: j.MaxTokensOpt = None,
    doc_words: j.DocWordsOpt = 300,
    max_topics: j.MaxTopicsOpt = None,
    device: j.DeviceOpt = None,
    cache: j.CacheOpt = None,
    ray: j.RayOpt = False,
    method: j.MethodOpt = "generate",
) -> None:
    """Judge the holes of QRELS in the RUNs' top DEPTH documents (or the whole pool with --all) on a
    0-3 scale, and write NEW qrels with a provenance sidecar. A reply with no readable grade is
    retried, then listed as a failure: it never becomes a label. Reruns read the LM cache."""
    options = j.JudgeOptions(
        prompt, backend, model, base_url, api_key_env, samples, temperature, concurrency, batch_size,
        timeout, retries, max_tokens, doc_words, device, cache, ray, method,
    )  # fmt: skip
    result = judge_files(
        qrels, runs, corpus, topics, options, depth=depth, whole_pool=whole_pool, max_topics=max_topics
    )
    records, header = result["records"], result["header"]
    from ragbench.formats.judgments import write_judged

    if out_path.resolve() == qrels.resolve():
        raise InputError(f"--out {out_path}: write the new qrels to another file than the input")
    sidecar = write_judged(out_path, records, header)
    counts = header["counts"]
    out.print(
        f"{out_path}: {counts['llm_labels']} LLM labels ({counts['pairs']} pairs judged, "
        f"{counts['failures']} failures) + {counts['human_labels']} human labels; provenance in {sidecar}"
    )
    grades = ", ".join(f"{g}: {n}" for g, n in sorted(counts["grades"].items()))
    out.print(f"grades: {grades or 'none'}")
    usage = header.get("usage") or {}
    if usage.get("calls") is not None:
        out.print(
            f"LM: {usage['calls']} calls, {usage['cached']} from the cache, "
            f"{usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion tokens, "
            f"{usage['retries']} retries, {usage['seconds']} s"
        )
    failures = [r for r in records if r.relevance is None]
    for record in failures[:20]:
        err.print(f"failure: topic {record.query_id} doc {record.doc_id}: {record.failure}")
    if len(failures) > 20:
        err.print(f"... and {len(failures) - 20} more failures (all listed in {sidecar})")


def judge_files(
    qrels: Path,
    runs: list[Path],
    corpus: Path,
    topics: Path,
    options: j.JudgeOptions,
    *,
    depth: int,
    whole_pool: bool,
    max_topics: int | None,
) -> dict[str, Any]:
    """Judge and return ``{"records": [LabelRecord], "header": {...}}`` (nothing written)."""
    from ragbench.evaluation.pooling import common_topics, holes, pool
    from ragbench.formats.judgments import LabelRecord

    human, read = j.read_inputs(qrels, runs)
    common = common_topics(human, list(read.values()), [p.name for p in runs])
    if max_topics is not None:
        if max_topics < 1:
            raise InputError(f"--max-topics {max_topics}: at least 1")
        common = common[:max_topics]
    pooled = pool(list(read.values()), depth, common)
    wanted = pooled if whole_pool else holes(pooled, human)
    texts = j.topic_texts(topics, sorted({q for q in wanted}))
    docs = j.corpus_texts(corpus, {d for ds in wanted.values() for d in ds})
    pairs = [(q, texts[q], d, docs[d]) for q, ds in wanted.items() for d in ds if d in docs]
    missing = [(q, d) for q, ds in wanted.items() for d in ds if d not in docs]
    describe: dict[str, Any] = {}
    judgments, usage = j.judge_pairs(options, pairs, describe) if pairs else ([], {})
    records: list[LabelRecord] = []
    if not whole_pool:
        kept = set(common)
        records += [
            LabelRecord(q, d, g, "human")
            for q, ds in human.items()
            if q in kept
            for d, g in ds.items()
            if g >= 0
        ]
    for judgment in judgments:
        records.append(
            LabelRecord(
                judgment.query_id,
                judgment.doc_id,
                judgment.label,
                "llm",
                judgment.provenance,
                judgment.failure,
            )
        )
    records += [
        LabelRecord(q, d, None, "llm", None, f"document {d} is not in {corpus.name}") for q, d in missing
    ]
    labelled = [r for r in records if r.source == "llm" and r.relevance is not None]
    header = {
        "judge": describe,
        "mode": "all" if whole_pool else "holes",
        "depth": depth,
        "qrels": str(qrels),
        "runs": [str(p) for p in runs],
        "topics": common,
        "usage": usage,
        "counts": {
            "pairs": len(pairs) + len(missing),
            "llm_labels": len(labelled),
            "failures": len(judgments) - sum(1 for x in judgments if x.label is not None) + len(missing),
            "human_labels": sum(1 for r in records if r.source == "human"),
            "grades": {str(g): n for g, n in sorted(Counter(r.relevance for r in labelled).items())},
        },
    }
    return {"records": records, "header": header}

"""``ragbench train``: fine-tuning commands (``train blockrank``).

torch, transformers and Lucene are imported inside the command, so ``ragbench --help`` stays fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli.console import err, out, user_errors
from ragbench.errors import InputError

train_app = typer.Typer(help="Fine-tune rerankers.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``train`` (with ``train blockrank``) to ``app``."""
    app.add_typer(train_app, name="train")


def _file(path: Path | None, what: str) -> None:
    if path is not None and not path.is_file():
        raise InputError(f"{path}: no such {what} file")


def _check(
    value: float | None, name: str, low: float, *, above: bool = False, high: float | None = None
) -> None:
    if value is None:
        return
    if (
        not math.isfinite(value)
        or (value <= low if above else value < low)
        or (high is not None and value > high)
    ):
        bound = f"> {low}" if above else f">= {low}"
        raise InputError(f"{name} {value}: must be {bound}" + (f" and <= {high}" if high is not None else ""))


def _corpus(path: Path) -> dict[str, str]:
    from ragbench.formats.corpus import iter_corpus

    return {doc.doc_id: doc.contents for doc in iter_corpus(path, empty="warning")}


def _topics(path: Path) -> dict[str, str]:
    from ragbench.formats.topics import read_topics

    return {t.query_id: " ".join(t.title.split()) for t in read_topics(path)}


def _qrels(path: Path) -> dict[str, dict[str, int]]:
    from ragbench.formats.trec import read_qrels

    return read_qrels(path).to_dict()


@train_app.command("blockrank")
@user_errors
def blockrank_command(
    corpus: Annotated[Path, typer.Option("--corpus", help="JSONL corpus (the document texts).")],
    index: Annotated[Path, typer.Option("--index", help="BM25 index of the corpus (hard negatives).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Checkpoint directory to write.")],
    topics: Annotated[Path | None, typer.Option("--topics", help="Training topics (with --qrels).")] = None,
    qrels: Annotated[
        Path | None, typer.Option("--qrels", help="Training qrels: relevance > 0 is a positive.")
    ] = None,
    synthetic: Annotated[
        int | None, typer.Option("--synthetic", help="Train on LM-written queries for N sampled documents.")
    ] = None,
    round_trip: Annotated[
        bool,
        typer.Option(
            "--round-trip/--no-round-trip", help="Synthetic: keep queries whose source doc BM25 finds."
        ),
    ] = True,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Base LM: SmolLM2-135M-Instruct (default) or a local directory."),
    ] = None,
    layer: Annotated[
        int | None, typer.Option("--layer", help="l* (0-based); default 0.6 of the depth.")
    ] = None,
    lam: Annotated[float, typer.Option("--lambda", help="Weight of the attention InfoNCE loss.")] = 0.1,
    tau: Annotated[float, typer.Option("--tau", help="InfoNCE temperature.")] = 0.05,
    lr: Annotated[float, typer.Option("--lr", help="AdamW learning rate.")] = 3e-5,
    steps: Annotated[int | None, typer.Option("--steps", help="Optimizer steps (or --epochs).")] = None,
    epochs: Annotated[
        float | None, typer.Option("--epochs", help="Passes over the lists (default 1).")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Lists per optimizer step.")] = 1,
    micro_batch: Annotated[int, typer.Option("--micro-batch", help="Lists per forward pass.")] = 1,
    warmup: Annotated[float, typer.Option("--warmup", help="Warmup steps (a fraction of all if < 1).")] = 0.1,
    candidates: Annotated[int, typer.Option("--candidates", help="Documents per training list.")] = 30,
    chunk: Annotated[int, typer.Option("--chunk", help="Tokens of each document's text.")] = 160,
    ids: Annotated[str, typer.Option("--ids", help="Document labels: docid or slot.")] = "docid",
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    grad_checkpoint: Annotated[
        bool, typer.Option("--grad-checkpoint", help="Activation checkpointing (less memory, more time).")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of sampling, shuffles and initialisation.")] = 0,
) -> None:
    """Fine-tune an LM for BlockRank (next-token + attention InfoNCE loss) and save a checkpoint
    that the ``blockrank`` reranker loads by path (``model: OUT``)."""
    if (qrels is None) == (synthetic is None):
        raise InputError("give either --topics with --qrels, or --synthetic N (exactly one)")
    if qrels is not None and topics is None:
        raise InputError("--qrels needs --topics (the training queries)")
    if synthetic is not None and topics is not None:
        raise InputError("--topics goes with --qrels, not with --synthetic")
    if steps is not None and epochs is not None:
        raise InputError("give --steps or --epochs, not both")
    _file(corpus, "corpus")
    _file(topics, "topics")
    _file(qrels, "qrels")
    if not index.is_dir():
        raise InputError(f"{index}: no such index directory (build one with `ragbench index bm25`)")
    _check(synthetic, "--synthetic", 1)
    _check(lam, "--lambda", 0)
    _check(tau, "--tau", 0, above=True)
    _check(lr, "--lr", 0, above=True)
    _check(steps, "--steps", 1)
    _check(epochs, "--epochs", 0, above=True)
    _check(batch_size, "--batch-size", 1)
    _check(micro_batch, "--micro-batch", 1)
    _check(warmup, "--warmup", 0)
    _check(candidates, "--candidates", 2)
    _check(chunk, "--chunk", 1)
    _check(layer, "--layer", 0)
    if ids not in ("docid", "slot"):
        raise InputError(f"--ids {ids!r}: use docid or slot")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: exists and is not a directory")
    _train(**locals())


def _train(**a: Any) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from indexers.bm25 import BM25Retriever
    from rankers.blockrank.lists import lists_from_qrels, synthetic_lists
    from rankers.blockrank.reranker import default_layer
    from rankers.blockrank.train import TrainConfig, save_checkpoint, total_steps, train
    from rankers.lm import load_lm

    documents = _corpus(a["corpus"])
    retriever = BM25Retriever(str(a["index"]), corpus=str(a["corpus"]))
    lm = load_lm(a["model"], device=a["device"], dtype="float32")
    layers = lm.config.num_hidden_layers
    layer = default_layer(layers) if a["layer"] is None else a["layer"]
    if layer >= layers:
        raise InputError(f"--layer {layer}: {lm.name} has layers 0..{layers - 1}")
    bars = Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    extra: dict[str, Any] = {}
    with bars:
        if a["synthetic"] is not None:
            task = bars.add_task("writing synthetic queries", total=None)
            lists, stats = synthetic_lists(
                documents,
                a["index"],
                lm,
                a["synthetic"],
                a["candidates"],
                a["seed"],
                out_dir=a["out_dir"],
                round_trip=a["round_trip"],
                retriever=retriever,
                on_progress=lambda done, total: bars.update(task, completed=done, total=total),
            )
            bars.update(task, completed=1, total=1)
            extra["synthetic"] = stats.as_dict()
            source = "synthetic"
            if not lists:
                raise InputError(
                    f"no synthetic query survived ({stats.as_dict()}): sample more documents "
                    "or use --no-round-trip"
                )
        else:
            lists = lists_from_qrels(
                _topics(a["topics"]),
                _qrels(a["qrels"]),
                a["index"],
                documents,
                a["candidates"],
                a["seed"],
                retriever=retriever,
            )
            source = "qrels"
        config = TrainConfig(
            layer=layer,
            lam=a["lam"],
            tau=a["tau"],
            lr=a["lr"],
            steps=a["steps"],
            epochs=a["epochs"],
            batch_size=a["batch_size"],
            micro_batch=a["micro_batch"],
            warmup=a["warmup"],
            chunk=a["chunk"],
            ids=a["ids"],
            seed=a["seed"],
            grad_checkpoint=a["grad_checkpoint"],
        )
        step_task = bars.add_task("training", total=total_steps(len(lists), config))

        def on_step(step: int, total: int, ntp: float, aux: float) -> None:
            bars.update(step_task, completed=step, description=f"training ntp {ntp:.3f} aux {aux:.3f}")
            err.print(f"step {step}/{total}: ntp {ntp:.4f} aux {aux:.4f}")

        result = train(lm, lists, config, on_step=on_step)
    save_checkpoint(
        lm,
        a["out_dir"],
        config,
        result,
        source=source,
        n_lists=len(lists),
        candidates=a["candidates"],
        extra=extra,
    )
    out.print(
        f"{a['out_dir']}: BlockRank checkpoint ({result.steps} steps on {len(lists)} {source} lists, "
        f"layer {layer}, {result.seconds:.0f} s on {result.device})",
    )

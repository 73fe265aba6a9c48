"""``ragbench judge-agreement`` (how far a judge agrees with people, on labels and on system
rankings) and ``ragbench judge simulate-holes`` (how far rankings move when labels go missing,
with the holes left non-relevant or filled by a judge)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli import judging as j
from ragbench.cli.console import out, user_errors
from ragbench.errors import InputError

DEFAULT_MEASURES = ("nDCG@10", "AP", "P@10")
MeasuresOpt = Annotated[
    list[str] | None, typer.Option("-m", "--measure", help="Measures (default nDCG@10 AP P@10).")
]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the full report as JSON.")]


def per_topic(
    qrels: dict[str, dict[str, int]], runs: dict[str, Any], measures: list[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """``measure -> run -> {topic: score}`` (trec_eval -c: a topic a run lacks counts 0)."""
    from ragbench.evaluation.engine import evaluate

    found: dict[str, dict[str, dict[str, float]]] = {m: {} for m in measures}
    for name, run in runs.items():
        result = evaluate(qrels, run, measures, complete=True, name=name)
        for measure, canonical in zip(measures, result.measures, strict=True):
            values = result.per_query[canonical].tolist()
            found[measure][name] = dict(zip(result.query_ids, values, strict=True))
    return found


def rankings(
    a: dict[str, dict[str, int]],
    b: dict[str, dict[str, int]],
    runs: dict[str, Any],
    measures: list[str],
    trials: int,
    seed: int,
) -> list[Any]:
    from ragbench.stats import ranking_agreement

    sa, sb = per_topic(a, runs, measures), per_topic(b, runs, measures)
    return [ranking_agreement(sa[m], sb[m], m, trials=trials, seed=seed) for m in measures]


def print_rankings(found: list[Any], a: str, b: str) -> None:
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold", title=f"system rankings: {a} vs {b}")
    for column in (
        "measure",
        "runs",
        "topics",
        "Kendall tau [95% CI]",
        "Spearman rho [95% CI]",
        "mean change",
    ):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for r in found:
        table.add_row(
            r.measure, str(r.runs), str(r.topics),
            f"{r.kendall_tau:.3f} [{r.kendall_ci[0]:.3f}, {r.kendall_ci[1]:.3f}]",
            f"{r.spearman_rho:.3f} [{r.spearman_ci[0]:.3f}, {r.spearman_ci[1]:.3f}]",
            f"{r.mean_change:+.4f}",
        )  # fmt: skip
    out.print(table)


@user_errors
def agreement_command(
    human_qrels: Annotated[Path, typer.Argument(help="Reference qrels (people).")],
    llm_qrels: Annotated[Path, typer.Argument(help="The judge's qrels (e.g. ragbench judge --all).")],
    runs: Annotated[list[Path] | None, typer.Argument(help="Runs to rank under both qrels.")] = None,
    measures: MeasuresOpt = None,
    trials: Annotated[int, typer.Option("--trials", help="Bootstrap samples over topics.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    json_path: JsonOpt = None,
) -> None:
    """Cohen's kappa (four grades; binarised at >= 1 and >= 2), Krippendorff's alpha (ordinal) and
    the confusion matrix on the pairs both qrels judge; with RUNs, Kendall's tau and Spearman's rho
    between the system rankings under the two qrels per measure (bootstrap CIs over topics) and
    the mean per-run score change. Runs are scored on the topics both qrels judge."""
    from ragbench.stats import label_agreement

    human, read = j.read_inputs(human_qrels, runs or [])
    llm, _ = j.read_inputs(llm_qrels, [])
    labels = label_agreement(human, llm)
    report: dict[str, Any] = {"human": str(human_qrels), "llm": str(llm_qrels), "labels": labels.to_dict()}
    out.print(
        f"labels: {labels.pairs} pairs judged by both ({labels.only_a} only in {human_qrels.name}, "
        f"{labels.only_b} only in {llm_qrels.name})"
    )
    out.print(
        f"Cohen's kappa: {labels.kappa:.3f} (grades {', '.join(map(str, labels.categories))}); "
        f"binarised >= 1: {labels.kappa_at_1:.3f}; >= 2: {labels.kappa_at_2:.3f}; "
        f"Krippendorff's alpha (ordinal): {labels.alpha:.3f}"
    )
    out.print(f"confusion (rows {human_qrels.name}, columns {llm_qrels.name}):")
    out.print("      " + " ".join(f"{c:>6}" for c in labels.categories))
    for c, row in zip(labels.categories, labels.confusion, strict=True):
        out.print(f"{c:>6}" + " ".join(f"{v:>6}" for v in row))
    if read:
        shared = sorted(set(human) & set(llm))
        found = rankings(
            j.restrict(human, shared),
            j.restrict(llm, shared),
            read,
            list(measures or DEFAULT_MEASURES),
            trials,
            seed,
        )
        print_rankings(found, human_qrels.name, llm_qrels.name)
        report["rankings"] = [r.to_dict() for r in found]
    j.dump_json(json_path, report)


@user_errors
def simulate_command(
    qrels: Annotated[Path, typer.Argument(help="The full human qrels.")],
    runs: Annotated[list[Path], typer.Argument(help="Runs to rank (at least two).")],
    corpus: j.CorpusOpt,
    topics: j.TopicsOpt,
    fraction: Annotated[float, typer.Option("--fraction", help="Share of the human labels to remove.")] = 0.3,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="topic: a share of each topic's labels; run: whole runs' tops, as a pool without them.",
        ),
    ] = "topic",
    seed: Annotated[int, typer.Option("--seed", help="Which labels are removed.")] = 0,
    depth: j.DepthOpt = 10,
    measures: MeasuresOpt = None,
    trials: Annotated[int, typer.Option("--trials", help="Bootstrap samples over topics.")] = 1000,
    max_topics: j.MaxTopicsOpt = None,
    prompt: j.PromptOpt = "umbrela",
    backend: j.BackendOpt = "local",
    model: j.ModelOpt = None,
    base_url: j.BaseUrlOpt = None,
    api_key_env: j.KeyEnvOpt = None,
    concurrency: j.ConcurrencyOpt = 4,
    batch_size: j.BatchOpt = 8,
    max_tokens: j.MaxTokensOpt = None,
    doc_words: j.DocWordsOpt = 300,
    cache: j.CacheOpt = None,
    method: j.MethodOpt = "generate",
    json_path: JsonOpt = None,
) -> None:
    """Remove a seeded share of the human labels, fill the holes in the runs' top DEPTH with a
    judge, and report how far the system rankings move against the full human qrels: (a) with
    the holes left non-relevant, (b) filled by the judge."""
    from ragbench.evaluation.pooling import common_topics, holes, pool

    if not 0.0 < fraction < 1.0:
        raise InputError(f"--fraction {fraction}: must be between 0 and 1")
    if by not in ("topic", "run"):
        raise InputError(f"--by {by!r}: use topic or run")
    if len(runs) < 2:
        raise InputError("simulate-holes ranks runs: give at least two")
    full, read = j.read_inputs(qrels, runs)
    common = common_topics(full, list(read.values()), [p.name for p in runs])[: max_topics or None]
    full = j.restrict(full, common)
    removed = remove_labels(full, read, fraction, by, seed, depth)
    thinned = {q: {d: g for d, g in ds.items() if (q, d) not in removed} for q, ds in full.items()}
    wanted = holes(pool(list(read.values()), depth, common), thinned)
    texts = j.topic_texts(topics, sorted(wanted))
    docs = j.corpus_texts(corpus, {d for ds in wanted.values() for d in ds})
    pairs = [(q, texts[q], d, docs[d]) for q, ds in wanted.items() for d in ds if d in docs]
    options = j.JudgeOptions(
        prompt=prompt, backend=backend, model=model, base_url=base_url, api_key_env=api_key_env,
        concurrency=concurrency, batch_size=batch_size, max_tokens=max_tokens, doc_words=doc_words,
        cache=cache, method=method,
    )  # fmt: skip
    describe: dict[str, Any] = {}
    judgments, usage = j.judge_pairs(options, pairs, describe) if pairs else ([], {})
    filled = {q: dict(ds) for q, ds in thinned.items()}
    for judgment in judgments:
        if judgment.label is not None:
            filled.setdefault(judgment.query_id, {})[judgment.doc_id] = judgment.label
    failures = sum(1 for x in judgments if x.label is None)
    names = list(measures or DEFAULT_MEASURES)
    holes_found = rankings(full, thinned, read, names, trials, seed)
    filled_found = rankings(full, filled, read, names, trials, seed)
    total = sum(len(ds) for ds in full.values())
    out.print(
        f"removed {len(removed)} of {total} human labels ({len(removed) / total:.1%}, by {by}, seed {seed}); "
        f"judged {len(pairs)} holes in the top {depth} ({failures} failures)"
    )
    print_rankings(holes_found, "full human", "holes non-relevant")
    print_rankings(filled_found, "full human", "LLM-filled")
    for measure, a, b in zip(names, holes_found, filled_found, strict=True):
        order = sorted(a.per_run, key=lambda r: -a.per_run[r][0])
        out.print(f"{measure} rankings (full / holes non-relevant / LLM-filled):")
        for rank, run in enumerate(order, 1):
            out.print(
                f"  {rank}. {run}: {a.per_run[run][0]:.4f} / {a.per_run[run][1]:.4f} / "
                f"{b.per_run[run][1]:.4f}"
            )
    j.dump_json(json_path, {
        "qrels": str(qrels), "runs": [str(p) for p in runs], "fraction": fraction, "by": by, "seed": seed,
        "removed": len(removed), "labels": total, "judged": len(pairs), "failures": failures,
        "judge": describe,
        "usage": usage, "holes_nonrelevant": [r.to_dict() for r in holes_found],
        "llm_filled": [r.to_dict() for r in filled_found],
    })  # fmt: skip


def remove_labels(
    qrels: dict[str, dict[str, int]], runs: dict[str, Any], fraction: float, by: str, seed: int, depth: int
) -> set[tuple[str, str]]:
    """The (topic, doc) labels to remove. ``topic``: ``round(fraction x n)`` of each topic's labels,
    seeded. ``run``: the runs in a seeded order, each removing the labels of its own top ``depth``
    (as if it had not contributed to the pool), until ``fraction`` of all labels are gone."""
    from ragbench.evaluation.pooling import top_k

    rng = random.Random(seed)
    removed: set[tuple[str, str]] = set()
    if by == "topic":
        for query_id in sorted(qrels):
            docs = sorted(qrels[query_id])
            removed.update((query_id, d) for d in rng.sample(docs, round(fraction * len(docs))))
        return removed
    target = round(fraction * sum(len(ds) for ds in qrels.values()))
    order = sorted(runs)
    rng.shuffle(order)
    for name in order:
        for query_id, docs in top_k(runs[name], depth).items():
            for doc in docs:
                if doc in qrels.get(query_id, {}) and len(removed) < target:
                    removed.add((query_id, doc))
        if len(removed) >= target:
            break
    return removed

"""``ragbench rag``: validate, evaluate and meta-evaluate RAG answers; make and move nugget sets.

The LM (``--backend local|openai``, ``--model``, ``--base-url``, ``--api-key-env``) judges through
the LM layer (rankers.lm: cache, provenance, accounting); imports of torch and the judges happen
inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli.console import err, out, print_table, progress_bars, user_errors

rag_app = typer.Typer(help="RAG answers: validate, evaluate, nuggets, meta-evaluation.", no_args_is_help=True)
nuggets_app = typer.Typer(
    help="Nugget sets: create from qrels with an LM, import, export.", no_args_is_help=True
)

Backend = Annotated[str, typer.Option("--backend", help="LM backend: local or openai.")]
Model = Annotated[
    str | None, typer.Option("--model", help="Local model directory, or the endpoint's model id.")
]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint, up to /v1.")]
KeyEnv = Annotated[str | None, typer.Option("--api-key-env", help="Variable holding the endpoint's key.")]
Topics = Annotated[
    Path | None, typer.Option("--topics", help="The benchmark's topics (unknown topics are errors).")
]


def register(app: typer.Typer) -> None:
    """Add ``rag`` to ``app``."""
    rag_app.add_typer(nuggets_app, name="nuggets")
    app.add_typer(rag_app, name="rag")


def _lm(backend: str, model: str | None, base_url: str | None, key_env: str | None) -> Any:
    from rankers.lm import open_client

    mapping: dict[str, Any] = {"backend": backend}
    for key, value in (("model", model), ("base_url", base_url), ("api_key_env", key_env)):
        if value is not None:
            mapping[key] = value
    return open_client(mapping, where="--backend/--model/--base-url")


def _topics(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    from ragbench.formats.topics import read_topics

    return {t.query_id: t.title for t in read_topics(path)}


@rag_app.command("validate")
@user_errors
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="TREC RAG 2024/2025 or QA answer files (JSONL).")],
    topics: Topics = None,
    max_references: Annotated[int, typer.Option("--max-references", min=1)] = 20,
    max_words: Annotated[int, typer.Option("--max-words", min=1)] = 400,
) -> None:
    """Check answer files: every error and warning with file and line (exit 1 on an error)."""
    from ragbench.formats.rag import check_rag

    known = _topics(topics)
    failed = False
    for path in files:
        problems = check_rag(
            path, name=str(path), topics=known, max_references=max_references, max_words=max_words
        )
        for problem in problems:
            err.print(problem.render())
        errors = sum(p.severity == "error" for p in problems)
        failed |= errors > 0
        out.print(f"{path}: {errors} error(s), {len(problems) - errors} warning(s)")
    if failed:
        raise typer.Exit(1)


def _passages(corpus: Path | None, run: Any) -> dict[str, str]:
    if corpus is None:
        return {}
    from ragbench.formats.corpus import iter_corpus

    cited = {r for a in run.answers.values() for r in a.references}
    return {d.doc_id: d.contents for d in iter_corpus(corpus) if d.doc_id in cited}


@rag_app.command("eval")
@user_errors
def eval_command(
    answers: Annotated[Path, typer.Argument(help="Answer file (TREC RAG or QA JSONL).")],
    nuggets: Annotated[
        Path | None, typer.Option("--nuggets", help="Nugget set JSON (ragbench rag nuggets create).")
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="JSONL corpus: the cited segments' texts.")
    ] = None,
    qrels: Annotated[Path | None, typer.Option("--qrels", help="Qrels, for RefnDCG@k / RefJudged@k.")] = None,
    topics: Topics = None,
    measure: Annotated[
        list[str] | None, typer.Option("-m", "--measure", help="RAG measure (repeat).")
    ] = None,
    per_query: Annotated[bool, typer.Option("-q", help="Per-topic values too.")] = False,
    judgments: Annotated[
        Path | None, typer.Option("--judgments", help="Write every judgment with provenance here.")
    ] = None,
    backend: Backend = "local",
    model: Model = None,
    base_url: BaseUrl = None,
    api_key_env: KeyEnv = None,
) -> None:
    """Evaluate answers: nugget scores, citation support, claims, ROUGE-L, embeddings, references."""
    from ragbench.evaluation.rag import NuggetSet, evaluate_rag
    from ragbench.evaluation.rag.measures import NEEDS
    from ragbench.evaluation.registry import canonical_measures, default_measures
    from ragbench.formats.rag import read_rag

    run = read_rag(answers, topics=_topics(topics), max_words=10**9)
    for warning in run.warnings:
        err.print(warning.render())
    default = "qa" if run.format == "qa" else "rag"
    names = canonical_measures(measure or default_measures(default), "rag")
    if not qrels:
        names = [n for n in names if not n.startswith("Ref")]
    needs = {NEEDS[n] for n in names if n in NEEDS}
    nugget_set = NuggetSet.from_json(nuggets.read_bytes(), name=str(nuggets)) if nuggets else None
    if "nuggets" in needs and nugget_set is None:
        names = [n for n in names if NEEDS.get(n) != "nuggets"]
        err.print("ragbench: no --nuggets given: the nugget scores are left out")
    parts = [p for p in ("nuggets", "support", "claims") if p in needs and (p != "nuggets" or nugget_set)]
    found: dict[str, Any] = {}
    client = None
    if parts:
        from rankers.rag.judges import RagJudge

        client = _lm(backend, model, base_url, api_key_env)
        with progress_bars() as progress:
            judge = RagJudge(client, progress=progress)
            found = judge.judge(run, nuggets=nugget_set, passages=_passages(corpus, run), parts=parts)
    found = _similarity(run, names, found)
    qrels_table = None
    if qrels is not None:
        from ragbench.formats.tables import new_pool
        from ragbench.formats.trec import read_qrels

        qrels_table = read_qrels(qrels, pool=new_pool())
    result = evaluate_rag(
        run, names, judgments=found, nuggets=nugget_set, qrels=qrels_table, name=answers.name
    )
    print_table([result], per_query)
    for name, note in result.notes.items():
        err.print(f"{name}: {note}")
    if client is not None:
        usage = client.pop_usage()
        err.print(f"LM: {usage.calls} calls, {usage.cached} cached, {usage.failures} failures")
    if judgments is not None:
        judgments.write_text(
            json.dumps({t: j.to_dict() for t, j in found.items()}, indent=1), encoding="utf-8"
        )
        err.print(f"judgments: {judgments}")


def _similarity(run: Any, names: list[str], found: dict[str, Any]) -> dict[str, Any]:
    """Add ROUGE-L and embedding similarity (answers with a gt_answer) to the judgments."""
    import dataclasses

    from ragbench.evaluation.rag import AnswerJudgments

    wanted = [n for n in names if n in ("RougeL", "EmbeddingSim")]
    usable = [a for a in run.answers.values() if a.gt_answer]
    if not wanted or not usable:
        return found
    from rankers.rag.similarity import embedding_similarity, rouge_l

    values = {}
    if "RougeL" in wanted:
        values["RougeL"] = rouge_l([a.text for a in usable], [a.gt_answer for a in usable])
    if "EmbeddingSim" in wanted:
        values["EmbeddingSim"] = embedding_similarity([a.text for a in usable], [a.gt_answer for a in usable])
    out = dict(found)
    for i, a in enumerate(usable):
        base = out.get(a.topic_id, AnswerJudgments())
        sims = {**base.similarity, **{m: v[i] for m, v in values.items()}}
        out[a.topic_id] = dataclasses.replace(base, similarity=sims)
    return out


@nuggets_app.command("create")
@user_errors
def nuggets_create_command(
    topics: Annotated[Path, typer.Option("--topics", help="Topics file.")],
    qrels: Annotated[Path, typer.Option("--qrels", help="Qrels: the relevant documents.")],
    corpus: Annotated[Path, typer.Option("--corpus", help="JSONL corpus (the documents' texts).")],
    output: Annotated[Path, typer.Option("--out", help="Nugget set JSON to write.")],
    min_grade: Annotated[int, typer.Option("--min-grade", help="Relevant: grade >= this.")] = 1,
    max_docs: Annotated[
        int, typer.Option("--max-docs", min=1, help="Relevant documents read per topic.")
    ] = 6,
    max_nuggets: Annotated[int, typer.Option("--max-nuggets", min=1)] = 10,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Only these topics (repeat).")] = None,
    backend: Backend = "local",
    model: Model = None,
    base_url: BaseUrl = None,
    api_key_env: KeyEnv = None,
) -> None:
    """Create nuggets from each topic's relevant documents (qrels >= --min-grade), with importance."""
    from ragbench.formats.corpus import iter_corpus
    from ragbench.formats.tables import new_pool
    from ragbench.formats.trec import read_qrels
    from rankers.rag.judges import RagJudge

    queries = _topics(topics) or {}
    table = read_qrels(qrels, pool=new_pool())
    relevant: dict[str, list[str]] = {}
    for q, doc, grade in zip(table.query.tolist(), table.doc.tolist(), table.relevance.tolist(), strict=True):
        qid = table.strings[q]
        if grade >= min_grade and qid in queries and (not topic or qid in topic):
            relevant.setdefault(qid, []).append(table.strings[doc])
    wanted = {d for docs in relevant.values() for d in sorted(docs)[:max_docs]}
    texts = {d.doc_id: d.contents for d in iter_corpus(corpus) if d.doc_id in wanted}
    documents = {q: [texts[d] for d in sorted(docs)[:max_docs] if d in texts] for q, docs in relevant.items()}
    client = _lm(backend, model, base_url, api_key_env)
    with progress_bars() as progress:
        judge = RagJudge(client, max_nuggets=max_nuggets, progress=progress)
        found = judge.create_nuggets(
            queries, documents, {"qrels": qrels.name, "min_grade": min_grade, "max_docs": max_docs}
        )
    output.write_bytes(found.to_json())
    err.print(f"{output}: {found.count} nuggets for {len(found.topics)} topics "
              f"({found.meta.get('importance_failures', 0)} dropped: unreadable importance)")  # fmt: skip


@nuggets_app.command("import")
@user_errors
def nuggets_import_command(
    slug: Annotated[str, typer.Argument(help="Benchmark.")],
    path: Annotated[Path, typer.Argument(help="Nugget set JSON.")],
    measure: Annotated[
        list[str] | None, typer.Option("-m", "--measure", help="RAG measures (first import).")
    ] = None,
) -> None:
    """Store a nugget set as the benchmark's next version (as its local admin)."""
    from ragbench.cli.db import transaction
    from ragbench.store import service

    with transaction() as s:
        version = service.add_nugget_set(s, service.local_admin(s), slug, path.read_bytes(), measures=measure)
        err.print(f"{slug}: nugget set version {version.version} ({version.num_judgments} nuggets)")


@nuggets_app.command("export")
@user_errors
def nuggets_export_command(
    slug: Annotated[str, typer.Argument(help="Benchmark.")],
    output: Annotated[Path, typer.Argument(help="JSON file to write (edit it and import it back).")],
    version: Annotated[int | None, typer.Option("--version")] = None,
) -> None:
    """Write a nugget set to a JSON file (as the benchmark's local admin)."""
    from ragbench.cli.db import transaction
    from ragbench.store import service

    with transaction() as s:
        found, nuggets = service.nugget_set(s, service.local_admin(s), slug, version)
        output.write_bytes(nuggets.to_json())
        err.print(f"{output}: nugget set version {found.version} of {slug}")


@rag_app.command("meta-eval")
@user_errors
def meta_eval_command(
    data: Annotated[Path, typer.Argument(help="Pairwise human preferences (the rag-pairwise JSONL).")],
    measure: Annotated[
        list[str] | None, typer.Option("-m", "--measure", help="RougeL, EmbeddingSim, ClaimRecall...")
    ] = None,
    label: Annotated[
        str, typer.Option("--label", help="overall_label, correctness_label, completeness_label.")
    ] = "overall_label",
    limit: Annotated[int | None, typer.Option("--limit", min=3, help="Only the first N comparisons.")] = None,
    trials: Annotated[int, typer.Option("--trials", min=100)] = 2000,
    output: Annotated[Path | None, typer.Option("--json", help="Write the table as JSON.")] = None,
    backend: Backend = "local",
    model: Model = None,
    base_url: BaseUrl = None,
    api_key_env: KeyEnv = None,
) -> None:
    """Correlate answer measures (model2 - model1) with human preferences, beside annotator agreement."""
    from ragbench.evaluation.rag.meta import meta_evaluate, read_pairwise

    comparisons = read_pairwise(str(data))[:limit]
    names = measure or ["RougeL", "EmbeddingSim"]
    values = {}
    with progress_bars() as progress:
        for name in names:
            values[name] = _pair_values(name, comparisons, progress, (backend, model, base_url, api_key_env))
    rows = meta_evaluate(comparisons, values, label=label, trials=trials)
    from rich.table import Table

    table = Table(title=f"{len(comparisons)} comparisons, {label} (BCa 95 % CIs)", show_edge=False)
    for column in ("measure", "n", "Pearson", "95 % CI", "Spearman", "95 % CI"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for r in rows:
        table.add_row(r.name, str(r.n), f"{r.pearson:.3f}", f"[{r.pearson_low:.3f}, {r.pearson_high:.3f}]",
                      f"{r.spearman:.3f}", f"[{r.spearman_low:.3f}, {r.spearman_high:.3f}]")  # fmt: skip
    out.print(table)
    if output is not None:
        import dataclasses

        output.write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=1), encoding="utf-8")


def _pair_values(
    name: str, comparisons: list[Any], progress: Any, lm: tuple[Any, ...]
) -> tuple[list[float], list[float]]:
    from ragbench.errors import InputError

    first = [c.answer1 for c in comparisons]
    second = [c.answer2 for c in comparisons]
    refs = [c.gt_answer for c in comparisons]
    if name == "RougeL":
        from rankers.rag.similarity import rouge_l

        return rouge_l(first, refs), rouge_l(second, refs)
    if name == "EmbeddingSim":
        from rankers.rag.similarity import embedding_similarity

        return embedding_similarity(first, refs), embedding_similarity(second, refs)
    if name in ("ClaimRecall", "ClaimPrecision", "ClaimF1"):
        from rankers.rag.claims import pairwise_claim_scores
        from rankers.rag.judges import RagJudge

        judge = RagJudge(_lm(*lm), progress=progress)
        return pairwise_claim_scores(judge, comparisons, name)
    raise InputError(
        f"meta-eval computes RougeL, EmbeddingSim, ClaimRecall, ClaimPrecision and ClaimF1, not {name!r}"
    )

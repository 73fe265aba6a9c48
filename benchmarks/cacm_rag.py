"""CACM as a RAG benchmark, end to end: BM25 -> top 5 -> the LLM generator answers N topics (in this
process: Lucene's JVM and torch side by side); nuggets are created from the qrels' relevant
documents; the answers are evaluated (nugget assignment + citation support) with the local backend
and, with ``--serve`` or ``--base-url``, through an OpenAI-compatible endpoint serving the same
model. Reports the scores, answers evaluated per minute (nuggets + support), whether the two
backends agree label for label, and that a re-evaluation on the same cache asks no model and gives
the same numbers.

    python benchmarks/cacm_rag.py --topics 10 --serve       # results/cacm_rag.json
    python benchmarks/cacm_rag.py --topics 10 --base-url http://127.0.0.1:8011/v1 --model ID
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "cacm"
MEASURES = ["NuggetWeighted", "NuggetAll", "NuggetAllStrict", "NuggetVital", "NuggetVitalStrict",
            "SupportPrecision", "SupportRecall", "AnswerWords", "Citations", "RefnDCG@10", "RefJudged@10"]  # fmt: skip


@contextlib.contextmanager
def transformers_serve(model_dir: Path, log: Path) -> Iterator[str]:
    """``transformers serve`` of ``model_dir`` on a free loopback port (offline, CPU); the base URL."""
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [str(Path(sys.executable).parent / "transformers"), "serve", str(model_dir), "--host", "127.0.0.1",
               "--port", str(port), "--device", "cpu", "--log-level", "warning"]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {proc.returncode}: see {log}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("transformers serve did not answer in 300 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def evaluate(
    lm: dict[str, Any],
    cache: Path,
    run: Any,
    nuggets: Any,
    passages: Any,
    queries: Any,
    qrels: Any,
    doc_words: int,
) -> dict[str, Any]:
    """Judge the answers (nuggets + support) with a fresh cache, then again from that cache."""
    from ragbench.evaluation.rag import evaluate_rag
    from rankers.lm import open_client
    from rankers.rag.judges import RagJudge

    cache.unlink(missing_ok=True)
    client = open_client({**lm, "cache": str(cache)})
    judge = RagJudge(client, doc_words=doc_words)
    started = time.perf_counter()
    judgments = judge.judge(run, nuggets=nuggets, passages=passages, parts=("nuggets", "support"))
    seconds = time.perf_counter() - started
    usage = client.pop_usage()
    scores = evaluate_rag(
        run, MEASURES, judgments=judgments, nuggets=nuggets, topics=list(queries), qrels=qrels
    )
    started = time.perf_counter()
    again = judge.judge(run, nuggets=nuggets, passages=passages, parts=("nuggets", "support"))
    rerun_seconds = time.perf_counter() - started
    rerun_usage = client.pop_usage()
    rescored = evaluate_rag(
        run, MEASURES, judgments=again, nuggets=nuggets, topics=list(queries), qrels=qrels
    )
    same = all(
        (a == b) or (a != a and b != b)  # NaN (undefined or failed) on both sides counts as the same
        for m in MEASURES
        for a, b in zip(scores.per_query[m].tolist(), rescored.per_query[m].tolist(), strict=True)
    )
    failed = {part: sum(part in j.errors for j in judgments.values()) for part in ("nuggets", "support")}
    return {
        "backend": lm["backend"],
        "seconds": round(seconds, 1),
        "answers_evaluated_per_minute": round(60 * len(run) / seconds, 2) if seconds else None,
        "lm_calls": usage.calls, "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
        "calls_by_kind": dict(usage.by_kind), "failed_answers": failed,
        "scores": {m: round(v, 4) for m, v in scores.aggregate.items()}, "notes": scores.notes,
        "rerun": {"seconds": round(rerun_seconds, 2), "lm_calls": rerun_usage.calls, "same_scores": same},
        "labels": {t: {"nuggets": j.nuggets, "support": j.support} for t, j in judgments.items()},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topics", type=int, default=10)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--work", default=str(HERE / "data" / "cacm-rag"))
    parser.add_argument(
        "--serve", action="store_true", help="also judge through a transformers serve of SmolLM2"
    )
    parser.add_argument("--base-url", default=None, help="also judge through this OpenAI-compatible endpoint")
    parser.add_argument("--model", default=None, help="the endpoint's model id (with --base-url)")
    parser.add_argument(
        "--served-topics", type=int, default=None, help="judge only the first N answers through the endpoint"
    )
    parser.add_argument("--max-tokens", type=int, default=160, help="most tokens of a generated answer")
    parser.add_argument(
        "--max-docs", type=int, default=6, help="relevant documents read per topic for nuggets"
    )
    parser.add_argument("--doc-words", type=int, default=120, help="words of each passage shown to the LM")
    parser.add_argument("--list-tokens", type=int, default=160, help="most tokens of a nugget list reply")
    parser.add_argument("--out", default=str(HERE / "results" / "cacm_rag.json"))
    args = parser.parse_args()

    from ragbench.formats.corpus import iter_corpus
    from ragbench.formats.rag import read_rag
    from ragbench.formats.topics import read_topics
    from ragbench.formats.trec import read_qrels
    from ragbench.jobs.config import load_pipeline
    from ragbench.jobs.pipeline import run_pipeline
    from rankers.lm import open_client, resolve_lm
    from rankers.rag.judges import RagJudge

    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    qrels = read_qrels(data / "qrels.cacm.txt")
    judged = set(qrels.query_ids())
    chosen = [t for t in read_topics(data / "topics.cacm.txt") if t.query_id in judged][: args.topics]
    (work / "topics.tsv").write_text("".join(f"{t.query_id}\t{t.title}\n" for t in chosen), encoding="utf-8")
    local = {"backend": "local", "device": "cpu"}
    generation_cache = work / "generate.sqlite"
    generation_cache.unlink(missing_ok=True)
    config = {
        "name": "bm25-top5-smollm2", "corpus": str(data / "cacm.jsonl"), "topics": "topics.tsv",
        "qrels": str(data / "qrels.cacm.txt"), "depth": 100, "ray": False,
        "retrievers": [{"type": "bm25", "index": "indexes/cacm-bm25"}],
        "generator": {"type": "llm", **local, "k": 5, "max_words": 400, "max_tokens": args.max_tokens,
                      "doc_words": args.doc_words, "cache": str(generation_cache)},
    }  # fmt: skip
    (work / "rag.yaml").write_text(json.dumps(config), encoding="utf-8")
    started = time.perf_counter()
    result = run_pipeline(load_pipeline(work / "rag.yaml"), store=False, use_ray=False)
    generate_s = time.perf_counter() - started
    run = read_rag(result.answers_bytes or b"", name="answers.jsonl")
    queries = {t.query_id: t.title for t in chosen}
    relevant: dict[str, list[str]] = {}
    for q, d, g in zip(qrels.query.tolist(), qrels.doc.tolist(), qrels.relevance.tolist(), strict=True):
        if g >= 1 and qrels.strings[q] in queries:
            relevant.setdefault(qrels.strings[q], []).append(qrels.strings[d])
    texts = {d.doc_id: d.contents for d in iter_corpus(data / "cacm.jsonl")}
    nugget_cache = work / "nuggets.sqlite"
    nugget_cache.unlink(missing_ok=True)
    client = open_client({**local, "cache": str(nugget_cache)})
    started = time.perf_counter()
    nuggets = RagJudge(client, doc_words=args.doc_words, list_tokens=args.list_tokens).create_nuggets(
        queries, {q: [texts[d] for d in sorted(ds)[: args.max_docs]] for q, ds in relevant.items()}
    )
    nugget_s = time.perf_counter() - started
    passages = {r: texts[r] for a in run.answers.values() for r in a.references}
    evaluations = [
        evaluate(local, work / "judge-local.sqlite", run, nuggets, passages, queries, qrels, args.doc_words)
    ]
    with contextlib.ExitStack() as stack:
        endpoint = None
        if args.serve:
            url = stack.enter_context(transformers_serve(resolve_lm(None)[0], work / "serve.log"))
            endpoint = {"backend": "openai", "base_url": url, "model": str(resolve_lm(None)[0])}
        elif args.base_url:
            endpoint = {"backend": "openai", "base_url": args.base_url, "model": args.model}
        if endpoint is not None:
            # the endpoint judges the first --served-topics answers (a CPU server is slow): the
            # same answers, nuggets and passages as the local judge saw
            lines = (result.answers_bytes or b"").splitlines(keepends=True)[: args.served_topics]
            served_run = read_rag(b"".join(lines), name="answers.jsonl")
            served_queries = {t: queries[t] for t in served_run.answers}
            evaluations.append(
                evaluate(
                    endpoint,
                    work / "judge-served.sqlite",
                    served_run,
                    nuggets,
                    passages,
                    served_queries,
                    qrels,
                    args.doc_words,
                )
            )
    agree = None
    if len(evaluations) == 2:
        one, two = (e["labels"] for e in evaluations)
        agree = {part: sum(one[t][part] == two[t][part] for t in two) for part in ("nuggets", "support")}
        agree["answers"] = len(two)
    report = {
        "machine": base_machine(), "command": " ".join(["python", *sys.argv]),
        "load_average_at_end": os.getloadavg(), "topics": len(queries), "answers": len(run),
        "seconds": {"generate": round(generate_s, 1), "nuggets": round(nugget_s, 1)},
        "sentences": sum(len(a.sentences) for a in run.answers.values()),
        "citations": sum(len(s.citations) for a in run.answers.values() for s in a.sentences),
        "generation": {q: result.stage_stats["generate llm"][q] for q in queries if q in result.stage_stats.get("generate llm", {})},
        "nuggets": nuggets.count,
        "vital": sum(n.importance == "vital" for ns in nuggets.topics.values() for n in ns),
        "importance_failures": nuggets.meta.get("importance_failures"),
        "topics_without_nuggets": nuggets.meta.get("topics_without_nuggets"),
        "evaluations": [{k: v for k, v in e.items() if k != "labels"} for e in evaluations],
        "answers_with_the_same_labels_local_vs_served": agree,
    }  # fmt: skip
    (work / "answers.jsonl").write_bytes(result.answers_bytes or b"")
    (work / "nuggets.json").write_bytes(nuggets.to_json())
    (work / "labels.json").write_text(
        json.dumps([e["labels"] for e in evaluations], indent=1), encoding="utf-8"
    )
    Path(args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    json.dump(report, sys.stdout, indent=1)
    shutil.copy(args.out, work / "report.json")


if __name__ == "__main__":
    main()

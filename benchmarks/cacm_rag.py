"""CACM as a RAG benchmark, end to end: BM25 -> top 5 -> the LLM generator answers N topics;
nuggets from the qrels' relevant documents; answers evaluated (nuggets + citation support) with
the local backend. Reports the scores and answers evaluated per minute (nuggets + support).

    python benchmarks/cacm_rag.py --topics 10            # results/cacm_rag.json
    python benchmarks/cacm_rag.py --topics 10 --base-url http://127.0.0.1:8011/v1 --model DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "cacm"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topics", type=int, default=10)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--work", default=str(HERE / "data" / "cacm-rag"))
    parser.add_argument(
        "--base-url", default=None, help="an OpenAI-compatible endpoint instead of the local model"
    )
    parser.add_argument("--model", default=None)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--out", default=str(HERE / "results" / "cacm_rag.json"))
    args = parser.parse_args()

    from ragbench.evaluation.rag import evaluate_rag
    from ragbench.formats.corpus import iter_corpus
    from ragbench.formats.rag import read_rag
    from ragbench.formats.topics import read_topics
    from ragbench.formats.trec import read_qrels
    from ragbench.jobs.config import load_pipeline
    from ragbench.jobs.pipeline import run_pipeline
    from rankers.lm import open_client
    from rankers.rag.judges import RagJudge

    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    qrels = read_qrels(data / "qrels.cacm.txt")
    judged = set(qrels.query_ids())
    chosen = [t for t in read_topics(data / "topics.cacm.txt") if t.query_id in judged][: args.topics]
    (work / "topics.tsv").write_text("".join(f"{t.query_id}\t{t.title}\n" for t in chosen), encoding="utf-8")
    lm = (
        {"backend": "openai", "base_url": args.base_url, "model": args.model}
        if args.base_url
        else {"backend": "local"}
    )
    config = {
        "name": "bm25-top5-smollm2", "corpus": str(data / "cacm.jsonl"), "topics": "topics.tsv",
        "qrels": str(data / "qrels.cacm.txt"), "depth": 100, "ray": False,
        "retrievers": [{"type": "bm25", "index": "indexes/cacm-bm25"}],
        "generator": {"type": "llm", **lm, "k": 5, "max_words": 400, "max_tokens": args.max_tokens},
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
    client = open_client({**lm, "max_tokens": 64})
    judge = RagJudge(client)
    started = time.perf_counter()
    nuggets = judge.create_nuggets(
        queries, {q: [texts[d] for d in sorted(ds)[:6]] for q, ds in relevant.items()}
    )
    nugget_s = time.perf_counter() - started
    client.pop_usage()
    started = time.perf_counter()
    passages = {r: texts[r] for a in run.answers.values() for r in a.references}
    judgments = judge.judge(run, nuggets=nuggets, passages=passages, parts=("nuggets", "support"))
    judge_s = time.perf_counter() - started
    usage = client.pop_usage()
    measures = ["NuggetWeighted", "NuggetAll", "NuggetAllStrict", "NuggetVital", "NuggetVitalStrict",
                "SupportPrecision", "SupportRecall", "AnswerWords", "Citations", "RefnDCG@10", "RefJudged@10"]  # fmt: skip
    scores = evaluate_rag(
        run, measures, judgments=judgments, nuggets=nuggets, topics=list(queries), qrels=qrels
    )
    failed = {part: sum(part in j.errors for j in judgments.values()) for part in ("nuggets", "support")}
    report = {
        "machine": base_machine(), "backend": lm["backend"], "topics": len(queries),
        "seconds": {"generate": round(generate_s, 1), "nuggets": round(nugget_s, 1), "judge": round(judge_s, 1)},
        "answers_evaluated_per_minute": round(60 * len(run) / judge_s, 2) if judge_s else None,
        "judge_lm_calls": usage.calls, "judge_cached": usage.cached,
        "nuggets": nuggets.count, "vital": sum(n.importance == "vital" for ns in nuggets.topics.values() for n in ns),
        "importance_failures": nuggets.meta.get("importance_failures"), "failed_answers": failed,
        "scores": {m: round(v, 4) for m, v in scores.aggregate.items()}, "notes": scores.notes,
    }  # fmt: skip
    (work / "answers.jsonl").write_bytes(result.answers_bytes or b"")
    (work / "nuggets.json").write_bytes(nuggets.to_json())
    Path(args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

"""Acceptance run of the LLM judges on CACM (not a test): judge the pool, agreement with people,
hole simulation, and throughput of the local backend and of a served endpoint.

    python benchmarks/judge_cacm.py --runs DIR [--topics-n 20] [--depth 10] [--out benchmarks/results/judge_cacm.json]

DIR holds the demo's four runs (bm25.run, bm25-rm3.run, dense.run, hybrid.run: `ragbench demo`).
Everything goes through the `ragbench` command line, in a scratch folder; the endpoint is a real
`transformers serve` of the converted SmolLM2 on the loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
CACM = HERE.parent.parent / "shared" / "data" / "cacm"
RUNS = ("bm25.run", "bm25-rm3.run", "dense.run", "hybrid.run")


def ragbench(*args: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ragbench.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"ragbench {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return took, proc.stdout


def sidecar(path: Path) -> dict:
    lines = (Path(f"{path}.provenance.jsonl")).read_text().splitlines()
    records = [json.loads(line) for line in lines[1:]]
    return {"header": json.loads(lines[0]), "records": records}


def labels_of(path: Path) -> dict[tuple[str, str], int | None]:
    return {
        (r["query_id"], r["doc_id"]): r["relevance"] for r in sidecar(path)["records"] if r["source"] == "llm"
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--topics-n", type=int, default=20)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--doc-words", type=int, default=50)
    parser.add_argument(
        "--subset-topics", type=int, default=3, help="topics of the generate/endpoint comparison"
    )
    parser.add_argument("--subset-depth", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "judge_cacm.json")
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch folder (reuse one to resume from its cache)"
    )
    args = parser.parse_args()
    runs = [str(args.runs / r) for r in RUNS]
    qrels, topics, corpus = (
        str(CACM / "qrels.cacm.txt"),
        str(CACM / "topics.cacm.txt"),
        str(CACM / "cacm.jsonl"),
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="judge-cacm-"))
    work.mkdir(parents=True, exist_ok=True)
    resumed = (work / "cache" / "lm.sqlite").is_file()
    env = {**os.environ, "RAGBENCH_CACHE_DIR": str(work / "cache")}
    common = ["--corpus", corpus, "--topics", topics, "--doc-words", str(args.doc_words)]
    result: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, load {os.getloadavg()}",
        "topics": args.topics_n,
        "depth": args.depth,
        "doc_words": args.doc_words,
        "resumed_from_cache": resumed,
    }

    # 1. The local judge on the whole pool (log-probabilities of 0-3), then agreement with people.
    local = work / "llm-local.qrels"
    took, _ = ragbench("judge", qrels, *runs, *common, "--depth", str(args.depth), "--all",
                       "--max-topics", str(args.topics_n), "--prompt", "basic", "--method", "logprobs",
                       "--out", str(local), env=env)  # fmt: skip
    side = sidecar(local)
    pairs = side["header"]["counts"]["pairs"]
    result["local_logprobs"] = {
        "pairs": pairs, "seconds": round(took, 1), "pairs_per_s": round(pairs / took, 3),
        "counts": side["header"]["counts"], "judge": side["header"]["judge"],
        "failures": [r for r in side["records"] if r["relevance"] is None],
        "every_label_has_provenance": all(r.get("provenance") for r in side["records"] if r["relevance"] is not None),
    }  # fmt: skip
    took, _ = ragbench("judge", qrels, *runs, *common, "--depth", str(args.depth), "--all",
                       "--max-topics", str(args.topics_n), "--prompt", "basic", "--method", "logprobs",
                       "--out", str(work / "again.qrels"), env=env)  # fmt: skip
    result["cache_rerun"] = {"pairs": pairs, "seconds": round(took, 2), "pairs_per_s": round(pairs / took, 1),
                             "identical": (work / "again.qrels").read_bytes() == local.read_bytes()}  # fmt: skip
    from ragbench.formats.judgments import read_sidecar  # noqa: F401  (the reader users have)
    from rankers.lm import LMCache

    cache = LMCache(work / "cache" / "lm.sqlite")
    keys = [k for (k,) in cache._connect().execute("SELECT key FROM outputs").fetchall()]
    started = time.perf_counter()
    for _ in range(5):
        LMCache(work / "cache" / "lm.sqlite").get_many(keys)
    result["cache_hits_per_s"] = round(5 * len(keys) / (time.perf_counter() - started))
    report = work / "agreement.json"
    ragbench("judge-agreement", qrels, str(local), *runs, "--json", str(report), env=env)
    result["agreement"] = json.loads(report.read_text())

    # 2. Hole simulation: 30 % of the human labels of those topics removed (seeded), holes judged.
    sim = work / "simulate.json"
    took, text = ragbench("judge", "simulate-holes", qrels, *runs, *common, "--fraction", "0.3", "--seed", "0",
                          "--max-topics", str(args.topics_n), "--depth", str(args.depth), "--prompt", "basic",
                          "--method", "logprobs", "--json", str(sim), env=env)  # fmt: skip
    result["simulate_holes"] = {**json.loads(sim.read_text()), "seconds": round(took, 1), "printed": text}

    # 3. Generated grades: local vs a served endpoint at temperature 0, and endpoint concurrency.
    from support.lm_server import transformers_serve

    from rankers.lm import resolve_lm

    subset = [*common, "--depth", str(args.subset_depth), "--all", "--max-topics", str(args.subset_topics),
              "--prompt", "basic", "--max-tokens", "8", "--retries", "1"]  # fmt: skip
    gen_local = work / "gen-local.qrels"
    took, _ = ragbench("judge", qrels, *runs, *subset, "--cache", "off", "--out", str(gen_local), env=env)
    n = sidecar(gen_local)["header"]["counts"]["pairs"]
    result["generate_local"] = {"pairs": n, "seconds": round(took, 1), "pairs_per_s": round(n / took, 3),
                                "counts": sidecar(gen_local)["header"]["counts"]}  # fmt: skip
    directory = resolve_lm(None)[0]
    with transformers_serve(directory, work / "serve.log") as url:
        for concurrency in (1, 4):
            path = work / f"gen-endpoint-{concurrency}.qrels"
            took, _ = ragbench("judge", qrels, *runs, *subset, "--backend", "openai", "--base-url", url,
                               "--model", str(directory), "--concurrency", str(concurrency), "--cache", "off",
                               "--out", str(path), env=env)  # fmt: skip
            result[f"generate_endpoint_c{concurrency}"] = {
                "pairs": n, "seconds": round(took, 1), "pairs_per_s": round(n / took, 3),
                "counts": sidecar(path)["header"]["counts"],
                "labels_equal_local": labels_of(path) == labels_of(gen_local),
                "failures": [r["failure"] for r in sidecar(path)["records"] if r["relevance"] is None][:5],
            }  # fmt: skip
    c1, c4 = result["generate_endpoint_c1"], result["generate_endpoint_c4"]
    result["endpoint_speedup_c4_over_c1"] = round(c4["pairs_per_s"] / c1["pairs_per_s"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(
        json.dumps(
            {k: v for k, v in result.items() if k not in ("agreement", "simulate_holes")},
            indent=1,
            default=str,
        )[:4000]
    )


if __name__ == "__main__":
    main()

"""Benchmark: score a 5M-line run from files with ragbench, ir-measures, pytrec_eval (and trec_eval).

Generates (once, under benchmarks/data/) a run of 5,000 topics x 1,000 documents and qrels with
50 graded judgments per topic (30 of them on retrieved documents), then, for each tool, in a fresh
process of its own: reads both files and computes nDCG@10, AP, R@1000 and P@10 averaged over the
topics. Records wall time of the whole process, the tool's own time (read + score, inside the
process), and peak RSS (the process's max resident set, from wait4). Tools run one after another,
each several times, in one invocation, so the ratios compare like with like.

    python benchmarks/eval_speed.py [--topics 5000] [--depth 1000] [--repeats 3]

Writes benchmarks/results/eval_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from machine_info import base_machine

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"

MEASURES = {"ragbench": ["nDCG@10", "AP", "R@1000", "P@10"]}

RAGBENCH = """
import sys, time, json
t = time.perf_counter()
from ragbench.evaluation.engine import evaluate
r = evaluate(sys.argv[1], sys.argv[2], ["nDCG@10", "AP", "R@1000", "P@10"])
print(json.dumps({"seconds": time.perf_counter() - t, "scores": {"nDCG@10": r.aggregate["nDCG@10"],
      "AP": r.aggregate["AP"], "R@1000": r.aggregate["R@1000"], "P@10": r.aggregate["P@10"]}}))
"""

IR_MEASURES = """
import sys, time, json
t = time.perf_counter()
import ir_measures
from ir_measures import nDCG, AP, R, P
qrels = ir_measures.read_trec_qrels(sys.argv[1])
run = ir_measures.read_trec_run(sys.argv[2])
agg = ir_measures.calc_aggregate([nDCG @ 10, AP, R @ 1000, P @ 10], qrels, run)
print(json.dumps({"seconds": time.perf_counter() - t, "scores": {str(k): v for k, v in agg.items()}}))
"""

PYTREC_EVAL = """
import sys, time, json
t = time.perf_counter()
import pytrec_eval
with open(sys.argv[1]) as f:
    qrels = pytrec_eval.parse_qrel(f)
with open(sys.argv[2]) as f:
    run = pytrec_eval.parse_run(f)
names = {"ndcg_cut_10": "nDCG@10", "map": "AP", "recall_1000": "R@1000", "P_10": "P@10"}
per_query = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map", "recall.1000", "P.10"}).evaluate(run)
scores = {names[m]: sum(q[m] for q in per_query.values()) / len(per_query) for m in names}
print(json.dumps({"seconds": time.perf_counter() - t, "scores": scores}))
"""


def generate(topics: int, depth: int, seed: int = 0) -> tuple[Path, Path]:
    """Write the synthetic run and qrels (cached by size) and return their paths."""
    DATA.mkdir(parents=True, exist_ok=True)
    run_path, qrels_path = DATA / f"run_{topics}x{depth}.txt", DATA / f"qrels_{topics}x{depth}.txt"
    if run_path.exists() and qrels_path.exists():
        return run_path, qrels_path
    rng = np.random.default_rng(seed)
    collection = 2_000_000
    with open(run_path, "w") as run, open(qrels_path, "w") as qrels:
        for t in range(topics):
            docs = rng.choice(collection, size=depth + 20, replace=False)
            scores = np.round(np.sort(rng.gamma(2.0, 3.0, size=depth))[::-1], 4)  # 4 decimals: some ties
            run.write(
                "".join(
                    f"{t + 1} Q0 D{d:07d} {i + 1} {s:.4f} bench\n"
                    for i, (d, s) in enumerate(zip(docs[:depth], scores, strict=True))
                )
            )
            judged = np.concatenate([rng.choice(docs[:depth], size=30, replace=False), docs[depth:]])
            grades = rng.choice(4, size=judged.size, p=[0.55, 0.25, 0.15, 0.05])
            qrels.write("".join(f"{t + 1} 0 D{d:07d} {g}\n" for d, g in zip(judged, grades, strict=True)))
    return run_path, qrels_path


def measure(command: list[str]) -> dict[str, object]:
    """Run a command; return wall seconds, peak RSS (MiB) and its JSON output."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:3]} failed: {stderr[-2000:]}")
    result: dict[str, object] = {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024}
    try:
        result.update(json.loads(stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        result["stdout"] = stdout[-500:]
    return result


def machine() -> dict[str, object]:
    import ir_measures

    return {
        **base_machine(),
        "numpy": np.__version__,
        "ir_measures": ir_measures.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--topics", type=int, default=5000)
    parser.add_argument("--depth", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run_path, qrels_path = generate(args.topics, args.depth)
    py = sys.executable
    tools: dict[str, list[str]] = {
        "ragbench": [py, "-c", RAGBENCH, str(qrels_path), str(run_path)],
        "ir_measures": [py, "-c", IR_MEASURES, str(qrels_path), str(run_path)],
        "pytrec_eval": [py, "-c", PYTREC_EVAL, str(qrels_path), str(run_path)],
    }
    trec_eval = shutil.which("trec_eval")
    if trec_eval:
        tools["trec_eval"] = [trec_eval, "-m", "ndcg_cut.10", "-m", "map", "-m", "recall.1000", "-m", "P.10",
                              str(qrels_path), str(run_path)]  # fmt: skip
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in tools}
    for _ in range(args.repeats):  # interleaved, so drift in machine speed hits every tool alike
        for name, command in tools.items():
            runs[name].append(measure(command))
    summary = {}
    for name, results in runs.items():
        walls = sorted(float(r["wall_s"]) for r in results)  # type: ignore[arg-type]
        summary[name] = {
            "wall_s_median": walls[len(walls) // 2],
            "inner_s_median": sorted(float(r.get("seconds", r["wall_s"])) for r in results)[
                len(results) // 2
            ],  # type: ignore[arg-type]
            "peak_rss_mib_max": max(float(r["peak_rss_mib"]) for r in results),  # type: ignore[arg-type]
            "scores": results[0].get("scores"),
        }
    base = summary["ir_measures"]["wall_s_median"]
    for entry in summary.values():
        entry["wall_vs_ir_measures"] = entry["wall_s_median"] / base
    ours, ref = summary["ragbench"]["scores"], summary["pytrec_eval"]["scores"]
    agreement = max(abs(ours[m] - ref[m]) for m in ref)  # type: ignore[index]
    doc = {
        "benchmark": "eval_speed",
        "rows": args.topics * args.depth,
        "topics": args.topics,
        "depth": args.depth,
        "judgments_per_topic": 50,
        "measures": MEASURES["ragbench"],
        "repeats": args.repeats,
        "trec_eval_on_path": bool(trec_eval),
        "max_abs_difference_ragbench_vs_pytrec_eval": agreement,
        "machine": machine(),
        "summary": summary,
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "eval_speed.json").write_text(json.dumps(doc, indent=2) + "\n")
    for name, s in summary.items():
        print(
            f"{name:12s} wall {s['wall_s_median']:6.2f} s (inside {s['inner_s_median']:5.2f} s)  "
            f"peak RSS {s['peak_rss_mib_max']:6.0f} MiB  x{s['wall_vs_ir_measures']:.2f} of ir_measures"
        )
    print(f"max |ragbench - pytrec_eval| over the 4 means: {agreement:.2e}")


if __name__ == "__main__":
    main()

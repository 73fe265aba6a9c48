"""Time the suite aggregation (``ragbench.stats.aggregate_suite``) at BEIR's size; write JSON.

    PYTHONPATH=. .venv/bin/python benchmarks/suite_aggregate.py [--systems 10] [--benchmarks 18]
        [--topics 500] [--repeats 3] [--output PATH]

Synthetic per-topic scores for S systems on B benchmarks of T topics; one system lacks a
benchmark. Times, median of ``--repeats`` after a warm-up: the whole aggregate with per-benchmark
tiers (randomization tests, 10,000 trials) and without them (CIs, stratified bootstrap of the
suite mean, Borda, Friedman/Nemenyi, DerSimonian–Laird meta-analyses), 2,000 bootstrap resamples.
Results go to ``benchmarks/results/suite_aggregate.json`` with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from machine_info import base_machine

from ragbench.stats import aggregate_suite

DEFAULT_OUTPUT = Path(__file__).parent / "results" / "suite_aggregate.json"


def scores(systems: int, benchmarks: int, topics: int) -> dict[str, dict[str, dict[str, float]]]:
    rng = np.random.default_rng(0)
    data: dict[str, dict[str, dict[str, float]]] = {}
    for b in range(benchmarks):
        shift = rng.normal(0, 0.1)
        data[f"b{b:02d}"] = {
            f"s{s:02d}": {
                f"q{t}": float(np.clip(0.3 + 0.01 * s + shift + rng.normal(0, 0.2), 0, 1))
                for t in range(topics)
            }
            for s in range(systems)
            if not (s == systems - 1 and b == 0)
        }
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--benchmarks", type=int, default=18)
    parser.add_argument("--topics", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    data = scores(args.systems, args.benchmarks, args.topics)
    names = sorted(data)
    results = {}
    for label, tiers in (("with_tiers", True), ("without_tiers", False)):
        aggregate_suite(data, measure="nDCG@10", benchmarks=names, reference="s00", tiers=tiers)
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            aggregate_suite(data, measure="nDCG@10", benchmarks=names, reference="s00", tiers=tiers)
            times.append(time.perf_counter() - started)
        results[label] = {
            "median_s": round(statistics.median(times), 3),
            "all_s": [round(t, 3) for t in times],
        }
    report = {
        "benchmark": "suite_aggregate",
        "systems": args.systems,
        "benchmarks": args.benchmarks,
        "topics": args.topics,
        "results": results,
        "machine": {**base_machine(), "numpy": np.__version__},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

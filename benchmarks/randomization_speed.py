"""Time the paired randomization test and a full ``compare``; write JSON, print one line.

    PYTHONPATH=. .venv/bin/python benchmarks/randomization_speed.py [--repeats 7] [--output PATH]

Measures (median of ``--repeats`` runs after one warm-up):

- ``randomization``: :func:`ragbench.stats.paired_randomization`, 10,000 sign-flip trials over
  1,000 topics. Floor: 0.5 s per pair; the script exits with status 1 above it.
- every registered test and :func:`ragbench.stats.bootstrap_ci` on the same pair;
- ``compare``: :func:`ragbench.stats.compare` with its defaults (randomization + t-test, Holm,
  95% percentile bootstrap CI, 10,000 trials) on 5 runs x 4 measures x 1,000 topics, i.e. 16
  (baseline, run, measure) comparisons.

Results go to ``benchmarks/results/randomization_speed.json`` with the machine's description.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from ragbench.stats import STAT_TESTS, bootstrap_ci, compare, paired_randomization

TOPICS = 1_000
TRIALS = 10_000
RUNS = 5
MEASURES = ("AP", "nDCG@10", "P@10", "R@1000")
FLOOR_S = 0.5
DEFAULT_OUTPUT = Path(__file__).parent / "results" / "randomization_speed.json"


def timed(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    """Median, min and max wall time of ``fn`` in seconds over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": repeats,
    }


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per measurement (default 7)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file to write")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    a = rng.random(TOPICS)
    b = np.clip(a + rng.normal(0.01, 0.1, TOPICS), 0, 1)

    randomization = timed(lambda: paired_randomization(a, b, trials=TRIALS, seed=0), args.repeats)
    single_pair = {
        name: timed(lambda test=test: test(a, b, trials=TRIALS, seed=0), args.repeats)["median_s"]
        for name, test in STAT_TESTS.items()
    }
    ci = timed(lambda: bootstrap_ci(a, b, trials=TRIALS, seed=0), args.repeats)
    single_pair["bootstrap_ci"] = ci["median_s"]

    base = rng.random((len(MEASURES), TOPICS))

    def noise() -> np.ndarray:
        return rng.normal(0, 0.1, TOPICS)

    topics = [f"q{i:04d}" for i in range(TOPICS)]
    scores = {
        f"run{r}": {
            measure: dict(zip(topics, np.clip(base[m] + 0.01 * r + noise(), 0, 1), strict=True))
            for m, measure in enumerate(MEASURES)
        }
        for r in range(RUNS)
    }
    pairs = (RUNS - 1) * len(MEASURES)
    full = timed(lambda: compare(scores, trials=TRIALS, seed=0), max(1, args.repeats // 2))

    result = {
        "machine": machine(),
        "randomization": {"topics": TOPICS, "trials": TRIALS, **randomization, "floor_s": FLOOR_S},
        "single_pair_median_s": single_pair,
        "compare": {
            "runs": RUNS,
            "measures": len(MEASURES),
            "topics": TOPICS,
            "trials": TRIALS,
            "comparisons": pairs,
            "tests": ["randomization", "ttest"],
            "ci": "95% percentile bootstrap",
            **full,
            "per_comparison_s": full["median_s"] / pairs,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    ok = randomization["median_s"] <= FLOOR_S
    print(
        f"randomization {TRIALS:,} trials x {TOPICS:,} topics: {randomization['median_s'] * 1e3:.1f} ms median "
        f"(floor {FLOOR_S * 1e3:.0f} ms, {'ok' if ok else 'TOO SLOW'}); "
        f"compare {RUNS} runs x {len(MEASURES)} measures x {TOPICS:,} topics ({pairs} comparisons): "
        f"{full['median_s']:.2f} s ({full['median_s'] / pairs * 1e3:.0f} ms each) "
        f"on {result['machine']['cpu_count']} CPUs -> {args.output}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

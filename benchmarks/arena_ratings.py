"""Time the arena's ratings: Bradley–Terry with 1,000 bootstrap rounds over 100,000 votes among 50
systems; write JSON, print one line per case.

    PYTHONPATH=. .venv/bin/python benchmarks/arena_ratings.py [--repeats 5] [--output PATH]

Cases (each the minimum and median of ``--repeats`` runs after one warm-up, wall and CPU time of
this process; the machine is shared, so the minimum is the fairest figure):

- ``battle``: :func:`ragbench.stats.arena_ratings`, 100,000 votes (10 % ties), 50 systems, every
  vote its own cluster, 1,000 rounds. **Floor: 2 s**; the script exits with status 1 above it.
- ``topic``: the same votes clustered by 1,000 topics; ``voter``: by 5,000 voters.
- ``naive``: what the batched fit replaces, side by side: each round resamples the 100,000 votes
  (``rng.integers``), aggregates them and fits alone, from zero; timed over 20 rounds and scaled
  to 1,000 (the ratio is ``naive / battle``).
- ``style``: :func:`ragbench.stats.style_control` with two covariates on 10,000 votes, 1,000 rounds.

Results go to ``benchmarks/results/arena_ratings.json`` with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from machine_info import base_machine

from ragbench.stats import arena_ratings, pair_table, style_control
from ragbench.stats._bradley_terry import fit_strengths

SYSTEMS = 50
VOTES = 100_000
ROUNDS = 1_000
FLOOR_S = 2.0
NAIVE_ROUNDS = 20
DEFAULT_OUTPUT = Path(__file__).parent / "results" / "arena_ratings.json"


def votes(n: int, k: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, 1, k)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p = 1 / (1 + np.exp(-(truth[a] - truth[b])))
    out = np.where(rng.random(n) < 0.1, 0.5, (rng.random(n) < p).astype(float))
    return a, b, out, rng.integers(0, 1000, n), rng.integers(0, 5000, n)


def timed(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {
        "min_s": min(wall),
        "median_s": statistics.median(wall),
        "cpu_min_s": min(cpu),
        "cpu_median_s": statistics.median(cpu),
        "repeats": repeats,
    }


def naive(a: np.ndarray, b: np.ndarray, out: np.ndarray, rounds: int) -> None:
    rng = np.random.default_rng(0)
    for _ in range(rounds):
        picked = rng.integers(0, a.size, a.size)
        table = pair_table(a[picked], b[picked], out[picked], SYSTEMS)
        fit_strengths(table.i, table.j, table.score, table.total, SYSTEMS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    a, b, out, topic, voter = votes(VOTES, SYSTEMS, seed=0)
    names = [f"s{i}" for i in range(SYSTEMS)]
    results: dict[str, Any] = {}
    results["battle"] = timed(lambda: arena_ratings(a, b, out, names, rounds=ROUNDS, seed=0), args.repeats)
    results["topic"] = timed(
        lambda: arena_ratings(a, b, out, names, clusters=topic, rounds=ROUNDS), args.repeats
    )
    results["voter"] = timed(
        lambda: arena_ratings(a, b, out, names, clusters=voter, rounds=ROUNDS), args.repeats
    )
    scaled = timed(lambda: naive(a, b, out, NAIVE_ROUNDS), 1)
    results["naive"] = {
        key: value * ROUNDS / NAIVE_ROUNDS if key.endswith("_s") else value for key, value in scaled.items()
    }
    results["naive"]["timed_rounds"] = NAIVE_ROUNDS
    results["naive_over_battle"] = results["naive"]["min_s"] / results["battle"]["min_s"]
    n = 10_000
    rng = np.random.default_rng(1)
    features_a, features_b = (
        rng.integers(10, 400, (n, 2)).astype(float),
        rng.integers(10, 400, (n, 2)).astype(float),
    )
    results["style"] = timed(
        lambda: style_control(
            a[:n],
            b[:n],
            out[:n],
            names,
            features_a,
            features_b,
            [("length", "count"), ("citations", "count")],
            rounds=ROUNDS,
        ),
        max(1, args.repeats // 2),
    )
    report = {
        "benchmark": "arena_ratings",
        "systems": SYSTEMS,
        "votes": VOTES,
        "rounds": ROUNDS,
        "floor_s": FLOOR_S,
        "results": results,
        "machine": {**base_machine(), "numpy": np.__version__},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    for case in ("battle", "topic", "voter", "naive", "style"):
        r = results[case]
        print(
            f"{case:8s} min {r['min_s']:.3f} s  median {r['median_s']:.3f} s  cpu min {r['cpu_min_s']:.3f} s"
        )
    print(f"naive / batched: {results['naive_over_battle']:.1f}x; floor {FLOOR_S} s")
    return 0 if results["battle"]["min_s"] <= FLOOR_S else 1


if __name__ == "__main__":
    sys.exit(main())

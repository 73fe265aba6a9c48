"""Benchmark: session measures over 100,000 sessions x 5 queries x 10 documents (5M rows).

Generates a synthetic session run (documents drawn from a 200,000-document collection, 10% of
them clicked) and session-level qrels (20 judged documents per session, grades 0-3, half of them
retrieved somewhere in the session), then, in one process:

1. ``evaluate_sessions`` with NUM + sessDCG + nsessDCG (the issue's floor: 5 s on this machine)
   on the tables in memory, ``--repeats`` times (the best and every time are recorded);
2. the same plus U and esNDCG, to show what the rest cost;
3. reading the run and qrels from TSV files (``read_session_run`` / ``read_session_qrels``);
4. the plain-Python transcription of the spec used by the tests (one session at a time) on
   ``--reference-sessions`` sessions, scaled to 100,000, for the speed-up ratio, with the values
   of both compared on those sessions.

    python benchmarks/session_speed.py [--sessions 100000] [--repeats 3]

Writes benchmarks/results/session_speed.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from machine_info import base_machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DATA = HERE / "data"
sys.path.insert(0, str(ROOT / "tests" / "unit" / "evaluation"))  # the spec transcription

FLOOR_MEASURES = ["NUM(L=1000)", "sessDCG(b=2,bq=4)@10", "nsessDCG(b=2,bq=4)@10"]
MORE_MEASURES = [*FLOOR_MEASURES, "U(L=1000)", "esNDCG(p_reform=0.9,p_down=0.7)@10"]


def generate(sessions: int, queries: int, depth: int, seed: int = 0):
    """Tables in memory (no file parsing) and the arrays to write them out."""
    from ragbench.formats.sessions import SessionQrels, SessionRun
    from ragbench.formats.tables import new_pool

    rng = np.random.default_rng(seed)
    collection = 200_000
    pool = new_pool()
    for d in range(collection):
        pool.code(f"doc{d}")
    rows = sessions * queries * depth
    session = np.repeat(np.arange(sessions, dtype=np.int32), queries * depth)
    query = np.tile(np.repeat(np.arange(1, queries + 1, dtype=np.int32), depth), sessions)
    rank = np.tile(np.arange(1, depth + 1, dtype=np.int64), sessions * queries)
    # Each session draws from its own neighbourhood of 60 documents, so documents recur across its
    # queries (reformulations re-show documents); no document twice in one list.
    base = rng.integers(0, collection - 60, sessions)
    offsets = np.argsort(rng.random((sessions * queries, 60)), axis=1)[:, :depth]
    doc = (np.repeat(base, queries * depth) + offsets.reshape(-1)).astype(np.int32)
    clicked = rng.random(rows) < 0.1
    ids = tuple(f"s{i:06d}" for i in range(sessions))
    run = SessionRun(
        session=session,
        query_index=query,
        rank=rank,
        doc=doc,
        clicked=clicked,
        line=np.arange(1, rows + 1, dtype=np.int64),
        session_ids=ids,
        num_queries=np.full(sessions, queries, np.int32),
        strings=pool,
        queries={},
        session_lines={},
        has_clicks=True,
    )
    judged = 20
    q_session = np.repeat(np.arange(sessions, dtype=np.int32), judged)
    q_doc = (
        np.repeat(base, judged) + np.argsort(rng.random((sessions, 60)), axis=1)[:, :judged].reshape(-1)
    ).astype(np.int32)
    grade = rng.choice(4, size=sessions * judged, p=[0.5, 0.25, 0.15, 0.1]).astype(np.int64)
    qrels = SessionQrels(
        session=q_session,
        query_index=np.zeros(q_session.size, np.int32),
        doc=q_doc,
        grade=grade,
        line=np.arange(1, q_session.size + 1, dtype=np.int64),
        session_ids=ids,
        strings=pool,
    )
    return run, qrels


def write_files(run, qrels, run_path: Path, qrels_path: Path) -> None:
    import pandas as pd

    strings = np.asarray(list(run.strings), dtype=object)
    ids = np.asarray(run.session_ids, dtype=object)
    pd.DataFrame(
        {
            "s": ids[run.session],
            "q": run.query_index,
            "r": run.rank,
            "d": strings[run.doc],
            "c": run.clicked.astype(np.int8),
        }
    ).to_csv(run_path, sep="\t", header=False, index=False)
    pd.DataFrame(
        {"s": ids[qrels.session], "q": qrels.query_index, "d": strings[qrels.doc], "g": qrels.grade}
    ).to_csv(qrels_path, sep=" ", header=False, index=False)


def timed(fn, repeats: int):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, value


def reference_time(run, qrels, count: int) -> tuple[float, dict[str, list[float]]]:
    """The spec transcription, one session at a time, on the first ``count`` sessions."""
    import session_reference as ref

    strings = list(run.strings)
    per_session_rows = run.num_queries[0] * 10
    values: dict[str, list[float]] = {m: [] for m in FLOOR_MEASURES}
    start = time.perf_counter()
    for s in range(count):
        rows = slice(s * per_session_rows, (s + 1) * per_session_rows)
        queries: list[list[str]] = [[] for _ in range(run.num_queries[s])]
        for q, d in zip(run.query_index[rows], run.doc[rows], strict=True):
            queries[q - 1].append(strings[d])
        judged = slice(s * 20, (s + 1) * 20)
        grades = {strings[d]: int(g) for d, g in zip(qrels.doc[judged], qrels.grade[judged], strict=True)}
        values[FLOOR_MEASURES[0]].append(ref.num(queries, grades))
        values[FLOOR_MEASURES[1]].append(ref.sdcg(queries, grades))
        values[FLOOR_MEASURES[2]].append(ref.nsdcg_a(queries, grades))
    return time.perf_counter() - start, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-sessions", type=int, default=2_000)
    args = parser.parse_args()

    import ragbench
    from ragbench.evaluation.session import evaluate_sessions
    from ragbench.formats.sessions import read_session_qrels, read_session_run
    from ragbench.formats.tables import new_pool

    start = time.perf_counter()
    run, qrels = generate(args.sessions, args.queries, args.depth)
    generate_s = time.perf_counter() - start
    rows = len(run.doc)
    print(f"{args.sessions:,} sessions, {rows:,} rows generated in {generate_s:.1f} s", flush=True)

    floor_s, floor_times, floor = timed(lambda: evaluate_sessions(qrels, run, FLOOR_MEASURES), args.repeats)
    print(
        f"NUM + sessDCG + nsessDCG: {floor_s:.2f} s (runs: {', '.join(f'{t:.2f}' for t in floor_times)})",
        flush=True,
    )
    more_s, more_times, more = timed(lambda: evaluate_sessions(qrels, run, MORE_MEASURES), args.repeats)
    print(f"+ U + esNDCG: {more_s:.2f} s", flush=True)

    DATA.mkdir(exist_ok=True)
    run_path, qrels_path = DATA / "sessions_run.tsv", DATA / "sessions_qrels.txt"
    write_files(run, qrels, run_path, qrels_path)

    def read_both():
        pool = new_pool()
        return read_session_run(run_path, pool=pool), read_session_qrels(qrels_path, pool=pool)

    read_s, _, (run_read, qrels_read) = timed(read_both, 1)
    from_files_s, _, from_files = timed(lambda: evaluate_sessions(qrels_read, run_read, FLOOR_MEASURES), 1)
    print(f"read TSV files: {read_s:.2f} s; score what was read: {from_files_s:.2f} s", flush=True)

    count = min(args.reference_sessions, args.sessions)
    ref_s, ref_values = reference_time(run, qrels, count)
    scaled = ref_s * args.sessions / count
    worst = max(
        float(np.max(np.abs(np.asarray(ref_values[m]) - floor.per_query[m][:count]))) for m in FLOOR_MEASURES
    )
    print(
        f"spec transcription: {ref_s:.2f} s for {count:,} sessions -> {scaled:.0f} s for all; max |diff| {worst:.1e}"
    )
    assert worst < 1e-9, "vectorised and reference values differ"
    for m in FLOOR_MEASURES:
        assert abs(floor.aggregate[m] - from_files.aggregate[m]) < 1e-12, "file round trip changed a score"

    result = {
        "benchmark": "session_speed",
        "machine": {**base_machine(), "numpy": np.__version__, "ragbench": ragbench.__version__},
        "sessions": args.sessions,
        "queries_per_session": args.queries,
        "docs_per_query": args.depth,
        "rows": rows,
        "floor_measures": FLOOR_MEASURES,
        "floor_seconds": floor_s,
        "floor_times": floor_times,
        "floor_limit_seconds": 5.0,
        "more_measures": MORE_MEASURES,
        "more_seconds": more_s,
        "more_times": more_times,
        "read_files_seconds": read_s,
        "score_after_read_seconds": from_files_s,
        "reference_sessions": count,
        "reference_seconds": ref_s,
        "reference_scaled_seconds": scaled,
        "speedup_vs_reference": scaled / floor_s,
        "max_abs_difference_vs_reference": worst,
        "aggregate": {m: more.aggregate[m] for m in MORE_MEASURES},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "session_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {k: v for k, v in result.items() if k.endswith("seconds") or k.startswith("speedup")}, indent=2
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark: the first ten minutes on a collection of 11k documents and 100 topics.

The collection is CACM made larger: its 3,204 documents repeated under fresh ids to 11,212
documents (three copies and half of a fourth), written as a TREC SGML corpus (the format a new
user brings); 100 topics: CACM's 64, plus its first 36 again under new ids, judged against the
second copy. Measured, each command in a fresh process as a user runs it:

1. ``ragbench run bm25.yaml --no-store`` (BM25, depth 1000) with the default Ray decision, with
   ``--no-ray``, with ``--ray`` (a new local Ray cluster per run), and with ``--ray`` joining the
   cluster ``ragbench ray start`` keeps running; interleaved, ``--repeats`` rounds, median wall
   time. The floor: Ray-default within 1.2x of ``--no-ray``.
2. The corpus reader's memory at two corpus sizes (the 11k-document SGML file and one four times
   larger): a fresh process imports the reader, resets its peak RSS (``/proc/self/clear_refs``),
   streams every document through ``iter_corpus`` and reports how far the peak RSS rose, and the
   peak of Python allocations (tracemalloc). Streaming: the same at both sizes.

    python benchmarks/first_ten_minutes.py [--cacm ../shared/data/cacm] [--repeats 3]

Writes benchmarks/results/first_ten_minutes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOCUMENTS = 11_212
TOPICS = 100

READ = """
import sys, tracemalloc
from pathlib import Path
from ragbench.formats.corpus import iter_corpus

def status(key):
    line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith(key))
    return int(line.split()[1]) * 1024

Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS:")
tracemalloc.start()
count = sum(1 for _ in iter_corpus(sys.argv[1]))
print(count, status("VmHWM:") - before, tracemalloc.get_traced_memory()[1])
"""


def sgml(doc_id: str, text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<DOC>\n<DOCNO> {doc_id} </DOCNO>\n<TEXT>\n{escaped}\n</TEXT>\n</DOC>\n"


def make_collection(cacm: Path, work: Path, documents: int) -> dict[str, Path]:
    """The SGML corpus (``documents`` documents), 100 TREC topics and their qrels."""
    from ragbench.formats.topics import read_topics
    from ragbench.formats.trec import read_qrels

    docs = [json.loads(line) for line in (cacm / "cacm.jsonl").read_text().splitlines() if line.strip()]
    corpus = work / "corpus.trec"
    with open(corpus, "w", encoding="utf-8") as out:
        for i in range(documents):
            doc = docs[i % len(docs)]
            out.write(sgml(f"{doc['id']}-r{i // len(docs) + 1}", doc["contents"]))
    topics = read_topics(cacm / "topics.cacm.txt")
    qrels = read_qrels(cacm / "qrels.cacm.txt").to_dict()
    extra = topics[: TOPICS - len(topics)]
    with open(work / "topics.txt", "w", encoding="utf-8") as out:
        for prefix, chosen in (("", topics), ("x", extra)):
            for t in chosen:
                out.write(f"<top>\n<num> Number: {prefix}{t.query_id}\n<title> {t.title}\n</top>\n\n")
    with open(work / "qrels.txt", "w", encoding="utf-8") as out:
        for prefix, copy, chosen in (("", 1, topics), ("x", 2, extra)):
            for t in chosen:
                for doc_id, grade in sorted(qrels.get(t.query_id, {}).items()):
                    out.write(f"{prefix}{t.query_id} 0 {doc_id}-r{copy} {grade}\n")
    return {"corpus": corpus, "topics": work / "topics.txt", "qrels": work / "qrels.txt"}


def ragbench(*args: str | Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ragbench.cli", *map(str, args)],
        check=False, capture_output=True, text=True, env={**os.environ, **env},
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ragbench {' '.join(map(str, args))} failed:\n{done.stderr}")
    return seconds, done


def reader_peak(path: str) -> tuple[int, int, int]:
    """Documents read, the growth of the peak RSS while reading (after the imports), and the
    peak of Python allocations while reading (tracemalloc), in a fresh process."""
    done = subprocess.run([sys.executable, "-c", READ, path], check=True, capture_output=True, text=True)
    count, rss, traced = done.stdout.split()
    return int(count), int(rss), int(traced)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cacm", type=Path, default=HERE.parent.parent / "shared" / "data" / "cacm")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="first-ten-"))
    env = {"RAGBENCH_HOME": str(work / "home"), "RAY_ADDRESS": ""}
    files = make_collection(args.cacm, work, DOCUMENTS)
    config = work / "bm25.yaml"
    config.write_text(
        f"name: bm25\ncorpus: {files['corpus']}\ntopics: {files['topics']}\nqrels: {files['qrels']}\n"
        f"measures: [AP, nDCG@10]\ndepth: 1000\nretrievers:\n  - type: bm25\n    index: {work / 'index'}\n"
    )
    validate_s, validated = ragbench("validate", *files.values(), env=env)
    index_s, _ = ragbench("index", "bm25", files["corpus"], work / "index", env=env)

    modes: dict[str, list[str]] = {
        "ray-default": [],
        "no-ray": ["--no-ray"],
        "ray-forced": ["--ray"],
        "ray-reused-cluster": ["--ray"],
    }
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    notes: dict[str, str] = {}
    outputs: dict[str, bytes] = {}
    for _ in range(args.repeats):
        for mode, flags in modes.items():
            if mode == "ray-reused-cluster":
                ragbench("ray", "start", "--cpus", str(os.cpu_count() or 1), env=env)
            try:
                seconds, done = ragbench("run", config, "--no-store", *flags, env=env)
            finally:
                if mode == "ray-reused-cluster":
                    ragbench("ray", "stop", env=env)
            times[mode].append(round(seconds, 2))
            notes[mode] = next((ln for ln in done.stderr.splitlines() if ln.startswith("stages ran")), "")
            outputs.setdefault(mode, (work / "runs" / "bm25.run").read_bytes())
    # The cluster start is not part of a reused-cluster run: time it once, on its own.
    cluster_s, _ = ragbench("ray", "start", "--cpus", str(os.cpu_count() or 1), env=env)
    ragbench("ray", "stop", env=env)

    medians = {mode: statistics.median(values) for mode, values in times.items()}
    big = work / "corpus-x4.trec"
    with open(big, "w", encoding="utf-8") as out:
        text = files["corpus"].read_text(encoding="utf-8")
        for copy in range(4):
            out.write(text.replace(" </DOCNO>", f"-c{copy} </DOCNO>"))
    sizes = []
    for path in (files["corpus"], big):
        count, rss, traced = reader_peak(str(path))
        sizes.append(
            {
                "documents": count,
                "bytes": path.stat().st_size,
                "peak_rss_growth_bytes": rss,
                "peak_python_allocations_bytes": traced,
            }
        )
    result: dict[str, Any] = {
        "benchmark": "first_ten_minutes",
        "command": "python benchmarks/first_ten_minutes.py " + " ".join(sys.argv[1:]),
        "machine": {**base_machine(), "load_average": os.getloadavg()},
        "collection": {
            "documents": DOCUMENTS,
            "topics": TOPICS,
            "corpus_bytes": files["corpus"].stat().st_size,
            "validate": validated.stdout.strip().splitlines(),
        },
        "validate_seconds": round(validate_s, 2),
        "index_seconds": round(index_s, 2),
        "run_seconds": times,
        "run_median_seconds": medians,
        "ratio_ray_default_to_no_ray": round(medians["ray-default"] / medians["no-ray"], 3),
        "ratio_ray_forced_to_no_ray": round(medians["ray-forced"] / medians["no-ray"], 3),
        "ratio_ray_reused_to_no_ray": round(medians["ray-reused-cluster"] / medians["no-ray"], 3),
        "ray_cluster_start_seconds": round(cluster_s, 2),
        "decisions": notes,
        "same_run_file_in_every_mode": len(set(outputs.values())) == 1,
        "reader": sizes,
        "floor": "Ray-default within 1.2x of --no-ray; reader peak RSS independent of corpus size",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "first_ten_minutes.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

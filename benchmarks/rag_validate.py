"""Benchmark: validate a 10,000-answer TREC RAG 2024 file (the issue's floor: at most 5 s).

Generates (once, under benchmarks/data/rag-validate/) 10,000 topics and one answer per topic, each
with 20 references (the default cap) and 6 sentences of about 12 words citing 1-3 of them, then
times, several times each in one invocation: the whole command ``ragbench rag validate FILE
--topics T`` in a fresh process (start-up and imports included), and ``check_rag`` inside this
process (read + every check). Also checks that a copy with one broken line is reported with its
line number.

    python benchmarks/rag_validate.py [--answers 10000] [--repeats 3]

Writes benchmarks/results/rag_validate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
WORDS = ["retrieval", "index", "query", "document", "parallel", "compiler", "language", "system", "memory",
         "network", "time", "sharing", "storage", "algorithm", "search", "ranking", "evaluation", "answer",
         "model", "data"]  # fmt: skip


def generate(folder: Path, answers: int, seed: int = 0) -> tuple[Path, Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    run, topics = folder / f"answers-{answers}.jsonl", folder / f"topics-{answers}.tsv"
    if run.is_file() and topics.is_file():
        return run, topics
    lines, queries = [], []
    for i in range(answers):
        topic = f"q{i}"
        text = " ".join(rng.choices(WORDS, k=6))
        queries.append(f"{topic}\t{text}\n")
        refs = [f"doc{rng.randrange(10**6)}-{j}" for j in range(20)]
        sentences = [
            {"text": " ".join(rng.choices(WORDS, k=12)).capitalize() + ".",
             "citations": sorted(rng.sample(range(20), rng.randint(1, 3)))}
            for _ in range(6)
        ]  # fmt: skip
        words = sum(len(s["text"].split()) for s in sentences)
        lines.append(json.dumps({"run_id": "bench", "topic_id": topic, "topic": text, "references": refs,
                                 "response_length": words, "answer": sentences}) + "\n")  # fmt: skip
    run.write_text("".join(lines), encoding="utf-8")
    topics.write_text("".join(queries), encoding="utf-8")
    return run, topics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "rag_validate.json"))
    args = parser.parse_args()

    from ragbench.formats.rag import check_rag
    from ragbench.formats.topics import read_topics

    run, topics = generate(HERE / "data" / "rag-validate", args.answers)
    known = {t.query_id: t.title for t in read_topics(topics)}
    command = [
        str(Path(sys.executable).parent / "ragbench"),
        "rag",
        "validate",
        str(run),
        "--topics",
        str(topics),
    ]
    cli, inproc, cli_cpu, inproc_cpu = [], [], [], []
    for _ in range(args.repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        cli.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cli_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        assert done.returncode == 0, done.stderr[-2000:]
        started, cpu = time.perf_counter(), time.process_time()
        problems = check_rag(run, name=str(run), topics=known)
        inproc.append(time.perf_counter() - started)
        inproc_cpu.append(time.process_time() - cpu)
        assert not problems, problems[:3]
    broken = run.with_name("broken.jsonl")
    lines = run.read_bytes().splitlines(keepends=True)
    lines[4999] = lines[4999].replace(b'"citations": [', b'"citations": [99, ', 1)
    broken.write_bytes(b"".join(lines))
    found = check_rag(broken, name=str(broken), topics=known)
    assert [(p.line, p.severity) for p in found] == [(5000, "error")], found
    report = {
        "machine": base_machine(), "command": " ".join(["python", *sys.argv]),
        "answers": args.answers, "file_mb": round(run.stat().st_size / 2**20, 1),
        "cli_seconds": {"min": round(min(cli), 2), "median": round(statistics.median(cli), 2)},
        "check_rag_seconds": {"min": round(min(inproc), 2), "median": round(statistics.median(inproc), 2)},
        "cli_cpu_seconds": {"min": round(min(cli_cpu), 2), "median": round(statistics.median(cli_cpu), 2)},
        "check_rag_cpu_seconds": {"min": round(min(inproc_cpu), 2), "median": round(statistics.median(inproc_cpu), 2)},
        "load_average_at_end": os.getloadavg(), "floor_seconds": 5.0, "broken_line_reported": found[0].render(),
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()

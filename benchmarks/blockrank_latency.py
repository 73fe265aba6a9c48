"""Benchmark: per-query latency of BlockRank against the full-attention baseline, N = 10..200.

The same model (the packaged SmolLM2-135M-Instruct unless ``--model``), the same prompt (one CACM
topic; N CACM documents, each cut or extended to exactly ``--chunk`` content tokens, so every N
has documents of one length) and the same readout at layer ``l*`` (layers above it skipped in both).
Contenders, timed in interleaved rounds in one process:

- ``blockrank``: the linear-cost route (instruction KV cache, documents as a batch, query over the
  concatenated cache), ``rankers.blockrank.scoring.score_linear``.
- ``full``: causal attention over the whole prompt with sequential positions (``score_full``).
- ``reference``: BlockRank through the explicit 4-D mask (``score_reference``), for N <= 20 only:
  its mask and the attention matrix it implies grow as S^2.

Each cell is the median of ``--repeats`` timed runs (every route is warmed up once at N = 10 first). Floors
(issue 7): full / blockrank >= 4.7 at N = 100, blockrank(100) / blockrank(50) <= 2.3.

    python benchmarks/blockrank_latency.py [--sizes 10,20,50,100,200] [--full-max 100] [--repeats 3]
        [--device auto] [--chunk 160]

Writes benchmarks/results/blockrank_latency[_<device>].json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from machine_info import base_machine

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACM = HERE.parent.parent / "shared" / "data" / "cacm"


def documents(tokenizer: Any, corpus: Path, count: int, chunk: int) -> list[tuple[str, str]]:
    """``count`` texts of exactly ``chunk`` tokens, made of consecutive CACM documents."""
    texts = [json.loads(line)["contents"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    stream: list[int] = []
    for text in texts:
        stream += tokenizer(" " + " ".join(text.split()), add_special_tokens=False)["input_ids"]
        if len(stream) >= count * chunk * 1.1:
            break
    out = []
    for i in range(count):
        ids = stream[i * chunk : (i + 1) * chunk]
        text = tokenizer.decode(ids).strip()
        out.append((f"D{i}", text))
    return out


def timed(fn: Any, repeats: int) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return {"median_s": statistics.median(runs), "min_s": min(runs), "runs_s": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="10,20,50,100,200")
    parser.add_argument("--full-max", type=int, default=100, help="largest N for the full baseline")
    parser.add_argument("--chunk", type=int, default=160)
    parser.add_argument("--layer", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=CACM / "cacm.jsonl")
    args = parser.parse_args()

    import torch

    from rankers.blockrank.prompt import PromptBuilder
    from rankers.blockrank.reranker import default_layer
    from rankers.blockrank.scoring import score_full, score_linear, score_reference
    from rankers.lm import load_lm

    lm = load_lm(args.model, device=args.device)
    layer = default_layer(lm.config.num_hidden_layers) if args.layer is None else args.layer
    sizes = [int(n) for n in args.sizes.split(",")]
    builder = PromptBuilder(lm.tokenizer, chunk=args.chunk)
    pool = documents(lm.tokenizer, args.corpus, max(sizes), args.chunk)
    query = "parallel algorithms for sorting on multiprocessor computers"
    sync = torch.cuda.synchronize if lm.device.startswith("cuda") else (lambda: None)

    def run(route: Any, prompt: Any) -> Any:
        def call() -> None:
            route(lm.model, [prompt], layer)
            sync()

        return call

    warm = builder.build(query, pool[:10])
    for route in (score_linear, score_full, score_reference):  # one warm-up of every route
        run(route, warm)()
    rows = []
    for n in sizes:
        prompt = builder.build(query, pool[:n])
        row: dict[str, Any] = {"n": n, "prompt_tokens": prompt.n_tokens}
        row["blockrank"] = timed(run(score_linear, prompt), args.repeats)
        if n <= args.full_max:
            row["full"] = timed(run(score_full, prompt), args.repeats)
            row["speedup"] = row["full"]["median_s"] / row["blockrank"]["median_s"]
        if n <= 20:
            row["reference"] = timed(run(score_reference, prompt), args.repeats)
        rows.append(row)
        print(
            json.dumps({k: (v["median_s"] if isinstance(v, dict) else v) for k, v in row.items()}), flush=True
        )

    by_n = {row["n"]: row for row in rows}
    checks: dict[str, Any] = {}
    if 100 in by_n and "speedup" in by_n[100]:
        checks["speedup_at_100"] = by_n[100]["speedup"]
        checks["speedup_floor_4.7_met"] = by_n[100]["speedup"] >= 4.7
    if 100 in by_n and 50 in by_n:
        growth = by_n[100]["blockrank"]["median_s"] / by_n[50]["blockrank"]["median_s"]
        checks["blockrank_100_over_50"] = growth
        checks["growth_floor_2.3_met"] = growth <= 2.3
    result = {
        "benchmark": "blockrank_latency",
        "machine": {**base_machine(), "device": lm.device, "dtype": str(lm.dtype), "torch": torch.__version__,
                    "torch_threads": torch.get_num_threads(),
                    "gpu": torch.cuda.get_device_name(0) if lm.device.startswith("cuda") else None},
        "model": lm.name,
        "layer": layer,
        "chunk": args.chunk,
        "repeats": args.repeats,
        "rows": rows,
        "checks": checks,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if lm.device == "cpu" else f"_{lm.device.split(':')[0]}"
    path = RESULTS / f"blockrank_latency{suffix}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(checks, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""``ragbench conformance``: trec_eval's own test collection, scored and checked byte for byte.

Scores trec_eval's sample runs, compares them with paired tests, and checks the trec_eval-compatible
command against trec_eval 10.0's expected outputs.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ragbench.errors import InputError

# (expected output, trec_eval arguments) from SOURCE.txt of trec_eval's test folder.
CONFORMANCE = [
    ("out.test", ["qrels.test", "results.test"]),
    ("out.test", ["qrels.test.with-comments", "results.test"]),
    ("out.comment.test", ["qrels.comment.test", "results.comment.test"]),
    ("out.test.a", ["-m", "all_trec", "qrels.test", "results.test"]),
    ("out.test.aq", ["-m", "all_trec", "-q", "qrels.test", "results.test"]),
    ("out.test.aqc", ["-m", "all_trec", "-q", "-c", "qrels.test", "results.trunc"]),
    ("out.test.aqcM", ["-m", "all_trec", "-q", "-c", "-M100", "qrels.test", "results.trunc"]),
    ("out.test.aql", ["-m", "all_trec", "-mrelstring.20", "-q", "-l2", "qrels.rel_level", "results.test"]),
    ("out.test.aqZ", ["-q", "-m", "all_trec", "-Z", "zscores_file", "qrels.test", "results.test"]),
]


def default_data() -> Path | None:
    """../shared/data/trec_eval beside the checkout (or the working directory), when present."""
    candidates = [Path(__file__).resolve().parents[2] / "shared", Path.cwd().parent / "shared"]
    for shared in candidates:
        if (shared / "data" / "trec_eval" / "qrels.test").is_file():
            return shared / "data" / "trec_eval"
    return None


def _conformance(data: Path) -> list[tuple[str, bool]]:
    from ragbench.evaluation.trec_eval.cli import main

    outcome = []
    for expected, args in CONFORMANCE:
        argv = [str(data / a) if (data / a).is_file() else a for a in args]
        buffer = io.StringIO()
        main(argv, buffer)
        outcome.append(
            (f"{expected} <- trec_eval {' '.join(args)}", buffer.getvalue() == (data / expected).read_text())
        )
    return outcome


def run_conformance(data: Path | None, out: Console, err: Console) -> None:
    from ragbench.cli.console import print_table
    from ragbench.evaluation.engine import evaluate, read_qrels_like
    from ragbench.evaluation.registry import default_measures
    from ragbench.stats import compare

    data = data or default_data()
    if data is None or not (data / "qrels.test").is_file():
        raise InputError(
            "no trec_eval test data found: pass --data PATH (a folder with qrels.test, results.test)"
        )
    out.rule(Text("1. Score trec_eval's sample runs (trec_eval 10.0 semantics, -c)", style="bold"))
    qrels = read_qrels_like(data / "qrels.test")
    started = time.perf_counter()
    measures = default_measures("conformance")
    results = [
        evaluate(qrels, data / run, measures, complete=True) for run in ("results.test", "results.trunc")
    ]
    print_table(results, per_query=True)
    err.print(f"scored in {1000 * (time.perf_counter() - started):.0f} ms", style="dim")

    out.rule(Text("2. Compare them: paired tests, Holm-corrected over every measure", style="bold"))
    scores = {
        r.run: {m: dict(zip(r.query_ids, r.per_query[m].tolist(), strict=True)) for m in r.measures}
        for r in results
    }
    report = compare(scores, baselines="results.test", tests=("randomization", "ttest"))
    out.print(report.to_markdown())
    out.print("Three topics cannot show a significant difference; the tests say so honestly.", style="dim")

    out.rule(Text("3. `ragbench trec-eval` against trec_eval 10.0's own expected outputs", style="bold"))
    table = Table(show_edge=False)
    table.add_column("expected output <- command")
    table.add_column("byte for byte", justify="center")
    outcome = _conformance(data)
    for label, same in outcome:
        table.add_row(label, Text("identical", style="green") if same else Text("DIFFERS", style="red"))
    out.print(table)
    passed = sum(same for _, same in outcome)
    out.print(f"{passed}/{len(outcome)} reproduced byte for byte.", style="bold")

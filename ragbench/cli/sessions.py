"""``ragbench session-eval`` and ``ragbench session-correlate``: session measures from the CLI."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ragbench.cli.console import Format, FormatOpt, err, out, print_table, user_errors

SessionMeasureOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-m",
        "--measure",
        help="Session measure (repeat), e.g. NUM(L=1000), sessDCG(b=2,bq=4)@10, esNDCG@9; "
        "default: NUM U sessDCG nsessDCG esNDCG.",
    ),
]
SessionsOpt = Annotated[
    Path | None,
    typer.Option(
        "--sessions", help="The sessions that count (session_id, query_index, query); missing ones score 0."
    ),
]
LengthsOpt = Annotated[
    Path | None,
    typer.Option("--lengths", help="doc_id, snippet chars, document chars per line: for cost=chars."),
]
ReferenceOpt = Annotated[
    bool,
    typer.Option(
        "--reference",
        help="jiepujiang/ir_metrics conventions where a measure does not set them: raw negative grades, "
        "NaN for a zero ideal, the esNDCG dcg(list, 0) quirk.",
    ),
]


def _score(
    qrels: Path,
    runs: list[Path],
    measures: list[str] | None,
    sessions: Path | None,
    lengths: Path | None,
    reference: bool,
) -> list[Any]:
    from ragbench.evaluation.session import DEFAULT_SESSION_MEASURES, REFERENCE, evaluate_sessions
    from ragbench.formats.sessions import read_session_qrels, read_session_run, read_sessions
    from ragbench.formats.tables import new_pool

    pool = new_pool()
    table = read_session_qrels(qrels, pool=pool)
    topics = read_sessions(sessions) if sessions is not None else None
    from ragbench.formats.lengths import read_lengths

    doc_lengths = read_lengths(lengths) if lengths is not None else None
    results = []
    for run in runs:
        results.append(
            evaluate_sessions(
                table,
                read_session_run(run, pool=pool),
                measures or list(DEFAULT_SESSION_MEASURES),
                sessions=topics,
                name=run.name,
                doc_lengths=doc_lengths,
                overrides=REFERENCE if reference else None,
            )
        )
    for result in results:
        for measure, note in result.notes.items():
            err.print(f"{result.run}: {measure}: {note}")
    return results


def register(app: typer.Typer) -> None:
    @app.command("session-eval")
    @user_errors
    def session_eval_command(
        qrels: Annotated[
            Path,
            typer.Argument(help="Session qrels: session_id query_index(0 = whole session) doc_id grade."),
        ],
        runs: Annotated[list[Path], typer.Argument(help="One or more session runs (TSV or JSONL).")],
        measure: SessionMeasureOpt = None,
        per_query: Annotated[
            bool, typer.Option("-q", "--per-session", help="Also print per-session values.")
        ] = False,
        fmt: FormatOpt = Format.table,
        sessions: SessionsOpt = None,
        lengths: LengthsOpt = None,
        reference: ReferenceOpt = False,
    ) -> None:
        """Score session runs: NUM, U, sessDCG, nsessDCG, sessDCG/q, esNDCG, esNCG, sRBP, qnDCG."""
        from ragbench.evaluation.render import RENDERERS

        results = _score(qrels, runs, measure, sessions, lengths, reference)
        if fmt is Format.table:
            print_table(results, per_query, unit="session")
        else:
            sys.stdout.write(RENDERERS[fmt.value](results, per_query))

    @app.command("session-correlate")
    @user_errors
    def session_correlate_command(
        qrels: Annotated[Path, typer.Argument(help="Session qrels.")],
        run: Annotated[
            Path, typer.Argument(help="The session run the users saw (with clicks for labels=clicks).")
        ],
        ratings: Annotated[
            Path, typer.Option("--ratings", help="session_id and one column per rating (header line).")
        ],
        measure: SessionMeasureOpt = None,
        rating: Annotated[
            list[str] | None, typer.Option("--rating", help="Rating column(s) to use (default: all).")
        ] = None,
        trials: Annotated[int, typer.Option("--trials", help="Bootstrap resamples.")] = 2000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        method: Annotated[str, typer.Option("--ci", help="Interval: BCa or percentile.")] = "BCa",
        sessions: SessionsOpt = None,
        lengths: LengthsOpt = None,
        reference: ReferenceOpt = False,
        fmt: Annotated[str, typer.Option("-f", "--format", help="table, json, csv or markdown.")] = "table",
    ) -> None:
        """Correlate session measures with user ratings: Pearson, Spearman, Kendall, bootstrap 95% CIs."""
        import numpy as np

        from ragbench.errors import InputError
        from ragbench.formats.sessions import read_ratings
        from ragbench.stats import correlate

        if fmt not in ("table", "json", "csv", "markdown"):
            raise InputError(f"unknown format {fmt!r}: use table, json, csv or markdown")
        if method.lower() not in ("bca", "percentile"):
            raise InputError(f"--ci {method!r}: use BCa or percentile")
        if trials < 100:
            raise InputError("--trials must be at least 100")
        table = read_ratings(ratings)
        names = list(rating or table.names)
        missing = [n for n in names if n not in table.names]
        if missing:
            raise InputError(
                f"{ratings}: no rating column {missing[0]!r} (columns: {', '.join(table.names)})"
            )
        (result,) = _score(qrels, [run], measure, sessions, lengths, reference)
        position = {sid: i for i, sid in enumerate(result.query_ids)}
        rated = [i for i, sid in enumerate(table.session_ids) if sid in position]
        unrated = len(result.query_ids) - len(rated)
        unknown = len(table.session_ids) - len(rated)
        if unknown:
            err.print(f"{ratings}: {unknown} rated session(s) are not in the run; left out")
        if unrated:
            err.print(f"{run}: {unrated} session(s) have no rating; left out")
        at = np.asarray([position[table.session_ids[i]] for i in rated], np.int64)
        rows = []
        for m in result.measures:
            x = result.per_query[m][at]
            for name in names:
                y = table.values[rated, table.names.index(name)]
                for why in _undefined(m, x, name, y):
                    err.print(f"warning: {why}")
                for c in correlate(x, y, trials=trials, seed=seed, method=method):
                    rows.append({"measure": m, "rating": name, **c.to_dict()})
        if any(math.isnan(r["low"]) and not math.isnan(r["estimate"]) for r in rows):
            err.print(
                f"note: some {method} intervals are undefined (nan): too few sessions or distinct "
                "values for the bootstrap; --ci percentile gives an interval where BCa cannot"
            )
        _print_correlations(rows, fmt)


def _undefined(measure: str, x: Any, rating: str, y: Any) -> list[str]:
    """Why the correlations of ``measure`` with ``rating`` are NaN, if they are."""
    import numpy as np

    found = []
    for name, values in ((measure, x), (rating, y)):
        finite = values[~np.isnan(values)]
        if finite.size and np.ptp(finite) == 0:
            found.append(
                f"{name} is {float(finite[0]):g} in every rated session: its correlations with "
                f"{rating if name == measure else measure} are undefined (nan)"
            )
    return found


def _pvalue(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _cell(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.3f}"


def _print_correlations(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps({"correlations": rows}, indent=2) + "\n")
        return
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return
    wide: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = wide.setdefault((row["measure"], row["rating"]), {"n": row["n"]})
        entry[row["coefficient"]] = f"{_cell(row['estimate'])} [{_cell(row['low'])}, {_cell(row['high'])}]"
        entry[row["coefficient"] + "_p"] = _pvalue(row["p_value"])
    header = ["measure", "rating", "n"]
    for label in ("Pearson r", "Spearman ρ", "Kendall τb"):
        header += [f"{label} [95% CI]", "p"]
    body = [
        [
            m,
            r,
            str(e["n"]),
            *(e.get(c + suffix, "") for c in ("pearson", "spearman", "kendall") for suffix in ("", "_p")),
        ]
        for (m, r), e in wide.items()
    ]
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
        lines += ["| " + " | ".join(c.replace("|", r"\|") for c in row) + " |" for row in body]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for i, column in enumerate(header):
        table.add_column(column, justify="left" if i < 2 else "right")
    for cells in body:
        table.add_row(*cells)
    out.print(table)

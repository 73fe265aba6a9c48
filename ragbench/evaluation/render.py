"""Render evaluation results as text: trec_eval's format, JSON, CSV, Markdown, LaTeX.

Pure presentation: nothing here computes a score. The Rich table lives in the CLI.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

from ragbench.evaluation.engine import EvalResult

FORMATS = ("table", "trec", "json", "csv", "markdown", "latex")


def format_value(value: float, digits: int = 4) -> str:
    if math.isnan(value):
        return "nan"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}f}"


def measure_names(results: Sequence[EvalResult]) -> list[str]:
    names: dict[str, None] = {}
    for result in results:
        names.update(dict.fromkeys(result.measures))
    return list(names)


def rows(results: Sequence[EvalResult], per_query: bool) -> list[tuple[str, str, dict[str, float]]]:
    """(run, query_id or 'all', {measure: value}) rows: per topic first when asked, then 'all'."""
    out = []
    for result in results:
        if per_query:
            for i, query_id in enumerate(result.query_ids):
                out.append(
                    (result.run, query_id, {m: float(result.per_query[m][i]) for m in result.measures})
                )
        out.append((result.run, "all", dict(result.aggregate)))
    return out


def to_trec(results: Sequence[EvalResult], per_query: bool = False) -> str:
    """trec_eval's layout (``measure<TAB>query<TAB>value``), a ``runid`` line opening each run."""
    lines = []
    for result in results:
        lines.append(f"{'runid':<22}\tall\t{result.run}")
        for run, query_id, values in rows([result], per_query):
            del run
            lines.extend(f"{m:<22}\t{query_id}\t{format_value(v)}" for m, v in values.items())
    return "\n".join(lines) + "\n"


def to_json(results: Sequence[EvalResult], per_query: bool = False) -> str:
    doc = []
    for r in results:
        item: dict[str, object] = {
            "run": r.run,
            "num_topics": len(r.query_ids),
            "aggregate": r.aggregate,
            "fingerprints": {m: f.to_dict() for m, f in r.fingerprints.items()},
        }
        if per_query:
            item["per_query"] = {
                m: dict(zip(r.query_ids, r.per_query[m].tolist(), strict=True)) for m in r.measures
            }
        doc.append(item)
    return json.dumps({"runs": doc}, indent=2, allow_nan=True) + "\n"


def to_csv(results: Sequence[EvalResult], per_query: bool = False) -> str:
    """Long form: run, measure, query_id, value (full precision)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["run", "measure", "query_id", "value"])
    for run, query_id, values in rows(results, per_query):
        for measure, value in values.items():
            writer.writerow([run, measure, query_id, repr(value)])
    return buffer.getvalue()


def _wide(results: Sequence[EvalResult], per_query: bool) -> tuple[list[str], list[list[str]]]:
    measures = measure_names(results)
    header = ["run", *(["query"] if per_query else []), *measures]
    body = []
    for run, query_id, values in rows(results, per_query):
        if not per_query and query_id != "all":
            continue
        cells = [run, *([query_id] if per_query else [])]
        cells.extend(format_value(values[m]) if m in values else "" for m in measures)
        body.append(cells)
    return header, body


def to_markdown(results: Sequence[EvalResult], per_query: bool = False) -> str:
    header, body = _wide(results, per_query)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(c.replace("|", r"\|") for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("$", r"\$"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("~", r"\~{}"),
        ("^", r"\^{}"),
    ):
        text = text.replace(char, escaped)
    return text


def to_latex(results: Sequence[EvalResult], per_query: bool = False) -> str:
    header, body = _wide(results, per_query)
    n_text = 2 if per_query else 1
    spec = "l" * n_text + "r" * (len(header) - n_text)
    lines = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(map(_latex_escape, header)) + " \\\\",
        "\\midrule",
    ]
    lines += [" & ".join(map(_latex_escape, row)) + " \\\\" for row in body]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


RENDERERS = {"trec": to_trec, "json": to_json, "csv": to_csv, "markdown": to_markdown, "latex": to_latex}

"""trec_eval's text output, byte for byte (``meas_print_single.c``, ``meas_print_final.c``).

Lines are ``printf("%-22s\\t%s\\t%6.4f\\n", name, query_id, value)``; counts use ``%ld``;
``relstring`` is quoted; ``runid`` is printed only in the summary. With ``-Z`` numeric names
are prefixed with ``Z`` and counts printed as ``%6.4f`` too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ragbench.evaluation.trec_eval._evaluate import MeasureValues, summaries

__all__ = ["c_float", "format_report"]


def c_float(value: float) -> str:
    """``%6.4f`` as glibc prints it, including ``-nan`` for a NaN with the sign bit set."""
    if math.isnan(value):
        text = "-nan" if math.copysign(1.0, value) < 0 else "nan"
        return f"{text:>6}"
    return f"{value:6.4f}"


def _c_long(value: float) -> str:
    """``%ld`` of ``(long) value``: truncation toward zero."""
    if math.isnan(value) or math.isinf(value):
        return str(-(2**63))  # what x86-64 makes of an out-of-range conversion
    return str(int(value))


def _line(name: str, qid: str, value: str, prefix: str = "") -> str:
    return f"{prefix}{name:<22}\t{qid}\t{value}\n"


def _topic_lines(mv: MeasureValues, i: int, qid: str, zscore: bool) -> list[str]:
    measure = mv.selected.measure
    if not measure.per_query:
        return []
    if measure.output == "relstring":
        return [_line(mv.selected.names[0], qid, f"'{mv.values[i, 0]}'")]
    prefix = "Z" if zscore else ""
    lines = []
    for j, name in enumerate(mv.selected.names):
        value = float(mv.values[i, j])
        text = _c_long(value) if measure.output == "long" and not zscore else c_float(value)
        lines.append(_line(name, qid, text, prefix))
    return lines


def format_report(
    measures: Sequence[MeasureValues],
    query_ids: Sequence[str],
    run_id: str,
    *,
    per_query: bool = False,
    summary: bool = True,
    zscore: bool = False,
) -> str:
    """trec_eval's whole output: per-topic lines (``-q``) in topic order, then the ``all`` lines.

    Args:
        measures: per-topic values in printing order (z-scores already applied for ``-Z``).
        query_ids: the topics, in trec_eval's order.
        run_id: printed on the ``runid`` line.
        per_query: ``-q``.
        summary: False for ``-n``.
        zscore: ``-Z``: ``Z``-prefixed names, counts as ``%6.4f``.
    """
    out: list[str] = []
    if per_query:
        for i, qid in enumerate(query_ids):
            for mv in measures:
                out.extend(_topic_lines(mv, i, qid, zscore))
    if summary:
        totals = summaries(measures, len(query_ids), run_id)
        prefix = "Z" if zscore else ""
        for mv in measures:
            measure = mv.selected.measure
            if measure.output == "runid":
                out.append(_line("runid", "all", run_id))
            elif measure.average != "none":
                for name in mv.selected.names:
                    value = float(totals[name])
                    text = _c_long(value) if measure.output == "long" and not zscore else c_float(value)
                    out.append(_line(name, "all", text, prefix))
    return "".join(out)

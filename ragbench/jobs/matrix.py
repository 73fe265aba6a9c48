"""The reproduction matrix: conditions x benchmarks x measures, each cell green, red or unchecked.

A cell is **green** when the observed score is within the tolerance of the expected one, **red**
when it is not (the cell says by how much) or when no score was produced, and **unchecked** when
the suite file gives no expected score. Rendered as Markdown (for a terminal, a README, a CI log)
and as a standalone HTML file; the service renders the same cells on its reproduction page.
Nothing in the rendering depends on the time or the machine, so two runs that reproduce the same
scores render the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

GREEN, RED, UNCHECKED = "green", "red", "unchecked"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """One (condition, benchmark, measure) of the matrix."""

    condition: str
    benchmark: str
    measure: str
    observed: float | None
    expected: float | None
    tolerance: float
    status: str
    run_id: int | None = None

    @classmethod
    def check(
        cls,
        condition: str,
        benchmark: str,
        measure: str,
        observed: float | None,
        expected: float | None,
        tolerance: float,
        run_id: int | None = None,
    ) -> MatrixCell:
        """The cell with its status decided (see the module docstring)."""
        if expected is None:
            status = UNCHECKED
        elif observed is None or not math.isfinite(observed):
            status = RED
        else:
            status = GREEN if abs(observed - expected) <= tolerance + 1e-12 else RED
        return cls(condition, benchmark, measure, observed, expected, tolerance, status, run_id)

    @property
    def off_by(self) -> float | None:
        """``observed - expected`` when both are known."""
        if self.observed is None or self.expected is None:
            return None
        return self.observed - self.expected

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def label(self) -> str:
        """The cell's text: the score, and for a red cell how far off it is."""
        if self.observed is None:
            return "no score"
        text = f"{self.observed:.4f}"
        if self.status == RED and self.off_by is not None:
            text += f" (off by {self.off_by:+.4f}; expected {self.expected:.4f} ± {self.tolerance:g})"
        return text


@dataclass(frozen=True, slots=True)
class Matrix:
    """A reproduction's cells, in condition, benchmark, measure order."""

    suite: str
    title: str
    source: str
    conditions: tuple[str, ...]
    benchmarks: tuple[str, ...]
    measures: tuple[str, ...]
    cells: tuple[MatrixCell, ...]
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """No cell is red."""
        return all(c.status != RED for c in self.cells)

    def counts(self) -> dict[str, int]:
        """Cells per status."""
        return {s: sum(1 for c in self.cells if c.status == s) for s in (GREEN, RED, UNCHECKED)}

    def cell(self, condition: str, benchmark: str, measure: str) -> MatrixCell | None:
        """The cell at (condition, benchmark, measure), if any."""
        return next(
            (
                c
                for c in self.cells
                if (c.condition, c.benchmark, c.measure) == (condition, benchmark, measure)
            ),
            None,
        )

    def summary(self) -> str:
        """One line: how many cells of each status."""
        counts = self.counts()
        if not self.passed:
            verdict = "NOT reproduced"
        else:
            verdict = "reproduced" if counts[GREEN] else "nothing checked (no expected scores)"
        return (
            f"{verdict}: {counts[GREEN]} green, {counts[RED]} red, {counts[UNCHECKED]} unchecked "
            f"({_count(len(self.conditions), 'condition')} x {_count(len(self.benchmarks), 'benchmark')} x "
            f"{_count(len(self.measures), 'measure')})"
        )

    def to_markdown(self) -> str:
        """A Markdown table per measure: conditions as rows, benchmarks as columns; a red cell says
        how far off it is, an unchecked one is marked with ``?``."""
        mark = {GREEN: "✅", RED: "❌", UNCHECKED: "?"}
        lines = [f"# Reproduction matrix: {self.title or self.suite}", "", f"Suite file: `{self.source}`", ""]
        for measure in self.measures:
            lines += [f"## {measure}", "", "| condition | " + " | ".join(self.benchmarks) + " |"]
            lines.append("|---|" + "---:|" * len(self.benchmarks))
            for condition in self.conditions:
                row = []
                for bench in self.benchmarks:
                    cell = self.cell(condition, bench, measure)
                    row.append("" if cell is None else f"{mark[cell.status]} {cell.label()}")
                lines.append(f"| {condition} | " + " | ".join(row) + " |")
            lines.append("")
        lines.append(self.summary())
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A standalone HTML page of the matrix (its small stylesheet in the page: it is a file to
        open or archive, not a page of the service, which renders the same cells with its own CSS)."""
        parts = [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Reproduction matrix: {escape(self.title or self.suite)}</title>",
            "<style>body{font:14px system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;"
            "margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}"
            "th:first-child,td:first-child{text-align:left}td.green{background:#e8f5e9}"
            "td.red{background:#fce8e6;color:#a50e0e}td.unchecked{color:#5f6368}</style>",
            "</head><body>",
            f"<h1>Reproduction matrix: {escape(self.title or self.suite)}</h1>",
            f"<p>Suite file: <code>{escape(self.source)}</code></p>",
            f'<p class="summary {"passed" if self.passed else "failed"}">{escape(self.summary())}</p>',
        ]
        for measure in self.measures:
            parts.append(f'<h2>{escape(measure)}</h2><table class="matrix" data-measure="{escape(measure)}">')
            parts.append(
                "<tr><th>condition</th>" + "".join(f"<th>{escape(b)}</th>" for b in self.benchmarks) + "</tr>"
            )
            for condition in self.conditions:
                title = escape(self.descriptions.get(condition, ""))
                row = [f'<tr><td title="{title}">{escape(condition)}</td>']
                for bench in self.benchmarks:
                    cell = self.cell(condition, bench, measure)
                    if cell is None:
                        row.append("<td></td>")
                    else:
                        row.append(
                            f'<td class="{cell.status}" data-condition="{escape(condition)}" '
                            f'data-benchmark="{escape(bench)}">{escape(cell.label())}</td>'
                        )
                parts.append("".join(row) + "</tr>")
            parts.append("</table>")
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"

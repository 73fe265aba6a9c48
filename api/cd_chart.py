"""The critical-difference diagram (Demšar, 2006), drawn on the server as SVG.

An axis of average ranks (1 = best, at the left); each system hangs from its average rank by a line
that bends to its label, the better half on the left and the rest on the right; a thick bar joins
each clique of systems that the post-hoc test cannot tell apart; with Nemenyi a bar of length CD is
drawn above the axis. Presentation attributes and classes only (no ``style=``: the pages run under
a strict Content-Security-Policy); every text is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

WIDTH = 760
MARGIN = 150
AXIS_Y = 70
ROW = 22
CLIQUE_GAP = 9
INK, GRID, BAR = "#202124", "#9aa0a6", "#1a56db"


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "tick") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">{escape(text)}</text>'


def cd_diagram(
    average_ranks: Mapping[str, float],
    cliques: Sequence[Sequence[str]],
    *,
    critical_difference: float | None,
    measure: str,
    posthoc: str,
    blocks: int,
) -> Markup:
    """The CD diagram of one Friedman test.

    Args:
        average_ranks: System -> average rank, best first.
        cliques: Groups of systems not significantly different (each drawn as a bar).
        critical_difference: Nemenyi's CD (None: no CD bar, e.g. for Wilcoxon-Holm).
        measure: The measure, for the title.
        posthoc: The post-hoc test's name, for the title.
        blocks: The number of benchmarks ranked over.
    """
    systems = list(average_ranks)
    k = max(len(systems), 2)
    low, high = 1.0, float(k)
    left, right = MARGIN, WIDTH - MARGIN

    def x(rank: float) -> float:
        return left + (rank - low) / (high - low) * (right - left)

    half = (len(systems) + 1) // 2
    height = AXIS_Y + 30 + CLIQUE_GAP * len(cliques) + ROW * max(half, len(systems) - half) + 20
    title = f"Critical difference diagram: {measure}, {posthoc}, {blocks} benchmarks"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart cd-diagram" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(WIDTH / 2, 16, title, cls="chart-title"),
        f'<line x1="{left}" y1="{AXIS_Y}" x2="{right}" y2="{AXIS_Y}" stroke="{INK}" stroke-width="1.5"/>',
    ]
    for r in range(1, k + 1):
        parts.append(
            f'<line x1="{x(r):.1f}" y1="{AXIS_Y - 6}" x2="{x(r):.1f}" y2="{AXIS_Y}" stroke="{INK}"/>'
        )
        parts.append(_text(x(r), AXIS_Y - 10, str(r)))
    parts.append(_text(left - 10, AXIS_Y + 4, "average rank", anchor="end", cls="axis-label"))
    if critical_difference is not None and critical_difference > 0:
        end = x(min(high, low + critical_difference))
        parts.append(
            f'<line class="cd-bar" x1="{left}" y1="36" x2="{end:.1f}" y2="36" '
            f'stroke="{INK}" stroke-width="2"/>'
        )
        parts.append(_text((left + end) / 2, 31, f"CD = {critical_difference:.3f}"))
    for i, clique in enumerate(cliques):
        ranks = [average_ranks[s] for s in clique if s in average_ranks]
        if len(ranks) < 2:
            continue
        y = AXIS_Y + 14 + CLIQUE_GAP * i
        parts.append(
            f'<line class="clique" x1="{x(min(ranks)) - 3:.1f}" y1="{y}" '
            f'x2="{x(max(ranks)) + 3:.1f}" y2="{y}" '
            f'stroke="{BAR}" stroke-width="4" stroke-linecap="round"><title>{escape(", ".join(clique))}: '
            "not significantly different</title></line>"
        )
    label_top = AXIS_Y + 30 + CLIQUE_GAP * len(cliques)
    for i, system in enumerate(systems):
        rank = average_ranks[system]
        on_left = i < half
        row = i if on_left else len(systems) - 1 - i
        y = label_top + ROW * row
        edge = left - 8 if on_left else right + 8
        parts.append(
            f'<polyline class="system-line" points="{x(rank):.1f},{AXIS_Y} {x(rank):.1f},{y} {edge:.1f},{y}" '
            f'fill="none" stroke="{GRID}"/>'
        )
        label = f"{system} ({rank:.2f})"
        parts.append(
            _text(
                edge - 4 if on_left else edge + 4,
                y + 4,
                label,
                anchor="end" if on_left else "start",
                cls="system",
            )
        )
    parts.append("</svg>")
    return Markup("\n".join(parts))

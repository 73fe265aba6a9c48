"""Server-drawn SVG of the arena: the pairwise win-rate heat map, and rating intervals.

No JavaScript and no ``style`` attributes (the pages run under a strict CSP): colours are
presentation attributes, text is escaped here, so the markup can go into an autoescaped page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

CELL = 46
LABEL_WIDTH = 190
HEADER_HEIGHT = 150
MAX_LABEL = 26


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def rate_colour(rate: float | None) -> str:
    """Red (0) through white (0.5) to green (1); grey when the two never met."""
    if rate is None:
        return "#eeeeee"
    rate = min(max(rate, 0.0), 1.0)
    low, mid, high = (198, 40, 40), (255, 255, 255), (46, 125, 50)
    t = abs(rate - 0.5) * 2
    end = high if rate >= 0.5 else low
    r, g, b = (round(m + (e - m) * t) for m, e in zip(mid, end, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def win_rate_heatmap(
    labels: Sequence[str], score: Sequence[Sequence[float]], votes: Sequence[Sequence[int]]
) -> Markup:
    """The win rate of each row against each column (wins plus half the ties, over their votes),
    rows and columns in leaderboard order; each cell's tooltip gives the counts."""
    n = len(labels)
    width = LABEL_WIDTH + n * CELL + 140  # room for the last column's slanted label
    height = HEADER_HEIGHT + n * CELL + 30
    title = "Pairwise win rate: row against column (wins + ties/2, over their votes)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for c, label in enumerate(labels):
        x = LABEL_WIDTH + c * CELL + CELL / 2
        y = HEADER_HEIGHT - 6
        parts.append(
            f'<text x="{x:.1f}" y="{y}" transform="rotate(-55 {x:.1f} {y})" class="tick">'
            f"{escape(_short(label))}</text>"
        )
    for r, label in enumerate(labels):
        y = HEADER_HEIGHT + r * CELL
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + CELL / 2 + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(_short(label))}</text>"
        )
        for c in range(n):
            x = LABEL_WIDTH + c * CELL
            n_votes = votes[r][c]
            rate = score[r][c] / n_votes if n_votes else None
            tip = (
                f"{label} vs {labels[c]}: {score[r][c]:g} of {n_votes} ({rate:.0%})"
                if rate is not None
                else f"{label} vs {labels[c]}: never met"
            )
            parts.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" '
                f'fill="{rate_colour(rate if r != c else None)}"><title>{escape(tip)}</title></rect>'
            )
            if rate is not None:
                parts.append(
                    f'<text x="{x + CELL / 2 - 1:.1f}" y="{y + CELL / 2 + 4:.1f}" text-anchor="middle" '
                    f'class="cell-label">{rate:.2f}</text>'
                )
    parts.append("</svg>")
    return Markup("\n".join(parts))


def interval_plot(
    rows: Sequence[tuple[str, float, float, float]], width: int = 220, height: int = 14
) -> list[Markup]:
    """One small SVG per row: the row's rating interval (line) and estimate (dot) on the common
    scale of all rows, so overlaps can be seen down the table."""
    finite = [(lo, hi) for _, _, lo, hi in rows if math.isfinite(lo) and math.isfinite(hi)]
    if not finite:
        return [Markup("") for _ in rows]
    low = min(lo for lo, _ in finite)
    high = max(hi for _, hi in finite)
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return 4 + (width - 8) * (value - low) / span

    out = []
    for name, rating, lo, hi in rows:
        if not (math.isfinite(lo) and math.isfinite(hi)):
            out.append(Markup(""))
            continue
        label = f"{name}: {rating:.0f} [{lo:.0f}, {hi:.0f}]"
        out.append(
            Markup(
                f'<svg xmlns="http://www.w3.org/2000/svg" class="interval" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
                f'<line x1="{x(lo):.1f}" y1="{height / 2}" x2="{x(hi):.1f}" y2="{height / 2}" '
                f'stroke="#1a56db" stroke-width="3"/>'
                f'<circle cx="{x(rating):.1f}" cy="{height / 2}" r="4" fill="#202124"/></svg>'
            )
        )
    return out

"""Server-side SVG charts (no JavaScript): per-topic differences of a run against another run.

Every piece of text that reaches the SVG (topic ids, run names, the measure) is escaped here, so
the markup can be placed in an autoescaped page as-is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

POSITIVE, NEGATIVE, NEUTRAL = "#2e7d32", "#c62828", "#9e9e9e"
MAX_TOPIC_LABELS = 40


@dataclass(frozen=True, slots=True)
class Frame:
    """Size of the drawing and its margins, in SVG user units (pixels)."""

    width: int = 760
    height: int = 320
    left: int = 64
    right: int = 16
    top: int = 34
    bottom: int = 64

    @property
    def plot_width(self) -> float:
        """Width of the area between the axes."""
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        """Height of the area between the axes."""
        return self.height - self.top - self.bottom


def nice_limit(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is >= ``value`` (at least 0.01)."""
    value = max(abs(value), 0.01)
    power: float = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value - 1e-12)


def _text(x: float, y: float, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def difference_chart(
    differences: Mapping[str, float],
    *,
    measure: str,
    run_label: str,
    baseline_label: str,
    frame: Frame | None = None,
    unit: str = "topic",
) -> Markup:
    """A bar chart of ``run - baseline`` per topic, bars sorted from largest gain to largest loss.

    Args:
        differences: ``{query_id: run value - baseline value}`` on ``measure``.
        measure: The measure's name (y-axis label).
        run_label: Name of the run drawn.
        baseline_label: Name of the run it is compared with.
        frame: Size and margins (default 760 x 320).
        unit: What the bars are: ``"topic"`` (default) or ``"session"`` (a session run).

    Returns:
        The ``<svg>`` element, safe to embed in HTML.
    """
    f = frame or Frame()
    items = sorted(differences.items(), key=lambda kv: (-kv[1], kv[0]))
    limit = nice_limit(max((abs(v) for _, v in items), default=0.0))
    title = f"Per-{unit} {measure}: {run_label} minus {baseline_label}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{f.width}" height="{f.height}" '
        f'viewBox="0 0 {f.width} {f.height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(f.width / 2, 18, title, text_anchor="middle", class_="chart-title"),
    ]
    parts += _axes(f, limit, measure, len(items), unit)
    parts += _bars(f, items, limit, unit)
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _y(f: Frame, value: float, limit: float) -> float:
    return f.top + f.plot_height * (1 - (value + limit) / (2 * limit))


def _axes(f: Frame, limit: float, measure: str, n: int, unit: str) -> list[str]:
    x0, x1 = f.left, f.left + f.plot_width
    parts = [
        f'<line x1="{x0}" y1="{f.top}" x2="{x0}" y2="{f.top + f.plot_height}" stroke="#444"/>',
    ]
    for tick in (-limit, -limit / 2, 0.0, limit / 2, limit):
        y = _y(f, tick, limit)
        stroke = "#444" if tick == 0 else "#ddd"
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="{stroke}"/>')
        parts.append(_text(x0 - 6, y + 4, f"{tick:+.3g}" if tick else "0", text_anchor="end", class_="tick"))
    mid_y = f.top + f.plot_height / 2
    parts.append(
        _text(
            16,
            mid_y,
            f"Δ {measure}",
            text_anchor="middle",
            transform=f"rotate(-90 16 {mid_y:.1f})",
            class_="axis-label",
        )
    )
    parts.append(
        _text(
            f.left + f.plot_width / 2,
            f.height - 8,
            f"{unit}s, sorted by difference (n = {n})",
            text_anchor="middle",
            class_="axis-label",
        )
    )
    return parts


def _bars(f: Frame, items: list[tuple[str, float]], limit: float, unit: str) -> list[str]:
    if not items:
        return [
            _text(f.left + f.plot_width / 2, f.top + f.plot_height / 2, f"no {unit}s", text_anchor="middle")
        ]
    band = f.plot_width / len(items)
    width = max(band * 0.8, 0.5)
    zero = _y(f, 0.0, limit)
    parts = []
    for i, (query_id, diff) in enumerate(items):
        x = f.left + i * band + (band - width) / 2
        y = _y(f, diff, limit)
        top, height = min(y, zero), max(abs(zero - y), 1.0)
        color = POSITIVE if diff > 0 else NEGATIVE if diff < 0 else NEUTRAL
        parts.append(
            f'<rect class="bar" x="{x:.2f}" y="{top:.2f}" width="{width:.2f}" height="{height:.2f}" '
            f'fill="{color}"><title>{escape(unit)} {escape(query_id)}: {diff:+.4f}</title></rect>'
        )
        if len(items) <= MAX_TOPIC_LABELS:
            lx, ly = x + width / 2, f.top + f.plot_height + 12
            parts.append(
                _text(
                    lx,
                    ly,
                    query_id,
                    text_anchor="end",
                    transform=f"rotate(-60 {lx:.1f} {ly:.1f})",
                    class_="tick",
                )
            )
    return parts


def distribution_chart(
    series: list[tuple[str, list[float]]], *, measure: str, unit: str = "topic", frame: Frame | None = None
) -> Markup:
    """Per-topic scores of each run: a box (quartiles, median, whiskers to the extremes) and every
    topic's value as a dot, one row per run, on a shared 0..max axis.

    Args:
        series: ``(run label, per-topic values)`` in the order to draw, top to bottom.
        measure: the measure's name (axis label).
        unit: what a dot is (``topic``).
    """
    import numpy as np

    row_height, left = 28, 180
    f = frame or Frame(width=760, height=34 + row_height * max(len(series), 1) + 48, left=left, bottom=48)
    top_value = max((max(values) for _, values in series if values), default=1.0)
    limit = 1.0 if top_value <= 1.0 else nice_limit(top_value)

    def x(value: float) -> float:
        return f.left + f.plot_width * (value / limit if limit else 0.0)

    title = f"Per-{unit} {measure}: distribution over {unit}s, one row per run"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart distribution" width="{f.width}" '
        f'height="{f.height}" viewBox="0 0 {f.width} {f.height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(f.width / 2, 18, title, text_anchor="middle", class_="chart-title"),
    ]
    bottom = f.top + row_height * len(series)
    for tick in np.linspace(0.0, limit, 5).tolist():
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{f.top}" x2="{x(tick):.1f}" y2="{bottom}" stroke="#ddd"/>'
        )
        parts.append(_text(x(tick), bottom + 14, f"{tick:.3g}", text_anchor="middle", class_="tick"))
    parts.append(
        _text(f.left + f.plot_width / 2, bottom + 32, measure, text_anchor="middle", class_="axis-label")
    )
    for i, (label, values) in enumerate(series):
        cy = f.top + row_height * i + row_height / 2
        parts.append(_text(f.left - 8, cy + 4, label[:28], text_anchor="end", class_="tick"))
        if not values:
            continue
        q0, q1, q2, q3, q4 = np.percentile(np.asarray(values), [0, 25, 50, 75, 100]).tolist()
        parts.append(f'<line x1="{x(q0):.1f}" y1="{cy:.1f}" x2="{x(q4):.1f}" y2="{cy:.1f}" stroke="#444"/>')
        parts.append(
            f'<rect class="box" x="{x(q1):.1f}" y="{cy - 8:.1f}" width="{max(x(q3) - x(q1), 1):.1f}" '
            f'height="16" fill="#e8f0fe" stroke="#1a56db"><title>{escape(label)}: median {q2:.4f}, '
            f"quartiles {q1:.4f} to {q3:.4f}, n = {len(values)}</title></rect>"
        )
        parts.append(
            f'<line x1="{x(q2):.1f}" y1="{cy - 8:.1f}" x2="{x(q2):.1f}" y2="{cy + 8:.1f}" '
            'stroke="#1a56db" stroke-width="2"/>'
        )
        for j, value in enumerate(values):
            jitter = ((j * 7) % 11 - 5) * 0.9
            parts.append(
                f'<circle class="dot" cx="{x(value):.1f}" cy="{cy + jitter:.1f}" r="1.6" '
                'fill="#202124" fill-opacity="0.45"/>'
            )
    parts.append("</svg>")
    return Markup("\n".join(parts))

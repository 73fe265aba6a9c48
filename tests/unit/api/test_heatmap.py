"""The win-rate heat map and interval plots: escaped text, colours by rate, no style attributes."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from api.heatmap import interval_plot, rate_colour, win_rate_heatmap

SVG = "{http://www.w3.org/2000/svg}"


def test_heatmap_cells_and_escaping() -> None:
    labels = ["<b>x</b>", "y & z"]
    svg = str(win_rate_heatmap(labels, [[0.0, 3.0], [1.0, 0.0]], [[0, 4], [4, 0]]))
    assert "style=" not in svg and "<b>" not in svg
    root = ET.fromstring(svg)
    cells = root.findall(f"{SVG}rect")
    assert len(cells) == 4
    tips = [cell.find(f"{SVG}title").text for cell in cells]
    assert tips[1] == "<b>x</b> vs y & z: 3 of 4 (75%)" and tips[0].endswith("never met")
    assert cells[1].get("fill") == rate_colour(0.75) and cells[2].get("fill") == rate_colour(0.25)
    assert [t.text for t in root.findall(f"{SVG}text") if t.get("class") == "cell-label"] == ["0.75", "0.25"]


def test_colours() -> None:
    assert rate_colour(0.5) == "#ffffff" and rate_colour(1.0) == "#2e7d32" and rate_colour(0.0) == "#c62828"
    assert rate_colour(None) == "#eeeeee"


def test_interval_plots_share_one_scale() -> None:
    plots = interval_plot(
        [("a", 1100, 1050, 1150), ("b", 950, 900, 1000), ("c", math.nan, math.nan, math.nan)]
    )
    a, b = (ET.fromstring(str(p)) for p in plots[:2])
    assert float(a.find(f"{SVG}line").get("x2")) > float(b.find(f"{SVG}line").get("x2"))
    assert str(plots[2]) == ""

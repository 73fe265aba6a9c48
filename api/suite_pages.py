"""The suite pages: ``/suites`` · ``/suites/{slug}?measure=`` (leaderboard with the critical-difference
diagram) · ``/suites/{slug}/cd.svg?measure=`` (the diagram alone) · ``/suites/{slug}/reproduction``
(the reproduction matrix). Anonymous, like every page: hidden benchmarks show means only.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.response import Template

from api.cd_chart import cd_diagram
from api.deps import Database
from api.suite_dto import ReproductionRead, SuiteRead
from ragbench.store import service


def _diagram(board: Any) -> Any:
    f = board.aggregate.friedman
    if f is None:
        return None
    return cd_diagram(
        f.average_ranks,
        f.cliques,
        critical_difference=f.critical_difference,
        measure=board.measure,
        posthoc=f.posthoc,
        blocks=f.blocks,
    )


class SuitePages(Controller):
    """The suite pages (not in the OpenAPI schema)."""

    include_in_schema = False

    @get("/suites", sync_to_thread=True)
    def suites(self, db: Database) -> Template:
        """Every suite."""
        with db.begin() as (s, _):
            suites = [SuiteRead.from_model(suite) for suite in service.list_suites(s)]
        return Template("suites.html", context={"suites": suites})

    @get("/suites/{slug:str}", sync_to_thread=True)
    def suite(self, db: Database, slug: str, measure: str | None = None) -> Template:
        """A suite's leaderboard on one measure, with its aggregates and CD diagram."""
        with db.begin() as (s, _):
            suite = SuiteRead.from_model(service.get_suite(s, slug))
            board = service.suite_leaderboard(s, slug, measure or None, None)
            reproduced = service.latest_reproduction(s, slug) is not None
        context = {
            "suite": suite,
            "board": board,
            "agg": board.aggregate,
            "diagram": _diagram(board),
            "reproduced": reproduced,
            "hidden": {slug for slug, _, hidden, _ in board.benchmarks if hidden},
        }
        return Template("suite.html", context=context)

    @get("/suites/{slug:str}/cd.svg", sync_to_thread=True)
    def cd_svg(self, db: Database, slug: str, measure: str | None = None) -> Response[str]:
        """The critical-difference diagram alone, as an SVG image."""
        with db.begin() as (s, _):
            board = service.suite_leaderboard(s, slug, measure or None, None)
        svg = _diagram(board)
        body = (
            str(svg)
            if svg is not None
            else (
                '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><text x="10" y="25">'
                "no Friedman test: it needs two or more systems on two or more benchmarks</text></svg>"
            )
        )
        return Response(body, media_type="image/svg+xml")

    @get("/suites/{slug:str}/reproduction", sync_to_thread=True)
    def reproduction(self, db: Database, slug: str) -> Template:
        """The newest reproduction matrix: conditions x benchmarks per measure, green or red."""
        with db.begin() as (s, _):
            suite = SuiteRead.from_model(service.get_suite(s, slug))
            found = service.latest_reproduction(s, slug)
            matrix = None if found is None else ReproductionRead.from_model(slug, found)
        conditions: list[str] = []
        benchmarks: list[str] = []
        cells: dict[tuple[str, str, str], Any] = {}
        if matrix is not None:
            for cell in matrix.cells:
                if cell.condition not in conditions:
                    conditions.append(cell.condition)
                if cell.benchmark not in benchmarks:
                    benchmarks.append(cell.benchmark)
                cells[cell.condition, cell.benchmark, cell.measure] = cell
        context = {
            "suite": suite,
            "matrix": matrix,
            "conditions": conditions,
            "benchmarks": benchmarks,
            "cells": cells,
            "counts": {
                status: sum(1 for c in (matrix.cells if matrix else []) if c.status == status)
                for status in ("green", "red", "unchecked")
            },
        }
        return Template("reproduction.html", context=context)

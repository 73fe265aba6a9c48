"""The suite pages in a real browser: the leaderboard with its CD diagram and the reproduction
matrix, in headless Chromium against ``ragbench serve`` (screenshots in tests/e2e/artifacts/)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.browser import screenshot, start_chromium
from support.paths import CACM
from support.webserver import Server, create_users, migrate, read_qrels, start_server, synthetic_run

MEASURES = ["nDCG@10", "R@100"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    qrels_path = CACM / "qrels.cacm.txt"
    if not qrels_path.is_file():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    folder = tmp_path_factory.mktemp("e2e-suite")
    url = f"sqlite:///{folder / 'ragbench.db'}"
    migrate(url)
    srv = start_server(url, create_users(url), folder / "server.log")
    qrels = read_qrels(qrels_path)
    try:
        with srv.client("admin") as admin:
            for slug in ("cacm-a", "cacm-b", "cacm-c"):
                body = {"slug": slug, "qrels": qrels_path.read_text(), "measures": MEASURES}
                assert admin.post("/api/v1/benchmarks", json=body).status_code == 201
            for k, (system, quality) in enumerate(
                (("oracle", 4.0), ("strong", 2.0), ("fair", 1.0), ("weak", 0.3))
            ):
                for j, slug in enumerate(("cacm-a", "cacm-b", "cacm-c")):
                    if system == "fair" and slug == "cacm-c":
                        continue
                    run = synthetic_run(qrels, quality=quality, seed=100 * k + j, tag=system)
                    response = admin.post(f"/api/v1/benchmarks/{slug}/runs", content=run, params={"name": system},
                                          headers={"Content-Type": "text/plain"})  # fmt: skip
                    assert response.status_code in (200, 201), response.text
            body = {"slug": "triple", "title": "Three CACMs", "benchmarks": ["cacm-a", "cacm-b", "cacm-c"],
                    "measures": MEASURES, "aggregation": {"reference": "weak"}}  # fmt: skip
            assert admin.post("/api/v1/suites", json=body).status_code == 201
        _store_reproduction(url)
        yield srv
    finally:
        srv.stop()


def _store_reproduction(url: str) -> None:
    from ragbench.store import service
    from ragbench.store.db import make_engine, session_factory

    engine = make_engine(url)
    cells = [
        {"condition": c, "benchmark": b, "measure": m, "observed": 0.5, "expected": 0.5 if c != "weak" or b != "cacm-b" else 0.45,
         "tolerance": 0.0001, "status": "green" if c != "weak" or b != "cacm-b" else "red", "run_id": None}
        for c in ("strong", "weak") for b in ("cacm-a", "cacm-b") for m in MEASURES
    ]  # fmt: skip
    try:
        with session_factory(engine)() as s, s.begin():
            service.add_reproduction(s, service.local_admin(s), "triple", cells=cells, source="triple.yaml")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


def test_suite_page_and_cd_diagram_render(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server.url}/suites")
    browser.find_element(By.LINK_TEXT, "triple").click()
    WebDriverWait(browser, 60).until(
        expected_conditions.presence_of_element_located((By.ID, "suite-leaderboard"))
    )
    ranked = [
        r.get_attribute("data-system")
        for r in browser.find_elements(By.CSS_SELECTOR, "#suite-leaderboard tbody tr")
    ]
    assert ranked[0] == "oracle" and set(ranked) == {"oracle", "strong", "weak"}
    apart = browser.find_element(By.CSS_SELECTOR, "#suite-incomplete tbody tr")
    assert apart.get_attribute("data-system") == "fair" and "cacm-c" in apart.text
    diagram = browser.find_element(By.CSS_SELECTOR, "#cd-diagram svg.cd-diagram")
    assert diagram.size["width"] > 500 and diagram.size["height"] > 100  # laid out, not an empty box
    labels = [t.text for t in diagram.find_elements(By.CSS_SELECTOR, "text.system")]
    assert {label.split(" ")[0] for label in labels} == {"oracle", "strong", "weak"}
    assert diagram.find_elements(By.CSS_SELECTOR, "line.cd-bar")
    screenshot(browser, "suite_leaderboard")

    # switching the measure is a plain GET form (no JavaScript)
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "measure")).select_by_value("R@100")
    browser.find_element(By.CSS_SELECTOR, "#measure-form button").click()
    WebDriverWait(browser, 60).until(lambda d: "measure=R%40100" in d.current_url)
    assert browser.find_element(By.ID, "suite-leaderboard").get_attribute("data-measure") == "R@100"

    browser.get(f"{server.url}/suites/triple/cd.svg?measure=nDCG%4010")
    assert browser.find_elements(By.CSS_SELECTOR, "svg text.system")
    screenshot(browser, "suite_cd_diagram")


def test_reproduction_matrix_page_renders(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{server.url}/suites/triple/reproduction")
    verdict = browser.find_element(By.ID, "verdict").text
    assert "Not reproduced: 6 green, 2 red" in verdict
    red = browser.find_elements(By.CSS_SELECTOR, "td.status-red")
    assert len(red) == 2 and all("off by +0.0500" in cell.text for cell in red)
    assert red[0].value_of_css_property("background-color") != red[0].find_element(
        By.XPATH, ".."
    ).value_of_css_property("background-color")  # the stylesheet colours it
    screenshot(browser, "suite_reproduction")

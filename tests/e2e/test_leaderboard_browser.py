"""The leaderboard in a real browser: headless Debian Chromium through Selenium, against
``ragbench serve`` on a SQLite file. Screenshots go to ``tests/e2e/artifacts/``.

Run with ``pytest -m e2e tests/e2e``; skips when chromium or chromedriver is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.paths import SHARED
from support.webserver import (
    Server,
    create_users,
    migrate,
    read_qrels,
    start_server,
    synthetic_run,
    synthetic_session_run,
    synthetic_sessions,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"
RUNS = (("oracle-ish", 4.0, 1), ("strong", 2.5, 2), ("strong-too", 2.4, 3), ("weak", 0.2, 4))
SESSION_RUNS = (
    ("session-good", 3.0, 11),
    ("session-fair", 1.0, 12),
    ("session-noisy", 0.5, 13),
    ("session-poor", 0.0, 14),
)
SESSION_MEASURES = ["NUM", "sessDCG@10", "esNDCG@10"]


def gone(element: Any) -> Any:
    """A wait condition: ``element``'s page has been replaced. Like ``staleness_of``, except that
    Chromium sometimes answers for a node of the replaced document with an inspector error ("Node
    with given id does not belong to the document") rather than a stale-element error; both mean
    the page moved on (``StaleElementReferenceException`` is a ``WebDriverException``)."""
    from selenium.common.exceptions import WebDriverException

    def check(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False

    return check


WAIT_S = 60  # generous: under a parallel test run the two cores are shared with other servers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a CACM benchmark and four synthetic runs of different quality; the benchmark
    carries 12 synthetic sessions too, with four session runs."""
    qrels_path = SHARED / "data" / "cacm" / "qrels.cacm.txt"
    if not qrels_path.is_file():
        pytest.skip("../shared/data/cacm is not beside this checkout")
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'ragbench.db'}"
    migrate(url)
    srv = start_server(url, create_users(url), folder / "server.log")
    try:
        with srv.client("admin") as admin:
            response = admin.post(
                "/api/v1/benchmarks",
                json={
                    "slug": "cacm",
                    "title": "CACM",
                    "description": "3,204 abstracts, 52 judged topics",
                    "qrels": qrels_path.read_text(),
                    "measures": ["AP", "nDCG@10", "P@10"],
                },
            )
            assert response.status_code == 201, response.text
        qrels = read_qrels(qrels_path)
        with srv.client("alice") as alice:
            for name, quality, seed in RUNS:
                content = synthetic_run(qrels, quality=quality, seed=seed, tag=name).encode()
                response = alice.post(
                    "/api/v1/benchmarks/cacm/runs",
                    data={"name": name, "description": f"{name} run"},
                    files={"file": (f"{name}.txt", content)},
                )
                assert response.status_code == 201, response.text
        sessions, session_qrels = synthetic_sessions(12, seed=7)
        with srv.client("admin") as admin:
            response = admin.post(
                "/api/v1/benchmarks/cacm/sessions",
                json={"sessions": sessions, "qrels": session_qrels, "measures": SESSION_MEASURES},
            )
            assert response.status_code == 201, response.text
        with srv.client("bob") as bob:
            for name, quality, seed in SESSION_RUNS:
                content = synthetic_session_run(sessions, session_qrels, quality=quality, seed=seed).encode()
                response = bob.post(
                    "/api/v1/benchmarks/cacm/runs",
                    data={"name": name, "kind": "session"},
                    files={"file": (f"{name}.tsv", content)},
                )
                assert response.status_code == 201, response.text
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium; skips when the browser or its driver is not installed."""
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,1100",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console: CSP violations
    from selenium.common.exceptions import WebDriverException

    # Chromium can fail to start its first session on a starved machine ("session not created");
    # a second or third start is a fresh process, not a retry of the test's assertions.
    for attempt in range(3):
        try:
            driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
            break
        except WebDriverException:
            if attempt == 2:
                raise
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 120, 4000)))
    assert driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def api_board(server: Server, measure: str, kind: str = "adhoc") -> dict[str, Any]:
    return httpx.get(
        f"{server.url}/api/v1/benchmarks/cacm/leaderboard", params={"measure": measure, "kind": kind}
    ).json()


def table_rows(driver: Any) -> list[dict[str, Any]]:
    from selenium.webdriver.common.by import By

    rows = []
    for tr in driver.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr"):
        cell = {c: tr.find_element(By.CSS_SELECTOR, f"td.{c}") for c in ("rank", "system", "tier")}
        cell["score"] = tr.find_element(By.CSS_SELECTOR, "td.score.sorted .mean")
        cell["judged"] = tr.find_element(By.CSS_SELECTOR, "td.score[data-measure='Judged@10'] .mean")
        rows.append(
            {
                "rank": int(cell["rank"].text),
                "system": cell["system"].text,
                "score": float(cell["score"].text),
                "tier": cell["tier"].text,
                "judged": cell["judged"].text,
                "top": "top-tier" in tr.get_attribute("class"),
                "background": cell["rank"].value_of_css_property("background-color"),
                "href": cell["system"].find_element(By.TAG_NAME, "a").get_attribute("href"),
            }
        )
    return rows


def test_leaderboard_measure_switch_and_run_page(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(server.url + "/")
    browser.find_element(By.LINK_TEXT, "cacm").click()
    wait.until(ec.presence_of_element_located((By.ID, "leaderboard")))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("CACM")

    expected = api_board(server, "AP")
    rows = table_rows(browser)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert [r["system"] for r in rows] == [r["system"] for r in expected["rows"]]
    assert [r["score"] for r in rows] == [round(r["value"], 4) for r in expected["rows"]]
    assert [r["tier"] for r in rows] == [f"T{r['tier']}" for r in expected["rows"]]
    assert rows[0]["tier"] == "T1" and rows[-1]["system"] == "weak" and rows[-1]["tier"] != "T1"
    top = [r for r in rows if r["top"]]
    assert top and all(r["tier"] == "T1" for r in top) and len(top) < len(rows)
    assert len({r["background"] for r in top}) == 1  # the top tier is shaded alike ...
    assert {r["background"] for r in rows if not r["top"]}.isdisjoint(
        {top[0]["background"]}
    )  # ... unlike the rest
    badge = browser.find_element(By.CSS_SELECTOR, "#leaderboard tbody tr .badge.tier-1")
    assert badge.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    screenshot(browser, "leaderboard_AP")

    old_table = browser.find_element(By.ID, "leaderboard")
    Select(browser.find_element(By.ID, "measure")).select_by_visible_text("nDCG@10")
    browser.find_element(By.CSS_SELECTOR, "#measure-form button[type=submit]").click()
    wait.until(gone(old_table))
    wait.until(ec.presence_of_element_located((By.ID, "leaderboard")))
    assert browser.find_element(By.ID, "leaderboard").get_attribute("data-measure") == "nDCG@10"
    assert "measure=nDCG%4010" in browser.current_url
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")]
    assert "nDCG@10" in headers
    expected = api_board(server, "nDCG@10")
    rows = table_rows(browser)
    assert [(r["system"], r["score"]) for r in rows] == [
        (r["system"], round(r["value"], 4)) for r in expected["rows"]
    ]
    screenshot(browser, "leaderboard_nDCG@10")

    best = rows[0]
    old_table = browser.find_element(By.ID, "leaderboard")
    browser.find_element(By.LINK_TEXT, best["system"]).click()
    wait.until(gone(old_table))
    wait.until(ec.presence_of_element_located((By.ID, "run-facts")))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(best["system"])
    aggregate = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#aggregate thead th")]
    assert aggregate[:3] == ["AP", "nDCG@10", "P@10"] and "Judged@10" in aggregate
    chart = browser.find_element(By.CSS_SELECTOR, "#difference-chart svg")
    assert chart.size["width"] > 300 and chart.size["height"] > 150
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    topics = browser.find_elements(By.CSS_SELECTOR, "#per-topic tbody tr")
    assert len(bars) == len(topics) == 64 - 12  # CACM judges 52 of its 64 topics
    heights = [float(b.get_attribute("height")) for b in bars]
    assert max(heights) > 10  # real differences, drawn
    labels = [t.get_attribute("textContent") for t in chart.find_elements(By.CSS_SELECTOR, "text.axis-label")]
    assert any("nDCG@10" in label for label in labels) and any("topics" in label for label in labels)
    assert (
        "runner-up" in browser.find_element(By.CSS_SELECTOR, "p.muted").text
    )  # the best run is compared with #2
    screenshot(browser, "run_page")

    browser.find_element(By.LINK_TEXT, "compare the two").click()
    wait.until(ec.presence_of_element_located((By.ID, "comparison")))
    measures = [
        tr.find_element(By.TAG_NAME, "td").text
        for tr in browser.find_elements(By.CSS_SELECTOR, "#comparison tbody tr")
    ]
    assert sorted(measures) == sorted(["AP", "nDCG@10", "P@10"])
    screenshot(browser, "compare_page")


def session_rows(driver: Any) -> list[dict[str, Any]]:
    from selenium.webdriver.common.by import By

    rows = []
    for tr in driver.find_elements(By.CSS_SELECTOR, "#sessions-leaderboard tbody tr"):
        rows.append(
            {
                "rank": int(tr.find_element(By.CSS_SELECTOR, "td.rank").text),
                "system": tr.find_element(By.CSS_SELECTOR, "td.system").text,
                "values": {
                    td.get_attribute("data-measure"): float(td.text)
                    for td in tr.find_elements(By.CSS_SELECTOR, "td.score")
                },
                "sorted": tr.find_element(By.CSS_SELECTOR, "td.score.sorted").get_attribute("data-measure"),
                "tier": tr.find_element(By.CSS_SELECTOR, "td.tier").text,
            }
        )
    return rows


def check_session_table(browser: Any, server: Server, measure: str) -> list[dict[str, Any]]:
    """The sessions table ranks by ``measure`` and shows what the API says, for every measure."""
    from selenium.webdriver.common.by import By

    expected = api_board(server, measure, kind="session")
    table = browser.find_element(By.ID, "sessions-leaderboard")
    assert table.get_attribute("data-measure") == expected["measure"]
    rows = session_rows(browser)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert [r["system"] for r in rows] == [r["system"] for r in expected["rows"]]
    assert all(r["sorted"] == expected["measure"] for r in rows)
    ranked = [r["values"][expected["measure"]] for r in rows]
    assert ranked == sorted(ranked, reverse=True)
    for row, want in zip(rows, expected["rows"], strict=True):
        assert list(row["values"]) == expected["measures"]
        assert row["values"] == {m: round(v, 4) for m, v in want["values"].items()}
        assert row["tier"] == f"T{want['tier']}"
    header = browser.find_element(By.CSS_SELECTOR, "#sessions-leaderboard thead th.sorted")
    assert header.get_attribute("data-measure") == expected["measure"]
    assert header.get_attribute("aria-sort") == "descending"
    return rows


def test_sessions_leaderboard_measure_columns(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(server.url + "/benchmarks/cacm?measure=nDCG%4010")
    wait.until(ec.presence_of_element_located((By.ID, "sessions-leaderboard")))
    measures = api_board(server, "NUM", kind="session")["measures"]
    assert measures == ["NUM(L=1000)", "sessDCG(b=2,bq=4)@10", "esNDCG(p_reform=0.9,p_down=0.7)@10"]
    headers = [
        th.get_attribute("data-measure")
        for th in browser.find_elements(By.CSS_SELECTOR, "#sessions-leaderboard thead th.measure")
    ]
    assert headers == measures
    rows = check_session_table(browser, server, "NUM(L=1000)")  # the first session measure by default
    assert rows[0]["system"] == "session-good" and rows[-1]["system"] == "session-poor"

    # choose a session measure in the form: the ad hoc table keeps its measure
    old_table = browser.find_element(By.ID, "sessions-leaderboard")
    Select(browser.find_element(By.ID, "session_measure")).select_by_visible_text(measures[2])
    browser.find_element(By.CSS_SELECTOR, "#session-measure-form button[type=submit]").click()
    wait.until(gone(old_table))
    wait.until(ec.presence_of_element_located((By.ID, "sessions-leaderboard")))
    check_session_table(browser, server, measures[2])
    assert browser.find_element(By.ID, "leaderboard").get_attribute("data-measure") == "nDCG@10"
    assert "session_measure=esNDCG" in browser.current_url and browser.current_url.endswith("#sessions")
    screenshot(browser, "sessions_esNDCG")

    # click a column header to rank by it
    old_table = browser.find_element(By.ID, "sessions-leaderboard")
    browser.find_element(By.LINK_TEXT, measures[1]).click()
    wait.until(gone(old_table))
    wait.until(ec.presence_of_element_located((By.ID, "sessions-leaderboard")))
    rows = check_session_table(browser, server, measures[1])
    assert browser.find_element(By.ID, "leaderboard").get_attribute("data-measure") == "nDCG@10"
    screenshot(browser, "sessions_sessDCG")

    # a session run's page: per-session scores and the chart against the best session run
    old_table = browser.find_element(By.ID, "sessions-leaderboard")
    browser.find_element(By.LINK_TEXT, rows[1]["system"]).click()
    wait.until(gone(old_table))
    wait.until(ec.presence_of_element_located((By.ID, "run-facts")))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(rows[1]["system"])
    assert browser.find_element(By.CSS_SELECTOR, "#per-topic thead th").text == "Session"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#per-topic tbody tr")) == 12
    bars = browser.find_elements(By.CSS_SELECTOR, "#difference-chart svg rect.bar")
    assert len(bars) == 12


def test_pages_and_the_api_page_run_under_the_strict_csp(server: Server, browser: Any) -> None:
    """Every page, and Swagger UI at /schema (local files, no inline script), render with the
    Content-Security-Policy of docs/security.md and trigger no violation in the browser."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop what earlier tests left
    for path in ("/", "/benchmarks/cacm", "/runs/1", "/compare?a=1&b=2"):
        browser.get(server.url + path)
        assert browser.find_elements(By.CSS_SELECTOR, "main"), path
    browser.get(server.url + "/schema")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock-summary-path")
    )
    paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock-summary-path")}
    assert "/api/v1/compare" in paths
    screenshot(browser, "swagger")
    violations = [
        e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]
    ]
    assert not violations, violations

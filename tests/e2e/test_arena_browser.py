"""The arena in a real browser: on the rag-pairwise data (8 RAG systems, 140 comparisons by two
annotators, imported), a signed-in user votes on a battle by keyboard only; the names appear only
after the vote, the vote is in the log and the ratings change. Screenshots in tests/e2e/artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.arena import RAG_PAIRWISE, rag_pairwise_benchmark
from support.browser import WAIT_S, chromium, screenshot
from support.webserver import Server, create_users, migrate, start_server

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not RAG_PAIRWISE.is_file():
        pytest.skip("../shared/data/rag-pairwise is not beside this checkout")
    folder = tmp_path_factory.mktemp("arena-e2e")
    url = f"sqlite:///{folder / 'ragbench.db'}"
    migrate(url)
    srv = start_server(url, create_users(url), folder / "server.log", RAGBENCH_ARENA_ROUNDS="200")
    try:
        topics, qrels, runs = rag_pairwise_benchmark()
        with srv.client("admin") as admin:
            body = {
                "slug": "rp",
                "title": "RAGChecker pairwise",
                "qrels": qrels,
                "topics": topics,
                "measures": ["P@1"],
            }
            assert admin.post("/api/v1/benchmarks", json=body).status_code == 201
            for name, content in runs.items():
                response = admin.post(
                    "/api/v1/benchmarks/rp/runs",
                    data={"name": name},
                    files={"file": (name, content.encode())},
                )
                assert response.status_code == 201, response.text
            response = admin.post(
                "/api/v1/benchmarks/rp/arena/import",
                json={"content": RAG_PAIRWISE.read_text(), "source": "ragchecker"},
            )
            assert response.status_code == 201 and response.json()["votes"] == 280, response.text
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def ratings(browser: Any) -> dict[str, tuple[float, int]]:
    from selenium.webdriver.common.by import By

    found = {}
    for tr in browser.find_elements(By.CSS_SELECTOR, "#arena-leaderboard tbody tr"):
        name = tr.find_element(By.CSS_SELECTOR, "td.system a").text
        found[name] = (
            float(tr.find_element(By.CSS_SELECTOR, "td.rating").text),
            int(tr.find_element(By.CSS_SELECTOR, "td.votes").text),
        )
    return found


def test_signed_in_keyboard_vote(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{server.url}/benchmarks/rp/arena")
    before = ratings(browser)
    assert len(before) == 8 and sum(v for _, v in before.values()) == 2 * 280
    assert browser.find_element(By.CSS_SELECTOR, "svg.heatmap")
    assert browser.find_element(By.ID, "annotator-agreement")
    screenshot(browser, ARTIFACTS / "arena-rag-pairwise.png")

    # Sign in with the keyboard: the token field has the focus.
    browser.get(f"{server.url}/signin?next=/benchmarks/rp/arena/vote")
    field = browser.switch_to.active_element
    assert field.get_attribute("id") == "token"
    field.send_keys(server.tokens["alice"], Keys.ENTER)
    form = wait.until(ec.presence_of_element_located((By.ID, "vote-form")))
    assert "alice" in browser.find_element(By.TAG_NAME, "header").text
    battle_url = browser.current_url
    page = browser.find_element(By.TAG_NAME, "body").text
    assert not browser.find_elements(By.ID, "system-a") and not any(name in page for name in before)
    screenshot(browser, ARTIFACTS / "arena-battle-before-vote.png")

    # Vote by keyboard only: the first answer choice has the focus; the arrow moves to B, Tab goes
    # to the button (imported answers cite nothing: no evidence question), Enter votes.
    focused = browser.switch_to.active_element
    assert focused.get_attribute("name") == "answer" and focused.get_attribute("value") == "a"
    focused.send_keys(Keys.ARROW_RIGHT)
    chosen = browser.switch_to.active_element
    assert chosen.get_attribute("value") == "b" and chosen.is_selected()
    assert not browser.find_elements(By.ID, "evidence-choice")
    chosen.send_keys(Keys.TAB)
    button = browser.switch_to.active_element
    assert button.get_attribute("id") == "vote-button"
    button.send_keys(Keys.ENTER)
    wait.until(ec.staleness_of(form))
    result = wait.until(ec.presence_of_element_located((By.ID, "result")))
    system_a = browser.find_element(By.ID, "system-a").text
    system_b = browser.find_element(By.ID, "system-b").text
    assert system_a in before and system_b in before and system_a != system_b
    assert browser.find_element(By.ID, "your-answer").text == "b" and "A was" in result.text
    screenshot(browser, ARTIFACTS / "arena-battle-after-vote.png")

    # The vote is in the log (the admin's export), as alice's.
    with server.client("admin") as admin:
        log = [json.loads(line) for line in admin.get("/api/v1/benchmarks/rp/arena/votes").text.splitlines()]
    last = log[-1]
    assert len(log) == 281 and last["answer"] == "b" and last["voter_kind"] == "user"
    assert f"/arena/battles/{last['battle_id']}" in battle_url
    assert (last["system_a"], last["system_b"]) == (system_a, system_b)

    # The ratings changed: two more votes counted, B's system gained on A's.
    browser.get(f"{server.url}/benchmarks/rp/arena")
    after = ratings(browser)
    assert after[system_a][1] == before[system_a][1] + 1 and after[system_b][1] == before[system_b][1] + 1
    assert after[system_b][0] - after[system_a][0] > before[system_b][0] - before[system_a][0]

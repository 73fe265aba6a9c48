"""The RAG leaderboard and an answer page in headless Chromium, against ``ragbench serve`` whose
worker judges two RAG runs through an OpenAI-compatible judge (a scripted loopback server, so the
labels, and therefore the scores, are known by hand). Screenshots go to ``tests/e2e/artifacts/``.

Run with ``pytest -m e2e tests/e2e``; skips when chromium or chromedriver is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.browser import WAIT_S, available, chromium, gone, screenshot
from support.lm_server import completion, scripted_server
from support.webserver import Server, create_users, migrate, start_server

TOPICS = "t1\ttime sharing systems\nt2\tcompilers for parallel machines\n"
QRELS = "t1 0 d1 2\nt1 0 d2 0\nt2 0 d3 1\n"
CORPUS = {
    "d1": "Time sharing lets many users share one computer at the same time.",
    "d2": "A compiler translates a program into machine code.",
    "d3": "Parallel machines run many instructions at once; their compilers must schedule them.",
}
NUGGETS = {
    "topics": {
        "t1": [{"text": "many users share one computer", "importance": "vital"},
               {"text": "users work interactively", "importance": "okay"}],
        "t2": [{"text": "compilers schedule instructions", "importance": "vital"}],
    }
}  # fmt: skip


def answer(run: str, topic: str, text: str, refs: list[str], sentences: list[tuple[str, list[int]]]) -> str:
    return json.dumps({"run_id": run, "topic_id": topic, "topic": text, "references": refs,
                       "answer": [{"text": s, "citations": c} for s, c in sentences]})  # fmt: skip


GOOD = "\n".join([
    answer("good", "t1", "time sharing systems", ["d1", "d2"],
           [("Many users share one computer.", [0, 1]), ("It is a guess.", [])]),
    answer("good", "t2", "compilers for parallel machines", ["d3"], [("Compilers schedule instructions.", [0])]),
]) + "\n"  # fmt: skip
WEAK = "\n".join([
    answer("weak", "t1", "time sharing systems", ["d2"], [("It is a guess.", [0])]),
    answer("weak", "t2", "compilers for parallel machines", ["d1"], [("It is a guess.", [0])]),
]) + "\n"  # fmt: skip


def judge_reply(body: dict) -> tuple[int, bytes, float]:
    """The scripted judge: a passage supports a sentence when they share a content word ('guess'
    is supported by nothing); a nugget is in an answer when its words are (partly: half of them)."""
    prompt = body["messages"][-1]["content"]
    if prompt.startswith("Passage:"):
        passage, sentence = prompt.split("\nSentence: ", 1)
        sentence = sentence.split("\n\n", 1)[0].lower().strip(".")
        shared = {w for w in sentence.split() if len(w) > 4} & set(passage.lower().replace(".", "").split())
        return 200, completion("full" if shared else "no"), 0.0
    if prompt.startswith("Question:") and "\nFact: " in prompt:
        text = prompt.split("\nAnswer: ", 1)[1].split("\nFact: ", 1)[0].lower()
        fact = prompt.split("\nFact: ", 1)[1].split("\n\n", 1)[0].lower().split()
        found = sum(w in text for w in fact) / len(fact)
        return 200, completion("support" if found == 1 else "partial" if found >= 0.5 else "not"), 0.0
    return 200, completion("unreadable"), 0.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("e2e-rag")
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "contents": v}) + "\n" for k, v in CORPUS.items()))
    url = f"sqlite:///{folder / 'ragbench.db'}"
    migrate(url)
    with scripted_server(judge_reply) as (judge_url, _):
        judge = json.dumps({"backend": "openai", "base_url": judge_url, "model": "scripted", "cache": False})
        srv = start_server(url, create_users(url), folder / "server.log", RAGBENCH_RAG_JUDGE=judge)
        try:
            with srv.client("admin") as admin:
                made = admin.post("/api/v1/benchmarks", json={"slug": "ragb", "title": "RAG bench", "topics": TOPICS,
                                                               "qrels": QRELS, "corpus_ref": str(corpus)})  # fmt: skip
                assert made.status_code == 201, made.text
                added = admin.post("/api/v1/benchmarks/ragb/nuggets", json={"nuggets": NUGGETS})
                assert added.status_code == 201, added.text
            with srv.client("alice") as alice:
                for name, content in (("good", GOOD), ("weak", WEAK)):
                    sent = alice.post("/api/v1/benchmarks/ragb/runs", data={"name": name, "kind": "rag"},
                                      files={"file": (f"{name}.jsonl", content.encode())})  # fmt: skip
                    assert sent.status_code == 202, sent.text
                    done = srv.wait_scored(sent.json()["id"], timeout=120)
                    assert done["status"] == "scored", done
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not available():
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium.webdriver")
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def test_rag_leaderboard_and_answer_page(server: Server, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    board = httpx.get(f"{server.url}/api/v1/benchmarks/ragb/leaderboard",
                      params={"kind": "rag", "measure": "NuggetWeighted"}).json()  # fmt: skip
    browser.get(server.url + "/benchmarks/ragb?rag_measure=NuggetWeighted#rag")
    wait.until(ec.presence_of_element_located((By.ID, "rag-leaderboard")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#rag-leaderboard tbody tr")
    systems = [r.find_element(By.CSS_SELECTOR, "td.system").text for r in rows]
    assert systems == [r["system"] for r in board["rows"]] == ["good", "weak"]

    def cell(row: Any, measure: str) -> float:
        return float(row.find_element(By.CSS_SELECTOR, f'td.score[data-measure="{measure}"]').text)

    # By hand from the scripted labels. good: t1 nuggets (support, partial: "users work
    # interactively" has "users" only of its 3 words -> not) -> (1 + 0.5*0)/(1 + 0.5) = 2/3;
    # t2 support -> 1; mean 5/6. Support precision: t1 full, no ('d2' shares no word), t2 full -> 2/3, 1.
    assert cell(rows[0], "NuggetWeighted") == pytest.approx(5 / 6, abs=1e-4)
    assert cell(rows[0], "SupportPrecision") == pytest.approx((1 / 2 + 1) / 2, abs=1e-4)
    assert cell(rows[1], "NuggetWeighted") == pytest.approx(0.0, abs=1e-4)
    assert cell(rows[1], "SupportPrecision") == pytest.approx(0.0, abs=1e-4)
    screenshot(browser, "rag_leaderboard")

    old = browser.find_element(By.ID, "rag-leaderboard")
    rows[0].find_element(By.CSS_SELECTOR, "td.system a").click()
    wait.until(gone(old))
    wait.until(ec.presence_of_element_located((By.ID, "answers")))
    links = browser.find_elements(By.CSS_SELECTOR, "#answers tbody tr a")
    assert [a.text for a in links] == ["t1", "t2"]
    old = browser.find_element(By.ID, "answers")
    links[0].click()
    wait.until(gone(old))
    wait.until(ec.presence_of_element_located((By.ID, "sentences")))
    assert "time sharing systems" in browser.find_element(By.ID, "topic").text
    sentences = browser.find_elements(By.CSS_SELECTOR, "#sentences tbody tr")
    assert len(sentences) == 2
    badges = [b.text for b in sentences[0].find_elements(By.CSS_SELECTOR, ".badge")]
    assert badges == ["[1] d1: full", "[2] d2: no"]  # both citations of the sentence, each with its label
    assert "no citation" in sentences[1].text
    nuggets = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#nuggets tbody tr")]
    assert len(nuggets) == 2 and nuggets[0].endswith("support") and nuggets[1].endswith("not_support")
    screenshot(browser, "rag_answer")

"""The first ten minutes, end to end, from an empty HOME and in the README's order: a TREC SGML
corpus, TREC topics and TREC qrels written here → ``validate`` (names each file's kind) →
``index bm25`` → ``run`` (registers the benchmark, stores the run) → ``submit`` (a second run, by
a member, over HTTP) → the leaderboard in headless Chromium shows every measure with its CI, and
the significance matrix page. Screenshots go to ``tests/e2e/artifacts/``.

Run with ``pytest -m e2e tests/e2e``; skips when chromium, chromedriver or Lucene is missing.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli_runner import ragbench
from support.webserver import Server, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"
WORDS = [
    "jet",
    "engine",
    "turbine",
    "aircraft",
    "wing",
    "flight",
    "fuel",
    "radar",
    "pilot",
    "airport",
    "runway",
    "cargo",
    "noise",
    "speed",
    "satellite",
    "orbit",
    "rocket",
    "launch",
    "moon",
    "solar",
    "panel",
    "battery",
    "grid",
    "voltage",
    "wind",
    "farm",
    "coal",
]
TOPICS = {
    "1": "jet engine noise",
    "2": "rocket launch orbit",
    "3": "solar battery grid",
    "4": "airport cargo",
}
MEASURES = ["AP", "nDCG@10", "P@5"]


def write_collection(folder: Path) -> dict[str, Path]:
    """A 60-document TREC SGML corpus (HEADLINE and TEXT fields, a BYLINE Anserini drops), TREC
    topics and TREC qrels judging relevant and non-relevant documents."""
    rng = random.Random(7)
    docs, qrels = [], []
    for n in range(60):
        topic = str(n % 4 + 1)
        words = TOPICS[topic].split() * 2 + rng.sample(WORDS, 8)
        rng.shuffle(words)
        docs.append(
            f"<DOC>\n<DOCNO> FT-{n:03d} </DOCNO>\n<BYLINE>reporter {n}</BYLINE>\n"
            f"<HEADLINE>\n{' '.join(words[:4])} &amp; more\n</HEADLINE>\n<TEXT>\n<P>{' '.join(words[4:])}</P>\n"
            "</TEXT>\n</DOC>\n"
        )
        qrels.append(f"{topic} 0 FT-{n:03d} {1 + (n % 3 == 0)}")
        qrels.append(f"{n % 4 + 1 if n % 4 < 3 else 1} 0 FT-{(n + 1) % 60:03d} 0")
    seen: set[tuple[str, str]] = set()
    lines = []
    for line in qrels:
        q, _, d, _ = line.split()
        if (q, d) not in seen:
            seen.add((q, d))
            lines.append(line)
    paths = {
        "corpus": folder / "collection.trec",
        "topics": folder / "topics.txt",
        "qrels": folder / "qrels.txt",
    }
    paths["corpus"].write_text("".join(docs))
    paths["topics"].write_text(
        "".join(
            f"<top>\n<num> Number: {q}\n<title> {text}\n<desc> Description:\nDocuments about {text}.\n"
            f"<narr> Narrative:\nAnything on {text} is relevant.\n</top>\n\n"
            for q, text in TOPICS.items()
        )
    )
    paths["qrels"].write_text("\n".join(lines) + "\n")
    return paths


def pipeline(folder: Path, name: str, k1: float, *, benchmark: bool) -> Path:
    config = folder / f"{name}.yaml"
    config.write_text(
        f"name: {name}\n"
        + ("benchmark: ft-demo\n" if benchmark else "")
        + "corpus: collection.trec\ntopics: topics.txt\nqrels: qrels.txt\n"
        f"measures: [{', '.join(MEASURES)}]\n"
        f"retrievers:\n  - type: bm25\n    index: indexes/bm25\n    k1: {k1}\n    b: 0.4\n"
    )
    return config


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    pytest.importorskip("pyserini")
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver")
    folder = tmp_path_factory.mktemp("first-ten-minutes")
    home = folder / "home"
    home.mkdir()
    # Every RAGBENCH_* variable of the test environment blanked (empty counts as unset).
    env = {k: "" for k in os.environ if k.startswith("RAGBENCH_")} | {"HOME": str(home)}
    paths = write_collection(folder)
    said: dict[str, str] = {}

    checked = ragbench("validate", *paths.values(), env=env)
    assert checked.returncode == 0, checked.stderr
    said["validate"] = checked.stdout
    indexed = ragbench("index", "bm25", paths["corpus"], folder / "indexes" / "bm25", env=env)
    assert indexed.returncode == 0, indexed.stderr
    said["index"] = indexed.stderr
    done = ragbench("run", pipeline(folder, "bm25", 0.9, benchmark=True), env=env)
    assert done.returncode == 0, done.stderr
    said["run"] = done.stderr + done.stdout
    other = ragbench("run", pipeline(folder, "bm25-k1", 1.6, benchmark=False), "--plain", env=env)
    assert other.returncode == 0, other.stderr
    again = ragbench("benchmark", "add", "ft-demo", "--topics", paths["topics"], "--qrels", paths["qrels"],
                     "--corpus", str(paths["corpus"]), "-m", "AP", "-m", "nDCG@10", "-m", "P@5", env=env)  # fmt: skip
    said["benchmark add"] = again.stdout + again.stderr
    assert again.returncode == 0, again.stderr
    assert ragbench("user", "add", "alice", env=env).returncode == 0
    token = ragbench("token", "create", "alice", env=env).stdout.strip()

    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAGBENCH_")}
    server = Server(url=f"http://127.0.0.1:{port}", database_url="", tokens={}, log=folder / "server.log",
                    env={**clean, "HOME": str(home), "PYTHONUNBUFFERED": "1"})  # fmt: skip
    server.start()
    try:
        submitted = ragbench(
            "submit", "ft-demo", folder / "runs" / "bm25-k1.run", "--name", "bm25-k1.6",
            "--description", "BM25 k1=1.6 b=0.4",
            env={**env, "RAGBENCH_URL": server.url, "RAGBENCH_TOKEN": token},
        )  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        said["submit"] = submitted.stdout
        said["folder"] = str(folder)
        yield server, said
    finally:
        server.stop()


def test_each_step_says_what_it_did(journey: tuple[Server, dict[str, str]]) -> None:
    _, said = journey
    assert re.search(r"collection\.trec: corpus \(TREC SGML\): 60 documents - OK", said["validate"])
    assert re.search(r"topics\.txt: topics \(TREC topics\): 4 topics - OK", said["validate"])
    assert re.search(r"qrels\.txt: qrels \(TREC qrels\): 4 topics, \d+ judgments - OK", said["validate"])
    assert "60 documents" in said["index"]
    assert "created the database" in said["run"]
    assert "registered benchmark 'ft-demo'" in said["run"] and "4 topics from topics.txt" in said["run"]
    assert "stages ran in this process" in said["run"]
    assert "topics: all 4 judged topics" in said["run"]
    assert "nothing to do" in said["benchmark add"]
    assert re.search(r"AP\s+0\.\d{4}", said["submit"])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}", "--window-size=1280,1100"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 120, 4000)))
    assert driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_the_leaderboard_shows_every_measure_with_cis_and_the_matrix(
    journey: tuple[Server, dict[str, str]], browser: Any
) -> None:
    import httpx
    from selenium.webdriver.common.by import By

    server, _ = journey
    browser.get(server.url + "/benchmarks/ft-demo")
    headers = [
        th.get_attribute("data-measure")
        for th in browser.find_elements(By.CSS_SELECTOR, "#leaderboard th.measure")
    ]
    assert headers == [*MEASURES, "Judged@10"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
    assert len(rows) == 2
    api = httpx.get(f"{server.url}/api/v1/benchmarks/ft-demo/leaderboard", params={"measure": "AP"}).json()
    for tr, want in zip(rows, api["rows"], strict=True):
        for td in tr.find_elements(By.CSS_SELECTOR, "td.score"):
            measure = td.get_attribute("data-measure")
            mean = float(td.find_element(By.CSS_SELECTOR, ".mean").text)
            assert mean == round(want["values"][measure], 4)
            ci = td.find_element(By.CSS_SELECTOR, ".ci")
            low, high = float(ci.get_attribute("data-low")), float(ci.get_attribute("data-high"))
            assert low <= want["values"][measure] + 1e-12 and want["values"][measure] <= high + 1e-12
    assert "bm25" in rows[0].text or "bm25" in rows[1].text
    assert browser.find_element(By.CSS_SELECTOR, "#distribution + figure svg.distribution")
    stats = browser.find_element(By.ID, "qrels-stats").text
    assert "topics\n4" in stats or "topics 4" in stats
    screenshot(browser, "first_ten_minutes_leaderboard")

    browser.find_element(By.CSS_SELECTOR, "#leaderboard th[data-measure='nDCG@10'] a").click()
    assert browser.find_element(By.ID, "leaderboard").get_attribute("data-measure") == "nDCG@10"

    browser.find_element(By.ID, "matrix-link").click()
    matrix = browser.find_element(By.ID, "significance-matrix")
    assert matrix.get_attribute("data-measure") == "nDCG@10"
    cells = matrix.find_elements(By.CSS_SELECTOR, "td.cell")
    assert len(cells) == 2  # the two ordered pairs of two runs
    assert {c.get_attribute("data-p-adjusted") for c in cells}.__len__() == 1
    screenshot(browser, "first_ten_minutes_matrix")

    # The run `ragbench run` stored carries its ir_metadata header: on its page and in the API,
    # and no page or answer shows a local path.
    bm25 = next(r for r in api["rows"] if r["system"] == "bm25")
    browser.get(f"{server.url}/runs/{bm25['run_id']}")
    header = browser.find_element(By.CSS_SELECTOR, "#ir-metadata pre").get_attribute("textContent")
    assert "tag: bm25" in header and "k1: 0.9" in header and "corpus: collection.trec" in header
    run_json = httpx.get(f"{server.url}/api/v1/runs/{bm25['run_id']}").json()
    assert run_json["ir_metadata"]["method"]["retrieval"][0]["k1"] == 0.9
    folder = journey[1]["folder"]
    for url in ("/benchmarks/ft-demo", f"/runs/{bm25['run_id']}", "/api/v1/benchmarks/ft-demo",
                f"/api/v1/runs/{bm25['run_id']}"):  # fmt: skip
        assert folder not in httpx.get(server.url + url).text, url

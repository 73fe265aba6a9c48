"""Headless Chromium for the e2e tests (selenium): start it, wait for a page to be replaced, and
save full-page screenshots under tests/e2e/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support.paths import TESTS

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = TESTS / "e2e" / "artifacts"
WAIT_S = 60  # generous: under a parallel test run the two cores are shared with other servers


def available() -> bool:
    return Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium driven by chromedriver (three tries: a starved machine can fail the first)."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,1100"):  # fmt: skip
        options.add_argument(flag)
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


def gone(element: Any) -> Any:
    """A wait condition: ``element``'s page has been replaced (a stale element, or Chromium's
    inspector error for a node of the replaced document: both are WebDriverExceptions)."""
    from selenium.common.exceptions import WebDriverException

    def check(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False

    return check


def screenshot(driver: Any, name: str) -> None:
    """The whole page as ``tests/e2e/artifacts/NAME.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 120, 4000)))
    assert driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))

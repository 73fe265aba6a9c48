"""Headless Debian Chromium through Selenium for the browser tests, and their screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "e2e" / "artifacts"
WAIT_S = 60
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1100",
)


def start_chromium(profile: Path, page_load_timeout: float = WAIT_S) -> Any:
    """A headless Chromium session (skips the test when the browser or its driver is missing);
    tries three times, as a starved machine sometimes fails to create the first session."""
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    for attempt in range(3):
        try:
            driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
            break
        except WebDriverException:
            if attempt == 2:
                raise
    driver.set_page_load_timeout(page_load_timeout)
    return driver


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """:func:`start_chromium` as a context manager that quits the browser."""
    driver = start_chromium(profile)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str | Path) -> Path:
    """A full-page screenshot (the window grown to the page's height, at most 4,000 pixels): to
    tests/e2e/artifacts/NAME.png for a name, or to the path given."""
    path = name if isinstance(name, Path) else ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return (document.body || document.documentElement).scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 120, 4000)))
    assert driver.save_screenshot(str(path))
    return path


def available() -> bool:
    """Whether Debian's chromium and chromedriver are installed."""
    return Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()


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

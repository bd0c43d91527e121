"""Browser tests: the real `wangge demo` process, driven by the machine's Chromium.

The server is started once per session on a free port with its own fresh WANGGE_HOME
(tests.live_server). Each test gets a new Chromium with a fresh user-data directory. Missing
Chromium skips the tests locally and fails them under CI=true. Screenshots go to
``$WANGGE_ARTIFACTS`` (default ``./artifacts``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import DemoServer, start_demo
from tests.services import in_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 360, "height": 740}
DEMO_PASSWORD = "wangge-demo"
# The first start migrates and loads the whole demo community.
SERVER_START_TIMEOUT = float(os.environ.get("WANGGE_E2E_START_TIMEOUT", "90"))


def require_chromium() -> Path:
    """Debian's Chromium, or skip (locally) / fail (under CI=true). Never downloads a browser."""
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"{CHROMIUM} is missing: install Debian's chromium package (scripts/ensure-chromium.sh)"
    if in_ci():
        pytest.fail(f"CI needs Chromium for the browser tests: {message}")
    pytest.skip(message)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("WANGGE_ARTIFACTS", "artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    require_chromium()
    try:
        server = start_demo(timeout=SERVER_START_TIMEOUT)
    except RuntimeError as exc:
        pytest.fail(f"could not start `wangge demo` for the browser tests: {exc}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)


@pytest.fixture
def base_url(demo_server: DemoServer) -> str:
    if demo_server.process.poll() is not None:
        pytest.fail(f"`wangge demo` died (exit {demo_server.process.returncode}):\n{demo_server.log()}")
    return demo_server.url


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


class Browser:
    """One Chromium with a fresh profile; ``page()`` opens a tab, Chinese by default."""

    def __init__(self, driver: Any, *, locale: str = "zh-CN") -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="wangge-chromium-"))
        self.context = driver.chromium.launch_persistent_context(
            str(self.profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=DESKTOP,
            locale=locale,
            timezone_id="Asia/Shanghai",
        )
        self.errors: list[str] = []
        self.context.on("weberror", lambda error: self.errors.append(str(error.error)))

    def page(self) -> Any:
        page = self.context.pages[0] if self.context.pages else self.context.new_page()
        page.set_default_timeout(15_000)
        return page

    def close(self) -> None:
        self.context.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED_KEY] = report.failed
    return report


FAILED_KEY = pytest.StashKey[bool]()


@pytest.fixture
def browser(
    request: pytest.FixtureRequest, playwright_driver: Any, demo_server: DemoServer, artifacts: Path
) -> Iterator[Browser]:
    chromium = Browser(playwright_driver)
    try:
        yield chromium
    finally:
        if request.node.stash.get(FAILED_KEY, False):
            for index, page in enumerate(chromium.context.pages):
                # Best effort: the page may have gone with the failure.
                with contextlib.suppress(Exception):
                    page.screenshot(
                        path=str(artifacts / f"failed-{request.node.name}-{index}.png"), full_page=True
                    )
        chromium.close()


def sign_in(page: Any, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(f"{base_url}/")


def wait_for_map(page: Any) -> None:
    page.wait_for_selector("#wg-map[data-ready=true]", state="attached")

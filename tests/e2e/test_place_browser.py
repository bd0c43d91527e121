"""The web shell and the place browser in a real Chromium against `wangge demo`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import DESKTOP, PHONE, Browser, sign_in, wait_for_map

pytestmark = pytest.mark.e2e

GRID_NAMES = ["第一网格", "第二网格", "第三网格", "第四网格", "第五网格", "第六网格"]


def test_community_sees_leshans_six_grids_on_desktop_and_phone(
    browser: Browser, base_url: str, artifacts: Path
) -> None:
    page = browser.page()
    sign_in(page, base_url, "community")

    page.goto(f"{base_url}/places/")
    wait_for_map(page)

    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("[data-testid=place-name]") == "乐山小区社区"
    assert page.locator("path.wg-place-grid").count() == 6
    assert page.locator("path.wg-place-community").count() == 1
    labels = page.locator(".leaflet-tooltip.wg-map-label").all_inner_texts()
    assert sorted(labels) == sorted(GRID_NAMES)
    assert "地点树" in page.inner_text("body")
    page.screenshot(path=str(artifacts / "places-desktop-zh.png"))

    page.set_viewport_size(PHONE)
    page.reload()
    wait_for_map(page)

    assert page.locator("path.wg-place-grid").count() == 6
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The menu is folded away until asked for.
    assert not page.is_visible(".wg-nav")
    details = page.locator(".wg-browser-details").bounding_box()
    tree = page.locator(".wg-browser-tree").bounding_box()
    map_box = page.locator("#wg-map").bounding_box()
    assert details
    assert tree
    assert map_box
    assert map_box["y"] >= details["y"] + details["height"]
    assert map_box["y"] >= tree["y"] + tree["height"]
    assert map_box["width"] <= PHONE["width"]
    page.screenshot(path=str(artifacts / "places-phone-zh.png"), full_page=True)

    page.click("[data-testid=menu-toggle]")
    assert page.is_visible(".wg-nav")
    page.screenshot(path=str(artifacts / "menu-phone-zh.png"))
    assert browser.errors == []


def test_switching_to_english_translates_the_page(browser: Browser, base_url: str, artifacts: Path) -> None:
    page = browser.page()
    sign_in(page, base_url, "community")
    page.goto(f"{base_url}/places/")
    wait_for_map(page)

    page.click("[data-testid=language-switch]")
    page.wait_for_load_state()
    wait_for_map(page)

    assert page.get_attribute("html", "lang") == "en"
    body = page.inner_text("body")
    assert "Place tree" in body
    assert "Who is responsible here" in body
    assert "Community staff" in body
    assert "地点树" not in body
    assert page.url.rstrip("/").endswith("/places")
    assert page.locator("path.wg-place-grid").count() == 6
    page.screenshot(path=str(artifacts / "places-desktop-en.png"))

    page.set_viewport_size(PHONE)
    page.reload()
    wait_for_map(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "places-phone-en.png"), full_page=True)
    assert browser.errors == []


def test_wrong_password_shows_the_error(browser: Browser, base_url: str, artifacts: Path) -> None:
    page = browser.page()
    page.goto(f"{base_url}/login/")
    assert page.is_visible("[data-testid=demo-accounts]")

    page.fill("#id_username", "community")
    page.fill("#id_password", "not-the-password-1")
    page.click("[data-testid=login-submit]")

    error = page.locator("[data-testid=login-error]")
    assert error.is_visible()
    assert "用户名或密码错误" in error.inner_text()
    assert page.url == f"{base_url}/login/"
    assert page.input_value("#id_username") == "community"
    page.screenshot(path=str(artifacts / "login-error-zh.png"))

    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "login-phone-zh.png"), full_page=True)


def test_demo_account_buttons_fill_the_form(browser: Browser, base_url: str) -> None:
    page = browser.page()
    page.goto(f"{base_url}/login/")

    page.click(".wg-demo-account[data-username=grid1]")
    page.click("[data-testid=login-submit]")

    page.wait_for_url(f"{base_url}/")
    assert "专职网格员" in page.inner_text("[data-testid=assignments]")


def test_tree_nodes_expand_lazily(browser: Browser, base_url: str) -> None:
    page = browser.page()
    sign_in(page, base_url, "community")
    page.goto(f"{base_url}/places/")
    wait_for_map(page)
    grid = page.locator(".wg-tree-node .wg-tree-node").first
    toggle = grid.locator(":scope > .wg-tree-row > .wg-tree-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"

    with page.expect_response(re.compile(r"/places/\d+/children/$")) as answer:
        toggle.click()

    assert answer.value.status == 200
    children = grid.locator(":scope > .wg-tree-children > li")
    children.first.wait_for()
    assert children.count() >= 1
    assert toggle.get_attribute("aria-expanded") == "true"

    toggle.click()  # folds again without another request
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not grid.locator(":scope > .wg-tree-children").is_visible()
    assert browser.errors == []


def test_clicking_a_grid_on_the_map_opens_it(browser: Browser, base_url: str) -> None:
    page = browser.page()
    sign_in(page, base_url, "community")
    page.goto(f"{base_url}/places/")
    wait_for_map(page)

    page.locator("path.wg-place-grid").first.click()
    page.wait_for_url(re.compile(r"/places/\d+/$"))
    wait_for_map(page)

    assert page.inner_text("[data-testid=place-name]") in GRID_NAMES
    assert "乐山小区社区" in page.inner_text("nav.wg-crumbs")
    assert page.locator("path.wg-place-grid").count() == 1
    assert page.locator("path.wg-place-micro_grid").count() >= 1


def test_grid_worker_cannot_open_the_other_grid(
    browser: Browser, base_url: str, playwright_driver: Any
) -> None:
    community = browser.page()
    sign_in(community, base_url, "community")
    community.goto(f"{base_url}/places/")
    other_url = community.locator(".wg-tree a", has_text="第二网格").first.get_attribute("href")
    assert other_url
    assert re.fullmatch(r"/places/\d+/", other_url)
    grid1 = Browser(playwright_driver)
    try:
        page = grid1.page()
        sign_in(page, base_url, "grid1")

        page.goto(f"{base_url}/places/")
        wait_for_map(page)
        own_tree = page.inner_text("[data-testid=place-tree]")
        response = page.goto(f"{base_url}{other_url}")

        assert "第一网格" in own_tree
        assert "第二网格" not in own_tree
        assert response is not None
        assert response.status == 404
        assert "第二网格" not in page.content()
        assert "页面不存在" in page.inner_text("body")
    finally:
        grid1.close()


def test_pages_load_nothing_from_other_hosts(browser: Browser, base_url: str) -> None:
    page = browser.page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, base_url, "admin")

    for path in ("/", "/audit/", "/places/"):
        page.goto(f"{base_url}{path}")
    wait_for_map(page)

    origin = urlparse(base_url).netloc
    foreign = [
        url
        for url in requested
        if urlparse(url).scheme in {"http", "https"} and urlparse(url).netloc != origin
    ]
    assert foreign == []
    response = page.request.get(f"{base_url}/static/wangge/wangge.css")
    assert response.status == 200
    assert "--wg-navy" in response.text()


def test_audit_log_for_admin_on_a_phone(browser: Browser, base_url: str, artifacts: Path) -> None:
    page = browser.page()
    sign_in(page, base_url, "admin")
    page.set_viewport_size(PHONE)

    page.goto(f"{base_url}/audit/")

    assert page.is_visible("[data-testid=audit-table]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "audit-phone-zh.png"))
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(artifacts / "audit-desktop-zh.png"))

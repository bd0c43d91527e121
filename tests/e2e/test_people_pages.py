"""The registry's pages in a real Chromium against `wangge demo`: the room chart (楼盘表) of a
Leshan grid-1 building with a vacant house and an elderly resident living alone, the household
card, and the population statistics, at desktop and phone widths."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DESKTOP, PHONE, Browser, sign_in
from tests.live_server import WANGGE, DemoServer, clean_env

pytestmark = pytest.mark.e2e

# Asked of the demo's own database: the named examples, with the ids the pages use.
EXAMPLES_SCRIPT = """
import json
from wangge.demo.people import demo_examples
from wangge.people.models import Household
from wangge.places.models import Place
examples = demo_examples()
keys = ("building", "vacant_house", "elderly_alone_house")
ids = {key: Place.objects.get(code=examples[key]).pk for key in keys}
households = Household.objects.filter(place_id=ids["elderly_alone_house"]).order_by("pk")
ids["elderly_household"] = households.first().pk
print(json.dumps({"examples": examples, "ids": ids}))
"""


@pytest.fixture(scope="module")
def examples(demo_server: DemoServer) -> dict[str, Any]:
    done = subprocess.run(
        [str(WANGGE), "manage", "shell", "-c", EXAMPLES_SCRIPT],
        env=clean_env(WANGGE_HOME=str(demo_server.home), WANGGE_DEMO="1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_room_chart_vacant_house_and_elderly_household(
    browser: Browser, base_url: str, artifacts: Path, examples: dict[str, Any]
) -> None:
    ids = examples["ids"]
    names = examples["examples"]
    page = browser.page()
    sign_in(page, base_url, "community")
    chart_url = f"{base_url}/people/buildings/{ids['building']}/room-chart/"

    page.goto(chart_url)

    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("[data-testid=building-name]") == names["building_name"]
    vacant = page.locator(f"a.wg-room[data-place-id='{ids['vacant_house']}']")
    elderly = page.locator(f"a.wg-room[data-place-id='{ids['elderly_alone_house']}']")
    assert vacant.get_attribute("data-use") == "vacant"
    assert "elderly_alone" in (elderly.get_attribute("data-markers") or "").split()
    assert page.locator("a.wg-room[data-use=rented]").count() >= 1
    assert page.locator("[data-testid=room-legend]").is_visible()
    page.screenshot(path=str(artifacts / "room-chart-desktop-zh.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    no_sideways_scroll(page)
    scroller = page.locator("[data-testid=room-chart-scroll]")
    box = scroller.bounding_box()
    assert box is not None
    assert box["width"] <= PHONE["width"]
    # The floor labels stay put while the chart scrolls sideways inside its own box.
    floor = page.locator("tbody th.wg-rc-floor").first
    assert floor.evaluate("el => getComputedStyle(el).position") == "sticky"
    before = floor.bounding_box()
    scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    after = floor.bounding_box()
    assert before is not None
    assert after is not None
    assert abs(before["x"] - after["x"]) < 1
    cell = page.locator("a.wg-room").first.bounding_box()
    assert cell is not None
    assert cell["width"] >= 44
    assert cell["height"] >= 44
    scroller.evaluate("el => { el.scrollLeft = 0; }")
    page.screenshot(path=str(artifacts / "room-chart-phone-zh.png"), full_page=True)

    # A vacant house: its information, and no household.
    page.set_viewport_size(DESKTOP)
    page.goto(chart_url)
    page.locator(f"a.wg-room[data-place-id='{ids['vacant_house']}']").click()
    page.wait_for_url(re.compile(r"/people/buildings/houses/\d+/$"))
    assert page.is_visible("[data-testid=no-household]")
    assert page.inner_text("[data-testid=house-use]") == "空置"
    page.screenshot(path=str(artifacts / "vacant-house-desktop-zh.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "vacant-house-phone-zh.png"), full_page=True)

    # The household of the elderly resident living alone.
    page.set_viewport_size(DESKTOP)
    page.goto(chart_url)
    page.locator(f"a.wg-room[data-place-id='{ids['elderly_alone_house']}']").click()
    page.wait_for_url(re.compile(rf"/people/households/{ids['elderly_household']}/$"))
    card = page.inner_text("[data-testid=household-card]")
    assert "独居老人" in card
    assert names["elderly_alone_name"] in card
    page.screenshot(path=str(artifacts / "elderly-household-desktop-zh.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "elderly-household-phone-zh.png"), full_page=True)
    assert browser.errors == []


def test_revealing_a_phone_number_on_the_household_card(
    browser: Browser, base_url: str, examples: dict[str, Any]
) -> None:
    page = browser.page()
    sign_in(page, base_url, "community")
    page.goto(f"{base_url}/people/households/{examples['ids']['elderly_household']}/")
    secret = page.locator("[data-testid=secret-phone]").first
    masked = secret.locator(".wg-secret-value").inner_text()
    assert "****" in masked

    with page.expect_response(re.compile(r"/people/residents/\d+/reveal/$")) as answer:
        secret.locator("[data-testid=reveal]").click()

    assert answer.value.status == 200
    revealed = page.locator("[data-testid=revealed]").first
    revealed.wait_for()
    number = revealed.locator(".wg-secret-value").inner_text()
    assert re.fullmatch(r"\d{7,12}", number)
    assert number[-4:] == masked.strip()[-4:]
    assert "已留痕" in revealed.inner_text()
    assert browser.errors == []


def test_resident_search_on_a_phone(browser: Browser, base_url: str, artifacts: Path) -> None:
    page = browser.page()
    sign_in(page, base_url, "grid1")
    page.set_viewport_size(PHONE)

    page.goto(f"{base_url}/people/?age=80%2B")

    assert page.locator("[data-testid=resident-row]").count() >= 1
    assert page.locator("[data-testid=reveal]").count() >= 1
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "residents-phone-zh.png"), full_page=False)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(artifacts / "residents-desktop-zh.png"))
    assert browser.errors == []


def test_population_statistics_draw_every_chart(browser: Browser, base_url: str, artifacts: Path) -> None:
    page = browser.page()
    sign_in(page, base_url, "community")

    page.goto(f"{base_url}/people/stats/")
    page.wait_for_selector("html[data-charts-ready='5']", state="attached")

    assert page.inner_text("[data-testid=stats-place]") == "乐山小区社区"
    for chart in ("registration", "pyramid", "care", "houses", "movement"):
        assert page.locator(f"[data-chart={chart}] canvas").count() >= 1, chart
    assert page.inner_text("[data-testid=vacancy-rate]").strip().split("%")[0]
    page.wait_for_timeout(600)  # the charts' entry animation
    page.screenshot(path=str(artifacts / "stats-desktop-zh.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    page.wait_for_selector("html[data-charts-ready='5']", state="attached")
    no_sideways_scroll(page)
    width = page.locator("[data-chart=pyramid] canvas").first.bounding_box()
    assert width is not None
    assert width["width"] <= PHONE["width"]
    page.wait_for_timeout(600)
    page.screenshot(path=str(artifacts / "stats-phone-zh.png"), full_page=True)
    assert browser.errors == []

"""The closed loop (接诉即办) in a real Chromium against `wangge demo`.

A resident in Leshan grid 1 files a request with a photo; `community` dispatches it to grid 1
from the queue; `grid1` accepts it and resolves it with a reply on a phone; the resident rates
it 不满意, so it reopens; grid 1 resolves it again and the resident rates it 满意 on the
tracking page; the metrics page shows one more reworked and one more satisfied request.
A second test files a request without signing in and follows it by tracking code.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from tests.e2e.conftest import DESKTOP, PHONE, Browser, sign_in

pytestmark = pytest.mark.e2e

RATES = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_rate",
    "rework_rate",
    "extension_rate",
)


def photo_file(color: str = "orange") -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(out, format="JPEG")
    return {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def no_sideways_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@contextmanager
def session(driver: Any, base_url: str, username: str | None, *, locale: str = "zh-CN") -> Iterator[Any]:
    """A fresh Chromium signed in as ``username`` (or not signed in); no JavaScript errors."""
    chromium = Browser(driver, locale=locale)
    try:
        page = chromium.page()
        if username:
            sign_in(page, base_url, username)
        yield page
        assert chromium.errors == []
    finally:
        chromium.close()


def read_metrics(page: Any, base_url: str) -> dict[str, tuple[int, int]]:
    """Numerator and denominator of each rate for today in the user's default place."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    query = f"date_from={today.isoformat()}&date_to={(today + timedelta(days=1)).isoformat()}"
    page.goto(f"{base_url}/cases/metrics/?{query}")
    found: dict[str, tuple[int, int]] = {}
    for name in RATES:
        value = page.locator(f"[data-metric={name}]")
        assert value.count() == 1, name
        ratio = page.locator(f"[data-ratio={name}]").inner_text()
        numbers = re.findall(r"\d+", ratio)
        assert len(numbers) >= 2, (name, ratio)
        found[name] = (int(numbers[0]), int(numbers[1]))
    received = re.findall(r"\d+", page.locator("[data-metric=received]").inner_text())
    found["received"] = (int(received[0]) if received else 0, 0)
    return found


def grid1_option(select: Any) -> str:
    value: str = select.evaluate(
        "(s) => { const o = [...s.options].find("
        "(o) => o.value.startsWith('place:') && o.text.startsWith('第一网格'));"
        " return o ? o.value : ''; }"
    )
    assert value, "the dispatch choices offer grid 1"
    return value


def accept_and_resolve_on_a_phone(
    page: Any, base_url: str, number: str, reply: str, artifacts: Path, shot: str
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{base_url}/cases/mine/")
    card = page.locator(f"[data-testid=task-card][data-number='{number}']")
    card.locator("[data-testid=submit-accept]").click()
    page.wait_for_load_state()
    card = page.locator(f"[data-testid=task-card][data-number='{number}']")
    card.locator("[data-testid=open-resolve]").click()
    card.locator("textarea[name=resolve-note]").fill(reply)
    card.locator("input[name=resolve-photos]").set_input_files([photo_file("green")])
    no_sideways_scroll(page)
    if shot:
        page.screenshot(path=str(artifacts / shot), full_page=True)
    card.locator("[data-testid=submit-resolve]").click()
    page.wait_for_load_state()
    assert page.locator(f"[data-testid=task-card][data-number='{number}']").count() == 0


def test_resident_request_round_trip_with_rework_and_metrics(
    playwright_driver: Any, base_url: str, artifacts: Path
) -> None:
    # The metrics before the flow, as the community office sees them.
    with session(playwright_driver, base_url, "community") as page:
        before = read_metrics(page, base_url)

    # 1. The resident reports a broken stairwell light at home, with a photo.
    with session(playwright_driver, base_url, "resident") as page:
        page.goto(f"{base_url}/report/")
        assert page.get_attribute("html", "lang") == "zh-CN"
        page.select_option("#f-category", "1999")
        page.select_option("#f-place", index=1)  # the first option of "my home"
        page.fill("textarea[name=description]", "3单元楼道灯坏了一周，晚上老人上下楼看不见台阶")
        page.set_input_files("#f-photos", [photo_file()])
        page.screenshot(path=str(artifacts / "cases-report-desktop-zh.png"), full_page=True)
        page.set_viewport_size(PHONE)
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / "cases-report-phone-zh.png"), full_page=True)
        page.click("[data-testid=report-submit]")
        page.wait_for_url(re.compile(r"/report/done/$"))
        number = page.inner_text("[data-testid=done-number]").strip()
        code = page.inner_text("[data-testid=tracking-code]").strip()
        assert re.fullmatch(r"\d{15}", number)
        assert re.fullmatch(r"[0-9A-Z]{12}", code)
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / "cases-report-done-phone-zh.png"), full_page=True)
        page.goto(f"{base_url}/my/requests/")
        assert page.locator(f"[data-testid=my-request][data-number='{number}']").count() == 1

    # 2. The community desk dispatches it to grid 1 from the queue.
    with session(playwright_driver, base_url, "community") as page:
        page.goto(f"{base_url}/cases/")
        row = page.locator(f"[data-testid=queue-row][data-number='{number}']")
        assert row.locator("[data-testid=countdown]").count() == 1
        page.screenshot(path=str(artifacts / "cases-queue-desktop-zh.png"), full_page=True)
        select = row.locator("select[name=dispatch-target]")
        select.select_option(grid1_option(select))
        row.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(f"[data-testid=queue-row][data-number='{number}']").count() == 0
        page.goto(f"{base_url}/cases/{number}/")
        assert page.get_attribute("[data-testid=case-state]", "data-state") == "dispatched"
        assert page.locator("[data-testid=photo]").count() >= 1
        page.screenshot(path=str(artifacts / "cases-detail-desktop-zh.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.goto(f"{base_url}/cases/")
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / "cases-queue-phone-zh.png"), full_page=True)

    # 3. Grid 1 accepts it and resolves it with a reply, on a phone.
    with session(playwright_driver, base_url, "grid1") as page:
        accept_and_resolve_on_a_phone(
            page, base_url, number, "已更换楼道灯泡，并检查了线路。", artifacts, "cases-mine-phone-zh.png"
        )
        page.goto(f"{base_url}/cases/{number}/")
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / "cases-detail-phone-zh.png"), full_page=True)

    # 4. The resident is not satisfied: the request reopens.
    with session(playwright_driver, base_url, "resident") as page:
        page.goto(f"{base_url}/cases/{number}/")
        assert page.get_attribute("[data-testid=case-state]", "data-state") == "resolved"
        assert "已更换楼道灯泡" in page.inner_text("[data-testid=case-reply]")
        assert "岳建平" not in page.inner_text("main")  # no staff names for the reporter
        page.check("input[name=rating][value=unsatisfied]")
        page.fill("textarea[name=comment]", "二楼的灯还是不亮")
        page.click("[data-testid=submit-rating]")
        page.wait_for_load_state()
        assert page.get_attribute("[data-testid=case-state]", "data-state") == "dispatched"
        assert page.locator("[data-testid=timeline-entry][data-action=reopen]").count() == 1

    # 5. Grid 1 handles it again; the resident rates 满意 on the tracking page.
    with session(playwright_driver, base_url, "grid1") as page:
        accept_and_resolve_on_a_phone(page, base_url, number, "二楼灯具已整体更换。", artifacts, "")
    with session(playwright_driver, base_url, None) as page:
        page.goto(f"{base_url}/track/")
        page.fill("[data-testid=track-code]", code)
        page.click("[data-testid=track-submit]")
        page.wait_for_url(re.compile(rf"/track/{code}/$"))
        body = page.inner_text("main")
        assert "二楼灯具已整体更换" in body
        assert "岳建平" not in body
        assert "grid1" not in body
        page.set_viewport_size(PHONE)
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / "cases-track-phone-zh.png"), full_page=True)
        page.check("input[name=rating][value=satisfied]")
        page.click("[data-testid=submit-rating]")
        page.wait_for_load_state()
        assert page.get_attribute("[data-testid=case-state]", "data-state") == "rated"

    # 6. The metrics show one more request, reworked once, finally satisfied.
    with session(playwright_driver, base_url, "community") as page:
        after = read_metrics(page, base_url)
        page.screenshot(path=str(artifacts / "cases-metrics-after-desktop-zh.png"), full_page=True)
    assert after["received"][0] == before["received"][0] + 1
    assert after["rework_rate"] == (before["rework_rate"][0] + 1, before["rework_rate"][1] + 1)
    assert after["satisfaction_rate"] == (
        before["satisfaction_rate"][0] + 1,
        before["satisfaction_rate"][1] + 1,
    )
    assert after["resolution_rate"][1] == before["resolution_rate"][1] + 1

    # The case in English, for the record.
    with session(playwright_driver, base_url, "community", locale="en-US") as page:
        page.goto(f"{base_url}/cases/{number}/")
        assert page.get_attribute("html", "lang") == "en"
        assert page.locator("[data-testid=timeline-entry][data-action=rate]").count() == 2
        no_sideways_scroll(page)  # English labels are longer: the menu must wrap, not overflow
        page.screenshot(path=str(artifacts / "cases-detail-desktop-en.png"), full_page=True)


def test_anonymous_report_and_tracking_on_a_phone(
    playwright_driver: Any, base_url: str, artifacts: Path
) -> None:
    with session(playwright_driver, base_url, None) as page:
        page.set_viewport_size(PHONE)
        page.goto(f"{base_url}/report/")
        page.select_option("#f-category", "1701")
        page.select_option("[data-testid=street-select]", label="杆石桥街道")
        page.wait_for_function("document.querySelector('#f-community').options.length > 1")
        page.select_option("[data-testid=community-select]", label="乐山小区社区")
        page.wait_for_function("document.querySelector('#f-place').options.length > 1")
        page.select_option("#f-place", index=1)
        page.fill("textarea[name=description]", "小区门口垃圾桶满了两天没人清运")
        page.fill("input[name=reporter_phone]", "13912345678")
        page.set_input_files("#f-photos", [photo_file("gray")])
        no_sideways_scroll(page)
        page.screenshot(path=str(artifacts / "cases-report-anonymous-phone-zh.png"), full_page=True)
        page.click("[data-testid=report-submit]")
        page.wait_for_url(re.compile(r"/report/done/$"))
        code = page.inner_text("[data-testid=tracking-code]").strip()
        page.click("[data-testid=track-link]")
        page.wait_for_url(re.compile(rf"/track/{code}/$"))
        assert page.get_attribute("[data-testid=case-state]", "data-state") == "received"
        assert page.locator("[data-testid=photo]").count() == 1
        assert "13912345678" not in page.content()
        no_sideways_scroll(page)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(artifacts / "cases-track-desktop-zh.png"), full_page=True)

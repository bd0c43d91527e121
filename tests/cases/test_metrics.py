"""Request metrics (docs/cases/metrics.md): a small history in March 2024, made through the
services with the clock moved, where every figure is worked out by hand below.

All in grid 1 of Leshan, category 1999 (general: 4 working hours to respond, 7 working days
to resolve) unless said otherwise. "Now" is 2024-04-02 12:00 Beijing time.

    A  web (resident), Mon 03-04 09:00; accepted 09:30; resolved 03-05 10:00; rated satisfied
    B  web, 03-04 10:00; accepted 16:00 (late: due 14:00); resolved 03-06 09:00; rated
       unsatisfied → reopened; accepted, resolved 03-07 09:00; rated basically satisfied
    C  web, 03-05 09:00; accepted; extension +2 working days (due 03-14 → 03-18 17:30);
       resolved 03-18 09:00 (on time thanks to it); not rated
    D  patrol by grid1, 03-06 09:00; accepted; never resolved; due 03-15 17:30 (past)
    E  web, 1201 noise (grid-level), 03-07 09:00; resolved 03-19 10:00 (due 03-18: late);
       rated satisfied; archived
    F  web, 1201, 03-08 09:00; resolved 15:00; rated unsatisfied → reopened (due 03-19 17:30);
       resolved again 03-20 10:00 (late); rated unsatisfied again (final)
    G  web, 03-08 10:00; not accepted (cancelled): left out of every rate
    H  hotline (community), Thu 03-28 09:00; waiting at the desk; due 04-09 (Qingming)
    J  walk-in (community), 03-01 00:00:30 Beijing (02-29 in UTC); waiting; due 03-12 (past)
    K  web, 03-31 23:59 Beijing; waiting; due in April
    W  web, 1301 no water (24 hours), 03-14 09:00; whistle to 区住建局 09:10; the department
       accepts 09:20 and resolves 12:00; not rated
    I  02-29 23:59 Beijing and L 04-01 00:00:10 Beijing (03-31 in UTC): outside March.

Cohort (received in March, not cancelled): A B C D E F H J K W = 10.
    response      = responded on time / response settled = (A C D E F W) / (A B C D E F W) = 6/7
    resolution    = resolved, not finally unsatisfied / resolved or past due
                  = (A B C E W) / (A B C D E F J W) = 5/8
    satisfaction  = (A sat, B basic, E sat) / rated (A B E F) = 3/4
    on time       = resolved on time (A B C W) / resolved or past due = 4/8
    rework        = reopened (B F) / resolved at least once (A B C E F W) = 2/6
    extension     = (C) / cohort = 1/10
    handling      = (25 + 71 + 312 + 289 + 289 + 3) / 6 = 164.83 hours
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from tests.cases.helpers import building_in, category, grid_of
from wangge.cases import metrics, services
from wangge.cases.metrics import MetricsFilter, case_metrics, metrics_filter
from wangge.cases.models import Case, Channel, Rating, State
from wangge.cases.services import Target
from wangge.core.clock import LOCAL_TZ
from wangge.core.errors import NotFound, PermissionDenied, ValidationError
from wangge.core.scope import scope_for
from wangge.org.models import Department
from wangge.places.models import Place

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 4, 2, 12, 0, tzinfo=LOCAL_TZ)
MARCH = {"date_from": date(2024, 3, 1), "date_to": date(2024, 4, 1)}
MARCH_QUERY = "date_from=2024-03-01&date_to=2024-04-01"
Api = Callable[[str | None], Client]
Pages = Callable[[str], Client]


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


@dataclass
class World:
    grid1: Place
    grid2: Place
    department: Department
    cases: dict[str, Case]


class Clock:
    """Moves the frozen clock forward step by step."""

    def __init__(self) -> None:
        self.traveller: Any = None

    def at(self, moment: datetime) -> None:
        if self.traveller is not None:
            self.traveller.stop()
        self.traveller = time_machine.travel(moment, tick=False)
        self.traveller.start()

    def stop(self) -> None:
        if self.traveller is not None:
            self.traveller.stop()
            self.traveller = None


@pytest.fixture
def clock() -> Iterator[Clock]:
    moving = Clock()
    yield moving
    moving.stop()


def _file(u: dict[str, Any], when: datetime, clock: Clock, *, code: str = "1999", **kw: Any) -> Case:
    clock.at(when)
    actor = kw.pop("actor", u["resident"])
    channel = kw.pop("channel", Channel.WEB)
    result = services.case_intake(
        actor=actor,
        channel=channel,
        category=category(code),
        place=building_in(grid_of("grid1")),
        description="测试诉求",
        **kw,
    )
    return result.case


def _take(u: dict[str, Any], case: Case, clock: Clock, dispatched: datetime, accepted: datetime) -> None:
    clock.at(dispatched)
    services.case_dispatch(actor=u["community"], case=case, to=Target(place=grid_of("grid1")))
    clock.at(accepted)
    services.case_accept(actor=u["grid1"], case=case)


def _resolve(u: dict[str, Any], case: Case, clock: Clock, when: datetime) -> None:
    clock.at(when)
    services.case_resolve(actor=u["grid1"], case=case, reply="已处理")


def _rate(u: dict[str, Any], case: Case, clock: Clock, when: datetime, rating: str) -> None:
    clock.at(when)
    services.case_rate(actor=u["resident"], case=case, rating=rating, comment="评价")


@pytest.fixture
def world(users: dict[str, Any], clock: Clock) -> World:
    u = users
    dept = Department.objects.get(pk=scope_for(u["dept"]).department_ids[0])
    c: dict[str, Case] = {}

    c["A"] = _file(u, local(2024, 3, 4, 9, 0), clock)
    _take(u, c["A"], clock, local(2024, 3, 4, 9, 10), local(2024, 3, 4, 9, 30))
    _resolve(u, c["A"], clock, local(2024, 3, 5, 10, 0))
    _rate(u, c["A"], clock, local(2024, 3, 5, 12, 0), Rating.SATISFIED)

    c["B"] = _file(u, local(2024, 3, 4, 10, 0), clock)
    _take(u, c["B"], clock, local(2024, 3, 4, 10, 10), local(2024, 3, 4, 16, 0))
    _resolve(u, c["B"], clock, local(2024, 3, 6, 9, 0))
    _rate(u, c["B"], clock, local(2024, 3, 6, 10, 0), Rating.UNSATISFIED)
    clock.at(local(2024, 3, 6, 11, 0))
    services.case_accept(actor=u["grid1"], case=c["B"])
    _resolve(u, c["B"], clock, local(2024, 3, 7, 9, 0))
    _rate(u, c["B"], clock, local(2024, 3, 7, 10, 0), Rating.BASIC)

    c["C"] = _file(u, local(2024, 3, 5, 9, 0), clock)
    _take(u, c["C"], clock, local(2024, 3, 5, 9, 5), local(2024, 3, 5, 9, 20))
    clock.at(local(2024, 3, 6, 9, 0))
    ext = services.case_request_extension(actor=u["grid1"], case=c["C"], amount=2, reason="需协调物业")
    clock.at(local(2024, 3, 6, 10, 0))
    services.case_decide_extension(actor=u["community"], extension=ext, approve=True)
    _resolve(u, c["C"], clock, local(2024, 3, 18, 9, 0))

    c["D"] = _file(u, local(2024, 3, 6, 9, 0), clock, actor=u["grid1"], channel=Channel.PATROL)
    _take(u, c["D"], clock, local(2024, 3, 6, 9, 10), local(2024, 3, 6, 9, 30))

    c["E"] = _file(u, local(2024, 3, 7, 9, 0), clock, code="1201")
    _take(u, c["E"], clock, local(2024, 3, 7, 9, 5), local(2024, 3, 7, 9, 15))
    _resolve(u, c["E"], clock, local(2024, 3, 19, 10, 0))
    _rate(u, c["E"], clock, local(2024, 3, 19, 11, 0), Rating.SATISFIED)
    clock.at(local(2024, 3, 19, 12, 0))
    services.case_close(actor=u["community"], case=c["E"])

    c["F"] = _file(u, local(2024, 3, 8, 9, 0), clock, code="1201")
    _take(u, c["F"], clock, local(2024, 3, 8, 9, 5), local(2024, 3, 8, 9, 10))
    _resolve(u, c["F"], clock, local(2024, 3, 8, 15, 0))
    _rate(u, c["F"], clock, local(2024, 3, 8, 16, 0), Rating.UNSATISFIED)
    clock.at(local(2024, 3, 20, 9, 0))
    services.case_accept(actor=u["grid1"], case=c["F"])
    _resolve(u, c["F"], clock, local(2024, 3, 20, 10, 0))
    _rate(u, c["F"], clock, local(2024, 3, 20, 11, 0), Rating.UNSATISFIED)

    c["G"] = _file(u, local(2024, 3, 8, 10, 0), clock)
    clock.at(local(2024, 3, 8, 10, 30))
    services.case_cancel(actor=u["community"], case=c["G"], reason="不属于受理范围")

    c["H"] = _file(
        u,
        local(2024, 3, 28, 9, 0),
        clock,
        actor=u["community"],
        channel=Channel.HOTLINE,
        hotline_ticket="M240328001",
        reporter_phone="13800138001",
    )
    c["J"] = _file(
        u,
        local(2024, 3, 1, 0, 0, 30),
        clock,
        actor=u["community"],
        channel=Channel.WALK_IN,
        reporter_name="张",
    )
    c["K"] = _file(u, local(2024, 3, 31, 23, 59), clock)

    c["W"] = _file(u, local(2024, 3, 14, 9, 0), clock, code="1301")
    clock.at(local(2024, 3, 14, 9, 10))
    services.case_whistle(actor=u["community"], case=c["W"], department=dept, note="停水请住建局报到")
    clock.at(local(2024, 3, 14, 9, 20))
    services.case_accept(actor=u["dept"], case=c["W"])
    clock.at(local(2024, 3, 14, 12, 0))
    services.case_resolve(actor=u["dept"], case=c["W"], reply="已恢复供水")

    c["I"] = _file(u, local(2024, 2, 29, 23, 59), clock)
    c["L"] = _file(u, local(2024, 4, 1, 0, 0, 10), clock)
    clock.at(NOW)
    for case in c.values():
        case.refresh_from_db()
    return World(grid1=grid_of("grid1"), grid2=grid_of("grid2"), department=dept, cases=c)


def figures(user: Any, **kw: Any) -> metrics.Metrics:
    return case_metrics(user, metrics_filter(user, **{**MARCH, **kw}), now=NOW)


def as_tuple(m: metrics.Metrics) -> dict[str, tuple[int, int]]:
    return {name: (r.numerator, r.denominator) for name, r in m.rates.items()}


# --- the figures --------------------------------------------------------------------------------


def test_the_story_went_as_written(world: World) -> None:
    c = world.cases
    assert {k: v.state for k, v in c.items()} == {
        "A": State.RATED,
        "B": State.RATED,
        "C": State.RESOLVED,
        "D": State.ACCEPTED,
        "E": State.CLOSED,
        "F": State.RATED,
        "G": State.CANCELLED,
        "H": State.RECEIVED,
        "J": State.RECEIVED,
        "K": State.RECEIVED,
        "W": State.RESOLVED,
        "I": State.RECEIVED,
        "L": State.RECEIVED,
    }
    assert c["B"].responded_on_time is False
    assert c["C"].due_at == local(2024, 3, 18, 17, 30)
    assert c["D"].due_at == local(2024, 3, 15, 17, 30)
    assert c["E"].resolved_on_time is False
    assert (c["F"].reopen_count, c["F"].resolved_on_time, c["F"].rating) == (1, False, Rating.UNSATISFIED)
    assert c["J"].due_at == local(2024, 3, 12, 17, 30)
    assert c["H"].due_at == local(2024, 4, 9, 17, 30)  # Qingming: 04-04..06 off, Sunday 04-07 worked


def test_every_rate_is_the_hand_count(world: World, users: dict[str, Any]) -> None:
    m = figures(users["community"], place_id=world.grid1.pk)

    assert (m.received, m.received_all, m.handled) == (10, 11, 6)
    assert as_tuple(m) == {
        "response_rate": (6, 7),
        "resolution_rate": (5, 8),
        "satisfaction_rate": (3, 4),
        "on_time_rate": (4, 8),
        "rework_rate": (2, 6),
        "extension_rate": (1, 10),
    }
    percents = [m.rates[n].percent for n in metrics.RATE_NAMES]
    assert percents == ["85.7%", "62.5%", "75.0%", "50.0%", "33.3%", "10.0%"]
    assert m.rates["response_rate"].value == pytest.approx(6 / 7)
    assert m.avg_handling_hours == pytest.approx(989 / 6, abs=0.01)
    assert m.avg_handling_text == "164.8"
    assert {t.key: t.count for t in m.by_state if t.count} == {
        "received": 3,
        "accepted": 1,
        "resolved": 2,
        "rated": 3,
        "closed": 1,
        "cancelled": 1,
    }
    channels = {t.key: t.count for t in m.by_channel if t.count}
    assert channels == {"web": 7, "patrol": 1, "hotline": 1, "walk_in": 1}
    assert [(t.key, t.count) for t in m.by_category] == [("19", 7), ("12", 2), ("13", 1)]
    days = {d.day.day: (d.received, d.resolved) for d in m.daily if d.received or d.resolved}
    assert len(m.daily) == 31
    assert days == {
        1: (1, 0),  # J, received at 00:00:30 Beijing time
        4: (2, 0),
        5: (1, 1),
        6: (1, 0),
        7: (1, 1),
        8: (1, 0),  # F (G was not accepted)
        14: (1, 1),
        18: (0, 1),
        19: (0, 1),
        20: (0, 1),
        28: (1, 0),
        31: (1, 0),  # K, at 23:59 Beijing time
    }


def test_the_same_figures_for_the_street_and_the_community(world: World, users: dict[str, Any]) -> None:
    for who in ("community", "street", "admin"):
        m = figures(users[who], place_id=world.grid1.pk)
        assert as_tuple(m)["response_rate"] == (6, 7), who
        assert m.received == 10, who


def test_periods_are_beijing_days(world: World, users: dict[str, Any]) -> None:
    community = users["community"]

    def received(start: date, end: date) -> int:
        f = metrics_filter(community, place_id=world.grid1.pk, date_from=start, date_to=end)
        return case_metrics(community, f, now=NOW).received

    assert received(date(2024, 2, 29), date(2024, 3, 1)) == 1  # I only (J is 02-29 in UTC)
    assert received(date(2024, 3, 1), date(2024, 3, 2)) == 1  # J
    assert received(date(2024, 3, 31), date(2024, 4, 1)) == 1  # K
    assert received(date(2024, 4, 1), date(2024, 4, 2)) == 1  # L (03-31 in UTC)
    assert received(date(2024, 3, 4), date(2024, 3, 5)) == 2


def test_department_and_handler_filters(world: World, users: dict[str, Any]) -> None:
    community = users["community"]
    by_department = figures(community, place_id=world.grid1.pk, department_id=world.department.pk)
    assert by_department.received == 1
    assert as_tuple(by_department) == {
        "response_rate": (1, 1),
        "resolution_rate": (1, 1),
        "satisfaction_rate": (0, 0),
        "on_time_rate": (1, 1),
        "rework_rate": (0, 1),
        "extension_rate": (0, 1),
    }
    assert by_department.rates["satisfaction_rate"].value is None
    assert by_department.rates["satisfaction_rate"].percent == "—"

    by_handler = figures(community, place_id=world.grid1.pk, handler_id=users["grid1"].pk)
    assert by_handler.received == 6  # A B C D E F
    assert as_tuple(by_handler)["response_rate"] == (5, 6)
    assert as_tuple(by_handler)["resolution_rate"] == (4, 6)


def test_department_staff_see_their_own_department_only(world: World, users: dict[str, Any]) -> None:
    dept = users["dept"]
    f = metrics_filter(dept, **MARCH)
    assert (f.department, f.department_pinned, f.place) == (world.department, True, None)
    m = case_metrics(dept, f, now=NOW)
    assert m.received == 1
    # A place narrows their department's figures; it never opens the place's as a whole.
    assert figures(dept, place_id=world.grid1.pk).received == 1
    other = Department.objects.exclude(pk=world.department.pk).filter(place=world.department.place).first()
    assert other is not None
    with pytest.raises(NotFound):
        metrics_filter(dept, department_id=other.pk, **MARCH)


def test_scope_refusals(world: World, users: dict[str, Any]) -> None:
    # Outside the actor's territory: 404, whatever their role.
    for who in ("grid2", "resident"):
        with pytest.raises(NotFound):
            metrics_filter(users[who], place_id=world.grid1.pk, **MARCH)
    with pytest.raises(NotFound):
        metrics_filter(users["community"], place_id=10**12, **MARCH)
    # Inside it but without the metrics capability: 403.
    with pytest.raises(PermissionDenied):
        metrics_filter(users["grid1"], place_id=world.grid1.pk, **MARCH)
    with pytest.raises(PermissionDenied):
        metrics_filter(users["resident"], **MARCH)
    # A filter built for someone else is refused, not counted.
    built = metrics_filter(users["community"], place_id=world.grid1.pk, **MARCH)
    with pytest.raises(PermissionDenied):
        case_metrics(users["grid2"], built)


def test_bad_periods(users: dict[str, Any]) -> None:
    community = users["community"]
    for start, end in (
        (date(2024, 3, 2), date(2024, 3, 1)),
        (date(2024, 3, 1), date(2024, 3, 1)),
        (date(1, 1, 1), date(2024, 3, 1)),
        (date(2020, 1, 1), date(2024, 3, 1)),
    ):
        with pytest.raises(ValidationError):
            metrics_filter(community, date_from=start, date_to=end)


def test_the_default_is_this_month_at_the_top_of_the_scope(users: dict[str, Any]) -> None:
    with time_machine.travel(local(2024, 2, 10, 12, 0), tick=False):
        f = metrics_filter(users["community"])
    assert (f.date_from, f.date_to) == (date(2024, 2, 1), date(2024, 3, 1))
    assert f.place is not None
    assert f.place.kind == "community"
    assert metrics_filter(users["admin"]).place is None


def test_the_figures_take_a_bounded_number_of_queries(
    world: World, users: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    community = users["community"]
    f = metrics_filter(community, place_id=world.grid1.pk, **MARCH)
    with django_assert_max_num_queries(5):
        case_metrics(community, f, now=NOW)


# --- the page, the export, the API ---------------------------------------------------------------


def _tiles(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([a-z_]+)">([^<]*)<', html))


def test_the_page_shows_each_rate_with_its_counts(world: World, page_client: Pages) -> None:
    response = page_client("community").get(f"/cases/metrics/?place_id={world.grid1.pk}&{MARCH_QUERY}")
    assert response.status_code == 200
    html = response.content.decode()
    assert _tiles(html) == {
        "received": "10",
        "response_rate": "85.7%",
        "resolution_rate": "62.5%",
        "satisfaction_rate": "75.0%",
        "on_time_rate": "50.0%",
        "rework_rate": "33.3%",
        "extension_rate": "10.0%",
        "avg_handling_hours": "164.8",
    }
    assert 'data-ratio="response_rate">6 / 7<' in html
    assert 'id="wg-metrics-data"' in html
    assert "vendor/echarts/echarts.min.js" in html
    export = (
        f"/cases/metrics/export/?date_from=2024-03-01&amp;date_to=2024-04-01&amp;place_id={world.grid1.pk}"
    )
    assert export in html


def test_the_page_answers_htmx_with_the_fragment(world: World, page_client: Pages) -> None:
    response = page_client("community").get(
        f"/cases/metrics/?place_id={world.grid1.pk}&{MARCH_QUERY}", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert _tiles(html)["response_rate"] == "85.7%"


def test_undefined_rates_show_a_dash(page_client: Pages) -> None:
    response = page_client("community").get("/cases/metrics/?date_from=2001-01-01&date_to=2001-02-01")
    assert response.status_code == 200
    tiles = _tiles(response.content.decode())
    assert tiles["received"] == "0"
    assert {tiles[name] for name in metrics.RATE_NAMES} == {"—"}
    assert tiles["avg_handling_hours"] == "—"


def test_the_page_refuses_outside_scope(world: World, page_client: Pages) -> None:
    place = f"place_id={world.grid1.pk}&{MARCH_QUERY}"
    for url in (f"/cases/metrics/?{place}", f"/cases/metrics/export/?{place}"):
        assert page_client("grid2").get(url).status_code == 404, url
        assert page_client("resident").get(url).status_code == 404, url
        assert page_client("grid1").get(url).status_code == 403, url
        body = page_client("grid2").get(url).content.decode()
        assert "85.7%" not in body
    assert page_client("resident").get("/cases/metrics/").status_code == 403
    bad_date = f"/cases/metrics/?place_id={world.grid1.pk}&date_from=2024-13-01"
    assert page_client("grid2").get(bad_date).status_code == 404
    assert page_client("community").get("/cases/metrics/?place_id=abc").status_code == 404
    assert Client().get("/cases/metrics/").status_code == 302  # to the sign-in page


def test_the_page_explains_a_bad_period(page_client: Pages) -> None:
    response = page_client("community").get("/cases/metrics/?date_from=2024-13-01")
    assert response.status_code == 400
    assert 'data-testid="metrics-error"' in response.content.decode()
    response = page_client("community").get("/cases/metrics/?date_from=2024-03-02&date_to=2024-03-01")
    assert response.status_code == 400
    export = page_client("community").get("/cases/metrics/export/?date_from=2024-03-02&date_to=2024-03-01")
    assert export.status_code == 400


def test_the_department_page_is_their_department(world: World, page_client: Pages) -> None:
    response = page_client("dept").get(f"/cases/metrics/?{MARCH_QUERY}")
    assert response.status_code == 200
    assert _tiles(response.content.decode())["received"] == "1"


def test_the_export_opens_and_holds_the_figures(world: World, page_client: Pages) -> None:
    response = page_client("community").get(f"/cases/metrics/export/?place_id={world.grid1.pk}&{MARCH_QUERY}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 5
    rates = book.worksheets[0]
    rows = {row[0]: row for row in rates.iter_rows(values_only=True) if row and row[0]}
    by_numbers = {(row[2], row[3]): row[4] for row in rows.values() if len(row) > 4 and row[2] is not None}
    assert by_numbers[(6, 7)] == pytest.approx(6 / 7)
    assert by_numbers[(5, 8)] == pytest.approx(5 / 8)
    assert by_numbers[(1, 10)] == pytest.approx(0.1)
    formulas = [row[1] for row in rates.iter_rows(values_only=True) if row and row[1] and "÷" in str(row[1])]
    assert len(formulas) == 6
    categories = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert (categories[0][0], categories[0][2]) == ("19", 7)
    days = list(book.worksheets[4].iter_rows(min_row=2, values_only=True))
    assert len(days) == 31
    assert days[0][1:] == (1, 0)


def test_the_api_returns_the_rates(world: World, api: Api) -> None:
    response = api("community").get(f"/api/v1/cases/metrics/?place_id={world.grid1.pk}&{MARCH_QUERY}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["received"] == 10
    assert body["rates"]["response_rate"] | {"label": "", "formula": ""} == {
        "name": "response_rate",
        "label": "",
        "numerator": 6,
        "denominator": 7,
        "value": pytest.approx(6 / 7),
        "formula": "",
    }
    assert body["rates"]["satisfaction_rate"]["numerator"] == 3
    assert body["place"] == {"id": world.grid1.pk, "name": world.grid1.name}
    assert len(body["daily"]) == 31
    empty = api("community").get("/api/v1/cases/metrics/?date_from=2001-01-01&date_to=2001-02-01").json()
    assert empty["rates"]["response_rate"]["value"] is None


def test_the_api_refuses_outside_scope(world: World, api: Api) -> None:
    url = f"/api/v1/cases/metrics/?place_id={world.grid1.pk}&{MARCH_QUERY}"
    assert api("grid2").get(url).status_code == 404
    assert api("resident").get(url).status_code == 404
    assert api("grid1").get(url).status_code == 403
    assert api("resident").get(f"/api/v1/cases/metrics/?{MARCH_QUERY}").status_code == 403
    other = Department.objects.exclude(pk=world.department.pk).filter(place=world.department.place).first()
    assert other is not None
    assert api("dept").get(f"{url}&department_id={other.pk}").status_code == 404
    assert api("dept").get(url).json()["received"] == 1
    assert api(None).get(url).status_code == 401
    bad = api("community").get("/api/v1/cases/metrics/?date_from=2024-03-02&date_to=2024-03-01")
    assert bad.status_code == 400
    # Scope comes first: out of scope is a 404 whatever the dates.
    backwards = f"/api/v1/cases/metrics/?place_id={world.grid1.pk}&date_from=2024-03-02&date_to=2024-03-01"
    assert api("grid2").get(backwards).status_code == 404
    assert api("community").get("/api/v1/cases/metrics/?date_from=nope").status_code == 422


def test_a_filter_knows_its_query() -> None:
    f = MetricsFilter(date_from=date(2024, 3, 1), date_to=date(2024, 4, 1))
    assert f.query() == {"date_from": "2024-03-01", "date_to": "2024-04-01"}
    assert f.start == local(2024, 3, 1)
    assert f.days == 31

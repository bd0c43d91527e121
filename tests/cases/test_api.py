"""The cases API: intake (idempotent), scope on every route, actions with versions, tracking."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.cases.helpers import building_in, grid_of, jpeg
from wangge.cases.models import Case, CaseEvent
from wangge.org.models import Department

pytestmark = pytest.mark.django_db

Api = Callable[[str | None], Client]


def post(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def file(api: Api, username: str = "resident", **extra: Any) -> dict[str, Any]:
    body = {
        "category": "1999",
        "description": "小区门口路灯不亮",
        "place_id": building_in(grid_of("grid1")).pk,
        **extra,
    }
    response = post(api(username), "/api/v1/cases/", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_the_same_intake_sent_three_times_makes_one_case(api: Api) -> None:
    client = api("resident")
    body = {"category": "1999", "description": "同一诉求", "place_id": building_in(grid_of("grid1")).pk}
    answers = [post(client, "/api/v1/cases/", body, **{"Idempotency-Key": "k-123"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert len({a.json()["number"] for a in answers}) == 1
    assert len({a.json()["tracking_code"] for a in answers}) == 1
    assert Case.objects.filter(description="同一诉求").count() == 1


def test_intake_with_a_photo_and_a_point(api: Api) -> None:
    grid1 = grid_of("grid1")
    photo = base64.b64encode(jpeg()).decode()
    made = file(api, photos=[f"data:image/jpeg;base64,{photo}"], place_id=None, lat=grid1.lat, lng=grid1.lng)
    case = Case.objects.get(number=made["number"])
    assert case.place_path.startswith(grid1.path)
    assert case.attachments.count() == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"category": "0000", "description": "x"}, "bad_category"),
        ({"category": "1999", "description": "x"}, "location_required"),
        ({"category": "1999", "description": "x", "lat": 1.0, "lng": 1.0}, "outside_area"),
        ({"category": "1999", "description": "x", "lat": 36.6}, "bad_point"),
        ({"category": "1999", "description": "x", "place_id": 1, "photos": ["%%%"]}, "photo_encoding"),
        ({"category": "1999", "description": "x", "place_id": 1, "photos": ["aGVsbG8="]}, "photo_unreadable"),
    ],
)
def test_bad_intakes_are_refused_with_a_reason(api: Api, body: dict[str, Any], code: str) -> None:
    if body.get("place_id") == 1:
        body["place_id"] = building_in(grid_of("grid1")).pk
    before = Case.objects.count()
    response = post(api("resident"), "/api/v1/cases/", body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert Case.objects.count() == before


def test_wrong_types_are_422(api: Api) -> None:
    response = post(api("resident"), "/api/v1/cases/", {"category": 1999, "description": "x"})
    assert response.status_code == 422
    response = post(
        api("resident"), "/api/v1/cases/", {"category": "1999", "description": "x", "lat": "north"}
    )
    assert response.status_code == 422


def test_a_resident_sees_only_their_own_requests_and_only_the_public_timeline(api: Api) -> None:
    made = file(api)
    other = file(api, "community", channel="walk_in", reporter_name="李大爷", reporter_phone="13600001111")
    mine = api("resident").get("/api/v1/cases/").json()
    numbers = {row["number"] for row in mine["items"]}
    assert made["number"] in numbers
    assert other["number"] not in numbers
    assert api("resident").get(f"/api/v1/cases/{other['number']}").status_code == 404
    detail = api("resident").get(f"/api/v1/cases/{made['number']}").json()
    assert detail["actions"] == []
    assert detail["reporters"] == []
    assert all(e["public"] and e["actor"] == "" for e in detail["timeline"])


def test_grid2_and_the_department_cannot_see_a_grid1_case(api: Api) -> None:
    made = file(api)
    number = made["number"]
    for username in ("grid2", "dept"):
        client = api(username)
        assert client.get(f"/api/v1/cases/{number}").status_code == 404
        assert post(client, f"/api/v1/cases/{number}/accept", {}).status_code == 404
        assert number not in {r["number"] for r in client.get("/api/v1/cases/").json()["items"]}
    assert api(None).get(f"/api/v1/cases/{number}").status_code == 401


def test_dispatch_accept_resolve_and_a_stale_version(api: Api) -> None:
    made = file(api)
    number = made["number"]
    community = api("community")
    queue = community.get("/api/v1/cases/queue").json()
    assert number in {r["number"] for r in queue["items"]}
    detail = community.get(f"/api/v1/cases/{number}").json()
    assert "dispatch" in detail["actions"]
    # Reporter phones reach staff masked or not at all, never raw in lists.
    sent = post(
        community,
        f"/api/v1/cases/{number}/dispatch",
        {"to": {"place_id": grid_of("grid1").pk}, "version": detail["version"]},
    )
    assert sent.status_code == 200, sent.content
    stale = post(
        community,
        f"/api/v1/cases/{number}/dispatch",
        {"to": {"place_id": grid_of("grid2").pk}, "version": detail["version"]},
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    grid1 = api("grid1")
    assert number in {r["number"] for r in grid1.get("/api/v1/cases/mine").json()["items"]}
    assert post(grid1, f"/api/v1/cases/{number}/accept", {}).status_code == 200
    assert post(grid1, f"/api/v1/cases/{number}/resolve", {"reply": ""}).status_code == 422
    resolved = post(grid1, f"/api/v1/cases/{number}/resolve", {"reply": "已修复"})
    assert resolved.status_code == 200
    assert resolved.json()["state"] == "resolved"
    assert post(api("community"), f"/api/v1/cases/{number}/rate", {"rating": "satisfied"}).status_code == 403
    rated = post(api("resident"), f"/api/v1/cases/{number}/rate", {"rating": "satisfied"})
    assert rated.status_code == 200
    assert rated.json()["state"] == "rated"


def test_a_whistle_opens_the_case_to_the_department(api: Api) -> None:
    made = file(api)
    dept = Department.objects.get(assignments__user__username="dept")
    response = post(
        api("community"),
        f"/api/v1/cases/{made['number']}/whistle",
        {"department_id": dept.pk, "kind": "tough", "note": "请住建局到场"},
    )
    assert response.status_code == 200, response.content
    assert api("dept").get(f"/api/v1/cases/{made['number']}").status_code == 200
    assert post(api("dept"), f"/api/v1/cases/{made['number']}/accept", {}).status_code == 200
    assert api("grid2").get(f"/api/v1/cases/{made['number']}").status_code == 404


def test_extensions_through_the_api(api: Api) -> None:
    made = file(api)
    number = made["number"]
    post(api("community"), f"/api/v1/cases/{number}/dispatch", {"to": {"place_id": grid_of("grid1").pk}})
    post(api("grid1"), f"/api/v1/cases/{number}/accept", {})
    asked = post(api("grid1"), f"/api/v1/cases/{number}/extensions", {"amount": 2, "reason": "等配件"})
    assert asked.status_code == 201
    ext_id = asked.json()["id"]
    assert (
        post(
            api("grid2"), f"/api/v1/cases/{number}/extensions/{ext_id}/decide", {"approve": True}
        ).status_code
        == 404
    )
    decided = post(api("community"), f"/api/v1/cases/{number}/extensions/{ext_id}/decide", {"approve": True})
    assert decided.status_code == 200
    assert decided.json()["status"] == "approved"


def test_tracking_by_code_shows_the_public_timeline_without_names(api: Api) -> None:
    made = file(api)
    code = made["tracking_code"]
    post(
        api("community"),
        f"/api/v1/cases/{made['number']}/dispatch",
        {"to": {"place_id": grid_of("grid1").pk}},
    )
    anonymous = Client()
    tracked = anonymous.get(f"/api/v1/cases/track/{code}")
    assert tracked.status_code == 200
    body = tracked.json()
    assert body["number"] == made["number"]
    assert all(e["actor"] == "" for e in body["timeline"])
    actions = [e["action"] for e in body["timeline"]]
    assert "receive" in actions
    assert "dispatch" not in actions
    assert anonymous.get("/api/v1/cases/track/NOTACODE0000").status_code == 404
    bad = post(anonymous, f"/api/v1/cases/track/{code}/rate", {"rating": "satisfied"})
    assert bad.status_code == 409


def test_photos_are_served_only_within_scope(api: Api) -> None:
    made = file(api, photos=[base64.b64encode(jpeg()).decode()])
    detail = api("community").get(f"/api/v1/cases/{made['number']}").json()
    url = detail["timeline"][0]["attachments"][0]["url"]
    assert api("community").get(url).status_code == 200
    assert api("grid2").get(url).status_code == 404
    assert api("dept").get(url).status_code == 404


def test_similar_open_cases_offer_me_too(api: Api) -> None:
    place = building_in(grid_of("grid1"))
    made = file(api, category="1701", place_id=place.pk)
    rows = api("resident").get(f"/api/v1/cases/similar?category=1701&place_id={place.pk}").json()
    assert made["number"] in {r["number"] for r in rows}
    joined = post(
        api("community"),
        "/api/v1/cases/",
        {
            "category": "1701",
            "description": "同样问题",
            "place_id": place.pk,
            "me_too_of": made["number"],
            "channel": "walk_in",
        },
    )
    assert joined.status_code == 201
    assert joined.json()["joined"] is True
    assert CaseEvent.objects.filter(case__number=made["number"], action="me_too").count() == 1

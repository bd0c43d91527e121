"""Household cards, houses, population statistics and the room chart, through the API."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.people.helpers import grid_of, house_places, house_record, household_with, make_id, staff
from wangge.core import clock
from wangge.core.models import AuditEvent
from wangge.core.roles import Role
from wangge.people import selectors, services
from wangge.people.models import CareGroup, House, Household, HouseUse, Resident
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")


@pytest.fixture
def family() -> tuple[Household, list[Resident]]:
    home = house_places(grid_of("grid1"), skip=5)[0]
    house_record(home)
    household, members = household_with(home, "孔老", "孔老伴")
    head = members[0]
    services.resident_update(actor=None, resident=head, health_notes="糖尿病")
    services.resident_set_phones(actor=None, resident=head, phones=["13511112222"])
    services.emergency_contact_add(
        actor=None, resident=head, name="孔子女", relation="女儿", phone="13533334444"
    )
    services.care_group_join(actor=None, resident=head, group=CareGroup.objects.get(code="elderly_alone"))
    services.care_group_join(
        actor=None, resident=head, group=CareGroup.objects.get(code="disabled"), grade="二级", notes="肢体"
    )
    return household, members


def test_the_card_shows_members_house_care_groups_contacts_and_who_is_responsible(
    family: tuple[Household, list[Resident]], api: Any
) -> None:
    household, (_head, _spouse) = family

    card = api("grid1").get(f"/api/v1/people/households/{household.pk}").json()

    assert [m["name"] for m in card["members"]] == ["孔老", "孔老伴"]
    first = card["members"][0]
    assert first["health_notes"] == "糖尿病"
    assert {g["code"] for g in first["care_groups"]} == {"elderly_alone", "disabled"}
    disabled = next(g for g in first["care_groups"] if g["code"] == "disabled")
    assert (disabled["grade"], disabled["notes"]) == ("二级", "肢体")
    assert first["emergency_contacts"] == [
        {
            "id": first["emergency_contacts"][0]["id"],
            "name": "孔子女",
            "relation": "女儿",
            "phone_masked": "135****4444",
        }
    ]
    assert first["phones"][0]["phone_masked"] == "135****2222"
    assert card["house"]["place_id"] == household.place_id
    assert card["sensitive_shown"] is True
    assert any(r["role"] == "grid_worker" for r in card["responsible"])
    assert household.place.name in card["address"]


def test_the_card_omits_sensitive_details_for_a_role_without_the_permission(
    family: tuple[Household, list[Resident]], api: Any
) -> None:
    household, _members = family
    staff("parttime-card", Role.GRID_WORKER_PART_TIME, grid_of("grid1"))

    response = api("parttime-card").get(f"/api/v1/people/households/{household.pk}")

    card = response.json()
    first = card["members"][0]
    assert response.status_code == 200
    assert card["sensitive_shown"] is False
    assert "health_notes" not in first, "omitted, not masked"
    assert [g["code"] for g in first["care_groups"]] == ["elderly_alone"], "the sensitive group is hidden"
    assert all("notes" not in g and "grade" not in g for g in first["care_groups"])
    text = response.content.decode()
    assert "糖尿病" not in text
    assert "肢体" not in text
    assert "disabled" not in text


def test_the_household_is_hidden_outside_scope_and_from_other_residents(
    family: tuple[Household, list[Resident]], api: Any
) -> None:
    household, _members = family

    for who in ("grid2", "dept", "resident"):
        response = api(who).get(f"/api/v1/people/households/{household.pk}")
        assert response.status_code == 404
        assert "孔老" not in response.content.decode()


def test_a_resident_sees_their_own_household(users: dict[str, Any], api: Any) -> None:
    own_home = grid_of("resident", role=Role.RESIDENT)
    me = Resident.objects.filter(user=users["resident"]).first()
    if me is None or me.household_id is None:
        _household, (me,) = household_with(own_home, "本人")
        Resident.objects.filter(user=users["resident"]).update(user=None)
        Resident.objects.filter(pk=me.pk).update(user=users["resident"])
    me.refresh_from_db()

    response = api("resident").get(f"/api/v1/people/households/{me.household_id}")
    listing = api("resident").get("/api/v1/people/households").json()

    assert response.status_code == 200
    assert me.pk in [m["id"] for m in response.json()["members"]]
    assert [h["id"] for h in listing["items"]] == [me.household_id]


def test_household_list_has_no_duplicates_and_a_fixed_number_of_queries(
    family: tuple[Household, list[Resident]], api: Any
) -> None:
    household, _members = family
    grid = grid_of("grid1")
    client = api("grid1")
    client.get("/api/v1/people/households", {"limit": 1})

    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/people/households", {"limit": 1, "place_id": grid.pk})
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/people/households", {"limit": 100, "place_id": grid.pk})

    ids = [h["id"] for h in response.json()["items"]]
    assert len(ids) == len(set(ids))
    assert len(many.captured_queries) == len(one.captured_queries)
    only = client.get("/api/v1/people/households", {"place_id": household.place_id}).json()["items"]
    assert household.pk in [h["id"] for h in only]
    assert next(h for h in only if h["id"] == household.pk)["member_count"] == 2


def test_creating_a_resident_over_the_api_is_idempotent_and_refuses_duplicates(api: Any) -> None:
    client = api("grid1")
    home = house_places(grid_of("grid1"), skip=6)[0]
    body = {"place_id": home.pk, "name": "接口甲", "id_number": make_id(date(1985, 4, 4), seq=41)}

    first = client.post(
        "/api/v1/people/residents", body, content_type="application/json", headers={"Idempotency-Key": "abc"}
    )
    again = client.post(
        "/api/v1/people/residents", body, content_type="application/json", headers={"Idempotency-Key": "abc"}
    )
    duplicate = client.post("/api/v1/people/residents", body, content_type="application/json")

    assert first.status_code == 201, first.content
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate_id_number"
    assert home.name not in duplicate.content.decode()
    assert first.json()["birth_date"] == "1985-04-04"
    assert "health_notes" in first.json()  # grid1 may see it (empty)
    assert Resident.objects.filter(name="接口甲").count() == 1


def test_patch_and_move_out_over_the_api(api: Any) -> None:
    client = api("grid1")
    home = house_places(grid_of("grid1"), skip=6)[0]
    made = client.post(
        "/api/v1/people/residents", {"place_id": home.pk, "name": "接口乙"}, content_type="application/json"
    ).json()
    url = f"/api/v1/people/residents/{made['id']}"

    patched = client.patch(
        url, {"birth_date": "1970-07-07", "registration": "floating"}, content_type="application/json"
    )
    moved = client.post(f"{url}/move-out", {"reason": "搬家"}, content_type="application/json")

    assert patched.status_code == 200
    assert (patched.json()["birth_date"], patched.json()["registration"]) == ("1970-07-07", "floating")
    assert moved.status_code == 200
    assert moved.json()["status"] == "moved_out"
    assert moved.json()["moved_out_reason"] == "搬家"


def test_house_detail_and_update(api: Any) -> None:
    home = house_places(grid_of("grid1"), skip=7)[0]
    house = house_record(home)
    client = api("grid1")
    use = "vacant" if house.use != "vacant" else "rented"

    response = client.patch(
        f"/api/v1/people/houses/{house.pk}",
        {"use": use, "area_m2": 72.5, "floor": 3},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["use"], body["area_m2"], body["floor"]) == (use, 72.5, 3)
    assert body["use_changed_on"] == clock.local_now().date().isoformat()
    assert client.get(f"/api/v1/people/houses/{house.pk}").json()["use"] == use
    assert (
        api("grid2")
        .patch(f"/api/v1/people/houses/{house.pk}", {"use": "rented"}, content_type="application/json")
        .status_code
        == 404
    )
    house.refresh_from_db()
    assert house.use == use


def test_population_stats_count_in_the_database_and_respect_scope(
    family: tuple[Household, list[Resident]], users: dict[str, Any], api: Any
) -> None:
    _household, (_head, _spouse) = family
    grid = grid_of("grid1")
    services.resident_move_out(actor=None, resident=_spouse, reason="搬走")

    stats = api("grid1").get("/api/v1/people/stats", {"place_id": grid.pk}).json()
    part_timer = staff("parttime-stats", Role.GRID_WORKER_PART_TIME, grid)
    limited = selectors.population_stats(part_timer, grid)
    direct = selectors.population_stats(users["grid1"], grid)

    in_grid = Resident.objects.filter(place__path__under=grid.path, status="active")
    assert stats["residents"] == in_grid.count()
    assert sum(r["count"] for r in stats["registration"]) == stats["residents"]
    assert sum(map(sum, stats["age_pyramid"].values())) + stats["unknown_age"] == stats["residents"]
    assert len(stats["age_bands"]) == len(stats["age_pyramid"]["male"]) == 21
    assert len(stats["months"]) == len(stats["moves_in"]) == len(stats["moves_out"]) == 12
    assert stats["moves_out"][-1] >= 1
    counts = {g["code"]: g["count"] for g in stats["care_groups"]}
    assert counts["elderly_alone"] >= 1
    assert counts["disabled"] >= 1
    assert "disabled" not in {g["code"] for g in limited["care_groups"]}
    assert limited["residents"] == direct["residents"]
    houses = House.objects.filter(place__path__under=grid.path)
    vacant = houses.filter(use=HouseUse.VACANT).count()
    assert stats["houses"] == houses.count()
    assert stats["vacancy_rate"] == (round(vacant / houses.count(), 4) if houses.count() else 0.0)
    assert api("grid1").get("/api/v1/people/stats", {"place_id": grid_of("grid2").pk}).status_code == 404


def test_population_stats_take_a_fixed_number_of_queries(users: dict[str, Any]) -> None:
    community = Place.objects.get(pk=grid_of("grid1").parent_id)
    selectors.population_stats(users["community"], community)

    with CaptureQueriesContext(connection) as queries:
        selectors.population_stats(users["community"], community)

    assert len(queries.captured_queries) <= 6


def test_the_room_chart_draws_units_by_floors_with_uses_households_and_markers(
    family: tuple[Household, list[Resident]], api: Any
) -> None:
    household, _members = family
    building = Place.objects.filter(path__in=household.place.ancestor_paths(), kind=PlaceKind.BUILDING).get()

    response = api("grid1").get(f"/api/v1/people/buildings/{building.pk}/room-chart")
    limited = staff("parttime-chart", Role.GRID_WORKER_PART_TIME, grid_of("grid1"))
    hidden = selectors.room_chart(limited, building)

    assert response.status_code == 200, response.content
    chart = response.json()
    cells = [c for u in chart["units"] for f in u["floors"] for c in f["cells"]]
    assert len(cells) == Place.objects.filter(path__under=building.path, kind=PlaceKind.HOUSE).count()
    ours = next(c for c in cells if c["place_id"] == household.place_id)
    assert ours["household_id"] is not None
    assert ours["residents"] >= 2
    assert ours["markers"]["elderly_alone"] is True
    assert ours["markers"]["disabled"] is True
    assert all(u["floors"] == sorted(u["floors"], key=lambda f: -f["floor"]) for u in chart["units"])
    hidden_cell = next(
        c
        for u in hidden["units"]
        for f in u["floors"]
        for c in f["cells"]
        if c["place_id"] == household.place_id
    )
    assert "disabled" not in hidden_cell["markers"]
    assert hidden_cell["markers"]["elderly_alone"] is True
    assert api("grid1").get(f"/api/v1/people/buildings/{household.place_id}/room-chart").status_code == 400


def test_the_room_chart_takes_a_fixed_number_of_queries(users: dict[str, Any]) -> None:
    buildings = list(
        Place.objects.filter(path__under=grid_of("grid1").path, kind=PlaceKind.BUILDING).order_by("path")[:2]
    )
    selectors.room_chart(users["grid1"], buildings[0])

    counts = []
    for building in buildings:
        with CaptureQueriesContext(connection) as queries:
            selectors.room_chart(users["grid1"], building)
        counts.append(len(queries.captured_queries))

    assert counts[0] == counts[-1] <= 8


def test_care_groups_list_hides_sensitive_groups_from_those_who_may_not_see_them(api: Any) -> None:
    staff("parttime-groups", Role.GRID_WORKER_PART_TIME, grid_of("grid1"))

    full = {g["code"] for g in api("grid1").get("/api/v1/people/care-groups").json()}
    limited = {g["code"] for g in api("parttime-groups").get("/api/v1/people/care-groups").json()}

    assert {"elderly_alone", "disabled"} <= full
    assert "elderly_alone" in limited
    assert "disabled" not in limited
    before = AuditEvent.objects.count()
    refused = api("community").post(
        "/api/v1/people/care-groups", {"code": "x1", "name": "测试"}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert AuditEvent.objects.count() == before

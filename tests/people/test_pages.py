"""The registry's pages through Django's test client: resident search, household card, house,
room chart (楼盘表) and population statistics.

A building of our own (two units, three floors, two doors a floor) sits in grid 1 and one
household in grid 2, both made through the services. Out-of-scope objects answer 404 and
leak nothing; roles without a capability get no reveal button and no sensitive details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.test import Client

from tests.people.helpers import grid_of, make_id
from wangge.core.models import AuditEvent, User
from wangge.core.pii import mask_id_number, mask_phone
from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.people import services
from wangge.people.models import CareGroup, House, Household, HouseUse, Resident
from wangge.places import services as place_services
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.django_db

PageClient = Callable[[str], Client]
ELDER_ID = make_id(date(1938, 5, 6), seq=71, male=False, region="990101")
ELDER_PHONE = "13912345678"
OTHER_NAME = "乙网格测试户主"


@dataclass(frozen=True)
class World:
    building: Place
    units: list[Place]
    houses: dict[str, Place]  # "1-0101" → house place
    elder: Resident
    elder_household: Household
    family: Household
    other_building: Place
    other_household: Household
    other: Resident


# The preset groups these tests use: code → (name, English name, sensitive, has a grade).
GROUPS = {
    "elderly_alone": ("独居老人", "Elderly living alone", False, False),
    "disabled": ("残疾人", "Disabled", True, True),
}


def group(code: str) -> CareGroup:
    name, name_en, sensitive, has_grade = GROUPS[code]
    found, _created = CareGroup.objects.get_or_create(
        code=code,
        defaults={"name": name, "name_en": name_en, "is_sensitive": sensitive, "has_grade": has_grade},
    )
    assert found.is_sensitive == sensitive
    return found


def building_in(
    grid: Place, name: str, *, units: int, floors: int, doors: int
) -> tuple[Place, list[Place], dict[str, Place]]:
    building = place_services.place_create(
        actor=None, kind=PlaceKind.BUILDING, name=name, parent=grid, segment="987"
    )
    unit_places = []
    houses = {}
    for u in range(1, units + 1):
        unit = place_services.place_create(
            actor=None,
            kind=PlaceKind.UNIT,
            name=f"{u}单元",
            parent=building,
            segment=f"{u:02d}",
            sort_order=u,
        )
        unit_places.append(unit)
        for floor in range(1, floors + 1):
            for door in range(1, doors + 1):
                key = f"{u}-{floor:02d}{door:02d}"
                houses[key] = place_services.place_create(
                    actor=None, kind=PlaceKind.HOUSE, name=key, parent=unit, segment=f"{floor:02d}{door:02d}"
                )
    return building, unit_places, houses


def household_at(place: Place, *people: tuple[str, dict[str, Any]]) -> tuple[Household, list[Resident]]:
    household = services.household_create(actor=None, place=place)
    members = []
    for index, (name, extra) in enumerate(people):
        members.append(
            services.resident_create(
                actor=None,
                place=place,
                name=name,
                household=household,
                relation_to_head="head" if index == 0 else extra.pop("relation", "child"),
                **extra,
            )
        )
    household.refresh_from_db()
    if household.head_id is None:
        services.household_set_head(actor=None, household=household, resident=members[0])
        household.refresh_from_db()
    return household, members


@pytest.fixture
def world(demo_db: None) -> World:
    grid1 = grid_of("grid1")
    building, units, houses = building_in(grid1, "测试楼", units=2, floors=3, doors=2)
    uses = {"1-0102": HouseUse.VACANT, "1-0201": HouseUse.RENTED, "1-0202": HouseUse.COMMERCIAL}
    for key, place in houses.items():
        if key == "2-0302":
            continue  # one house with no registry record
        services.house_create(
            actor=None, place=place, room_number=key.split("-")[1], use=uses.get(key, HouseUse.OWNER_OCCUPIED)
        )
    elder_household, (elder,) = household_at(
        houses["1-0101"],
        (
            "测试甲老",
            {
                "id_number": ELDER_ID,
                "phones": [ELDER_PHONE],
                "health_notes": "高血压测试备注",
                "registration": "registered",
            },
        ),
    )
    services.care_group_join(
        actor=None, resident=elder, group=group("elderly_alone"), start_on=date(2020, 1, 1)
    )
    services.care_group_join(
        actor=None, resident=elder, group=group("disabled"), grade="二级", start_on=date(2020, 1, 1)
    )
    services.emergency_contact_add(
        actor=None, resident=elder, name="测试女儿", relation="女儿", phone="13800001111"
    )
    family, _members = household_at(
        houses["1-0201"],
        ("测试租户", {"birth_date": date(1985, 3, 1), "gender": "male", "registration": "floating"}),
        ("测试租户妻", {"birth_date": date(1987, 3, 1), "gender": "female", "relation": "spouse"}),
    )
    other_building, _u, other_houses = building_in(grid_of("grid2"), "测试乙楼", units=1, floors=1, doors=1)
    house = other_houses["1-0101"]
    services.house_create(actor=None, place=house, room_number="101")
    other_household, (other,) = household_at(
        house, (OTHER_NAME, {"birth_date": date(1960, 2, 2), "phones": ["13700002222"]})
    )
    return World(
        building, units, houses, elder, elder_household, family, other_building, other_household, other
    )


def body(response: Any) -> str:
    return response.content.decode()


def card_url(household: Household) -> str:
    return f"/people/households/{household.pk}/"


def house_url(place: Place) -> str:
    return f"/people/buildings/houses/{House.objects.get(place=place).pk}/"


# --- sign-in and who may open what ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/people/", "/people/buildings/", "/people/stats/", "/people/households/1/", "/people/residents/1/"],
)
def test_pages_require_login(demo_db: None, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ["/people/", "/people/buildings/", "/people/stats/"])
def test_department_and_resident_get_no_lists(page_client: PageClient, path: str) -> None:
    for username in ("dept", "resident"):
        assert page_client(username).get(path).status_code == 403


def test_department_sees_none_of_the_registry(page_client: PageClient, world: World) -> None:
    client = page_client("dept")

    for path in (
        card_url(world.elder_household),
        f"/people/residents/{world.elder.pk}/",
        f"/people/buildings/{world.building.pk}/room-chart/",
        house_url(world.houses["1-0102"]),
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "测试甲老" not in body(response)


def test_staff_menu_has_the_registry_and_others_do_not(page_client: PageClient) -> None:
    staff_home = body(page_client("community").get("/"))
    dept_home = body(page_client("dept").get("/"))

    for url in ('href="/people/"', 'href="/people/buildings/"', 'href="/people/stats/"'):
        assert url in staff_home
        assert url not in dept_home


# --- scope: grid 1 does not reach grid 2 -------------------------------------------------------


def test_grid1_gets_404_for_grid2s_household_resident_house_and_room_chart(
    page_client: PageClient, world: World
) -> None:
    client = page_client("grid1")
    house = Household.objects.get(pk=world.other_household.pk).place

    for path in (
        card_url(world.other_household),
        f"/people/residents/{world.other.pk}/",
        f"/people/buildings/{world.other_building.pk}/room-chart/",
        house_url(house),
        f"/people/stats/?place_id={grid_of('grid2').pk}",
        f"/people/?place_id={grid_of('grid2').pk}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert OTHER_NAME not in body(response)
        assert "测试乙楼" not in body(response)


def test_grid1_cannot_reveal_grid2s_numbers_and_nothing_is_logged(
    page_client: PageClient, world: World
) -> None:
    client = page_client("grid1")
    before = AuditEvent.objects.count()

    response = client.post(f"/people/residents/{world.other.pk}/reveal/", {"field": "phone"})

    assert response.status_code == 404
    assert "13700002222" not in body(response)
    assert AuditEvent.objects.count() == before


def test_grid1_search_does_not_find_grid2s_residents(page_client: PageClient, world: World) -> None:
    response = page_client("grid1").get("/people/", {"q": OTHER_NAME})

    assert response.status_code == 200
    assert 'data-testid="resident-row"' not in body(response)
    assert f">{OTHER_NAME}<" not in body(response)


def test_community_opens_both_grids_cards(page_client: PageClient, world: World) -> None:
    client = page_client("community")

    mine = client.get(card_url(world.elder_household))
    other = client.get(card_url(world.other_household))

    assert mine.status_code == 200
    assert other.status_code == 200
    assert "测试甲老" in body(mine)
    assert OTHER_NAME in body(other)


def test_a_resident_opens_only_their_own_household(
    page_client: PageClient, world: World, users: dict[str, User]
) -> None:
    home = Assignment.objects.get(user=users["resident"], role=Role.RESIDENT, is_active=True).place
    own = Household.objects.filter(members__user=users["resident"]).first()
    if own is None:
        own, (me,) = household_at(home, ("测试本人", {"birth_date": date(1970, 1, 1)}))
        Resident.objects.filter(pk=me.pk).update(user=users["resident"])
    client = page_client("resident")

    mine = client.get(card_url(own))
    other = client.get(card_url(world.elder_household))

    assert mine.status_code == 200
    assert other.status_code == 404
    assert "测试甲老" not in body(other)
    assert 'data-testid="reveal"' not in body(mine)
    assert client.get(f"/people/buildings/{world.building.pk}/room-chart/").status_code == 404


# --- the list ----------------------------------------------------------------------------------


def test_list_is_chinese_and_masks_ids_and_phones(page_client: PageClient, world: World) -> None:
    response = page_client("community").get("/people/", {"q": "测试甲老"})

    assert response.status_code == 200
    text = body(response)
    assert '<html lang="zh-CN">' in text
    assert "测试甲老" in text
    assert mask_id_number(ELDER_ID) in text
    assert mask_phone(ELDER_PHONE) in text
    assert ELDER_ID not in text
    assert ELDER_PHONE not in text
    assert 'data-testid="reveal"' in text
    assert "独居老人" in text


@pytest.mark.parametrize("query", ["csjl", "ceshijialao", "ceshi", ELDER_ID, ELDER_PHONE, "139 1234 5678"])
def test_search_by_pinyin_initials_id_and_phone(page_client: PageClient, world: World, query: str) -> None:
    response = page_client("community").get("/people/", {"q": query})

    assert response.status_code == 200
    rows = re.findall(r'data-testid="resident-row"', body(response))
    assert rows
    assert "测试甲老" in body(response)


def test_filters_narrow_by_place_care_group_age_and_registration(
    page_client: PageClient, world: World
) -> None:
    client = page_client("community")
    unit = world.units[0]

    def names(**params: Any) -> str:
        return body(client.get("/people/", {"place_id": world.building.pk, **params}))

    everyone = names()
    assert "测试甲老" in everyone
    assert "测试租户" in everyone
    elderly = names(care_group="elderly_alone")
    assert "测试甲老" in elderly
    assert "测试租户" not in elderly
    old = names(age="80+")
    assert "测试甲老" in old
    assert "测试租户妻" not in old
    floating = names(registration="floating")
    assert "测试租户" in floating
    assert "测试甲老" not in floating
    assert "测试租户" in names(place_id=unit.pk, age="15-59")


def test_street_has_no_reveal_button_and_no_sensitive_groups(page_client: PageClient, world: World) -> None:
    response = page_client("street").get("/people/", {"q": "测试甲老"})

    text = body(response)
    assert response.status_code == 200
    assert "测试甲老" in text
    assert mask_id_number(ELDER_ID) in text
    assert 'data-testid="reveal"' not in text
    assert "独居老人" in text
    assert "残疾人" not in text
    assert 'value="disabled"' not in text  # nor offered as a filter


def test_list_query_count_is_bounded(
    page_client: PageClient, world: World, django_assert_max_num_queries: Any
) -> None:
    client = page_client("community")
    client.get("/")  # session and scope warm-up

    with django_assert_max_num_queries(16):
        response = client.get("/people/")

    assert response.status_code == 200
    assert len(re.findall(r'data-testid="resident-row"', body(response))) >= 3


# --- revealing ----------------------------------------------------------------------------------


def test_reveal_shows_the_number_and_writes_one_audit_row(page_client: PageClient, world: World) -> None:
    client = page_client("community")
    before = AuditEvent.objects.filter(action="pii.reveal").count()

    response = client.post(
        f"/people/residents/{world.elder.pk}/reveal/", {"field": "id_number"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert ELDER_ID in body(response)
    assert 'data-testid="revealed"' in body(response)
    assert AuditEvent.objects.filter(action="pii.reveal").count() == before + 1
    row = AuditEvent.objects.filter(action="pii.reveal").latest("pk")
    assert ELDER_ID not in json.dumps(row.changes)


def test_reveal_is_refused_without_the_capability(page_client: PageClient, world: World) -> None:
    client = page_client("street")

    response = client.post(
        f"/people/residents/{world.elder.pk}/reveal/", {"field": "phone"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 403
    assert ELDER_PHONE not in body(response)


def test_reveal_needs_post_and_a_known_field(page_client: PageClient, world: World) -> None:
    client = page_client("community")
    url = f"/people/residents/{world.elder.pk}/reveal/"

    assert client.get(url).status_code == 405
    bad = client.post(url, {"field": "health_notes"})
    assert bad.status_code == 400
    assert "高血压" not in body(bad)


# --- household card, resident, house -------------------------------------------------------------


def test_household_card_shows_members_house_contacts_and_who_is_responsible(
    page_client: PageClient, world: World
) -> None:
    response = page_client("community").get(card_url(world.elder_household))

    text = body(response)
    assert response.status_code == 200
    assert 'data-testid="household-card"' in text
    assert "测试甲老" in text
    assert "测试楼" in text
    assert "1单元" in text
    assert "独居老人" in text
    assert "残疾人" in text
    assert "二级" in text
    assert "高血压测试备注" in text
    assert "测试女儿" in text
    assert mask_phone("13800001111") in text
    assert "13800001111" not in text
    assert ELDER_ID not in text
    assert 'data-testid="responsible"' in text
    assert f"/people/buildings/{world.building.pk}/room-chart/" in text


def test_household_card_hides_sensitive_details_from_street(page_client: PageClient, world: World) -> None:
    response = page_client("street").get(card_url(world.elder_household))

    text = body(response)
    assert response.status_code == 200
    assert "独居老人" in text
    assert "残疾人" not in text
    assert "二级" not in text
    assert "高血压测试备注" not in text
    assert 'data-testid="reveal"' not in text


def test_resident_page_is_their_household_card_with_them_highlighted(
    page_client: PageClient, world: World
) -> None:
    response = page_client("grid1").get(f"/people/residents/{world.elder.pk}/")

    text = body(response)
    assert response.status_code == 200
    assert 'data-testid="household-card"' in text
    assert f'id="member-{world.elder.pk}"' in text
    assert "is-highlighted" in text


def test_vacant_house_shows_its_use_and_no_household(page_client: PageClient, world: World) -> None:
    response = page_client("grid1").get(house_url(world.houses["1-0102"]))

    text = body(response)
    assert response.status_code == 200
    assert 'data-testid="no-household"' in text
    assert "wg-use--vacant" in text
    assert 'data-testid="house-households"' not in text


def test_house_page_of_a_missing_house_is_404(page_client: PageClient, world: World) -> None:
    client = page_client("community")

    assert client.get("/people/buildings/houses/0/").status_code == 404
    assert client.get(f"/people/buildings/houses/{2**63}/").status_code == 404


# --- room chart ---------------------------------------------------------------------------------


def cells(text: str) -> list[dict[str, str]]:
    pattern = re.compile(
        r'<a class="wg-room wg-room--(?P<use>\w+)" href="(?P<href>[^"]+)" data-testid="room" '
        r'data-use="\w+" data-place-id="(?P<place>\d+)" data-markers="(?P<markers>[^"]*)"'
    )
    return [m.groupdict() for m in pattern.finditer(text)]


def test_room_chart_has_one_cell_per_house_coloured_by_use_top_floor_first(
    page_client: PageClient, world: World
) -> None:
    response = page_client("grid1").get(f"/people/buildings/{world.building.pk}/room-chart/")

    text = body(response)
    assert response.status_code == 200
    found = {c["place"]: c for c in cells(text)}
    assert len(found) == 12
    by_key = {key: found[str(place.pk)] for key, place in world.houses.items()}
    assert by_key["1-0102"]["use"] == "vacant"
    assert by_key["1-0102"]["href"] == house_url(world.houses["1-0102"])
    assert by_key["1-0201"]["use"] == "rented"
    assert by_key["1-0201"]["href"] == card_url(world.family)
    assert by_key["1-0202"]["use"] == "commercial"
    assert by_key["1-0101"]["use"] == "owner_occupied"
    assert by_key["1-0101"]["href"] == card_url(world.elder_household)
    assert by_key["2-0302"]["use"] == "unregistered"
    assert by_key["2-0302"]["href"] == f"/places/{world.houses['2-0302'].pk}/"
    assert by_key["1-0101"]["markers"].split() == ["elderly_alone", "disabled"]
    # The third floor comes before the first.
    assert text.index(f'data-place-id="{world.houses["1-0301"].pk}"') < text.index(
        f'data-place-id="{world.houses["1-0101"].pk}"'
    )
    assert text.count('class="wg-rc-unit"') == 2


def test_room_chart_has_no_sensitive_markers_for_street(page_client: PageClient, world: World) -> None:
    response = page_client("street").get(f"/people/buildings/{world.building.pk}/room-chart/")

    text = body(response)
    assert response.status_code == 200
    elder = next(c for c in cells(text) if c["place"] == str(world.houses["1-0101"].pk))
    assert elder["markers"].split() == ["elderly_alone"]
    assert "残疾人" not in text
    assert "disabled" not in text


def test_room_chart_is_only_for_buildings(page_client: PageClient, world: World) -> None:
    client = page_client("community")

    assert client.get(f"/people/buildings/{world.units[0].pk}/room-chart/").status_code == 404
    assert client.get("/people/buildings/0/room-chart/").status_code == 404


def test_room_chart_query_count_is_bounded(
    page_client: PageClient, world: World, django_assert_max_num_queries: Any
) -> None:
    client = page_client("community")
    client.get("/")

    with django_assert_max_num_queries(18):
        response = client.get(f"/people/buildings/{world.building.pk}/room-chart/")

    assert response.status_code == 200


def test_building_list_links_to_room_charts(page_client: PageClient, world: World) -> None:
    response = page_client("grid1").get("/people/buildings/", {"place_id": grid_of("grid1").pk})

    text = body(response)
    assert response.status_code == 200
    assert f"/people/buildings/{world.building.pk}/room-chart/" in text
    assert f"/people/buildings/{world.other_building.pk}/room-chart/" not in text


def test_place_browser_links_a_building_to_its_room_chart(page_client: PageClient, world: World) -> None:
    url = f"/places/{world.building.pk}/"
    chart = f"/people/buildings/{world.building.pk}/room-chart/"

    assert chart in body(page_client("grid1").get(url))
    dept = page_client("dept").get(url)
    assert chart not in body(dept)


# --- statistics ---------------------------------------------------------------------------------


def stats_data(text: str) -> dict[str, Any]:
    match = re.search(r'<script id="wg-stats-data" type="application/json">(.*?)</script>', text, re.S)
    assert match, "the statistics are embedded in the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_stats_embed_the_figures_for_the_place(page_client: PageClient, world: World) -> None:
    response = page_client("community").get("/people/stats/", {"place_id": world.building.pk})

    text = body(response)
    assert response.status_code == 200
    data = stats_data(text)
    assert data["residents"] == 3
    assert {r["key"]: r["count"] for r in data["registration"]}["floating"] == 1
    assert sum(data["age_pyramid"]["female"]) == 2
    assert {g["code"]: g["count"] for g in data["care_groups"]}["disabled"] == 1
    uses = {u["key"]: u["count"] for u in data["houses_by_use"]}
    assert uses["vacant"] == 1
    assert len(data["months"]) == 12
    for chart in ("registration", "pyramid", "care", "houses", "movement"):
        assert f'data-chart="{chart}"' in text
    assert "vendor/echarts/echarts.min.js" in text


def test_stats_leave_out_sensitive_groups_for_street(page_client: PageClient, world: World) -> None:
    response = page_client("street").get("/people/stats/", {"place_id": world.building.pk})

    data = stats_data(body(response))
    codes = {g["code"] for g in data["care_groups"]}
    assert "elderly_alone" in codes
    assert "disabled" not in codes


def test_stats_default_to_the_users_area(page_client: PageClient, world: World) -> None:
    response = page_client("grid1").get("/people/stats/")

    assert response.status_code == 200
    assert "第一网格" in body(response)

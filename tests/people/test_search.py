"""Finding people: name, pinyin, initials, exact ID and phone, filters, scope, query counts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.people.helpers import grid_of, house_places, make_id, resident
from wangge.core import clock
from wangge.people import selectors, services
from wangge.people.models import CareGroup, Resident
from wangge.places.models import Place

pytestmark = pytest.mark.usefixtures("demo_db")


@pytest.fixture
def home() -> Place:
    return house_places(grid_of("grid1"), skip=3)[0]


@pytest.fixture
def zhang_li(home: Place) -> tuple[Resident, Resident]:
    return resident(home, "张三"), resident(home, "李四")


def _names(client: Any, **params: Any) -> set[str]:
    response = client.get("/api/v1/people/residents", {"limit": 200, **params})
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["items"]}


@pytest.mark.parametrize("q", ["zs", "ZS", "zhangsan", "zhang", "张", "张三", "zhang san"])
def test_pinyin_initials_and_hanzi_find_zhang_san_and_not_li_si(
    zhang_li: tuple[Resident, Resident], home: Place, api: Any, q: str
) -> None:
    found = _names(api("grid1"), q=q, place_id=home.pk)

    assert "张三" in found
    assert "李四" not in found


def test_li_si_is_found_by_his_own_initials(
    zhang_li: tuple[Resident, Resident], home: Place, api: Any
) -> None:
    assert _names(api("grid1"), q="ls", place_id=home.pk) >= {"李四"}
    assert "张三" not in _names(api("grid1"), q="ls", place_id=home.pk)


def test_exact_id_and_phone_numbers_find_one_person(home: Place, api: Any) -> None:
    number = make_id(date(1966, 9, 9), seq=31)
    target = resident(home, "王五", id_number=number, phones=["13666666601"])
    resident(home, "王六", id_number=make_id(date(1966, 9, 9), seq=32), phones=["13666666602"])
    client = api("grid1")

    by_id = client.get("/api/v1/people/residents", {"q": number.lower()}).json()["items"]
    by_phone = client.get("/api/v1/people/residents", {"q": "136-6666-6601"}).json()["items"]
    by_prefix = client.get("/api/v1/people/residents", {"q": number[:10]}).json()["items"]

    assert [r["id"] for r in by_id] == [target.pk]
    assert [r["id"] for r in by_phone] == [target.pk]
    assert target.pk not in [r["id"] for r in by_prefix], "part of an ID number matches nothing"


def test_search_stays_inside_scope(home: Place, api: Any) -> None:
    number = make_id(date(1970, 1, 1), seq=33)
    theirs = resident(house_places(grid_of("grid2"))[0], "王二麻", id_number=number)

    assert _names(api("grid1"), q=number) == set()
    assert _names(api("grid2"), q=number) == {"王二麻"}
    assert _names(api("dept"), q="王二麻") == set()
    assert theirs.pk


def test_filters_by_place_care_group_age_registration_and_status(
    home: Place, users: dict[str, Any], api: Any
) -> None:
    today = clock.local_now().date()
    old = resident(home, "欧阳老", birth_date=date(today.year - 82, 1, 1), registration="registered")
    young = resident(home, "欧阳小", birth_date=date(today.year - 8, 1, 1), registration="floating")
    gone = resident(home, "欧阳迁", birth_date=date(today.year - 40, 1, 1))
    services.resident_move_out(actor=None, resident=gone)
    services.care_group_join(actor=None, resident=old, group=CareGroup.objects.get(code="elderly_alone"))
    client = api("grid1")
    base = {"q": "欧阳", "place_id": home.pk}

    assert _names(client, **base) == {"欧阳老", "欧阳小"}
    assert _names(client, **base, age_min=60) == {"欧阳老"}
    assert _names(client, **base, age_max=17) == {"欧阳小"}
    assert _names(client, **base, age_min=80, age_max=82) == {"欧阳老"}
    assert _names(client, **base, registration="floating") == {"欧阳小"}
    assert _names(client, **base, care_group="elderly_alone") == {"欧阳老"}
    assert _names(client, **base, status="moved_out") == {"欧阳迁"}
    assert _names(client, **base, status="all") == {"欧阳老", "欧阳小", "欧阳迁"}
    assert young.pk


def test_a_sensitive_care_group_filter_shows_nothing_to_those_who_may_not_see_it(
    home: Place, users: dict[str, Any]
) -> None:
    from tests.people.helpers import staff

    person = resident(home, "残联甲")
    services.care_group_join(
        actor=None, resident=person, group=CareGroup.objects.get(code="disabled"), grade="三级"
    )
    part_timer = staff("parttime-search", "grid_worker_part_time", grid_of("grid1"))
    group = CareGroup.objects.get(code="disabled")

    allowed = selectors.resident_filter(users["grid1"], q="残联甲", care_group=group)
    refused = selectors.resident_filter(part_timer, q="残联甲", care_group=group)
    row = selectors.resident_search(part_timer, q="残联甲").items[0]

    assert [r.pk for r in allowed] == [person.pk]
    assert list(refused) == []
    assert row.visible_care_groups == []  # type: ignore[attr-defined]


def test_bad_filters_are_client_errors(home: Place, api: Any) -> None:
    client = api("grid1")

    assert client.get("/api/v1/people/residents", {"age_min": 70, "age_max": 60}).status_code == 400
    assert client.get("/api/v1/people/residents", {"care_group": "no_such"}).status_code == 404
    assert client.get("/api/v1/people/residents", {"place_id": grid_of("grid2").pk}).status_code == 404


def test_a_resident_sees_only_their_own_record(home: Place, users: dict[str, Any], api: Any) -> None:
    own_home = grid_of("resident", role="resident")
    me = Resident.objects.filter(user=users["resident"]).first() or resident(
        own_home, "我自己", user=users["resident"]
    )
    neighbour = resident(own_home, "邻居")
    client = api("resident")

    listing = client.get("/api/v1/people/residents", {"limit": 200}).json()

    assert [r["id"] for r in listing["items"]] == [me.pk]
    assert client.get(f"/api/v1/people/residents/{me.pk}").status_code == 200
    assert client.get(f"/api/v1/people/residents/{neighbour.pk}").status_code == 404


def test_the_list_takes_a_fixed_number_of_queries(home: Place, api: Any) -> None:
    client = api("grid1")
    people = [resident(home, f"查询{i}", phones=[f"1350000{i:04d}"]) for i in range(3)]
    for p in people:
        services.care_group_join(actor=None, resident=p, group=CareGroup.objects.get(code="veteran"))
    client.get("/api/v1/people/residents", {"q": "查询", "limit": 1})  # warm the token and session

    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/people/residents", {"q": "查询", "limit": 1})
    for i in range(3, 25):
        services.care_group_join(
            actor=None,
            resident=resident(home, f"查询{i}", phones=[f"1350000{i:04d}"]),
            group=CareGroup.objects.get(code="veteran"),
        )
    with CaptureQueriesContext(connection) as large:
        response = client.get("/api/v1/people/residents", {"q": "查询", "limit": 50})

    assert len(response.json()["items"]) == 25
    assert all(r["care_groups"] == ["veteran"] for r in response.json()["items"])
    assert len(large.captured_queries) == len(small.captured_queries)

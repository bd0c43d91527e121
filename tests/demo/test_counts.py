"""The demo territory holds exactly the figures of the seed articles."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db.models import Q

from tests.demo.helpers import DONGHU, LESHAN, place, under
from wangge.core.models import AuditEvent, User
from wangge.core.pii import blind_index
from wangge.org.models import Assignment, CoBuildingUnit, Department, PartyOrganization, PropertyCompany
from wangge.places.models import Place

pytestmark = pytest.mark.usefixtures("demo_db")
DEMO_PLACES = Q(path__under="370103.") | Q(path__under="370902.")


def roles_under(code: str) -> Counter[str]:
    return Counter(
        Assignment.objects.filter(place__path__under=place(code).path).values_list("role", flat=True)
    )


def test_territory_above_the_communities() -> None:
    assert place("370103").name == "济南市市中区"
    assert place("370103003").name == "杆石桥街道"
    assert place(LESHAN).name == "乐山小区社区"
    assert place("370902").name == "泰安市泰山区"
    assert place("370902001").name == "财源街道"
    assert place(DONGHU).name == "东湖社区"
    assert place(LESHAN).stat_code == "370103003001"


def test_leshan_counts() -> None:
    assert len(under(LESHAN, "grid")) == 6
    assert len(under(LESHAN, "micro_grid")) == 35
    assert len(under(LESHAN, "building")) == 59
    assert len(under(LESHAN, "house")) == 3040
    assert [g.name for g in under(LESHAN, "grid")] == [
        "第一网格",
        "第二网格",
        "第三网格",
        "第四网格",
        "第五网格",
        "第六网格",
    ]
    assert sorted(
        int(re.fullmatch(r"乐山小区(\d+)号院", c.name)[1]) for c in under(LESHAN, "micro_grid")
    ) == list(range(1, 36))


def test_leshan_buildings_have_units_and_realistic_floors() -> None:
    for building in under(LESHAN, "building"):
        assert building.parent is not None
        assert building.parent.kind == "micro_grid"
        units = list(building.children.all())
        assert 2 <= len(units) <= 4
        assert {u.kind for u in units} == {"unit"}
        rooms = Place.objects.filter(parent__in=units).values_list("name", flat=True)
        floors = {int(re.fullmatch(r"\d-(\d\d)(\d\d)", r)[1]) for r in rooms}
        assert min(floors) == 1
        assert 6 <= max(floors) <= 18
    house = Place.objects.get(code=under(LESHAN, "building")[0].code + "010302")
    assert house.kind == "house"
    assert house.name == "1-0302"


def test_leshan_people() -> None:
    roles = roles_under(LESHAN)
    assert roles["grid_leader"] == 6
    assert roles["grid_worker"] == 6
    assert 6 <= roles["grid_worker_part_time"] <= 12
    assert roles["courtyard_leader"] == 35
    assert roles["party_secretary"] == 1
    assert roles["community_staff"] == 1
    for grid in under(LESHAN, "grid"):
        held = Counter(grid.assignments.values_list("role", flat=True))
        assert held["grid_leader"] == 1
        assert held["grid_worker"] == 1
        assert 1 <= held["grid_worker_part_time"] <= 2
    for yard in under(LESHAN, "micro_grid"):
        assert list(yard.assignments.values_list("role", flat=True)) == ["courtyard_leader"]
    assert Assignment.objects.get(place__code="370103003", role="street_staff").user.username == "street"


def test_leshan_party_organisation() -> None:
    orgs = PartyOrganization.objects.filter(place__path__under=place(LESHAN).path)
    levels = Counter(orgs.values_list("level", flat=True))
    assert levels["committee"] == 1
    assert levels["branch"] == 6
    assert levels["group"] == 35
    assert levels["household"] >= 10
    assert sum(orgs.values_list("member_count", flat=True)) == 312
    committee = orgs.get(level="committee")
    assert committee.name == "乐山小区社区党委"
    assert committee.place.code == LESHAN
    assert committee.secretary is not None
    assert Assignment.objects.filter(user=committee.secretary, role="party_secretary").exists()
    for branch in orgs.filter(level="branch"):
        assert branch.parent_id == committee.pk
        assert branch.place.kind == "grid"
    for group in orgs.filter(level="group").select_related("parent", "place"):
        assert group.place.kind == "micro_grid"
        assert group.parent is not None
        assert group.parent.place_id == group.place.parent_id
    for household in orgs.filter(level="household").select_related("parent", "place"):
        assert household.place.kind == "house"
        assert household.parent is not None
        assert household.place.path.startswith(household.parent.place.path)


def test_donghu_counts() -> None:
    assert len(under(DONGHU, "grid")) == 6
    assert under(DONGHU, "micro_grid") == []
    buildings = under(DONGHU, "building")
    assert len(buildings) == 42
    assert {b.parent.kind for b in buildings if b.parent} == {"grid"}
    assert len(under(DONGHU, "house")) == 2100
    roles = roles_under(DONGHU)
    assert roles["building_leader"] == 42
    assert roles["grid_worker"] + roles["grid_worker_part_time"] == 24
    assert roles["grid_worker"] == 6
    for building in buildings:
        assert list(building.assignments.values_list("role", flat=True)) == ["building_leader"]
        # Each building leader looks after about 50 households.
        assert 30 <= Place.objects.filter(path__under=building.path, kind="house").count() <= 70
    orgs = PartyOrganization.objects.filter(place__path__under=place(DONGHU).path)
    assert Counter(orgs.values_list("level", flat=True)) == {"committee": 1, "branch": 6, "group": 42}
    assert {o.place.kind for o in orgs.filter(level="group")} == {"building"}


def test_departments_companies_and_units() -> None:
    housing = Department.objects.get(name="市中区住房和城乡建设局")
    assert housing.place.code == "370103"
    assert {"property", "water_power_gas_heating"} <= set(housing.responsibilities)
    assert housing.duty_phone.startswith("0531-")
    assert Department.objects.filter(place__code="370103").count() >= 4
    assert all(d.responsibilities for d in Department.objects.all())

    leshan_buildings = {b.pk for b in under(LESHAN, "building")}
    companies = list(PropertyCompany.objects.filter(place__code=LESHAN))
    assert len(companies) == 2
    managed = [set(c.managed_places.values_list("pk", flat=True)) for c in companies]
    assert managed[0] | managed[1] == leshan_buildings
    assert not managed[0] & managed[1]
    assert all(len(c.credit_code) == 18 for c in companies)

    kinds = Counter(CoBuildingUnit.objects.filter(place__code=LESHAN).values_list("kind", flat=True))
    assert kinds["merchant"] >= 3
    assert sum(kinds.values()) - kinds["merchant"] >= 3


def test_staff_phones_are_encrypted_and_indexed() -> None:
    staff = list(User.objects.exclude(phone_hash=""))
    assert len(staff) > 100
    assert len({u.phone for u in staff}) == len(staff)
    for user in staff:
        assert re.fullmatch(r"1\d{10}", user.phone)
        assert user.phone_hash == blind_index("phone", user.phone)
    some = staff[0]
    assert User.objects.get(phone_hash=blind_index("phone", some.phone)) == some


def test_one_summary_audit_row_per_bulk_write() -> None:
    places_row = AuditEvent.objects.get(action="place.bulk_created", object_label="demo")
    assert places_row.actor is None
    assert places_row.actor_label == "system"
    assert places_row.changes["count"] == Place.objects.filter(DEMO_PLACES).count()
    assert places_row.changes["by_kind"]["house"] == 5140
    org_row = AuditEvent.objects.get(action="org.bulk_created", object_label="demo")
    assert org_row.changes["party_members"] == sum(
        PartyOrganization.objects.filter(place__in=Place.objects.filter(DEMO_PLACES)).values_list(
            "member_count", flat=True
        )
    )

"""The registry's write services: validation, derived fields, duplicates, idempotency, audit."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.people.helpers import grid_of, house_places, house_record, household_with, make_id, resident
from wangge.core import clock
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import AuditEvent, IdempotencyRecord
from wangge.core.pii import blind_index
from wangge.people import services
from wangge.people.models import (
    CareGroup,
    CareGroupMembership,
    HouseUse,
    Resident,
    ResidentMove,
    ResidentPhone,
    ResidentStatus,
)

pytestmark = pytest.mark.usefixtures("demo_db")


def _audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.values_list("changes", flat=True)), ensure_ascii=False)


def test_create_derives_birth_date_gender_and_search_keys_from_the_id(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    number = make_id(date(1948, 5, 17), seq=11, male=False)

    made = services.resident_create(
        actor=users["grid1"], place=home, name="王秀英", id_number=number, phones=["138 0013 8000"]
    )

    made.refresh_from_db()
    assert made.birth_date == date(1948, 5, 17)
    assert made.gender == "female"
    assert (made.name_pinyin, made.name_initials) == ("wangxiuying", "wxy")
    assert made.id_hash == blind_index("id_number", number)
    assert [p.phone for p in made.phones.all()] == ["13800138000"]
    row = AuditEvent.objects.filter(action="resident.created", object_id=str(made.pk)).get()
    assert row.actor == users["grid1"]
    assert number not in _audit_text()
    assert "13800138000" not in _audit_text()


def test_an_invalid_id_number_is_refused_and_nothing_is_written(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    good = make_id(date(1980, 1, 2), seq=12)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = (Resident.objects.count(), AuditEvent.objects.count())

    with pytest.raises(ValidationError) as caught:
        services.resident_create(actor=users["grid1"], place=home, name="赵六", id_number=bad)

    assert caught.value.code == "id_check_digit"
    assert (Resident.objects.count(), AuditEvent.objects.count()) == before


def test_a_duplicate_id_number_is_refused_without_saying_where_the_other_record_is(
    users: dict[str, Any],
) -> None:
    number = make_id(date(1975, 3, 3), seq=13)
    other_home = house_places(grid_of("grid2"))[0]
    resident(other_home, "钱七", id_number=number)
    home = house_places(grid_of("grid1"))[0]
    before = Resident.objects.count()

    with pytest.raises(Conflict) as caught:
        services.resident_create(actor=users["grid1"], place=home, name="钱七", id_number=number.lower())

    assert caught.value.status == 409
    assert other_home.name not in caught.value.message
    assert Resident.objects.count() == before


def test_a_retried_create_with_the_same_key_returns_the_first_resident(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]

    first = services.resident_create(actor=users["grid1"], place=home, name="孙八", idempotency_key="k-1")
    again = services.resident_create(actor=users["grid1"], place=home, name="孙八", idempotency_key="k-1")
    other = services.resident_create(actor=users["grid1"], place=home, name="孙八", idempotency_key="k-2")

    assert again.pk == first.pk
    assert other.pk != first.pk
    assert Resident.objects.filter(name="孙八", place=home).count() == 2
    assert IdempotencyRecord.objects.filter(key="k-1").values_list("object_id", flat=True).get() == str(
        first.pk
    )


def test_people_outside_the_actors_grid_cannot_be_registered_or_edited(users: dict[str, Any]) -> None:
    home2 = house_places(grid_of("grid2"))[0]
    theirs = resident(home2, "周九")
    before = (Resident.objects.count(), AuditEvent.objects.count())

    with pytest.raises(NotFound):
        services.resident_create(actor=users["grid1"], place=home2, name="越权")
    with pytest.raises(NotFound):
        services.resident_update(actor=users["grid1"], resident=theirs, name="改名")
    with pytest.raises(PermissionDenied):  # a department sees the territory, not the people
        services.resident_create(actor=users["dept"], place=home2, name="越权")

    theirs.refresh_from_db()
    assert theirs.name == "周九"
    assert (Resident.objects.count(), AuditEvent.objects.count()) == before


def test_update_keeps_the_id_number_authoritative_for_birth_date(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    person = resident(home, "吴十", id_number=make_id(date(1990, 6, 1), seq=14))

    with pytest.raises(ValidationError):
        services.resident_update(actor=users["grid1"], resident=person, birth_date=date(1991, 6, 1))
    services.resident_update(actor=users["grid1"], resident=person, name="吴拾", ethnicity="03")

    person.refresh_from_db()
    assert (person.name, person.name_pinyin, person.ethnicity) == ("吴拾", "wushi", "03")
    changes = AuditEvent.objects.filter(action="resident.updated", object_id=str(person.pk)).get().changes
    assert changes["name"] == ["吴十", "吴拾"]


def test_changing_the_id_number_is_audited_without_either_number(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    old, new = make_id(date(1960, 2, 2), seq=15), make_id(date(1960, 2, 2), seq=16)
    person = resident(home, "郑一", id_number=old)

    services.resident_update(actor=users["grid1"], resident=person, id_number=new)

    person.refresh_from_db()
    assert person.id_number == new
    assert old not in _audit_text()
    assert new not in _audit_text()


def test_move_out_records_a_move_and_ends_care_groups(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    person = resident(home, "冯二", moved_in_on=date(2020, 1, 1))
    services.care_group_join(
        actor=users["grid1"],
        resident=person,
        group=CareGroup.objects.get(code="veteran"),
        start_on=date(2021, 1, 1),
    )

    services.resident_move_out(actor=users["grid1"], resident=person, on=date(2024, 3, 1), reason="工作调动")

    person.refresh_from_db()
    assert person.status == ResidentStatus.MOVED_OUT
    assert person.moved_out_on == date(2024, 3, 1)
    assert list(ResidentMove.objects.filter(resident=person).values_list("kind", "on")) == [
        ("in", date(2020, 1, 1)),
        ("out", date(2024, 3, 1)),
    ]
    assert CareGroupMembership.objects.get(resident=person).end_on == date(2024, 3, 1)
    with pytest.raises(Conflict):
        services.resident_move_out(actor=users["grid1"], resident=person)


def test_phones_are_replaced_and_validated(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    person = resident(home, "陈三", phones=["13900000001"])

    with pytest.raises(ValidationError):
        services.resident_set_phones(actor=users["grid1"], resident=person, phones=["12345"])
    services.resident_set_phones(
        actor=users["grid1"],
        resident=person,
        phones=[services.PhoneInput("0531-86001234", "家"), "13900000002"],
    )

    rows = list(ResidentPhone.objects.filter(resident=person).order_by("-is_primary", "pk"))
    assert [(r.phone, r.is_primary, r.label) for r in rows] == [
        ("053186001234", True, "家"),
        ("13900000002", False, ""),
    ]
    assert rows[0].phone_hash == blind_index("phone", "053186001234")


def test_emergency_contacts_and_consents(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    person = resident(home, "褚四")

    contact = services.emergency_contact_add(
        actor=users["grid1"], resident=person, name="褚小四", relation="儿子", phone="13700000003"
    )
    consent = services.consent_record(
        actor=users["grid1"], resident=person, purpose="网格服务", channel="paper"
    )
    services.consent_withdraw(actor=users["grid1"], resident=person, consent_id=consent.pk)
    services.emergency_contact_remove(actor=users["grid1"], resident=person, contact_id=contact.pk)

    consent.refresh_from_db()
    assert consent.withdrawn_on is not None
    assert consent.recorded_by == users["grid1"]
    assert not person.emergency_contacts.exists()
    with pytest.raises(NotFound):
        services.emergency_contact_remove(actor=users["grid1"], resident=person, contact_id=contact.pk)
    assert "13700000003" not in _audit_text()


def test_care_group_grades_only_for_graded_groups_and_sensitive_groups_need_permission(
    users: dict[str, Any],
) -> None:
    grid1 = grid_of("grid1")
    home = house_places(grid1)[0]
    person = resident(home, "卫五")
    from tests.people.helpers import staff

    part_timer = staff("parttime-cg", "grid_worker_part_time", grid1)

    with pytest.raises(ValidationError):
        services.care_group_join(
            actor=users["grid1"], resident=person, group=CareGroup.objects.get(code="veteran"), grade="1"
        )
    with pytest.raises(PermissionDenied):
        services.care_group_join(
            actor=part_timer, resident=person, group=CareGroup.objects.get(code="disabled")
        )
    made = services.care_group_join(
        actor=users["grid1"], resident=person, group=CareGroup.objects.get(code="disabled"), grade="二级"
    )
    with pytest.raises(Conflict):
        services.care_group_join(
            actor=users["grid1"], resident=person, group=CareGroup.objects.get(code="disabled")
        )
    with pytest.raises(NotFound):  # a sensitive membership is invisible to the part-timer
        services.care_group_leave(actor=part_timer, resident=person, membership_id=made.pk)

    assert made.grade == "二级"
    assert CareGroupMembership.objects.filter(resident=person).count() == 1


def test_the_preset_care_groups_exist() -> None:
    groups = {g.code: g for g in CareGroup.objects.all()}

    assert {
        "elderly_alone",
        "solitary_elderly",
        "disabled",
        "veteran",
        "party_member",
        "low_income",
        "left_behind_child",
        "serious_illness",
        "special_attention",
    } <= set(groups)
    assert groups["elderly_alone"].name == "独居老人"
    assert groups["disabled"].has_grade
    assert groups["disabled"].is_sensitive
    assert {c for c, g in groups.items() if g.is_sensitive} >= {
        "disabled",
        "low_income",
        "serious_illness",
        "special_attention",
    }


def test_only_administrators_configure_care_groups(users: dict[str, Any]) -> None:
    count = CareGroup.objects.count()

    with pytest.raises(PermissionDenied):
        services.care_group_create(actor=users["community"], code="pregnant", name="孕产妇")
    made = services.care_group_create(
        actor=users["admin"], code="pregnant", name="孕产妇", visit_every_days=30
    )
    services.care_group_update(actor=users["admin"], group=made, is_active=False)

    made.refresh_from_db()
    assert CareGroup.objects.count() == count + 1
    assert not made.is_active
    with pytest.raises(Conflict):
        services.care_group_create(actor=users["admin"], code="pregnant", name="孕产妇")


def test_household_members_and_head(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    household, (head, spouse) = household_with(home, "蒋六", "沈七")
    lodger = resident(home, "韩八")

    services.household_add_member(
        actor=users["grid1"], household=household, resident=lodger, relation="other"
    )
    services.household_set_head(actor=users["grid1"], household=household, resident=spouse)

    household.refresh_from_db()
    head.refresh_from_db()
    spouse.refresh_from_db()
    assert household.head_id == spouse.pk
    assert spouse.relation_to_head == "head"
    assert head.relation_to_head == "other"
    assert set(household.members.values_list("name", flat=True)) == {"蒋六", "沈七", "韩八"}
    other = services.household_create(actor=users["grid1"], place=home)
    with pytest.raises(ValidationError):
        services.household_set_head(actor=users["grid1"], household=other, resident=head)


def test_a_change_of_use_dates_itself(users: dict[str, Any]) -> None:
    home = house_places(grid_of("grid1"))[0]
    house = house_record(home)
    owner = resident(home, "杨九")
    use = HouseUse.VACANT if house.use != HouseUse.VACANT else HouseUse.RENTED

    services.house_update(actor=users["grid1"], house=house, area_m2=Decimal("88.50"), owner=owner)
    services.house_update(actor=users["grid1"], house=house, use=use)

    house.refresh_from_db()
    assert house.use == use
    assert house.use_changed_on == clock.local_now().date()
    assert house.area_m2 == Decimal("88.50")
    assert house.owner == owner
    assert AuditEvent.objects.filter(action="house.updated", object_id=str(house.pk)).count() == 2

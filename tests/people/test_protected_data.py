"""Protected personal data: ciphertext at rest, masks in answers, audited reveals.

The raw-column test reads the database with plain SQL, whichever database the suite runs on
(CI runs it on SQLite and on PostgreSQL).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.db import connection

from tests.people.helpers import grid_of, house_places, make_id, resident, staff
from wangge.core.errors import NotFound, PermissionDenied
from wangge.core.models import AuditEvent
from wangge.core.roles import Role
from wangge.people import services
from wangge.people.models import Resident

pytestmark = pytest.mark.usefixtures("demo_db")

PHONE = "13912345678"
CONTACT_PHONE = "13887654321"


def _raw(sql: str, params: list[Any]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _reveals(person: Resident) -> list[tuple[str, str, dict[str, Any]]]:
    rows = AuditEvent.objects.filter(action="pii.reveal", object_id=str(person.pk)).order_by("pk")
    return [(r.actor_label, r.result, r.changes) for r in rows]


@pytest.fixture
def person(users: dict[str, Any]) -> Resident:
    home = house_places(grid_of("grid1"))[0]
    made = resident(
        home,
        "张保密",
        id_number=make_id(date(1952, 8, 8), seq=21),
        phones=[PHONE],
        health_notes="高血压，需定期随访",
    )
    services.emergency_contact_add(
        actor=None, resident=made, name="张小", relation="女儿", phone=CONTACT_PHONE
    )
    return made


def test_the_raw_columns_hold_ciphertext_not_the_plaintext(person: Resident) -> None:
    number = person.id_number
    assert Resident._meta.db_table == "people_resident"

    id_cells = _raw("SELECT id_number FROM people_resident WHERE id = %s", [person.pk])
    health_cells = _raw("SELECT health_notes FROM people_resident WHERE id = %s", [person.pk])
    phone_cells = _raw("SELECT phone FROM people_residentphone WHERE resident_id = %s", [person.pk])
    contact_cells = _raw("SELECT phone FROM people_emergencycontact WHERE resident_id = %s", [person.pk])

    assert len(id_cells) == len(phone_cells) == len(contact_cells) == 1
    for cell, plain in (
        (id_cells[0], number),
        (phone_cells[0], PHONE),
        (contact_cells[0], CONTACT_PHONE),
        (health_cells[0], "高血压"),
    ):
        assert cell.startswith("k"), "a key id heads every ciphertext"
        assert plain not in cell
        assert plain[-4:] not in cell.split(":", 1)[0]
    # The search columns hold keyed hashes, never digits of the number.
    hashes = _raw("SELECT id_hash FROM people_resident WHERE id = %s", [person.pk])
    assert number not in hashes[0]
    assert len(hashes[0]) == 64


def test_no_table_holds_the_plaintext_anywhere(person: Resident, users: dict[str, Any]) -> None:
    services.resident_update(actor=users["grid1"], resident=person, name="张保密甲")
    services.resident_reveal(actor=users["grid1"], resident=person, field="id_number")
    audit_text = json.dumps(list(AuditEvent.objects.values("changes", "object_label")), ensure_ascii=False)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM people_resident WHERE id_number LIKE %s OR name_pinyin LIKE %s",
            [f"%{person.id_number[-6:]}%", f"%{person.id_number[-6:]}%"],
        )
        assert cursor.fetchone()[0] == 0
    assert person.id_number not in audit_text
    assert PHONE not in audit_text
    assert CONTACT_PHONE not in audit_text


def test_reveal_with_permission_returns_the_value_and_writes_exactly_one_audit_row(
    person: Resident, users: dict[str, Any]
) -> None:
    before = AuditEvent.objects.count()

    value = services.resident_reveal(actor=users["grid1"], resident=person, field="id_number")

    assert value == person.id_number
    assert AuditEvent.objects.count() == before + 1
    assert _reveals(person) == [("grid1", "ok", {"field": "id_number"})]


def test_reveal_of_phones_names_the_field_and_never_the_value(
    person: Resident, users: dict[str, Any]
) -> None:
    phone = services.resident_reveal(actor=users["community"], resident=person, field="phone")
    contact = services.resident_reveal(actor=users["community"], resident=person, field="emergency_phone")

    assert (phone, contact) == (PHONE, CONTACT_PHONE)
    assert _reveals(person) == [
        ("community", "ok", {"field": "phone"}),
        ("community", "ok", {"field": "emergency_phone"}),
    ]


@pytest.mark.parametrize("who", ["resident", "part_timer"])
def test_reveal_without_the_permission_is_refused_and_only_the_refusal_is_recorded(
    person: Resident, users: dict[str, Any], who: str
) -> None:
    if who == "resident":
        # The demo resident's own record: they see it, but may not unmask it either.
        Resident.objects.filter(user=users["resident"]).update(user=None)
        Resident.objects.filter(pk=person.pk).update(user=users["resident"])
        person.refresh_from_db()
        actor = users["resident"]
    else:
        actor = staff("parttime-reveal", Role.GRID_WORKER_PART_TIME, grid_of("grid1"))
    before = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        services.resident_reveal(actor=actor, resident=person, field="id_number")

    assert AuditEvent.objects.count() == before + 1
    assert [(r, c) for _a, r, c in _reveals(person)] == [("denied", {"field": "id_number"})]


@pytest.mark.parametrize("who", ["dept", "grid2"])
def test_reveal_outside_scope_is_not_found_and_leaves_no_row(
    person: Resident, users: dict[str, Any], who: str
) -> None:
    before = AuditEvent.objects.count()

    with pytest.raises(NotFound):
        services.resident_reveal(actor=users[who], resident=person, field="id_number")

    assert AuditEvent.objects.count() == before


def test_reveal_over_the_api(person: Resident, api: Any) -> None:
    grid1, grid2, dept, owner = api("grid1"), api("grid2"), api("dept"), api("resident")
    url = f"/api/v1/people/residents/{person.pk}/reveal"

    ok = grid1.post(url, {"field": "id_number"}, content_type="application/json")
    outside = grid2.post(url, {"field": "id_number"}, content_type="application/json")
    department = dept.post(url, {"field": "phone"}, content_type="application/json")
    resident_self = owner.post(url, {"field": "phone"}, content_type="application/json")

    assert ok.status_code == 200
    assert ok.json() == {"field": "id_number", "value": person.id_number}
    assert outside.status_code == 404
    assert person.name not in outside.content.decode()
    assert department.status_code == 404
    assert resident_self.status_code == 404  # not their record: the demo resident is not this person
    assert [(a, r) for a, r, _c in _reveals(person)] == [("grid1", "ok")]


def test_lists_and_details_show_identifiers_masked(person: Resident, api: Any) -> None:
    client = api("grid1")

    listing = client.get("/api/v1/people/residents", {"q": person.id_number})
    detail = client.get(f"/api/v1/people/residents/{person.pk}")
    phones = client.get(f"/api/v1/people/residents/{person.pk}/phones")

    body = listing.content.decode() + detail.content.decode() + phones.content.decode()
    assert listing.json()["items"][0]["id"] == person.pk
    assert (
        listing.json()["items"][0]["id_number_masked"]
        == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    )
    assert listing.json()["items"][0]["phone_masked"] == "139****5678"
    assert detail.json()["emergency_contacts"][0]["phone_masked"] == "138****4321"
    assert person.id_number not in body
    assert PHONE not in body
    assert CONTACT_PHONE not in body

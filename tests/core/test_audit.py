"""The audit log: one row per write, with who, what and from where; and it is append-only,
in the model and in the database itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from wangge.core import audit
from wangge.core.errors import NotFound, PermissionDenied
from wangge.core.models import AuditEvent, User
from wangge.core.roles import Role
from wangge.org import services as org_services
from wangge.org.models import Assignment
from wangge.places import services as place_services
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")


def _place_of(username: str, role: str) -> Place:
    assignment = Assignment.objects.select_related("place").filter(user__username=username, role=role).first()
    assert assignment is not None
    return assignment.place


@contextmanager
def new_events() -> Iterator[list[AuditEvent]]:
    """The audit events written inside the block, oldest first."""
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    found: list[AuditEvent] = []
    yield found
    found.extend(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))


def test_creating_a_place_writes_one_audit_event(users: dict[str, User]) -> None:
    community = _place_of("community", Role.COMMUNITY_STAFF)

    with new_events() as events:
        place = place_services.place_create(
            actor=users["community"], parent=community, kind=PlaceKind.GRID, name="第九网格"
        )

    assert len(events) == 1
    event = events[0]
    assert event.actor == users["community"]
    assert event.actor_label == "community"
    assert event.action == "place.created"
    assert event.object_type == "places.place"
    assert event.object_id == str(place.pk)
    assert event.place_path == place.path
    assert event.changes["name"] == "第九网格"
    assert event.result == AuditEvent.Result.OK


def test_updating_a_place_records_what_changed(users: dict[str, User]) -> None:
    community = _place_of("community", Role.COMMUNITY_STAFF)
    old_name = community.name

    with new_events() as events:
        place_services.place_update(actor=users["community"], place=community, name="乐山新社区")

    assert len(events) == 1
    assert events[0].action == "place.updated"
    assert events[0].changes["name"] == [old_name, "乐山新社区"]


def test_a_refused_write_writes_nothing(users: dict[str, User]) -> None:
    grid2 = _place_of("grid2", Role.GRID_WORKER)

    with new_events() as events:
        with pytest.raises(NotFound):
            place_services.place_create(actor=users["grid1"], parent=grid2, kind=PlaceKind.BUILDING, name="x")
        own_grid = _place_of("grid1", Role.GRID_WORKER)
        with pytest.raises(PermissionDenied):
            place_services.place_create(
                actor=users["grid1"], parent=own_grid, kind=PlaceKind.BUILDING, name="x"
            )

    assert events == []
    assert not Place.objects.filter(name="x").exists()


def test_staff_assignments_are_audited(users: dict[str, User]) -> None:
    grid1 = _place_of("grid1", Role.GRID_WORKER)
    newcomer = User.objects.create_user(username="newcomer", password="Lantern-river-2048")

    with new_events() as events:
        assignment = org_services.assignment_create(
            actor=users["community"], user=newcomer, role=Role.GRID_WORKER_PART_TIME, place=grid1
        )
        org_services.assignment_end(actor=users["community"], assignment=assignment)

    assert [e.action for e in events] == ["assignment.created", "assignment.ended"]
    assert {e.actor_id for e in events} == {users["community"].pk}
    assert {e.object_id for e in events} == {str(assignment.pk)}
    assert events[0].changes == {"role": Role.GRID_WORKER_PART_TIME, "user": "newcomer"}


def test_a_write_through_the_api_records_the_callers_address(
    api: Callable[[str | None], Client], users: dict[str, User]
) -> None:
    community = _place_of("community", Role.COMMUNITY_STAFF)
    client = api("community")

    with new_events() as events:
        response = client.post(
            "/api/v1/places/",
            {"parent_id": community.pk, "kind": PlaceKind.GRID, "name": "第十网格"},
            content_type="application/json",
            REMOTE_ADDR="10.20.30.40",
            HTTP_USER_AGENT="wangge-field-app/1.0",
            HTTP_X_REQUEST_ID="req-audit-1",
        )

    assert response.status_code == 201
    assert len(events) == 1
    assert events[0].actor == users["community"]
    assert events[0].action == "place.created"
    assert events[0].ip == "10.20.30.40"
    assert events[0].user_agent == "wangge-field-app/1.0"
    assert events[0].request_id == "req-audit-1"


def test_a_write_outside_a_request_has_no_address(users: dict[str, User]) -> None:
    event = audit.record(actor=users["admin"], action="test.nothing")

    assert event.ip is None
    assert event.request_id == ""


def test_the_model_refuses_to_change_or_delete_an_event(users: dict[str, User]) -> None:
    event = audit.record(actor=users["admin"], action="test.original")

    event.action = "test.forged"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()

    assert AuditEvent.objects.get(pk=event.pk).action == "test.original"


def _refused(sql: str, params: list[Any]) -> bool:
    """Run raw SQL in a savepoint; True when the database refuses it as append-only."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return "append-only" in str(exc)
    return False


def test_the_database_refuses_raw_updates_and_deletes(users: dict[str, User]) -> None:
    event = audit.record(actor=users["admin"], action="test.original")

    assert _refused("UPDATE core_auditevent SET action = %s WHERE id = %s", ["test.forged", event.pk])
    assert _refused("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert _refused("UPDATE core_auditevent SET actor_label = %s", ["nobody"])

    row = AuditEvent.objects.get(pk=event.pk)
    assert row.action == "test.original"
    assert row.actor_label == "admin"


def test_queryset_updates_and_deletes_are_refused_too(users: dict[str, User]) -> None:
    event = audit.record(actor=users["admin"], action="test.original")

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="test.forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.get(pk=event.pk).action == "test.original"


def test_postgres_lets_only_the_retention_job_delete(users: dict[str, User]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the retention switch is a PostgreSQL setting")
    event = audit.record(actor=users["admin"], action="test.expired")

    assert _refused("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL wangge.audit_retention = 'on'")
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
        # Even the retention job may not rewrite history.
        with pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute("UPDATE core_auditevent SET action = 'x'")

    assert not AuditEvent.objects.filter(pk=event.pk).exists()

"""Admin screens for organisations and assignments: through the services, audited, superusers only."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from wangge.core.models import AuditEvent, User
from wangge.core.roles import Role
from wangge.org.models import Assignment, Department
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")


@pytest.fixture
def site() -> Client:
    root = User.objects.create_user(
        username="org-root", password="not-used-1", is_superuser=True, is_staff=True
    )
    client = Client()
    client.force_login(root)
    return client


def grid(name: str = "第三网格") -> Place:
    return Place.objects.get(kind=PlaceKind.GRID, name=name, path__startswith="370103.")


def test_adding_an_assignment_goes_through_the_service(site: Client, users: dict[str, User]) -> None:
    target = grid()
    person = users["grid2"]

    response = site.post(
        "/admin/org/assignment/add/",
        {
            "user": person.pk,
            "role": Role.GRID_LEADER,
            "place": target.pk,
            "title": "网格长",
            "start_date": "",
        },
    )

    assert response.status_code == 302
    made = Assignment.objects.get(user=person, role=Role.GRID_LEADER, place=target)
    assert (made.is_active, made.title) == (True, "网格长")
    assert AuditEvent.objects.filter(
        action="assignment.created", object_id=str(made.pk), actor__username="org-root"
    ).exists()


def test_a_duplicate_assignment_is_a_form_error_not_a_crash(site: Client, users: dict[str, User]) -> None:
    existing = Assignment.objects.get(user=users["grid1"], role=Role.GRID_WORKER)
    count = Assignment.objects.count()

    response = site.post(
        "/admin/org/assignment/add/",
        {"user": existing.user_id, "role": existing.role, "place": existing.place_id, "title": ""},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Assignment.objects.count() == count


def test_department_staff_need_a_department(site: Client, users: dict[str, User]) -> None:
    count = Assignment.objects.count()

    response = site.post(
        "/admin/org/assignment/add/",
        {"user": users["grid2"].pk, "role": Role.DEPARTMENT_STAFF, "place": grid().pk, "title": ""},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Assignment.objects.count() == count


def test_ending_assignments_keeps_them_and_audits(site: Client, users: dict[str, User]) -> None:
    assignment = Assignment.objects.get(user=users["grid2"], role=Role.GRID_WORKER)

    response = site.post(
        "/admin/org/assignment/", {"action": "end_assignments", "_selected_action": [assignment.pk]}
    )

    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.is_active is False
    assert assignment.end_date is not None
    assert AuditEvent.objects.filter(action="assignment.ended", object_id=str(assignment.pk)).exists()


def test_assignments_cannot_be_deleted_or_moved(site: Client, users: dict[str, User]) -> None:
    assignment = Assignment.objects.get(user=users["grid1"], role=Role.GRID_WORKER)
    original_place = assignment.place_id
    other = grid()

    delete = site.post(f"/admin/org/assignment/{assignment.pk}/delete/", {"post": "yes"})
    site.post(
        f"/admin/org/assignment/{assignment.pk}/change/",
        {"title": "专职网格员", "place": other.pk, "role": Role.STREET_STAFF},
    )

    assert delete.status_code == 403
    assignment.refresh_from_db()
    assert (assignment.place_id, assignment.role, assignment.title) == (
        original_place,
        Role.GRID_WORKER,
        "专职网格员",
    )
    assert original_place != other.pk
    assert AuditEvent.objects.filter(action="assignment.retitled", object_id=str(assignment.pk)).exists()


def test_departments_list_their_duty_phone_masked_and_edits_are_audited(site: Client) -> None:
    department = Department.objects.filter(place__code="370103").order_by("name").first()
    assert department is not None
    Department.objects.filter(pk=department.pk).update(duty_phone="")
    department.refresh_from_db()

    response = site.post(
        f"/admin/org/department/{department.pk}/change/",
        {
            "name": department.name,
            "short_name": "改",
            "place": department.place_id,
            "duty_phone": "053112345678",
            "responsibilities": json.dumps(department.responsibilities),
            # The form sends the initial value of a field with a callable default, as a browser does.
            "initial-responsibilities": json.dumps(department.responsibilities),
            "is_active": "on",
        },
    )
    listing = site.get("/admin/org/department/", {"q": department.name}).content.decode()

    assert response.status_code == 302
    department.refresh_from_db()
    assert (department.short_name, department.duty_phone) == ("改", "053112345678")
    assert "053*****5678" in listing
    assert "053112345678" not in listing
    event = AuditEvent.objects.get(action="admin.org_department.changed", object_id=str(department.pk))
    assert event.changes == {"fields": ["short_name", "duty_phone"]}


def test_a_grid_worker_with_staff_status_is_kept_out(users: dict[str, User]) -> None:
    User.objects.filter(pk=users["grid1"].pk).update(is_staff=True)
    client = Client()
    client.force_login(User.objects.get(pk=users["grid1"].pk))

    for url in ("/admin/org/assignment/", "/admin/org/department/", "/admin/org/assignment/add/"):
        assert client.get(url).status_code == 403, url

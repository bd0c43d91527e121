"""The bulk services behave like their one-at-a-time counterparts: same codes, same checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from tests.demo.helpers import DONGHU, LESHAN, place
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import AuditEvent, User
from wangge.core.scope import scope_for
from wangge.org.bulk import (
    AssignmentSpec,
    DepartmentSpec,
    PartyOrganizationSpec,
    UserSpec,
    org_bulk_create,
)
from wangge.org.models import Assignment, Department, PartyOrganization
from wangge.places.bulk import PlaceSpec, places_bulk_create
from wangge.places.geo import rectangle
from wangge.places.models import LocatorState, Place
from wangge.places.services import next_segment, place_create

pytestmark = pytest.mark.usefixtures("demo_db")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Match refusals by their English text, whatever the default language."""
    with translation.override("en"):
        yield


def locator_version() -> int:
    return LocatorState.objects.get(pk=1).version


def test_segments_codes_and_paths_match_place_create() -> None:
    grid = place(LESHAN + "001")
    expected_segment = next_segment(grid, "micro_grid")
    version = locator_version()
    created = places_bulk_create(
        actor=None,
        specs=[
            PlaceSpec(
                key="yard",
                kind="micro_grid",
                name="新建庭院",
                parent=grid,
                boundary=rectangle(117, 36, 117.001, 36.001),
            ),
            PlaceSpec(key="b1", kind="building", name="甲楼", parent="yard"),
            PlaceSpec(key="b2", kind="building", name="乙楼", parent="yard", segment="007"),
            PlaceSpec(key="b3", kind="building", name="丙楼", parent="yard"),
            PlaceSpec(key="h", kind="house", name="101", parent="b1"),
        ],
        label="test",
    )
    yard = created["yard"]
    assert yard.segment == expected_segment
    assert (yard.code, yard.path, yard.depth) == (
        grid.code + expected_segment,
        grid.path + expected_segment + ".",
        4,
    )
    # Given segments are kept; missing ones take the next number after every one in use.
    assert [created[k].segment for k in ("b1", "b2", "b3")] == ["008", "007", "009"]
    assert created["h"].code == created["b1"].code + "0001"
    assert created["h"].depth == 7
    assert locator_version() == version + 1
    # The next place made one at a time continues the same numbering.
    single = place_create(actor=None, kind="building", name="丁楼", parent=yard)
    assert single.segment == "010"
    row = AuditEvent.objects.get(action="place.bulk_created", object_label="test")
    assert row.changes["count"] == 5
    assert row.changes["by_kind"] == {"micro_grid": 1, "building": 3, "house": 1}
    assert row.place_path == yard.path


def test_no_boundary_no_locator_bump() -> None:
    version = locator_version()
    places_bulk_create(
        actor=None, specs=[PlaceSpec(key="b", kind="building", name="楼", parent=place(DONGHU + "001"))]
    )
    assert locator_version() == version


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([PlaceSpec(key="h", kind="house", name="1-0101", parent="GRID")], "cannot sit under"),
        ([PlaceSpec(key="x", kind="village", name="村", parent="GRID")], "Unknown place kind"),
        ([PlaceSpec(key="b", kind="building", name="  ", parent="GRID")], "needs a name"),
        ([PlaceSpec(key="b", kind="building", name="楼", parent="GRID", segment="12")], "3 digits"),
        ([PlaceSpec(key="b", kind="building", name="楼", parent="nope")], "Unknown parent key"),
        ([PlaceSpec(key="s", kind="street", name="街道")], "needs a parent"),
        ([PlaceSpec(key="b", kind="building", name="楼", parent="GRID", grid_type="school")], "Only grids"),
        ([PlaceSpec(key="b", kind="building", name="楼", parent="GRID", lat=36.6)], "both latitude"),
        ([PlaceSpec(key="b", kind="building", name="楼", parent="GRID", lat=95.0, lng=117.0)], "±90"),
        (
            [
                PlaceSpec(key="b", kind="building", name="楼", parent="GRID"),
                PlaceSpec(key="b", kind="building", name="楼", parent="GRID"),
            ],
            "twice",
        ),
        (
            [
                PlaceSpec(key="a", kind="building", name="楼", parent="GRID", segment="901"),
                PlaceSpec(key="b", kind="building", name="楼", parent="GRID", segment="901"),
            ],
            "twice under one parent",
        ),
        (
            [
                PlaceSpec(
                    key="b",
                    kind="building",
                    name="楼",
                    parent="GRID",
                    boundary={"type": "Point", "coordinates": [1, 2]},
                )
            ],
            "Polygon",
        ),
    ],
)
def test_bad_batches_are_refused_whole(specs: list[PlaceSpec], message: str) -> None:
    grid = place(DONGHU + "002")
    specs = [dataclasses.replace(s, parent=grid) if s.parent == "GRID" else s for s in specs]
    before = Place.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError, match=message):
        places_bulk_create(
            actor=None, specs=[PlaceSpec(key="ok", kind="building", name="好楼", parent=grid), *specs]
        )
    assert (Place.objects.count(), AuditEvent.objects.count()) == before


def test_a_taken_segment_is_a_conflict() -> None:
    grid = place(DONGHU + "001")
    taken = grid.children.first()
    assert taken is not None
    before = Place.objects.count()
    with pytest.raises(Conflict):
        places_bulk_create(
            actor=None,
            specs=[
                PlaceSpec(key="new", kind="building", name="新楼", parent=grid),
                PlaceSpec(key="dup", kind="building", name="重号楼", parent=grid, segment=taken.segment),
            ],
        )
    assert Place.objects.count() == before


def test_actors_need_scope_and_the_capability(users: dict[str, Any]) -> None:
    leshan_grid = place(LESHAN + "003")
    donghu_grid = place(DONGHU + "003")
    before = Place.objects.count()
    with pytest.raises(PermissionDenied):
        places_bulk_create(
            actor=users["grid1"],
            specs=[PlaceSpec(key="b", kind="building", name="楼", parent=place(LESHAN + "001"))],
        )
    with pytest.raises(NotFound):
        places_bulk_create(
            actor=users["community"],
            specs=[PlaceSpec(key="b", kind="building", name="楼", parent=donghu_grid)],
        )
    with pytest.raises(PermissionDenied):
        places_bulk_create(
            actor=users["community"], specs=[PlaceSpec(key="c", kind="county", name="县", segment="999999")]
        )
    assert Place.objects.count() == before

    created = places_bulk_create(
        actor=users["community"], specs=[PlaceSpec(key="b", kind="building", name="楼", parent=leshan_grid)]
    )
    row = AuditEvent.objects.filter(action="place.bulk_created").latest("pk")
    assert row.actor == users["community"]
    assert row.place_path == created["b"].path


def test_org_bulk_creates_staff_assignments_and_party_in_one_go() -> None:
    grid = place(DONGHU + "004")
    committee = PartyOrganization.objects.get(name="东湖社区党委")
    result = org_bulk_create(
        actor=None,
        users=[UserSpec(username="new-worker", display_name="王新", phone="13800001111")],
        departments=[
            DepartmentSpec(
                key="d", name="泰山区民政局", place=place("370902"), responsibilities=("elderly_care",)
            )
        ],
        assignments=[
            AssignmentSpec(user="new-worker", role="grid_worker_part_time", place=grid, title="兼职网格员"),
            AssignmentSpec(user="new-worker", role="department_staff", place=place("370902"), department="d"),
        ],
        party_organizations=[
            PartyOrganizationSpec(
                key="b", level="branch", name="新支部", place=grid, parent=committee, secretary="new-worker"
            ),
            PartyOrganizationSpec(
                key="g", level="group", name="新小组", place=grid, parent="b", member_count=9
            ),
        ],
        label="org-test",
    )
    user = User.objects.get(username="new-worker")
    assert user.phone == "13800001111"
    assert not user.has_usable_password()
    assert sorted(Assignment.objects.filter(user=user).values_list("role", flat=True)) == [
        "department_staff",
        "grid_worker_part_time",
    ]
    assert Assignment.objects.get(user=user, role="department_staff").department == Department.objects.get(
        name="泰山区民政局"
    )
    group = PartyOrganization.objects.get(name="新小组")
    assert group.parent == result.party_organizations["b"]
    assert group.parent.parent == committee
    assert result.party_organizations["b"].secretary == user
    assert scope_for(user).territorial_paths == (grid.path,)
    row = AuditEvent.objects.get(action="org.bulk_created", object_label="org-test")
    assert row.changes["users"] == 1
    assert row.changes["assignments"] == 2
    assert row.changes["party_members"] == 9
    assert row.changes["by_role"] == {"department_staff": 1, "grid_worker_part_time": 1}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"users": [UserSpec(username="grid1")]}, Conflict, "already taken"),
        ({"users": [UserSpec(username="x"), UserSpec(username="x")]}, ValidationError, "twice"),
        (
            {
                "users": [UserSpec(username="x")],
                "assignments": [AssignmentSpec(user="x", role="department_staff", place="P")],
            },
            ValidationError,
            "need a department",
        ),
        (
            {
                "users": [UserSpec(username="x")],
                "assignments": [AssignmentSpec(user="x", role="property_staff", place="P")],
            },
            ValidationError,
            "need a company",
        ),
        (
            {
                "users": [UserSpec(username="x")],
                "assignments": [AssignmentSpec(user="x", role="mayor", place="P")],
            },
            ValidationError,
            "Unknown role",
        ),
        (
            {"assignments": [AssignmentSpec(user="ghost", role="grid_worker", place="P")]},
            ValidationError,
            "Unknown user",
        ),
        (
            {
                "party_organizations": [
                    PartyOrganizationSpec(key="h", level="household", name="户", place="P")
                ]
            },
            ValidationError,
            "cannot sit under",
        ),
        (
            {
                "party_organizations": [
                    PartyOrganizationSpec(key="c", level="committee", name="委", place="P", member_count=-1)
                ]
            },
            ValidationError,
            "negative",
        ),
    ],
)
def test_org_bulk_refuses_bad_batches_whole(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    grid = place(LESHAN + "004")
    for key in ("assignments", "party_organizations"):
        kwargs[key] = [dataclasses.replace(s, place=grid) for s in kwargs.get(key, [])]
    before = User.objects.count(), Assignment.objects.count(), PartyOrganization.objects.count()
    with pytest.raises(error, match=message):
        org_bulk_create(
            actor=None, users=[UserSpec(username="fine-user"), *kwargs.pop("users", [])], **kwargs
        )
    assert (User.objects.count(), Assignment.objects.count(), PartyOrganization.objects.count()) == before


def test_org_bulk_checks_the_actor(users: dict[str, Any]) -> None:
    grid = place(LESHAN + "001")
    with pytest.raises(PermissionDenied):
        org_bulk_create(
            actor=users["grid1"],
            users=[UserSpec(username="helper")],
            assignments=[AssignmentSpec(user="helper", role="grid_worker_part_time", place=grid)],
        )
    with pytest.raises(NotFound):
        org_bulk_create(
            actor=users["community"],
            users=[UserSpec(username="helper")],
            assignments=[
                AssignmentSpec(user="helper", role="grid_worker_part_time", place=place(DONGHU + "001"))
            ],
        )
    with pytest.raises(PermissionDenied, match="superuser"):
        org_bulk_create(actor=users["community"], users=[UserSpec(username="boss", is_superuser=True)])
    assert not User.objects.filter(username__in=["helper", "boss"]).exists()

    org_bulk_create(
        actor=users["community"],
        users=[UserSpec(username="helper")],
        assignments=[AssignmentSpec(user="helper", role="grid_worker_part_time", place=grid)],
    )
    assert Assignment.objects.get(user__username="helper").place == grid
    assert AuditEvent.objects.filter(action="org.bulk_created").latest("pk").actor == users["community"]

"""Scope: who may see what, and which actions each role may take where."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from wangge.core.errors import NotFound
from wangge.core.fields import collapse_prefixes
from wangge.core.models import User
from wangge.core.roles import Capability, Role
from wangge.core.scope import access, can_see_path, forget_scope, has_capability, scope_for, visible_to
from wangge.org import services as org_services
from wangge.org.models import Assignment, Department
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")


def _place_of(username: str, role: str) -> Place:
    assignment = Assignment.objects.select_related("place").filter(user__username=username, role=role).first()
    assert assignment is not None, f"{username} has no {role} assignment in the demo"
    return assignment.place


def _fresh(user: User) -> User:
    """The same user without the scope cached on the object."""
    return User.objects.get(pk=user.pk)


def test_a_grid_worker_sees_exactly_their_grids_subtree(users: dict[str, User]) -> None:
    grid1 = _place_of("grid1", Role.GRID_WORKER)
    grid2 = _place_of("grid2", Role.GRID_WORKER)

    visible = Place.objects.visible_to(users["grid1"])

    assert set(visible.values_list("pk", flat=True)) == set(
        Place.objects.filter(path__under=grid1.path).values_list("pk", flat=True)
    )
    assert visible.filter(pk=grid1.pk).exists()
    assert not visible.filter(path__under=grid2.path).exists()
    assert grid1.parent is not None
    assert not visible.filter(pk=grid1.parent.pk).exists()


def test_community_staff_see_every_grid_of_their_community(users: dict[str, User]) -> None:
    community = _place_of("community", Role.COMMUNITY_STAFF)
    grids = Place.objects.filter(parent=community, kind=PlaceKind.GRID)

    visible = Place.objects.visible_to(users["community"])

    assert grids.count() >= 2
    assert set(visible.filter(kind=PlaceKind.GRID).values_list("pk", flat=True)) == set(
        grids.values_list("pk", flat=True)
    )
    assert visible.count() == Place.objects.filter(path__under=community.path).count()


def test_the_administrator_sees_everything(users: dict[str, User]) -> None:
    assert Place.objects.visible_to(users["admin"]).count() == Place.objects.count()


def test_nobody_signed_in_sees_nothing() -> None:
    assert Place.objects.visible_to(AnonymousUser()).count() == 0
    assert Place.objects.visible_to(None).count() == 0


def test_access_hides_out_of_scope_rows_as_not_found(users: dict[str, User]) -> None:
    grid2 = _place_of("grid2", Role.GRID_WORKER)

    with pytest.raises(NotFound):
        access(Place.objects.all(), users["grid1"], pk=grid2.pk)
    with pytest.raises(NotFound):
        access(Place.objects.all(), users["grid1"], pk=-1)
    assert access(Place.objects.all(), users["grid2"], pk=grid2.pk) == grid2


def test_nested_assignments_collapse_into_the_outer_one(users: dict[str, User]) -> None:
    grid1 = _place_of("grid1", Role.GRID_WORKER)
    building = Place.objects.filter(path__under=grid1.path, kind=PlaceKind.BUILDING).first()
    assert building is not None
    before = Place.objects.visible_to(_fresh(users["grid1"])).count()

    org_services.assignment_create(actor=None, user=users["grid1"], role=Role.BUILDING_LEADER, place=building)
    user = _fresh(users["grid1"])

    assert scope_for(user).territorial_paths == (grid1.path,)
    assert Place.objects.visible_to(user).count() == before
    assert {g.role for g in scope_for(user).grants} == {Role.GRID_WORKER, Role.BUILDING_LEADER}


def test_separate_assignments_add_up(users: dict[str, User]) -> None:
    grid1 = _place_of("grid1", Role.GRID_WORKER)
    grid2 = _place_of("grid2", Role.GRID_WORKER)

    org_services.assignment_create(actor=None, user=users["grid1"], role=Role.GRID_WORKER, place=grid2)
    user = _fresh(users["grid1"])

    assert scope_for(user).territorial_paths == tuple(sorted([grid1.path, grid2.path]))
    assert Place.objects.visible_to(user).filter(pk=grid2.pk).exists()


def test_collapse_keeps_siblings_whose_codes_share_digits() -> None:
    assert collapse_prefixes(["1.2.", "1.2.3.", "1.20.", "1.20.5.", "4."]) == ("1.2.", "1.20.", "4.")
    assert collapse_prefixes([]) == ()


def test_an_ended_assignment_no_longer_opens_its_place(users: dict[str, User]) -> None:
    grid1 = _place_of("grid1", Role.GRID_WORKER)
    assignment = Assignment.objects.get(user=users["grid1"], role=Role.GRID_WORKER, place=grid1)

    org_services.assignment_end(actor=None, assignment=assignment)
    user = _fresh(users["grid1"])

    assert not Place.objects.visible_to(user).filter(pk=grid1.pk).exists()


def test_an_assignment_counts_only_between_its_dates(users: dict[str, User]) -> None:
    grid2 = _place_of("grid2", Role.GRID_WORKER)
    start = timezone.now() + timedelta(days=10)
    org_services.assignment_create(
        actor=None, user=users["grid1"], role=Role.GRID_WORKER, place=grid2, start_date=start.date()
    )

    assert not Place.objects.visible_to(_fresh(users["grid1"])).filter(pk=grid2.pk).exists()
    with time_machine.travel(start + timedelta(days=1), tick=False):
        assert Place.objects.visible_to(_fresh(users["grid1"])).filter(pk=grid2.pk).exists()


def test_a_cached_scope_is_refreshed_by_forget_scope(users: dict[str, User]) -> None:
    user = _fresh(users["grid1"])
    grid2 = _place_of("grid2", Role.GRID_WORKER)
    assert not can_see_path(user, grid2.path)

    Assignment.objects.create(user=user, role=Role.GRID_WORKER, place=grid2)
    assert not can_see_path(user, grid2.path)  # computed once per user object
    forget_scope(user)

    assert can_see_path(user, grid2.path)


def test_a_department_sees_places_under_its_grant_but_no_personal_records(users: dict[str, User]) -> None:
    dept = users["dept"]
    scope = scope_for(dept)
    grant = Assignment.objects.select_related("place").get(user=dept, role=Role.DEPARTMENT_STAFF).place

    assert scope.territorial_paths == ()
    assert grant.path in scope.all_paths
    assert scope.department_ids == tuple(
        sorted(set(Department.objects.filter(assignments__user=dept).values_list("pk", flat=True)))
    )
    assert scope.department_ids
    assert Place.objects.visible_to(dept).filter(pk=grant.pk).exists()
    assert Place.objects.visible_to(dept).count() == Place.objects.filter(path__under=grant.path).count()
    assert can_see_path(dept, grant.path)
    assert not can_see_path(dept, grant.path, personal=True)


def test_a_resident_sees_their_house_and_no_personal_records(users: dict[str, User]) -> None:
    resident = users["resident"]
    house = _place_of("resident", Role.RESIDENT)

    visible = visible_to(Place.objects.all(), resident)

    assert house.kind == PlaceKind.HOUSE
    assert list(visible.values_list("pk", flat=True)) == [house.pk]
    assert scope_for(resident).is_resident_only
    assert scope_for(resident).territorial_paths == ()
    assert not can_see_path(resident, house.path, personal=True)


def test_a_model_without_a_scope_spec_cannot_be_narrowed(users: dict[str, User]) -> None:
    with pytest.raises(TypeError, match="scope_spec"):
        visible_to(User.objects.all(), users["grid1"])


def test_capabilities_hold_only_under_the_assignment_place(users: dict[str, User]) -> None:
    community = _place_of("community", Role.COMMUNITY_STAFF)
    grid1 = _place_of("grid1", Role.GRID_WORKER)
    grid2 = _place_of("grid2", Role.GRID_WORKER)
    street = community.parent
    assert street is not None

    assert has_capability(users["community"], Capability.MANAGE_PLACES, grid1.path)
    assert has_capability(users["community"], Capability.MANAGE_PLACES, community.path)
    assert not has_capability(users["community"], Capability.MANAGE_PLACES, street.path)

    assert has_capability(users["grid1"], Capability.REVEAL_PII, grid1.path)
    assert not has_capability(users["grid1"], Capability.REVEAL_PII, grid2.path)
    assert not has_capability(users["grid1"], Capability.MANAGE_PLACES, grid1.path)
    assert not has_capability(users["grid1"], Capability.VIEW_AUDIT)

    assert not has_capability(users["resident"], Capability.VIEW_STAFF_PHONES)
    assert not has_capability(users["dept"], Capability.REVEAL_PII)
    assert has_capability(users["admin"], Capability.VIEW_AUDIT, grid2.path)
    assert not has_capability(AnonymousUser(), Capability.VIEW_STAFF_PHONES)

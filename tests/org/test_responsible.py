"""Who is responsible here (定人、定岗、定责): the people in charge of a place and above it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.places.models import Place

pytestmark = pytest.mark.usefixtures("demo_db")
API = "/api/v1/places"
Api = Callable[[str | None], Client]
MASKED = re.compile(r"^\d{3}\*+\d{4}$")
PLAIN = re.compile(r"^\d{7,}$")


def place_of(username: str, role: str) -> Place:
    return (
        Assignment.objects.select_related("place")
        .get(user__username=username, role=role, is_active=True)
        .place
    )


def property_staff_username() -> str:
    """A property-company employee serving the first demo community."""
    community = place_of("community", Role.COMMUNITY_STAFF)
    assignment = (
        Assignment.objects.filter(role=Role.PROPERTY_STAFF, place=community, is_active=True)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    assert assignment is not None, "the demo has property staff in the first community"
    return assignment.user.username


def responsible(client: Client, place: Place) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{place.pk}/responsible")
    assert response.status_code == 200, response.content
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_the_list_runs_from_the_street_down_to_the_grid(api: Api) -> None:
    grid = place_of("grid1", Role.GRID_WORKER)

    rows = responsible(api("community"), grid)

    kinds = [r["place_kind"] for r in rows]
    assert kinds == sorted(kinds, key=["street", "community", "grid"].index)
    assert {r["place_kind"] for r in rows} == {"street", "community", "grid"}
    worker = next(r for r in rows if r["role"] == Role.GRID_WORKER and r["place_id"] == grid.pk)
    grid1 = Assignment.objects.get(user__username="grid1", role=Role.GRID_WORKER).user
    assert worker["user_id"] == grid1.pk
    assert worker["role_label"]
    assert not any(r["place_id"] == place_of("grid2", Role.GRID_WORKER).pk for r in rows)


def test_community_staff_see_the_phones_unmasked(api: Api) -> None:
    rows = responsible(api("community"), place_of("grid1", Role.GRID_WORKER))

    with_phone = [r for r in rows if r["phone"]]
    assert with_phone
    assert all(PLAIN.match(r["phone"]) and r["phone_masked"] is False for r in with_phone)


def test_property_staff_see_the_phones_masked(api: Api) -> None:
    rows = responsible(api(property_staff_username()), place_of("grid1", Role.GRID_WORKER))

    with_phone = [r for r in rows if r["phone"]]
    assert with_phone
    assert all(MASKED.match(r["phone"]) and r["phone_masked"] is True for r in with_phone)


def test_department_staff_see_the_phones_masked(api: Api) -> None:
    rows = responsible(api("dept"), place_of("grid1", Role.GRID_WORKER))

    with_phone = [r for r in rows if r["phone"]]
    assert with_phone
    assert all(MASKED.match(r["phone"]) and r["phone_masked"] is True for r in with_phone)


def test_masked_and_unmasked_lists_name_the_same_people(api: Api) -> None:
    grid = place_of("grid1", Role.GRID_WORKER)

    plain = responsible(api("community"), grid)
    masked = responsible(api(property_staff_username()), grid)

    assert [(r["user_id"], r["role"], r["place_id"]) for r in plain] == [
        (r["user_id"], r["role"], r["place_id"]) for r in masked
    ]
    for p, m in zip(plain, masked, strict=True):
        if p["phone"]:
            assert m["phone"] == p["phone"][:3] + "*" * (len(p["phone"]) - 7) + p["phone"][-4:]


def test_a_resident_may_call_the_people_responsible_for_their_home(api: Api) -> None:
    house = place_of("resident", Role.RESIDENT)

    rows = responsible(api("resident"), house)

    assert any(r["role"] == Role.GRID_WORKER for r in rows)
    assert all(r["phone_masked"] is False for r in rows if r["phone"])


def test_grid2_cannot_ask_who_is_responsible_for_grid1(api: Api) -> None:
    grid = place_of("grid1", Role.GRID_WORKER)

    response = api("grid2").get(f"{API}/{grid.pk}/responsible")

    assert response.status_code == 404
    assert grid.name not in response.content.decode()


def test_the_list_is_a_fixed_number_of_queries(api: Api, django_assert_max_num_queries: Any) -> None:
    client = api("community")
    house = place_of("resident", Role.RESIDENT)

    with django_assert_max_num_queries(6):
        client.get(f"{API}/{house.pk}/responsible")

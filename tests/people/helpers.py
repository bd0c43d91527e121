"""Small factories for the people tests: valid ID numbers, homes in the demo grids, residents
made through the services (as the system actor)."""

from __future__ import annotations

from datetime import date
from typing import Any

from wangge.core.models import User
from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.people import services
from wangge.people.identity import id_check_digit
from wangge.people.models import House, Household, Resident
from wangge.places.models import Place, PlaceKind


def make_id(born: date, *, seq: int = 1, male: bool = True, region: str = "650102") -> str:
    """A valid GB 11643 ID number: region, birth date, sequence (odd for men), check digit."""
    order = seq * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{order % 1000:03d}"
    return first17 + id_check_digit(first17)


def grid_of(username: str, role: str = Role.GRID_WORKER) -> Place:
    return (
        Assignment.objects.select_related("place")
        .filter(user__username=username, role=role, is_active=True)
        .order_by("place__path")
        .first()
        .place  # type: ignore[union-attr]
    )


def house_places(grid: Place, count: int = 1, *, skip: int = 0) -> list[Place]:
    """House places under a grid, in path order (the demo may already have people in them)."""
    qs = Place.objects.filter(path__under=grid.path, kind=PlaceKind.HOUSE).order_by("path")
    return list(qs[skip : skip + count])


def house_record(place: Place, **kwargs: Any) -> House:
    existing = House.objects.filter(place=place).first()
    if existing is not None:
        return existing
    return services.house_create(actor=None, place=place, **kwargs)


def resident(place: Place, name: str, **kwargs: Any) -> Resident:
    return services.resident_create(actor=None, place=place, name=name, **kwargs)


def household_with(place: Place, *names: str) -> tuple[Household, list[Resident]]:
    """A household at ``place`` whose first member is the head."""
    household = services.household_create(actor=None, place=place)
    members = []
    for index, name in enumerate(names):
        members.append(
            services.resident_create(
                actor=None,
                place=place,
                name=name,
                household=household,
                relation_to_head="head" if index == 0 else "spouse",
                birth_date=date(1950 + index, 1, 1),
            )
        )
    household.refresh_from_db()
    return household, members


def staff(username: str, role: str, place: Place) -> User:
    """A new staff member with one assignment."""
    user = User.objects.create_user(username=username, password="x-unused-1234")
    Assignment.objects.create(user=user, role=role, place=place)
    return user

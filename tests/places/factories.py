"""A small territory made through the services, far from the demo's, for exact locator tests.

Layout (longitude east, latitude north), all rectangles, every level tiling its parent:

    county/street/community  lng 120.0–120.4, lat 40.0–40.2
    grid A  lng 120.0–120.2        grid B  lng 120.2–120.4
      micro A1 120.0–120.1            micro B1 120.2–120.3
      micro A2 120.1–120.2            micro B2 120.3–120.4
        building in A1: lng 120.02–120.04, lat 40.02–40.04 (with a unit and a house, no boundaries)

Grid A and grid B share the edge lng = 120.2; micro A2 and micro B1 share it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from wangge.core.auth import token_issue
from wangge.core.models import User
from wangge.org import services as org_services
from wangge.places import services
from wangge.places.geo import rectangle
from wangge.places.models import Place, PlaceKind

WEST, SOUTH, EAST, NORTH = 120.0, 40.0, 120.4, 40.2
MIDDLE = 120.2  # the edge grid A and grid B share


@dataclass(frozen=True)
class Territory:
    county: Place
    street: Place
    community: Place
    grid_a: Place
    grid_b: Place
    micro_a1: Place
    micro_a2: Place
    micro_b1: Place
    micro_b2: Place
    building: Place
    unit: Place
    house: Place

    def refresh(self) -> Territory:
        return Territory(**{name: Place.objects.get(pk=p.pk) for name, p in vars(self).items()})


def make_territory(county_segment: str = "990101", name_prefix: str = "测试") -> Territory:
    """Create the territory above through ``place_create`` as the system actor."""
    whole = rectangle(WEST, SOUTH, EAST, NORTH)
    county = services.place_create(
        actor=None, kind=PlaceKind.COUNTY, name=f"{name_prefix}县", segment=county_segment, boundary=whole
    )
    street = services.place_create(
        actor=None, kind=PlaceKind.STREET, name=f"{name_prefix}街道", parent=county, boundary=whole
    )
    community = services.place_create(
        actor=None, kind=PlaceKind.COMMUNITY, name=f"{name_prefix}社区", parent=street, boundary=whole
    )
    grid_a = services.place_create(
        actor=None,
        kind=PlaceKind.GRID,
        name=f"{name_prefix}甲网格",
        parent=community,
        boundary=rectangle(WEST, SOUTH, MIDDLE, NORTH),
    )
    grid_b = services.place_create(
        actor=None,
        kind=PlaceKind.GRID,
        name=f"{name_prefix}乙网格",
        parent=community,
        boundary=rectangle(MIDDLE, SOUTH, EAST, NORTH),
    )

    def micro(grid: Place, name: str, west: float, east: float) -> Place:
        return services.place_create(
            actor=None,
            kind=PlaceKind.MICRO_GRID,
            name=f"{name_prefix}{name}",
            parent=grid,
            boundary=rectangle(west, SOUTH, east, NORTH),
        )

    micro_a1 = micro(grid_a, "甲一庭院", 120.0, 120.1)
    micro_a2 = micro(grid_a, "甲二庭院", 120.1, 120.2)
    micro_b1 = micro(grid_b, "乙一庭院", 120.2, 120.3)
    micro_b2 = micro(grid_b, "乙二庭院", 120.3, 120.4)
    building = services.place_create(
        actor=None,
        kind=PlaceKind.BUILDING,
        name=f"{name_prefix}1号楼",
        parent=micro_a1,
        boundary=rectangle(120.02, 40.02, 120.04, 40.04),
    )
    unit = services.place_create(actor=None, kind=PlaceKind.UNIT, name="1单元", parent=building)
    house = services.place_create(actor=None, kind=PlaceKind.HOUSE, name="101", parent=unit)
    return Territory(
        county,
        street,
        community,
        grid_a,
        grid_b,
        micro_a1,
        micro_a2,
        micro_b1,
        micro_b2,
        building,
        unit,
        house,
    )


def make_user(username: str, *, superuser: bool = False, phone: str = "") -> User:
    from wangge.core.pii import blind_index

    user = User.objects.create_user(
        username=username,
        password="not-used-1",
        is_superuser=superuser,
        is_staff=superuser,
        display_name=username,
    )
    if phone:
        user.phone = phone
        user.phone_hash = blind_index("phone", phone)
        user.save(update_fields=["phone", "phone_hash"])
    return user


def assign(user: User, role: str, place: Place, **kwargs: object) -> User:
    org_services.assignment_create(actor=None, user=user, role=role, place=place, **kwargs)  # type: ignore[arg-type]
    return user


def bearer(user: User) -> Client:
    return Client(headers={"Authorization": f"Bearer {token_issue(user=user)}"})

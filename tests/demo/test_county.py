"""The county-scale seed: 兰陵县 with 21 communities, 405 grids and 2,971 micro-grids."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.demo.test_geometry import assert_tiles
from wangge.core.models import AuditEvent, User
from wangge.demo.county import generate_county
from wangge.demo.loader import county_is_seeded, seed_county
from wangge.org.models import Assignment, PartyOrganization
from wangge.places.models import LocatorState, Place

pytestmark = pytest.mark.usefixtures("demo_db")


@pytest.fixture
def county() -> dict[str, int]:
    assert not county_is_seeded()
    return seed_county(seed=20240601)


def test_seed_county_counts(county: dict[str, int]) -> None:
    assert county["already_loaded"] == 0
    lanling = Place.objects.get(code="371324")
    assert lanling.name == "兰陵县"
    assert lanling.kind == "county"
    kinds = Counter(Place.objects.filter(path__under=lanling.path).values_list("kind", flat=True))
    assert kinds == {"county": 1, "street": 3, "community": 21, "grid": 405, "micro_grid": 2971}
    assert (county["communities"], county["grids"], county["micro_grids"]) == (21, 405, 2971)
    assert not Place.objects.filter(path__under=lanling.path, boundary__isnull=True).exists()

    staff = Assignment.objects.filter(place__path__under=lanling.path)
    roles = Counter(staff.values_list("role", flat=True))
    assert roles == {"grid_worker": 405, "party_secretary": 21, "community_staff": 595 - 405 - 21}
    assert staff.values("user").distinct().count() == 595
    for grid in Place.objects.filter(path__under=lanling.path, kind="grid")[:50]:
        assert grid.assignments.filter(role="grid_worker").count() == 1
    levels = Counter(
        PartyOrganization.objects.filter(place__path__under=lanling.path).values_list("level", flat=True)
    )
    assert levels == {"committee": 21, "branch": 160}


def test_seed_county_boundaries_tile_at_every_level(county: dict[str, int]) -> None:
    lanling = Place.objects.get(code="371324")
    parents = Place.objects.filter(path__under=lanling.path, kind__in=["street", "community", "grid"])
    children: dict[int, list[Place]] = {}
    for child in Place.objects.filter(path__under=lanling.path, kind__in=["community", "grid", "micro_grid"]):
        assert child.parent_id is not None
        children.setdefault(child.parent_id, []).append(child)
    checked = Counter()
    for parent in parents:
        assert_tiles(parent, children[parent.pk])
        checked[parent.kind] += 1
    assert checked == {"street": 3, "community": 21, "grid": 405}


def test_seed_county_twice_does_nothing(county: dict[str, int], django_assert_max_num_queries: Any) -> None:
    places, users = Place.objects.count(), User.objects.count()
    version = LocatorState.objects.get(pk=1).version
    with django_assert_max_num_queries(1):
        again = seed_county(seed=20240601)
    assert again["already_loaded"] == 1
    assert again["places"] == 0
    assert (Place.objects.count(), User.objects.count()) == (places, users)
    assert LocatorState.objects.get(pk=1).version == version
    assert AuditEvent.objects.filter(action="place.bulk_created", object_label="county").count() == 1


def test_county_generation_is_deterministic() -> None:
    assert generate_county(5).digest() == generate_county(5).digest()
    assert generate_county(5).digest() != generate_county(6).digest()

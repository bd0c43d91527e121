"""Demo boundaries tile exactly, and every building and house lies where its place says."""

from __future__ import annotations

import itertools

import pytest
import shapely
from shapely.geometry import shape
from shapely.ops import unary_union

from tests.demo.helpers import DONGHU, LESHAN, place, under
from wangge.places.locator import get_locator
from wangge.places.models import Place

pytestmark = pytest.mark.usefixtures("demo_db")


def assert_tiles(parent: Place, children: list[Place]) -> None:
    """The children cover the parent with no gap and no overlap."""
    assert children
    whole = shape(parent.boundary)
    parts = [shape(c.boundary) for c in children]
    assert all(p.is_valid for p in parts)
    union = unary_union(parts)
    assert abs(union.area - whole.area) <= 1e-9 * whole.area
    assert union.symmetric_difference(whole).area <= 1e-9 * whole.area
    assert abs(sum(p.area for p in parts) - whole.area) <= 1e-9 * whole.area
    for a, b in itertools.combinations(parts, 2):
        assert a.intersection(b).area == 0


@pytest.mark.parametrize("community", [LESHAN, DONGHU])
def test_grids_tile_their_community(community: str) -> None:
    assert_tiles(place(community), under(community, "grid"))


def test_courtyards_tile_their_grid() -> None:
    for grid in under(LESHAN, "grid"):
        assert_tiles(grid, list(grid.children.filter(kind="micro_grid")))


def test_communities_lie_inside_their_street_and_county() -> None:
    for community in (LESHAN, DONGHU):
        c = place(community)
        street = c.parent
        assert street is not None
        assert street.parent is not None
        assert shape(c.boundary).within(shape(street.boundary))
        assert shape(street.boundary).within(shape(street.parent.boundary))


def test_buildings_lie_well_inside_their_courtyard_and_grid() -> None:
    for community in (LESHAN, DONGHU):
        for grid in under(community, "grid"):
            area = shape(grid.boundary)
            buildings = Place.objects.filter(path__under=grid.path, kind="building").select_related("parent")
            assert buildings
            for building in buildings:
                footprint = shape(building.boundary)
                assert footprint.within(area)
                assert footprint.area < area.area / 20
                assert building.parent is not None
                assert footprint.within(shape(building.parent.boundary))
                assert footprint.contains(shapely.Point(building.lng, building.lat))


def test_houses_and_units_take_their_buildings_point_inside_its_grid() -> None:
    for community in (LESHAN, DONGHU):
        for grid in under(community, "grid"):
            area = shape(grid.boundary)
            buildings = {
                b.pk: (b.lat, b.lng) for b in Place.objects.filter(path__under=grid.path, kind="building")
            }
            rows = list(
                Place.objects.filter(path__under=grid.path, kind__in=["unit", "house"]).values_list(
                    "path", "lat", "lng"
                )
            )
            paths = dict(Place.objects.filter(pk__in=buildings).values_list("path", "pk"))
            for path, lat, lng in rows:
                building = next(pk for prefix, pk in paths.items() if path.startswith(prefix))
                assert (lat, lng) == buildings[building]
            lats = [r[1] for r in rows]
            lngs = [r[2] for r in rows]
            assert shapely.contains_xy(area, lngs, lats).all()


def test_every_place_down_to_building_has_a_point_and_a_boundary() -> None:
    demo = Place.objects.filter(path__under="370103.") | Place.objects.filter(path__under="370902.")
    assert not demo.filter(lat__isnull=True).exists()
    assert not demo.exclude(kind__in=["unit", "house"]).filter(boundary__isnull=True).exists()
    assert not demo.filter(kind__in=["unit", "house"], boundary__isnull=False).exists()
    leshan = place(LESHAN)
    assert abs(leshan.lat - 36.650) < 0.01
    assert abs(leshan.lng - 117.000) < 0.01
    donghu = place(DONGHU)
    assert abs(donghu.lat - 36.19) < 0.01
    assert abs(donghu.lng - 117.12) < 0.01


def test_the_locator_finds_the_deepest_place() -> None:
    building = under(LESHAN, "building")[10]
    assert get_locator().locate(building.lat, building.lng) == building.pk
    yard = under(LESHAN, "micro_grid")[3]
    corner = shape(yard.boundary).exterior.coords[0]
    inside = shapely.Point(corner).buffer(1e-5).intersection(shape(yard.boundary)).representative_point()
    assert get_locator().locate(inside.y, inside.x) == yard.pk

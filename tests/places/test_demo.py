"""The places API on the demo territory, as the demo's named users see it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.places.geo import to_shape
from wangge.places.models import Place, PlaceKind

pytestmark = pytest.mark.usefixtures("demo_db")
API = "/api/v1/places"
Api = Callable[[str | None], Client]


def place_of(username: str, role: str) -> Place:
    return (
        Assignment.objects.select_related("place")
        .get(user__username=username, role=role, is_active=True)
        .place
    )


def inside(place: Place) -> tuple[float, float]:
    """A point certainly inside the place's boundary, as (lat, lng)."""
    point = to_shape(place.boundary).representative_point()
    return point.y, point.x


def leshan() -> Place:
    return Place.objects.get(kind=PlaceKind.COMMUNITY, name="乐山小区社区")


def test_the_demo_territory_has_the_described_shape() -> None:
    community = leshan()
    grids = list(Place.objects.filter(parent=community, kind=PlaceKind.GRID).order_by("path"))

    assert community.parent is not None
    assert community.parent.name == "杆石桥街道"
    assert community.parent.parent is not None
    assert community.parent.parent.code == "370103"
    assert [g.name for g in grids] == ["第一网格", "第二网格", "第三网格", "第四网格", "第五网格", "第六网格"]
    under = Place.objects.filter(path__under=community.path)
    assert under.filter(kind=PlaceKind.MICRO_GRID).count() == 35
    assert under.filter(kind=PlaceKind.BUILDING).count() == 59
    assert under.filter(kind=PlaceKind.HOUSE).count() == 3040
    donghu = Place.objects.get(kind=PlaceKind.COMMUNITY, name="东湖社区")
    assert Place.objects.filter(parent=donghu, kind=PlaceKind.GRID).count() == 6
    assert Place.objects.filter(path__under=donghu.path, kind=PlaceKind.BUILDING).count() == 42


def test_a_point_inside_every_demo_grid_locates_to_it_or_below(api: Api) -> None:
    client = api("admin")
    grids = list(Place.objects.filter(kind=PlaceKind.GRID, boundary__isnull=False).order_by("path"))
    assert len(grids) == 12

    for grid in grids:
        lat, lng = inside(grid)
        response = client.get(f"{API}/locate", {"lat": lat, "lng": lng})

        assert response.status_code == 200, grid.name
        found = Place.objects.get(pk=response.json()["place"]["id"])
        assert found.path.startswith(grid.path), f"{grid.name} → {found.name}"
        # The deepest: no place with a boundary below the answer contains the point too.
        below = Place.objects.filter(parent=found, boundary__isnull=False)
        assert not [
            p.name
            for p in below
            if to_shape(p.boundary).covers(to_shape({"type": "Point", "coordinates": [lng, lat]}))
        ]
        assert [a["id"] for a in response.json()["ancestors"]][-1] == found.parent_id


def test_batch_locate_finds_every_demo_boundary_at_or_below_itself(api: Api) -> None:
    places = list(
        Place.objects.filter(boundary__isnull=False).exclude(kind=PlaceKind.COUNTY).order_by("path")
    )
    points = [dict(zip(("lat", "lng"), inside(p), strict=True)) for p in places]
    paths = dict(Place.objects.values_list("pk", "path"))

    response = api("admin").post(
        f"{API}/locate", json.dumps({"points": points}), content_type="application/json"
    )

    ids = response.json()["place_ids"]
    assert response.status_code == 200
    assert len(ids) == len(places) > 150
    assert [
        p.name for p, i in zip(places, ids, strict=True) if i is None or not paths[i].startswith(p.path)
    ] == []
    # Buildings have nothing with a boundary below them: they locate to themselves.
    assert all(i == p.pk for p, i in zip(places, ids, strict=True) if p.kind == PlaceKind.BUILDING)


def test_a_point_outside_every_demo_boundary_is_404(api: Api) -> None:
    response = api("admin").get(f"{API}/locate", {"lat": 0.0, "lng": 0.0}, headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert response.json() == {
        "detail": "No place in your scope contains this point",
        "code": "no_place_here",
    }


def test_grid1_sees_its_own_grid_as_its_root(api: Api) -> None:
    response = api("grid1").get(f"{API}/")

    assert [r["name"] for r in response.json()] == ["第一网格"]
    assert response.json()[0]["id"] == place_of("grid1", Role.GRID_WORKER).pk


def test_grid1_cannot_read_grid2s_places_through_any_places_endpoint(api: Api) -> None:
    client = api("grid1")
    grid2 = place_of("grid2", Role.GRID_WORKER)
    micro = Place.objects.filter(parent=grid2, kind=PlaceKind.MICRO_GRID).order_by("path").first()
    building = Place.objects.filter(path__under=grid2.path, kind=PlaceKind.BUILDING).order_by("path").first()
    assert micro is not None
    assert building is not None

    for place in (grid2, micro, building):
        for suffix in ("", "/children", "/subtree", "/geojson", "/responsible"):
            response = client.get(f"{API}/{place.pk}{suffix}")

            assert response.status_code == 404, f"{place.name}{suffix}"
            assert place.name not in response.content.decode()
            assert grid2.name not in response.content.decode()
    lat, lng = inside(building)
    located = client.get(f"{API}/locate", {"lat": lat, "lng": lng})
    batch = client.post(
        f"{API}/locate", json.dumps({"points": [{"lat": lat, "lng": lng}]}), content_type="application/json"
    )
    assert located.status_code == 404
    assert building.name not in located.content.decode()
    assert batch.json() == {"place_ids": [None], "found": 0}


def test_grid1_reads_its_own_grid(api: Api) -> None:
    client = api("grid1")
    grid1 = place_of("grid1", Role.GRID_WORKER)
    building = Place.objects.filter(path__under=grid1.path, kind=PlaceKind.BUILDING).order_by("path").first()
    assert building is not None
    lat, lng = inside(building)

    for suffix in ("", "/children", "/subtree", "/geojson", "/responsible"):
        assert client.get(f"{API}/{grid1.pk}{suffix}").status_code == 200, suffix
    assert client.get(f"{API}/locate", {"lat": lat, "lng": lng}).json()["place"]["id"] == building.pk


def test_a_department_sees_the_whole_county_territory(api: Api) -> None:
    client = api("dept")
    grid2 = place_of("grid2", Role.GRID_WORKER)

    roots = client.get(f"{API}/")
    detail = client.get(f"{API}/{grid2.pk}")

    assert [r["code"] for r in roots.json()] == ["370103"]
    assert detail.status_code == 200
    assert detail.json()["name"] == "第二网格"


def test_the_street_subtree_by_kind(api: Api) -> None:
    street = place_of("street", Role.STREET_STAFF)

    grids = api("street").get(f"{API}/{street.pk}/subtree", {"kinds": "grid"})

    assert [r["name"] for r in grids.json()] == [
        "第一网格",
        "第二网格",
        "第三网格",
        "第四网格",
        "第五网格",
        "第六网格",
    ]


def test_the_leshan_map_layer_holds_the_community_and_its_grids(api: Api) -> None:
    community = leshan()

    body = api("community").get(f"{API}/{community.pk}/geojson").json()

    assert [f["properties"]["kind"] for f in body["features"]] == ["community"] + ["grid"] * 6
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in body["features"])


def test_demo_list_endpoints_keep_their_query_counts(api: Api, django_assert_max_num_queries: Any) -> None:
    client = api("community")
    community = leshan()

    with django_assert_max_num_queries(5):
        subtree = client.get(f"{API}/{community.pk}/subtree", {"limit": 20000})
    with django_assert_max_num_queries(5):
        client.get(f"{API}/{community.pk}/geojson", {"kinds": "grid,micro_grid,building"})
    with django_assert_max_num_queries(5):
        client.get(f"{API}/{community.pk}/children")

    assert len(subtree.json()) > 3000

"""The places API on a small territory made in the test: tree, subtree, GeoJSON, locate, writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.places.factories import MIDDLE, Territory, assign, bearer, make_territory, make_user
from wangge.core.models import AuditEvent
from wangge.core.roles import Role
from wangge.places.models import LocatorState, Place, PlaceKind

pytestmark = pytest.mark.usefixtures("db")
API = "/api/v1/places"


@pytest.fixture
def territory() -> Territory:
    return make_territory()


@pytest.fixture
def admin_client() -> Client:
    return bearer(make_user("places-admin", superuser=True))


@pytest.fixture
def worker_a(territory: Territory) -> Client:
    """A grid worker of grid A: sees grid A and below, nothing of grid B."""
    return bearer(assign(make_user("worker-a"), Role.GRID_WORKER, territory.grid_a))


@pytest.fixture
def staff(territory: Territory) -> Client:
    """Community staff of the test community: may edit places there."""
    return bearer(assign(make_user("community-staff"), Role.COMMUNITY_STAFF, territory.community))


def _ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()]


def _patch(client: Client, url: str, body: Any) -> Any:
    return client.patch(url, json.dumps(body), content_type="application/json")


def _post(client: Client, url: str, body: Any) -> Any:
    return client.post(
        url, json.dumps(body) if not isinstance(body, str) else body, content_type="application/json"
    )


# --- reading the tree ---------------------------------------------------------------------


def test_roots_are_the_top_of_the_callers_scope(territory: Territory, worker_a: Client) -> None:
    response = worker_a.get(f"{API}/")

    assert response.status_code == 200
    assert _ids(response) == [territory.grid_a.pk]
    row = response.json()[0]
    assert row["child_count"] == 2
    assert row["has_boundary"] is True
    assert row["kind"] == "grid"
    assert row["code"] == territory.grid_a.code


def test_administrators_see_the_real_roots(territory: Territory, admin_client: Client) -> None:
    response = admin_client.get(f"{API}/")

    roots = {row["id"]: row for row in response.json()}
    assert territory.county.pk in roots
    assert all(row["parent_id"] is None for row in roots.values())


def test_detail_lists_the_visible_ancestors(
    territory: Territory, worker_a: Client, admin_client: Client
) -> None:
    mine = worker_a.get(f"{API}/{territory.micro_a1.pk}")
    full = admin_client.get(f"{API}/{territory.micro_a1.pk}")

    assert mine.status_code == 200
    assert [a["id"] for a in mine.json()["ancestors"]] == [territory.grid_a.pk]
    t = territory
    assert [a["id"] for a in full.json()["ancestors"]] == [
        t.county.pk,
        t.street.pk,
        t.community.pk,
        t.grid_a.pk,
    ]
    body = full.json()
    assert body["boundary"]["type"] == "Polygon"
    assert body["stat_code"] == territory.micro_a1.code
    assert body["lat"] == pytest.approx(40.1, abs=0.1)


def test_a_community_shows_its_twelve_digit_statistical_code(
    territory: Territory, admin_client: Client
) -> None:
    body = admin_client.get(f"{API}/{territory.community.pk}").json()

    assert body["stat_code"] == territory.community.code.ljust(12, "0")
    assert len(body["stat_code"]) == 12


def test_children_are_listed_in_order_with_their_counts(territory: Territory, admin_client: Client) -> None:
    response = admin_client.get(f"{API}/{territory.community.pk}/children")

    assert response.status_code == 200
    assert [(r["id"], r["child_count"]) for r in response.json()] == [
        (territory.grid_a.pk, 2),
        (territory.grid_b.pk, 2),
    ]


def test_subtree_filters_by_kind_and_depth(territory: Territory, admin_client: Client) -> None:
    t = territory
    everything = admin_client.get(f"{API}/{t.grid_a.pk}/subtree")
    micro = admin_client.get(f"{API}/{t.grid_a.pk}/subtree", {"kinds": "micro_grid"})
    several = admin_client.get(f"{API}/{t.grid_a.pk}/subtree", {"kinds": "building,house"})
    one_level = admin_client.get(f"{API}/{t.grid_a.pk}/subtree", {"max_depth": 1})
    itself = admin_client.get(f"{API}/{t.grid_a.pk}/subtree", {"max_depth": 0})

    assert _ids(everything) == [
        t.grid_a.pk,
        t.micro_a1.pk,
        t.building.pk,
        t.unit.pk,
        t.house.pk,
        t.micro_a2.pk,
    ]
    assert _ids(micro) == [t.micro_a1.pk, t.micro_a2.pk]
    assert _ids(several) == [t.building.pk, t.house.pk]
    assert _ids(one_level) == [t.grid_a.pk, t.micro_a1.pk, t.micro_a2.pk]
    assert _ids(itself) == [t.grid_a.pk]


def test_subtree_pages_with_limit_and_offset(territory: Territory, admin_client: Client) -> None:
    t = territory
    first = admin_client.get(f"{API}/{t.grid_a.pk}/subtree", {"limit": 2})
    second = admin_client.get(f"{API}/{t.grid_a.pk}/subtree", {"limit": 2, "offset": 2})

    assert _ids(first) == [t.grid_a.pk, t.micro_a1.pk]
    assert _ids(second) == [t.building.pk, t.unit.pk]


@pytest.mark.parametrize(
    "query",
    [
        {"max_depth": -1},
        {"max_depth": "deep"},
        {"limit": 0},
        {"limit": 10**30},
        {"limit": 20001},
        {"offset": -1},
        {"kinds": "x" * 201},
    ],
)
def test_subtree_refuses_bad_parameters_with_422(
    territory: Territory, admin_client: Client, query: Any
) -> None:
    response = admin_client.get(f"{API}/{territory.grid_a.pk}/subtree", query)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_an_unknown_kind_is_refused_not_ignored(territory: Territory, admin_client: Client) -> None:
    subtree = admin_client.get(f"{API}/{territory.grid_a.pk}/subtree", {"kinds": "grid,castle"})
    geojson = admin_client.get(f"{API}/{territory.grid_a.pk}/geojson", {"kinds": "castle"})

    for response in (subtree, geojson):
        assert response.status_code == 422, response.content.decode()
        assert response.json()["detail"][0]["loc"] == ["query", "kinds"]


def test_the_selector_names_unknown_kinds(territory: Territory) -> None:
    from wangge.core.errors import ValidationError
    from wangge.places.selectors import parse_kinds

    assert parse_kinds("grid,micro_grid") == ["grid", "micro_grid"]
    assert parse_kinds("") is None
    with pytest.raises(ValidationError, match="castle") as refused:
        parse_kinds("grid,castle")
    assert refused.value.code == "unknown_kind"


def test_geojson_holds_the_place_and_the_level_below(territory: Territory, admin_client: Client) -> None:
    response = admin_client.get(f"{API}/{territory.community.pk}/geojson")

    body = response.json()
    assert response.status_code == 200
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [
        territory.community.pk,
        territory.grid_a.pk,
        territory.grid_b.pk,
    ]
    grid = body["features"][1]
    assert grid["type"] == "Feature"
    assert grid["geometry"]["type"] == "Polygon"
    assert grid["properties"]["code"] == territory.grid_a.code
    assert grid["properties"]["kind"] == "grid"
    assert grid["properties"]["parent_id"] == territory.community.pk


def test_geojson_can_choose_kinds(territory: Territory, admin_client: Client) -> None:
    response = admin_client.get(f"{API}/{territory.community.pk}/geojson", {"kinds": "micro_grid,building"})

    t = territory
    assert [f["id"] for f in response.json()["features"]] == [
        t.micro_a1.pk,
        t.building.pk,
        t.micro_a2.pk,
        t.micro_b1.pk,
        t.micro_b2.pk,
    ]


# --- ids that name nothing --------------------------------------------------------------------


@pytest.mark.parametrize("place_id", ["0", str(2**63), str(10**30), "999999999"])
def test_ids_that_name_no_place_answer_404(territory: Territory, admin_client: Client, place_id: str) -> None:
    for suffix in ("", "/children", "/subtree", "/geojson", "/responsible"):
        response = admin_client.get(f"{API}/{place_id}{suffix}")

        assert response.status_code == 404, suffix
        assert response.json()["code"] == "not_found"


def test_a_non_numeric_id_answers_422(admin_client: Client) -> None:
    response = admin_client.get(f"{API}/abc")

    assert response.status_code == 422


# --- locate ---------------------------------------------------------------------------------


def test_locate_gives_the_deepest_place_and_its_ancestors(territory: Territory, admin_client: Client) -> None:
    response = admin_client.get(f"{API}/locate", {"lat": 40.03, "lng": 120.03})

    body = response.json()
    assert response.status_code == 200
    assert body["place"]["id"] == territory.building.pk
    t = territory
    assert [a["id"] for a in body["ancestors"]] == [
        t.county.pk,
        t.street.pk,
        t.community.pk,
        t.grid_a.pk,
        t.micro_a1.pk,
    ]


def test_locate_outside_every_boundary_is_404_with_a_reason(
    territory: Territory, admin_client: Client
) -> None:
    english = admin_client.get(
        f"{API}/locate", {"lat": -45.0, "lng": -170.0}, headers={"Accept-Language": "en"}
    )
    chinese = admin_client.get(f"{API}/locate", {"lat": -45.0, "lng": -170.0})

    assert english.status_code == 404
    assert english.json() == {"detail": "No place in your scope contains this point", "code": "no_place_here"}
    assert chinese.status_code == 404
    assert chinese.json()["code"] == "no_place_here"


@pytest.mark.parametrize(
    "query",
    [
        {"lat": 91, "lng": 120},
        {"lat": 40, "lng": -181},
        {"lat": "nan", "lng": 120},
        {"lat": 40, "lng": "inf"},
        {"lat": "1e400", "lng": 120},
        {"lat": "north", "lng": 120},
        {"lat": 40},
    ],
)
def test_locate_refuses_bad_coordinates_with_422(admin_client: Client, query: Any) -> None:
    response = admin_client.get(f"{API}/locate", query)

    assert response.status_code == 422
    assert response.json()["detail"]


def test_batch_locate_answers_each_point_in_order(territory: Territory, admin_client: Client) -> None:
    points = [
        {"lat": 40.03, "lng": 120.03},
        {"lat": -45.0, "lng": -170.0},
        {"lat": 40.1, "lng": MIDDLE},
        {"lat": 40.15, "lng": 120.35},
    ]

    response = _post(admin_client, f"{API}/locate", {"points": points})

    assert response.status_code == 200
    t = territory
    assert response.json() == {"place_ids": [t.building.pk, None, t.micro_a2.pk, t.micro_b2.pk], "found": 3}


def test_batch_locate_reports_only_places_in_scope(territory: Territory, worker_a: Client) -> None:
    points = [{"lat": 40.03, "lng": 120.03}, {"lat": 40.15, "lng": 120.35}]

    response = _post(worker_a, f"{API}/locate", {"points": points})

    assert response.json() == {"place_ids": [territory.building.pk, None], "found": 1}


@pytest.mark.parametrize(
    "body",
    [
        '{"points": [{"lat": NaN, "lng": 120.0}]}',
        '{"points": [{"lat": 40.0, "lng": Infinity}]}',
        '{"points": [{"lat": 95.0, "lng": 120.0}]}',
        json.dumps({"points": [{"lat": 40.0, "lng": 120.0}] * 10_001}),
        '{"points": "everywhere"}',
        '{"points": [{"lat": 0.0, "lng": false}]}',
        '{"points": [{"lat": "40.1", "lng": 120.1}]}',
    ],
)
def test_batch_locate_refuses_bad_points_with_422(admin_client: Client, body: str) -> None:
    response = _post(admin_client, f"{API}/locate", body)

    assert response.status_code == 422


# --- writes -----------------------------------------------------------------------------------


def test_community_staff_create_a_building_through_the_service(territory: Territory, staff: Client) -> None:
    boundary = {
        "type": "Polygon",
        "coordinates": [
            [[120.15, 40.15], [120.16, 40.15], [120.16, 40.16], [120.15, 40.16], [120.15, 40.15]]
        ],
    }

    response = _post(
        staff,
        f"{API}/",
        {"parent_id": territory.micro_a2.pk, "kind": "building", "name": "新建楼", "boundary": boundary},
    )

    assert response.status_code == 201
    body = response.json()
    place = Place.objects.get(pk=body["id"])
    assert place.code == territory.micro_a2.code + "001"
    assert place.path == territory.micro_a2.path + "001."
    assert body["ancestors"][-1]["id"] == territory.micro_a2.pk
    assert (body["lat"], body["lng"]) == (pytest.approx(40.155), pytest.approx(120.155))
    assert AuditEvent.objects.filter(
        action="place.created", object_id=str(place.pk), actor__username="community-staff"
    ).exists()
    located = staff.get(f"{API}/locate", {"lat": 40.155, "lng": 120.155})
    assert located.json()["place"]["id"] == place.pk


def test_a_grid_worker_may_not_create_places(territory: Territory, worker_a: Client) -> None:
    count, audits = Place.objects.count(), AuditEvent.objects.count()

    response = _post(
        worker_a, f"{API}/", {"parent_id": territory.micro_a1.pk, "kind": "building", "name": "楼"}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert (Place.objects.count(), AuditEvent.objects.count()) == (count, audits)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "street", "name": "错层"}, 400, "invalid"),
        ({"kind": "castle", "name": "城堡"}, 422, None),
        ({"kind": "building", "name": "楼", "segment": "001"}, 201, None),
        ({"kind": "building", "name": "楼", "segment": "12"}, 400, "invalid"),
        ({"kind": "building", "name": "楼", "lat": 40.1}, 400, "invalid"),
        ({"kind": "building", "name": "楼", "grid_type": "school"}, 400, "invalid"),
        ({"kind": "building", "name": "   "}, 400, "invalid"),
        ({"kind": "building", "name": "楼", "sort_order": True}, 422, None),
        ({"kind": "building", "name": 7}, 422, None),
        (
            {
                "kind": "building",
                "name": "自交楼",
                "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            },
            400,
            "invalid",
        ),
        (
            {"kind": "building", "name": "点楼", "boundary": {"type": "Point", "coordinates": [1, 2]}},
            400,
            "invalid",
        ),
    ],
)
def test_create_refuses_what_the_service_refuses(
    territory: Territory, staff: Client, body: dict[str, Any], status: int, code: str | None
) -> None:
    count = Place.objects.count()

    response = _post(staff, f"{API}/", {"parent_id": territory.micro_a2.pk, **body})

    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    assert Place.objects.count() == count + (1 if status == 201 else 0)


def test_a_taken_segment_is_a_conflict(territory: Territory, staff: Client) -> None:
    first = _post(
        staff,
        f"{API}/",
        {"parent_id": territory.micro_a2.pk, "kind": "building", "name": "甲", "segment": "007"},
    )
    count = Place.objects.count()

    second = _post(
        staff,
        f"{API}/",
        {"parent_id": territory.micro_a2.pk, "kind": "building", "name": "乙", "segment": "007"},
    )

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    assert Place.objects.count() == count


def test_patch_redraws_a_boundary_and_locate_follows(territory: Territory, staff: Client) -> None:
    version = LocatorState.objects.get(pk=1).version
    new = {
        "type": "Polygon",
        "coordinates": [
            [[120.34, 40.14], [120.36, 40.14], [120.36, 40.16], [120.34, 40.16], [120.34, 40.14]]
        ],
    }

    response = _patch(staff, f"{API}/{territory.building.pk}", {"boundary": new, "name": "搬迁楼"})
    located = staff.get(f"{API}/locate", {"lat": 40.15, "lng": 120.35})

    assert response.status_code == 200
    assert response.json()["name"] == "搬迁楼"
    assert response.json()["boundary"] == new
    assert LocatorState.objects.get(pk=1).version == version + 1
    assert located.json()["place"]["id"] == territory.building.pk


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        True,
        [],
        {"clear_boundary": "yes"},
        {"lat": 40.0},
        {"lat": 200, "lng": 120},
        {
            "clear_boundary": True,
            "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
        },
        {"boundary": {"type": "Polygon", "coordinates": [[[0, 0], [500, 0], [500, 1], [0, 0]]]}},
    ],
)
def test_patch_refuses_bad_changes_and_changes_nothing(
    territory: Territory, staff: Client, body: Any
) -> None:
    before = list(Place.objects.filter(pk=territory.building.pk).values())
    audits = AuditEvent.objects.count()

    response = _patch(staff, f"{API}/{territory.building.pk}", body)

    assert response.status_code in (400, 422)
    assert "detail" in response.json()
    assert list(Place.objects.filter(pk=territory.building.pk).values()) == before
    assert AuditEvent.objects.count() == audits


# --- scope ------------------------------------------------------------------------------------


def test_a_grid_worker_cannot_read_or_change_the_other_grid(territory: Territory, worker_a: Client) -> None:
    t = territory
    for place in (t.grid_b, t.micro_b1, t.community):
        urls = [
            f"{API}/{place.pk}{suffix}"
            for suffix in ("", "/children", "/subtree", "/geojson", "/responsible")
        ]
        for url in urls:
            response = worker_a.get(url)

            assert response.status_code == 404, url
            assert place.name not in response.content.decode()
        before = list(Place.objects.filter(pk=place.pk).values())

        patched = _patch(worker_a, f"{API}/{place.pk}", {"name": "占领"})

        assert patched.status_code == 404
        assert place.name not in patched.content.decode()
        assert list(Place.objects.filter(pk=place.pk).values()) == before
    located = worker_a.get(f"{API}/locate", {"lat": 40.15, "lng": 120.35})
    assert located.status_code == 404
    assert t.micro_b2.name not in located.content.decode()


def test_anonymous_callers_get_401(territory: Territory) -> None:
    client = Client()

    assert client.get(f"{API}/").status_code == 401
    assert client.get(f"{API}/locate", {"lat": 40.03, "lng": 120.03}).status_code == 401
    assert client.get(f"{API}/{territory.grid_a.pk}").json()["code"] == "unauthenticated"


# --- query counts -----------------------------------------------------------------------------


def test_list_endpoints_use_a_fixed_number_of_queries(
    territory: Territory, admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    # Token (1) and its idle refresh (at most 1), scope (1), then the endpoint's own reads.
    t = territory
    with django_assert_max_num_queries(4):
        assert admin_client.get(f"{API}/").status_code == 200
    with django_assert_max_num_queries(5):
        assert admin_client.get(f"{API}/{t.community.pk}/children").status_code == 200
    with django_assert_max_num_queries(5):
        assert admin_client.get(f"{API}/{t.county.pk}/subtree").status_code == 200
    with django_assert_max_num_queries(5):
        assert (
            admin_client.get(
                f"{API}/{t.county.pk}/geojson", {"kinds": "grid,micro_grid,building"}
            ).status_code
            == 200
        )
    with django_assert_max_num_queries(6):
        assert admin_client.get(f"{API}/{t.micro_a1.pk}").status_code == 200
    with django_assert_max_num_queries(6):
        assert admin_client.get(f"{API}/{t.building.pk}/responsible").status_code == 200


def test_subtree_queries_do_not_grow_with_the_tree(
    territory: Territory, admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    from wangge.places import services

    for n in range(30):
        services.place_create(actor=None, kind=PlaceKind.BUILDING, name=f"加楼{n}", parent=territory.micro_b1)
    url = f"{API}/{territory.county.pk}/subtree"

    with django_assert_max_num_queries(5):
        response = admin_client.get(url)

    assert len(response.json()) == 12 + 30
    assert all(isinstance(r["child_count"], int) for r in response.json())


def test_batch_locate_is_a_fixed_number_of_queries(
    territory: Territory, admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    admin_client.get(f"{API}/locate", {"lat": 40.03, "lng": 120.03})  # the index is built
    points = [{"lat": 40.0 + i / 10_000, "lng": 120.0 + i / 5_000} for i in range(2000)]

    with django_assert_max_num_queries(4):
        response = _post(admin_client, f"{API}/locate", {"points": points})

    assert response.json()["found"] == 2000

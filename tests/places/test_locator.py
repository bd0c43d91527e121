"""The point → place locator: deepest match, shared edges, batches, and rebuilding on change."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from tests.places.factories import MIDDLE, Territory, make_territory
from wangge.core.errors import NotFound, ValidationError
from wangge.places import locator, selectors, services
from wangge.places.geo import rectangle
from wangge.places.models import LocatorState, Place, PlaceKind

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def territory() -> Territory:
    return make_territory()


class FakeClock:
    """Stands in for the monotonic clock the locator's version check reads."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(locator, "_now", fake)
    return fake


def test_a_point_in_a_building_locates_to_the_building(territory: Territory) -> None:
    found = locator.get_locator().locate(40.03, 120.03)

    assert found == territory.building.pk


def test_a_point_in_a_micro_grid_but_no_building_locates_to_the_micro_grid(territory: Territory) -> None:
    index = locator.get_locator()

    assert index.locate(40.1, 120.08) == territory.micro_a1.pk
    assert index.locate(40.1, 120.15) == territory.micro_a2.pk
    assert index.locate(40.1, 120.35) == territory.micro_b2.pk


def test_matches_lists_every_containing_place_deepest_first(territory: Territory) -> None:
    found = [m.place_id for m in locator.get_locator().matches(40.03, 120.03)]

    t = territory
    assert found[:6] == [t.building.pk, t.micro_a1.pk, t.grid_a.pk, t.community.pk, t.street.pk, t.county.pk]


def test_a_point_outside_every_boundary_locates_to_nothing(territory: Territory) -> None:
    index = locator.get_locator()

    assert index.locate(-45.0, -170.0) is None
    assert index.matches(-45.0, -170.0) == []
    with pytest.raises(NotFound):
        selectors.place_locate(None, lat=-45.0, lng=-170.0)


def test_a_point_on_the_edge_two_grids_share_goes_to_the_smaller_code(territory: Territory) -> None:
    # lng 120.2 is the edge of grid A / grid B and of micro A2 / micro B1.
    index = locator.get_locator()

    answers = {index.locate(40.1, MIDDLE) for _ in range(5)}
    batch = index.locate_many([40.1] * 3, [MIDDLE] * 3)

    assert territory.micro_a2.code < territory.micro_b1.code
    assert answers == {territory.micro_a2.pk}
    assert batch == [territory.micro_a2.pk] * 3
    # At the same level the grid with the smaller code wins too, so the chain stays consistent.
    grids = [m.place_id for m in index.matches(40.1, MIDDLE) if m.depth == territory.grid_a.depth]
    assert grids == [territory.grid_a.pk, territory.grid_b.pk]


def test_the_edge_rule_follows_codes_not_the_order_places_were_made_in() -> None:
    whole = rectangle(121.0, 41.0, 121.2, 41.1)
    county = services.place_create(actor=None, kind=PlaceKind.COUNTY, name="后建县", segment="990202")
    street = services.place_create(actor=None, kind=PlaceKind.STREET, name="后建街道", parent=county)
    community = services.place_create(actor=None, kind=PlaceKind.COMMUNITY, name="后建社区", parent=street)
    # The eastern grid is made first but takes the larger code.
    east = services.place_create(
        actor=None,
        kind=PlaceKind.GRID,
        name="东",
        parent=community,
        segment="002",
        boundary=rectangle(121.1, 41.0, 121.2, 41.1),
    )
    west = services.place_create(
        actor=None,
        kind=PlaceKind.GRID,
        name="西",
        parent=community,
        segment="001",
        boundary=rectangle(121.0, 41.0, 121.1, 41.1),
    )
    services.place_update(actor=None, place=community, boundary=whole)

    index = locator.get_locator()

    assert east.pk < west.pk
    assert index.locate(41.05, 121.1) == west.pk
    assert index.locate_many([41.05], [121.1]) == [west.pk]


def test_a_corner_shared_by_four_places_resolves_to_one(territory: Territory) -> None:
    # (lng 120.1, lat 40.0) is the corner of micro A1, micro A2, and the grid/community edges.
    assert locator.get_locator().locate(40.0, 120.1) == territory.micro_a1.pk


def test_batch_answers_equal_single_answers(territory: Territory) -> None:
    rng = random.Random(7)
    lats = [rng.uniform(39.95, 40.25) for _ in range(500)] + [40.0, 40.2, 40.1, 40.03]
    lngs = [rng.uniform(119.95, 120.45) for _ in range(500)] + [120.1, 120.2, MIDDLE, 120.04]
    index = locator.get_locator()

    batch = index.locate_many(lats, lngs)

    assert batch == [index.locate(a, b) for a, b in zip(lats, lngs, strict=True)]
    assert any(v is None for v in batch)
    assert any(v is not None for v in batch)


def test_batch_with_scope_prefixes_gives_the_deepest_visible_place(territory: Territory) -> None:
    index = locator.get_locator()
    only_b = (territory.grid_b.path,)

    # On the shared edge, someone who sees only grid B gets grid B's micro-grid, not nothing.
    assert index.locate(40.1, MIDDLE, prefixes=only_b) == territory.micro_b1.pk
    assert index.locate_many([40.1, 40.03], [MIDDLE, 120.03], prefixes=only_b) == [
        territory.micro_b1.pk,
        None,
    ]
    assert [m.place_id for m in index.matches(40.1, MIDDLE, prefixes=only_b)] == [
        territory.micro_b1.pk,
        territory.grid_b.pk,
    ]


def test_non_finite_points_match_nothing(territory: Territory) -> None:
    index = locator.get_locator()

    assert index.locate_many([math.nan, math.inf, 40.1], [120.1, 120.1, -math.inf]) == [None, None, None]
    assert index.locate_many([], []) == []


def test_the_selector_refuses_non_finite_and_out_of_range_points(territory: Territory) -> None:
    for lat, lng in [(math.nan, 120.0), (40.0, math.inf), (91.0, 120.0), (40.0, -180.5)]:
        with pytest.raises(ValidationError):
            selectors.place_locate(None, lat=lat, lng=lng)
        with pytest.raises(ValidationError):
            selectors.place_locate_many(None, [(lat, lng)])


def test_a_boundary_changed_through_place_update_is_seen_at_once_in_this_process(
    territory: Territory, clock: FakeClock
) -> None:
    before = locator.get_locator()
    assert before.locate(40.15, 120.35) == territory.micro_b2.pk

    # Move the building from micro A1 into micro B2; the clock does not move at all.
    services.place_update(
        actor=None, place=territory.building, boundary=rectangle(120.34, 40.14, 120.36, 40.16)
    )
    after = locator.get_locator()

    assert after is not before
    assert after.locate(40.15, 120.35) == territory.building.pk
    assert after.locate(40.03, 120.03) == territory.micro_a1.pk


def test_a_change_made_by_another_process_is_seen_within_the_check_interval(
    territory: Territory, clock: FakeClock
) -> None:
    first = locator.get_locator()
    assert first.locate(40.15, 120.35) == territory.micro_b2.pk
    # Another process redraws the building and bumps the version; nothing tells this process.
    Place.objects.filter(pk=territory.building.pk).update(boundary=rectangle(120.34, 40.14, 120.36, 40.16))
    LocatorState.objects.filter(pk=1).update(version=LocatorState.objects.get(pk=1).version + 1)

    clock.now += locator.CHECK_INTERVAL / 2
    still = locator.get_locator()
    clock.now += locator.CHECK_INTERVAL
    fresh = locator.get_locator()

    assert still is first
    assert still.locate(40.15, 120.35) == territory.micro_b2.pk
    assert fresh.locate(40.15, 120.35) == territory.building.pk


def test_an_unchanged_version_does_not_rebuild(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    # Committed writes (the callbacks run as on a real commit): the version can be trusted.
    with django_capture_on_commit_callbacks(execute=True):
        make_territory()
    first = locator.get_locator()
    builds: list[int] = []
    real_build = locator.build
    monkeypatch.setattr(locator, "build", lambda: builds.append(1) or real_build())

    for _ in range(3):
        clock.now += locator.CHECK_INTERVAL * 2
        assert locator.get_locator() is first

    assert builds == []


def test_an_index_built_from_uncommitted_writes_is_checked_again(
    territory: Territory, clock: FakeClock
) -> None:
    # This thread wrote boundaries in a transaction that has not committed: if it rolls
    # back, the version number may be reused for other data, so the index is not trusted.
    first = locator.get_locator()
    clock.now += locator.CHECK_INTERVAL * 2

    assert locator.get_locator() is not first


def test_a_rename_does_not_rebuild_the_index(
    clock: FakeClock, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        territory = make_territory()
    version = LocatorState.objects.get(pk=1).version
    first = locator.get_locator()

    services.place_update(actor=None, place=territory.grid_a, name="改名网格")

    assert LocatorState.objects.get(pk=1).version == version
    assert locator.get_locator() is first


def test_clearing_a_boundary_removes_the_place_from_the_index(territory: Territory, clock: FakeClock) -> None:
    services.place_update(actor=None, place=territory.building, clear_boundary=True)

    assert locator.get_locator().locate(40.03, 120.03) == territory.micro_a1.pk


def test_a_broken_stored_boundary_is_left_out_not_fatal(territory: Territory, clock: FakeClock) -> None:
    Place.objects.filter(pk=territory.micro_b2.pk).update(
        boundary={"type": "Polygon", "coordinates": "broken"}
    )
    services.bump_locator()

    index = locator.get_locator()

    assert territory.micro_b2.pk not in index.ids.tolist()
    assert index.locate(40.15, 120.35) == territory.grid_b.pk


def test_selector_returns_the_deepest_place_the_user_may_see(territory: Territory) -> None:
    from tests.places.factories import assign, make_user
    from wangge.core.roles import Role

    worker = assign(make_user("loc-worker-b"), Role.GRID_WORKER, territory.grid_b)

    on_edge = selectors.place_locate(worker, lat=40.1, lng=MIDDLE)
    batch = selectors.place_locate_many(worker, [(40.1, MIDDLE), (40.03, 120.03), (40.15, 120.35)])

    assert on_edge.pk == territory.micro_b1.pk
    assert batch == [territory.micro_b1.pk, None, territory.micro_b2.pk]
    with pytest.raises(NotFound):
        selectors.place_locate(worker, lat=40.03, lng=120.03)

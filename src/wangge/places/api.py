"""Places API (地点): the tree, subtrees, GeoJSON for maps, the point locator, who is responsible.

Every read starts from the caller's scope, so a place outside it answers 404 exactly like a
place that does not exist. Handlers are thin: parse → selector or service → schema.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from wangge.core.api import READ_ERRORS, WRITE_ERRORS, ErrorOut, api_user
from wangge.org.selectors import responsible_for
from wangge.places import selectors, services
from wangge.places.models import Place
from wangge.places.schemas import (
    FeatureCollectionOut,
    GeoJSONQuery,
    LocateBatchIn,
    LocateBatchOut,
    LocateOut,
    PlaceCreateIn,
    PlaceDetailOut,
    PlaceOut,
    PlaceUpdateIn,
    PointIn,
    ResponsibleOut,
    SubtreeQuery,
)

router = Router(tags=["places"])


def _detail(request: HttpRequest, place: Place) -> PlaceDetailOut:
    out = PlaceDetailOut.from_orm(place)
    out.ancestors = [PlaceOut.from_orm(p) for p in selectors.place_ancestors(request.user, place)]
    return out


@router.get("/", response={200: list[PlaceOut], 401: ErrorOut})
def place_roots(request: HttpRequest) -> list[Place]:
    """The top places of the caller's scope (all roots for administrators)."""
    return selectors.place_roots(request.user)


@router.get("/locate", response={200: LocateOut, **READ_ERRORS})
def place_locate(request: HttpRequest, point: Query[PointIn]) -> LocateOut:
    """The deepest place in the caller's scope whose boundary contains the point (WGS-84).

    A point on a line two places share belongs to the one with the smaller code. 404 when no
    boundary in the caller's scope contains the point.
    """
    place = selectors.place_locate(request.user, lat=point.lat, lng=point.lng)
    return LocateOut(
        place=PlaceOut.from_orm(place),
        ancestors=[PlaceOut.from_orm(p) for p in selectors.place_ancestors(request.user, place)],
    )


@router.post("/locate", response={200: LocateBatchOut, **READ_ERRORS})
def place_locate_batch(request: HttpRequest, data: LocateBatchIn) -> LocateBatchOut:
    """Locate up to 10,000 points at once; each answer is a place id or null, in input order."""
    ids = selectors.place_locate_many(request.user, [(p.lat, p.lng) for p in data.points])
    return LocateBatchOut(place_ids=ids, found=sum(1 for i in ids if i is not None))


@router.post("/", response={201: PlaceDetailOut, **WRITE_ERRORS})
def place_create(request: HttpRequest, data: PlaceCreateIn) -> Status[PlaceDetailOut]:
    """Add a place under a parent the caller manages."""
    parent = selectors.place_get(request.user, data.parent_id)
    place = services.place_create(
        actor=api_user(request),
        parent=parent,
        kind=data.kind,
        name=data.name,
        segment=data.segment,
        grid_type=data.grid_type,
        boundary=data.boundary,
        lat=data.lat,
        lng=data.lng,
        sort_order=data.sort_order,
    )
    return Status(201, _detail(request, place))


@router.get("/{place_id}", response={200: PlaceDetailOut, **READ_ERRORS})
def place_detail(request: HttpRequest, place_id: int) -> PlaceDetailOut:
    """One place with its boundary and the visible places above it."""
    return _detail(request, selectors.place_get(request.user, place_id))


@router.patch("/{place_id}", response={200: PlaceDetailOut, **WRITE_ERRORS})
def place_update(request: HttpRequest, place_id: int, data: PlaceUpdateIn) -> PlaceDetailOut:
    """Rename a place, move its point, or redraw or clear its boundary."""
    place = selectors.place_get(request.user, place_id)
    place = services.place_update(
        actor=api_user(request),
        place=place,
        name=data.name,
        boundary=data.boundary,
        clear_boundary=data.clear_boundary,
        lat=data.lat,
        lng=data.lng,
    )
    return _detail(request, place)


@router.get("/{place_id}/children", response={200: list[PlaceOut], **READ_ERRORS})
def place_children(request: HttpRequest, place_id: int) -> list[Place]:
    """The places directly under a place."""
    return selectors.place_children(request.user, selectors.place_get(request.user, place_id))


@router.get("/{place_id}/subtree", response={200: list[PlaceOut], **READ_ERRORS})
def place_subtree(request: HttpRequest, place_id: int, filters: Query[SubtreeQuery]) -> list[Place]:
    """Everything under a place (itself included), in path order, a page at a time."""
    place = selectors.place_get(request.user, place_id)
    qs = selectors.place_subtree(
        request.user, place, kinds=selectors.parse_kinds(filters.kinds), max_depth=filters.max_depth
    )
    return list(selectors.with_tree_info(qs)[filters.offset : filters.offset + filters.limit])


@router.get("/{place_id}/geojson", response={200: FeatureCollectionOut, **READ_ERRORS})
def place_geojson(request: HttpRequest, place_id: int, filters: Query[GeoJSONQuery]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of boundaries under a place (default: it and its children)."""
    place = selectors.place_get(request.user, place_id)
    return selectors.place_feature_collection(
        request.user, place, kinds=selectors.parse_kinds(filters.kinds), max_depth=filters.max_depth
    )


@router.get("/{place_id}/responsible", response={200: list[ResponsibleOut], **READ_ERRORS})
def place_responsible(request: HttpRequest, place_id: int) -> list[ResponsibleOut]:
    """Who is in charge of this place and of the places above it (定人、定岗、定责).

    Phone numbers are masked for callers who may not see staff phones.
    """
    place = selectors.place_get(request.user, place_id)
    return [ResponsibleOut(**row) for row in responsible_for(request.user, place)]

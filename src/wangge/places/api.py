"""Places API: the tree, subtrees, GeoJSON for maps, and the point locator."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest
from ninja import Query, Router

from wangge.core.api import ErrorOut
from wangge.core.models import User
from wangge.org.selectors import responsible_for
from wangge.places import selectors, services
from wangge.places.models import Place, PlaceKind
from wangge.places.schemas import (
    FeatureCollectionOut,
    LocateBatchIn,
    LocateBatchOut,
    LocateOut,
    PlaceCreateIn,
    PlaceDetailOut,
    PlaceOut,
    PlaceUpdateIn,
    PointIn,
    ResponsibleOut,
)

router = Router(tags=["places"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _kinds(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    return [k for k in (s.strip() for s in raw.split(",")) if k in PlaceKind.values] or None


@router.get("/", response=list[PlaceOut])
def place_roots(request: HttpRequest) -> list[Place]:
    """The top places of the caller's scope."""
    return selectors.place_roots(request.user)


@router.get("/locate", response={200: LocateOut, **ERRORS})
def place_locate(request: HttpRequest, point: Query[PointIn]) -> LocateOut:
    """The deepest place in the caller's scope whose boundary contains the point (WGS-84)."""
    place = selectors.place_locate(request.user, lat=point.lat, lng=point.lng)
    return LocateOut(
        place=PlaceOut.from_orm(place),
        ancestors=[PlaceOut.from_orm(p) for p in selectors.place_ancestors(request.user, place)],
    )


@router.post("/locate", response={200: LocateBatchOut, **ERRORS})
def place_locate_batch(request: HttpRequest, data: LocateBatchIn) -> LocateBatchOut:
    """Locate up to 10,000 points at once; each answer is a place id or null."""
    ids = selectors.place_locate_many(request.user, [(p.lat, p.lng) for p in data.points])
    return LocateBatchOut(place_ids=ids)


@router.post("/", response={201: PlaceDetailOut, **ERRORS})
def place_create(request: HttpRequest, data: PlaceCreateIn) -> tuple[int, Place]:
    """Add a place under a parent the caller manages."""
    parent = selectors.place_get(request.user, data.parent_id)
    assert isinstance(request.user, User)
    place = services.place_create(
        actor=request.user,
        parent=parent,
        kind=data.kind,
        name=data.name,
        segment=data.segment,
        grid_type=data.grid_type,
        boundary=data.boundary,
        lat=data.lat,
        lng=data.lng,
    )
    return 201, place


@router.get("/{place_id}", response={200: PlaceDetailOut, **ERRORS})
def place_detail(request: HttpRequest, place_id: int) -> PlaceDetailOut:
    place = selectors.place_get(request.user, place_id)
    out = PlaceDetailOut.from_orm(place)
    out.ancestors = [PlaceOut.from_orm(p) for p in selectors.place_ancestors(request.user, place)]
    return out


@router.patch("/{place_id}", response={200: PlaceDetailOut, **ERRORS})
def place_update(request: HttpRequest, place_id: int, data: PlaceUpdateIn) -> Place:
    place = selectors.place_get(request.user, place_id)
    assert isinstance(request.user, User)
    return services.place_update(
        actor=request.user,
        place=place,
        name=data.name,
        boundary=data.boundary,
        clear_boundary=data.clear_boundary,
        lat=data.lat,
        lng=data.lng,
    )


@router.get("/{place_id}/children", response={200: list[PlaceOut], **ERRORS})
def place_children(request: HttpRequest, place_id: int) -> list[Place]:
    return selectors.place_children(request.user, selectors.place_get(request.user, place_id))


@router.get("/{place_id}/subtree", response={200: list[PlaceOut], **ERRORS})
def place_subtree(
    request: HttpRequest, place_id: int, kinds: str | None = None, max_depth: int | None = None, limit: int = 5000
) -> list[Place]:
    """Everything under a place, in path order; ``kinds`` is a comma-separated filter."""
    place = selectors.place_get(request.user, place_id)
    qs = selectors.place_subtree(request.user, place, kinds=_kinds(kinds), max_depth=max_depth)
    return list(qs.annotate(child_count=Count("children"))[: max(1, min(limit, 20000))])


@router.get("/{place_id}/geojson", response={200: FeatureCollectionOut, **ERRORS})
def place_geojson(request: HttpRequest, place_id: int, kinds: str | None = None) -> dict[str, object]:
    """A GeoJSON FeatureCollection of boundaries under a place (default: it and its children)."""
    place = selectors.place_get(request.user, place_id)
    return selectors.place_feature_collection(request.user, place, kinds=_kinds(kinds))


@router.get("/{place_id}/responsible", response={200: list[ResponsibleOut], **ERRORS})
def place_responsible(request: HttpRequest, place_id: int) -> list[ResponsibleOut]:
    """Who is in charge of this place and of the places above it."""
    place = selectors.place_get(request.user, place_id)
    return [ResponsibleOut(**row) for row in responsible_for(request.user, place)]

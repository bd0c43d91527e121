"""Reads of the place tree, always narrowed to the actor's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from wangge.core.errors import NotFound
from wangge.core.scope import access, scope_for
from wangge.places.locator import get_locator
from wangge.places.models import Place, PlaceKind


def places_visible(user: Any) -> QuerySet[Place]:
    return Place.objects.visible_to(user)


def place_get(user: Any, place_id: int) -> Place:
    return access(Place.objects.all(), user, pk=place_id)


def place_roots(user: Any) -> list[Place]:
    """The top of what the user may see: their assignment places, or the real roots for admins."""
    scope = scope_for(user)
    if scope.is_admin:
        qs = Place.objects.filter(parent__isnull=True)
    else:
        qs = Place.objects.filter(path__in=scope.all_paths)
    return list(qs.annotate(child_count=Count("children")).order_by("path"))


def place_children(user: Any, place: Place) -> list[Place]:
    return list(
        places_visible(user).filter(parent=place).annotate(child_count=Count("children")).order_by("sort_order", "path")
    )


def place_ancestors(user: Any, place: Place) -> list[Place]:
    """The visible places above ``place``, top first (for breadcrumbs)."""
    paths = place.ancestor_paths()[:-1]
    return list(places_visible(user).filter(path__in=paths).order_by("depth"))


def place_subtree(
    user: Any, place: Place, *, kinds: list[str] | None = None, max_depth: int | None = None
) -> QuerySet[Place]:
    qs = places_visible(user).filter(path__under=place.path)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if max_depth is not None:
        qs = qs.filter(depth__lte=place.depth + max_depth)
    return qs.order_by("path")


def place_feature_collection(user: Any, place: Place, *, kinds: list[str] | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the subtree's boundaries, for maps."""
    if not kinds:
        child_kinds = {
            PlaceKind.COUNTY: [PlaceKind.STREET],
            PlaceKind.STREET: [PlaceKind.COMMUNITY],
            PlaceKind.COMMUNITY: [PlaceKind.GRID],
            PlaceKind.GRID: [PlaceKind.MICRO_GRID, PlaceKind.BUILDING],
            PlaceKind.MICRO_GRID: [PlaceKind.BUILDING],
        }
        kinds = [place.kind, *child_kinds.get(PlaceKind(place.kind), [])]
    rows = (
        place_subtree(user, place, kinds=kinds)
        .filter(boundary__isnull=False)
        .values("id", "kind", "name", "code", "path", "parent_id", "grid_type", "boundary", "lat", "lng")
    )
    features = []
    for row in rows.iterator(chunk_size=1000):
        boundary = row.pop("boundary")
        features.append({"type": "Feature", "id": row["id"], "geometry": boundary, "properties": row})
    return {"type": "FeatureCollection", "features": features}


def place_locate(user: Any, *, lat: float, lng: float) -> Place:
    """The deepest place the user may see that contains the point."""
    scope = scope_for(user)
    for match in get_locator().matches(lat, lng):
        if scope.is_admin or any(match.path.startswith(p) for p in scope.all_paths):
            return Place.objects.get(pk=match.place_id)
    raise NotFound("No place in your scope contains this point")


def place_locate_many(user: Any, points: list[tuple[float, float]]) -> list[int | None]:
    scope = scope_for(user)
    ids = get_locator().locate_many([p[0] for p in points], [p[1] for p in points])
    if scope.is_admin:
        return ids
    found = {i for i in ids if i is not None}
    paths = dict(Place.objects.filter(pk__in=found).values_list("pk", "path"))
    # A point whose deepest place is out of scope is not reported, even if an ancestor is.
    return [i if i is not None and any(paths[i].startswith(p) for p in scope.all_paths) else None for i in ids]

"""Reads of the place tree, always narrowed to the actor's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Length, Replace
from django.utils.translation import gettext as _

from wangge.core.errors import NotFound, ValidationError
from wangge.core.scope import access, scope_for
from wangge.places.geo import check_point
from wangge.places.locator import get_locator
from wangge.places.models import Place, PlaceKind

# Primary keys are 64-bit; anything larger cannot name a row (and would overflow SQLite).
MAX_ID = 2**63 - 1
# Default map layers: a place and the level just below it.
MAP_CHILD_KINDS: dict[str, list[str]] = {
    PlaceKind.COUNTY: [PlaceKind.STREET],
    PlaceKind.STREET: [PlaceKind.COMMUNITY],
    PlaceKind.COMMUNITY: [PlaceKind.GRID],
    PlaceKind.GRID: [PlaceKind.MICRO_GRID, PlaceKind.BUILDING],
    PlaceKind.MICRO_GRID: [PlaceKind.BUILDING],
}


def places_visible(user: Any) -> QuerySet[Place]:
    return Place.objects.visible_to(user)


def with_tree_info(qs: QuerySet[Place]) -> QuerySet[Place]:
    """Rows for lists: no boundary column, plus ``child_count`` and ``has_boundary_flag``.

    Both are computed in the same query (a correlated count, no GROUP BY over the row), so a
    list of any length is one query.
    """
    children = (
        Place.objects.filter(parent=OuterRef("pk"))
        .order_by()
        .values("parent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.defer("boundary").annotate(
        child_count=Coalesce(Subquery(children, output_field=IntegerField()), 0),
        has_boundary_flag=ExpressionWrapper(Q(boundary__isnull=False), output_field=BooleanField()),
    )


def place_get(user: Any, place_id: int) -> Place:
    """One place the user may see, or NotFound (missing and out of scope look the same)."""
    if not 0 < place_id <= MAX_ID:
        raise NotFound(_("Place not found"))
    return access(Place.objects.all(), user, pk=place_id)


def place_get_by_code(user: Any, code: str) -> Place:
    return access(Place.objects.all(), user, code=code)


def place_roots(user: Any) -> list[Place]:
    """The top of what the user may see: their assignment places, or the real roots for admins."""
    scope = scope_for(user)
    qs = places_visible(user)
    qs = qs.filter(parent__isnull=True) if scope.is_admin else qs.filter(path__in=scope.all_paths)
    return list(with_tree_info(qs).order_by("path"))


def place_children(user: Any, place: Place) -> list[Place]:
    return list(with_tree_info(places_visible(user).filter(parent=place)).order_by("sort_order", "path"))


def place_ancestors(user: Any, place: Place) -> list[Place]:
    """The visible places above ``place``, top first (for breadcrumbs)."""
    paths = place.ancestor_paths()[:-1]
    if not paths:
        return []
    return list(with_tree_info(places_visible(user).filter(path__in=paths)).order_by("path"))


def parse_kinds(raw: str | list[str] | None) -> list[str] | None:
    """``"grid,micro_grid"`` → ``["grid", "micro_grid"]``; an unknown kind is an error, not ignored."""
    if raw is None:
        return None
    items = raw.split(",") if isinstance(raw, str) else raw
    kinds = [k.strip() for k in items if k.strip()]
    unknown = sorted({k for k in kinds if k not in PlaceKind.values})
    if unknown:
        raise ValidationError(
            _("Unknown place kind: %(kinds)s (known: %(known)s)")
            % {"kinds": ", ".join(unknown)[:200], "known": ", ".join(PlaceKind.values)},
            code="unknown_kind",
        )
    return kinds or None


def place_subtree(
    user: Any, place: Place, *, kinds: list[str] | None = None, max_depth: int | None = None
) -> QuerySet[Place]:
    """Everything under ``place`` (itself included) in path order.

    ``max_depth`` counts levels of the tree below ``place``: 0 is the place alone, 1 adds
    its children, and so on, whatever kinds the levels are.
    """
    qs = places_visible(user).filter(path__under=place.path)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if max_depth is not None:
        if max_depth < 0:
            raise ValidationError(_("max_depth cannot be negative"))
        # Each level adds one dot-terminated segment to the path: count the dots.
        dots = Length("path") - Length(Replace("path", Value("."), Value("")))
        qs = qs.alias(levels=dots).filter(levels__lte=place.path.count(".") + max_depth)
    return qs.order_by("path")


def place_feature_collection(
    user: Any, place: Place, *, kinds: list[str] | None = None, max_depth: int | None = None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the subtree's boundaries, for maps.

    Without ``kinds`` it holds the place and the level below it.
    """
    if not kinds:
        kinds = [place.kind, *MAP_CHILD_KINDS.get(place.kind, [])]
    rows = (
        place_subtree(user, place, kinds=kinds, max_depth=max_depth)
        .filter(boundary__isnull=False)
        .values_list("id", "kind", "name", "code", "path", "parent_id", "grid_type", "boundary", "lat", "lng")
    )
    features = [
        {
            "type": "Feature",
            "id": pk,
            "geometry": boundary,
            "properties": {
                "id": pk,
                "kind": kind,
                "name": name,
                "code": code,
                "path": path,
                "parent_id": parent_id,
                "grid_type": grid_type,
                "lat": lat,
                "lng": lng,
            },
        }
        for pk, kind, name, code, path, parent_id, grid_type, boundary, lat, lng in rows.iterator(
            chunk_size=1000
        )
    ]
    return {"type": "FeatureCollection", "features": features}


def _scope_prefixes(user: Any) -> tuple[str, ...] | None:
    """None for administrators (everything), else the paths the user may see."""
    scope = scope_for(user)
    return None if scope.is_admin else scope.all_paths


def place_locate(user: Any, *, lat: float, lng: float) -> Place:
    """The deepest place the user may see whose boundary contains the point."""
    check_point(lat, lng)
    prefixes = _scope_prefixes(user)
    if prefixes == ():
        raise NotFound(_("No place in your scope contains this point"), code="no_place_here")
    matches = get_locator().matches(lat, lng, prefixes=prefixes)
    if matches:
        # The index may be up to a second old: read the rows, keep the best that still exists.
        ids = [m.place_id for m in matches]
        found = {p.pk: p for p in places_visible(user).filter(pk__in=ids)}
        for place_id in ids:
            if place_id in found:
                return found[place_id]
    raise NotFound(_("No place in your scope contains this point"), code="no_place_here")


def place_locate_many(user: Any, points: list[tuple[float, float]]) -> list[int | None]:
    """For each ``(lat, lng)``, the id of the deepest place the user may see there, or None.

    The same answer ``place_locate`` gives for each point, in one vectorised query.
    """
    for lat, lng in points:
        check_point(lat, lng)
    prefixes = _scope_prefixes(user)
    if prefixes == () or not points:
        return [None] * len(points)
    return get_locator().locate_many([p[0] for p in points], [p[1] for p in points], prefixes=prefixes)

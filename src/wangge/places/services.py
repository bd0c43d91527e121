"""Every write to the place tree. Each checks scope and capability and writes an audit row."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.roles import Capability
from wangge.core.scope import can_see_path, has_capability, scope_for
from wangge.places.geo import check_point, representative_point, validate_geometry
from wangge.places.locator import boundaries_changed
from wangge.places.models import (
    ALLOWED_PARENTS,
    KIND_DEPTH,
    SEGMENT_WIDTH,
    GridType,
    LocatorState,
    Place,
    PlaceKind,
)


def check_can_manage_places(actor: User | None, path: str) -> None:
    if actor is None:
        return  # system actors (demo loader, importers run by an operator)
    if not can_see_path(actor, path):
        raise NotFound(_("Place not found"))
    if not has_capability(actor, Capability.MANAGE_PLACES, path):
        raise PermissionDenied(_("You may not edit places here"))


def next_segment(parent: Place | None, kind: str) -> str:
    width = SEGMENT_WIDTH[kind]
    siblings = Place.objects.filter(parent=parent).values_list("segment", flat=True)
    used = [int(s) for s in siblings if s.isdigit() and len(s) == width]
    value = max(used, default=0) + 1
    if value >= 10**width:
        raise ValidationError(_("No free code left under this place"))
    return str(value).zfill(width)


def _point(lat: float | None, lng: float | None) -> None:
    if (lat is None) != (lng is None):
        raise ValidationError(_("Give both latitude and longitude, or neither"))
    if lat is not None and lng is not None:
        check_point(lat, lng)


def bump_locator() -> None:
    """Tell every process's locator that boundaries changed; call inside the write's transaction."""
    now = clock.now()
    if not LocatorState.objects.filter(pk=1).update(version=F("version") + 1, updated_at=now):
        _, created = LocatorState.objects.get_or_create(pk=1, defaults={"version": 1, "updated_at": now})
        if not created:  # another writer made the row meanwhile: still count this change
            LocatorState.objects.filter(pk=1).update(version=F("version") + 1, updated_at=now)
    boundaries_changed()


def validate_new_place(
    *,
    kind: str,
    name: str,
    parent: Place | None,
    segment: str | None = None,
    grid_type: str = "",
    boundary: dict[str, Any] | None = None,
    lat: float | None = None,
    lng: float | None = None,
) -> dict[str, Any] | None:
    """Check a new place's fields without writing; returns the normalised boundary.

    ``place_create`` runs it first; forms call it to show the same errors beside the fields.
    """
    if kind not in PlaceKind.values:
        raise ValidationError(_("Unknown place kind"))
    allowed = ALLOWED_PARENTS[kind]
    if parent is None and allowed:
        raise ValidationError(_("This kind of place needs a parent"))
    if parent is not None and parent.kind not in allowed:
        raise ValidationError(
            _("A %(kind)s cannot sit under a %(parent)s")
            % {"kind": PlaceKind(kind).label, "parent": PlaceKind(parent.kind).label}
        )
    if not name.strip():
        raise ValidationError(_("A place needs a name"))
    width = SEGMENT_WIDTH[kind]
    if segment is not None and not (segment.isdigit() and len(segment) == width):
        raise ValidationError(_("The code segment must be %(width)d digits") % {"width": width})
    if segment is not None:
        code = (parent.code if parent else "") + segment
        if Place.objects.filter(code=code).exists():
            raise Conflict(_("A place with the code %(code)s already exists") % {"code": code})
    if grid_type and kind != PlaceKind.GRID:
        raise ValidationError(_("Only grids have a grid type"))
    if grid_type and grid_type not in GridType.values:
        raise ValidationError(_("Unknown grid type"))
    _point(lat, lng)
    return validate_geometry(boundary) if boundary is not None else None


@transaction.atomic
def place_create(
    *,
    actor: User | None,
    kind: str,
    name: str,
    parent: Place | None = None,
    segment: str | None = None,
    grid_type: str = "",
    boundary: dict[str, Any] | None = None,
    lat: float | None = None,
    lng: float | None = None,
    sort_order: int = 0,
) -> Place:
    if parent is not None:
        check_can_manage_places(actor, parent.path)
    elif actor is not None and not scope_for(actor).is_admin:
        raise PermissionDenied(_("Only administrators create top-level places"))
    boundary = validate_new_place(
        kind=kind,
        name=name,
        parent=parent,
        segment=segment or None,
        grid_type=grid_type,
        boundary=boundary,
        lat=lat,
        lng=lng,
    )
    name = name.strip()
    segment = segment or next_segment(parent, kind)
    if boundary is not None and lat is None:
        # A place drawn on the map gets a point inside it, for markers and labels.
        lat, lng = representative_point(boundary)
    code = (parent.code if parent else "") + segment
    now = clock.now()
    try:
        with transaction.atomic():
            place = Place.objects.create(
                kind=kind,
                name=name[:100],
                parent=parent,
                segment=segment,
                code=code,
                path=(parent.path if parent else "") + segment + ".",
                depth=KIND_DEPTH[kind],
                grid_type=grid_type or (GridType.GENERAL if kind == PlaceKind.GRID else ""),
                boundary=boundary,
                lat=lat,
                lng=lng,
                sort_order=sort_order,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as exc:  # a concurrent create took the same code
        raise Conflict(_("A place with the code %(code)s already exists") % {"code": code}) from exc
    if boundary is not None:
        bump_locator()
    audit.record(actor=actor, action="place.created", obj=place, changes={"kind": kind, "name": name})
    return place


@transaction.atomic
def place_update(
    *,
    actor: User | None,
    place: Place,
    name: str | None = None,
    boundary: dict[str, Any] | None = None,
    clear_boundary: bool = False,
    lat: float | None = None,
    lng: float | None = None,
) -> Place:
    check_can_manage_places(actor, place.path)
    if clear_boundary and boundary is not None:
        raise ValidationError(_("Give a new boundary or clear it, not both"))
    _point(lat, lng)
    if boundary is not None:
        boundary = validate_geometry(boundary)
    place = Place.objects.select_for_update().get(pk=place.pk)
    old_boundary = place.boundary
    before = {"name": place.name, "boundary": old_boundary is not None, "lat": place.lat, "lng": place.lng}
    fields = ["updated_at"]
    if name is not None:
        if not name.strip():
            raise ValidationError(_("A place needs a name"))
        place.name = name.strip()[:100]
        fields.append("name")
    boundary_changed = False
    if clear_boundary and old_boundary is not None:
        place.boundary = None
        fields.append("boundary")
        boundary_changed = True
    elif boundary is not None and boundary != old_boundary:
        place.boundary = boundary
        fields.append("boundary")
        boundary_changed = True
    if lat is not None and lng is not None:
        place.lat, place.lng = lat, lng
        fields += ["lat", "lng"]
    place.updated_at = clock.now()
    place.save(update_fields=fields)
    if boundary_changed:
        bump_locator()
    after = {"name": place.name, "boundary": place.boundary is not None, "lat": place.lat, "lng": place.lng}
    changes = audit.diff(before, after)
    if boundary_changed and "boundary" not in changes:
        changes["boundary"] = "redrawn"
    audit.record(actor=actor, action="place.updated", obj=place, changes=changes)
    return place

"""Every write to the place tree. Each checks scope and capability and writes an audit row."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import NotFound, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.roles import Capability
from wangge.core.scope import can_see_path, has_capability, scope_for
from wangge.places.geo import validate_geometry
from wangge.places.models import ALLOWED_PARENTS, KIND_DEPTH, SEGMENT_WIDTH, LocatorState, Place, PlaceKind


def _check_manage(actor: User | None, path: str) -> None:
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


def bump_locator() -> None:
    """Tell every process's locator that boundaries changed; call inside the write's transaction."""
    updated = LocatorState.objects.filter(pk=1).update(version=F("version") + 1, updated_at=clock.now())
    if not updated:
        LocatorState.objects.get_or_create(pk=1, defaults={"version": 1, "updated_at": clock.now()})


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
    if parent is not None:
        _check_manage(actor, parent.path)
    elif actor is not None and not scope_for(actor).is_admin:
        raise PermissionDenied(_("Only administrators create top-level places"))
    name = name.strip()
    if not name:
        raise ValidationError(_("A place needs a name"))
    width = SEGMENT_WIDTH[kind]
    segment = segment or next_segment(parent, kind)
    if not (segment.isdigit() and len(segment) == width):
        raise ValidationError(_("The code segment must be %(width)d digits") % {"width": width})
    if grid_type and kind != PlaceKind.GRID:
        raise ValidationError(_("Only grids have a grid type"))
    if boundary is not None:
        boundary = validate_geometry(boundary)
    now = clock.now()
    place = Place.objects.create(
        kind=kind,
        name=name[:100],
        parent=parent,
        segment=segment,
        code=(parent.code if parent else "") + segment,
        path=(parent.path if parent else "") + segment + ".",
        depth=KIND_DEPTH[kind],
        grid_type=grid_type or ((kind == PlaceKind.GRID and "general") or ""),
        boundary=boundary,
        lat=lat,
        lng=lng,
        sort_order=sort_order,
        created_at=now,
        updated_at=now,
    )
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
    _check_manage(actor, place.path)
    place = Place.objects.select_for_update().get(pk=place.pk)
    before = {"name": place.name, "boundary": place.boundary is not None, "lat": place.lat, "lng": place.lng}
    fields = ["updated_at"]
    if name is not None:
        if not name.strip():
            raise ValidationError(_("A place needs a name"))
        place.name = name.strip()[:100]
        fields.append("name")
    boundary_changed = False
    if clear_boundary:
        place.boundary = None
        fields.append("boundary")
        boundary_changed = True
    elif boundary is not None:
        place.boundary = validate_geometry(boundary)
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
    audit.record(actor=actor, action="place.updated", obj=place, changes=audit.diff(before, after))
    return place

"""Creating many places in one go: generated territories, importers, the demo.

``places_bulk_create`` makes exactly the places that ``services.place_create`` would make
one by one (same checks, same segment, code, path and depth), but with one INSERT per
level of the tree, one locator bump and one summary audit row, so a county of a few
thousand places loads in about a second.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import Conflict, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.scope import scope_for
from wangge.places.geo import validate_geometry
from wangge.places.models import ALLOWED_PARENTS, KIND_DEPTH, SEGMENT_WIDTH, Place, PlaceKind
from wangge.places.services import bump_locator, check_can_manage_places


@dataclass(frozen=True)
class PlaceSpec:
    """One place to create.

    ``parent`` is the ``key`` of another spec in the same batch, an existing place, or
    ``None`` for a top-level place. ``segment`` is chosen like ``place_create`` does (the
    next free number under the parent) when left out.
    """

    key: str
    kind: str
    name: str
    parent: str | Place | None = None
    segment: str | None = None
    grid_type: str = ""
    boundary: dict[str, Any] | None = None
    lat: float | None = None
    lng: float | None = None
    sort_order: int = 0


def _check_spec(spec: PlaceSpec) -> tuple[str, dict[str, Any] | None]:
    """The cleaned name and boundary, or a ValidationError naming the spec."""
    if spec.kind not in PlaceKind.values:
        raise ValidationError(_("Unknown place kind") + f": {spec.key}")
    name = spec.name.strip()
    if not name:
        raise ValidationError(_("A place needs a name") + f": {spec.key}")
    if spec.segment is not None:
        width = SEGMENT_WIDTH[spec.kind]
        if not (spec.segment.isdigit() and len(spec.segment) == width):
            raise ValidationError(
                _("The code segment must be %(width)d digits") % {"width": width} + f": {spec.key}"
            )
    if spec.grid_type and spec.kind != PlaceKind.GRID:
        raise ValidationError(_("Only grids have a grid type") + f": {spec.key}")
    if (spec.lat is None) != (spec.lng is None):
        raise ValidationError(_("Give both latitude and longitude, or neither") + f": {spec.key}")
    if spec.lat is not None and spec.lng is not None:
        if not (math.isfinite(spec.lat) and math.isfinite(spec.lng)):
            raise ValidationError(_("Latitude and longitude must be finite numbers") + f": {spec.key}")
        if not (-90 <= spec.lat <= 90 and -180 <= spec.lng <= 180):
            raise ValidationError(
                _("Latitude must be within ±90 and longitude within ±180") + f": {spec.key}"
            )
    boundary = validate_geometry(spec.boundary) if spec.boundary is not None else None
    return name[:100], boundary


def common_path(paths: Sequence[str]) -> str:
    """The deepest place path that every path lies under ("" when they share none)."""
    if not paths:
        return ""
    parts = [p.split(".")[:-1] for p in paths]
    common: list[str] = []
    for column in zip(*parts, strict=False):
        if any(c != column[0] for c in column):
            break
        common.append(column[0])
    return "".join(f"{c}." for c in common)


@transaction.atomic
def places_bulk_create(
    *,
    actor: User | None,
    specs: Sequence[PlaceSpec],
    label: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Place]:
    """Create every place in ``specs`` and return them by key.

    All or nothing: a bad spec, a duplicate code or a place outside the actor's scope
    refuses the whole batch. ``on_progress`` is told how many places each INSERT wrote.
    """
    by_key: dict[str, PlaceSpec] = {}
    cleaned: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for spec in specs:
        if spec.key in by_key:
            raise ValidationError(_("The same key appears twice in the batch") + f": {spec.key}")
        by_key[spec.key] = spec
        cleaned[spec.key] = _check_spec(spec)

    # Parents: in the batch (by key) or already in the database; kinds must fit.
    existing_parents: dict[int, Place] = {}
    for spec in specs:
        parent = spec.parent
        if isinstance(parent, str):
            if parent not in by_key:
                raise ValidationError(_("Unknown parent key") + f": {spec.key} → {parent}")
            parent_kind = by_key[parent].kind
        elif isinstance(parent, Place):
            if parent.pk is None:
                raise ValidationError(_("The parent place has not been saved") + f": {spec.key}")
            existing_parents[parent.pk] = parent
            parent_kind = parent.kind
        else:
            parent_kind = None
        allowed = ALLOWED_PARENTS[spec.kind]
        if parent_kind is None and allowed:
            raise ValidationError(_("This kind of place needs a parent") + f": {spec.key}")
        if parent_kind is not None and parent_kind not in allowed:
            raise ValidationError(
                _("A %(kind)s cannot sit under a %(parent)s")
                % {"kind": PlaceKind(spec.kind).label, "parent": PlaceKind(parent_kind).label}
                + f": {spec.key}"
            )

    # Scope and capability, once per existing parent; top-level places need an administrator.
    for parent in existing_parents.values():
        check_can_manage_places(actor, parent.path)
    if actor is not None and not scope_for(actor).is_admin and any(s.parent is None for s in specs):
        raise PermissionDenied(_("Only administrators create top-level places"))

    # Segments: given ones must be free; missing ones take the next number, as place_create does.
    used: dict[str, set[str]] = {}  # parent id ("db:<pk>", "key:<key>" or "root") → segments

    def parent_id(spec: PlaceSpec) -> str:
        if isinstance(spec.parent, Place):
            return f"db:{spec.parent.pk}"
        return f"key:{spec.parent}" if spec.parent is not None else "root"

    taken_in_db: dict[str, set[str]] = {}
    for pk in sorted(existing_parents):
        taken_in_db[f"db:{pk}"] = set(Place.objects.filter(parent_id=pk).values_list("segment", flat=True))
    if any(s.parent is None for s in specs):
        taken_in_db["root"] = set(Place.objects.filter(parent__isnull=True).values_list("segment", flat=True))
    segments: dict[str, str] = {}
    for spec in specs:
        if spec.segment is None:
            continue
        pid = parent_id(spec)
        seen = used.setdefault(pid, set())
        if spec.segment in seen:
            raise ValidationError(_("The same code segment appears twice under one parent") + f": {spec.key}")
        if spec.segment in taken_in_db.get(pid, set()):
            raise Conflict(_("A place with this code already exists") + f": {spec.key}")
        seen.add(spec.segment)
        segments[spec.key] = spec.segment
    for spec in specs:
        if spec.segment is not None:
            continue
        pid = parent_id(spec)
        width = SEGMENT_WIDTH[spec.kind]
        seen = used.setdefault(pid, set())
        numbers = [int(s) for s in (*seen, *taken_in_db.get(pid, ())) if s.isdigit() and len(s) == width]
        value = max(numbers, default=0) + 1
        if value >= 10**width:
            raise ValidationError(_("No free code left under this place") + f": {spec.key}")
        segment = str(value).zfill(width)
        seen.add(segment)
        segments[spec.key] = segment

    # One INSERT per level, parents first: a kind always sits deeper than its parent's kind.
    now = clock.now()
    created: dict[str, Place] = {}
    levels = sorted({KIND_DEPTH[s.kind] for s in specs})
    try:
        with transaction.atomic():
            for level in levels:
                batch: list[Place] = []
                for spec in specs:
                    if KIND_DEPTH[spec.kind] != level:
                        continue
                    parent = created[spec.parent] if isinstance(spec.parent, str) else spec.parent
                    name, boundary = cleaned[spec.key]
                    segment = segments[spec.key]
                    batch.append(
                        Place(
                            kind=spec.kind,
                            name=name,
                            parent=parent,
                            segment=segment,
                            code=(parent.code if parent else "") + segment,
                            path=(parent.path if parent else "") + segment + ".",
                            depth=KIND_DEPTH[spec.kind],
                            grid_type=spec.grid_type or ("general" if spec.kind == PlaceKind.GRID else ""),
                            boundary=boundary,
                            lat=spec.lat,
                            lng=spec.lng,
                            sort_order=spec.sort_order,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                Place.objects.bulk_create(batch)
                keys = [s.key for s in specs if KIND_DEPTH[s.kind] == level]
                for key, place in zip(keys, batch, strict=True):
                    if place.pk is None:  # every supported database returns the new ids
                        raise RuntimeError("the database did not return the new place ids")
                    created[key] = place
                if on_progress is not None:
                    on_progress(len(batch))
    except IntegrityError as exc:
        raise Conflict(_("A place with this code already exists")) from exc

    if any(boundary is not None for _name, boundary in cleaned.values()):
        bump_locator()
    tops = [created[s.key].path for s in specs if not isinstance(s.parent, str)]
    kinds = Counter(s.kind for s in specs)
    audit.record(
        actor=actor,
        action="place.bulk_created",
        object_type=Place._meta.label_lower,
        object_label=(label or _("%(count)d places") % {"count": len(specs)})[:200],
        place_path=common_path(tops),
        changes={
            "count": len(specs),
            "by_kind": {kind: kinds[kind] for kind in PlaceKind.values if kinds[kind]},
            "top": sorted(created[s.key].code for s in specs if not isinstance(s.parent, str))[:20],
        },
    )
    return created

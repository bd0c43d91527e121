"""Importing boundaries (边界导入) from a GeoJSON FeatureCollection.

Surveyors and GIS offices deliver boundaries as GeoJSON. Each feature names an existing
place by ``properties.code`` (the place code, e.g. ``370103001001001``) or
``properties.id`` (its id) and carries its new boundary. ``boundaries_import`` checks every
feature first, then writes all of them in one transaction, bumps the locator once and
audits: the whole file or nothing, unless the caller asks to skip the bad features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from shapely.geometry.base import BaseGeometry

from wangge.core import audit, clock
from wangge.core.errors import ValidationError
from wangge.core.models import User
from wangge.core.roles import Capability
from wangge.core.scope import has_capability
from wangge.places.geo import representative_point, to_shape, validate_geometry
from wangge.places.models import Place
from wangge.places.services import bump_locator

# A county's grids, micro-grids and buildings fit easily; a larger file should be split.
MAX_FEATURES = 50_000
# How far (in degrees, about 1 m) a boundary may stick out of its parent's before we warn.
PARENT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class FeatureProblem:
    """One feature that was refused (error) or accepted with a remark (warning)."""

    index: int
    code: str
    reason: str


@dataclass
class ImportReport:
    """What an import did, or with ``dry_run`` what it would do."""

    total: int = 0
    matched: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    dry_run: bool = False
    applied: bool = False
    errors: list[FeatureProblem] = field(default_factory=list)
    warnings: list[FeatureProblem] = field(default_factory=list)
    updated_codes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Planned:
    index: int
    place: Place
    boundary: dict[str, Any]
    shape: BaseGeometry


def _feature_key(feature: dict[str, Any]) -> tuple[str, int | None, str | None]:
    """(label for reports, id, code) of a feature; raises ValueError with a reason."""
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise ValueError(_("properties must be an object"))
    code_raw = props.get("code")
    id_raw = props.get("id")
    code: str | None = None
    if code_raw is not None and code_raw != "":
        if isinstance(code_raw, bool) or not isinstance(code_raw, str | int):
            raise ValueError(_("properties.code must be a string"))
        code = str(code_raw).strip()
    place_id: int | None = None
    if id_raw is not None and id_raw != "":
        try:
            place_id = int(id_raw)
        except (TypeError, ValueError):
            raise ValueError(_("properties.id must be a whole number")) from None
        if isinstance(id_raw, bool) or not 0 < place_id < 2**63:
            raise ValueError(_("properties.id must be a whole number"))
    if code is None and place_id is None:
        raise ValueError(_("the feature names no place: give properties.code or properties.id"))
    return code or (str(place_id) if place_id is not None else ""), place_id, code


def _features(feature_collection: Any) -> list[Any]:
    if not isinstance(feature_collection, dict) or feature_collection.get("type") != "FeatureCollection":
        raise ValidationError(_("The file is not a GeoJSON FeatureCollection"))
    features = feature_collection.get("features")
    if not isinstance(features, list):
        raise ValidationError(_("The FeatureCollection has no features list"))
    if len(features) > MAX_FEATURES:
        raise ValidationError(
            _("The file has %(n)d features; split it into files of at most %(max)d")
            % {"n": len(features), "max": MAX_FEATURES}
        )
    return features


def _may_manage(actor: User | None, place: Place) -> bool:
    return actor is None or has_capability(actor, Capability.MANAGE_PLACES, place.path)


def boundaries_import(
    *,
    actor: User | None,
    feature_collection: dict[str, Any],
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> ImportReport:
    """Set the boundaries of existing places from a GeoJSON FeatureCollection.

    Every feature is checked before anything is written. When any feature is bad, nothing
    is written (``applied`` stays False) unless ``skip_invalid`` is set, in which case the
    good ones are written and the bad ones counted in ``skipped``. ``dry_run`` checks and
    reports without writing anything, not even an audit row. ``actor`` None is the system
    (an operator's command); a user needs the right to edit places at each place.
    """
    features = _features(feature_collection)
    report = ImportReport(total=len(features), dry_run=dry_run)

    keyed: list[tuple[int, str, int | None, str | None, Any]] = []
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            report.errors.append(FeatureProblem(index, "", _("not a GeoJSON Feature")))
            continue
        try:
            label, place_id, code = _feature_key(feature)
        except ValueError as exc:
            report.errors.append(FeatureProblem(index, "", str(exc)))
            continue
        keyed.append((index, label, place_id, code, feature.get("geometry")))

    # One query for every place the file names, narrowed to what the actor may see.
    places = Place.objects.all() if actor is None else Place.objects.visible_to(actor)
    codes = {code for _i, _l, _p, code, _g in keyed if code}
    ids = {pid for _i, _l, pid, _c, _g in keyed if pid is not None}
    by_code: dict[str, Place] = {}
    by_id: dict[int, Place] = {}
    if codes:
        by_code = {p.code: p for p in places.filter(code__in=codes)}
    if ids:
        by_id = {p.pk: p for p in places.filter(pk__in=ids)}

    planned: list[_Planned] = []
    seen: dict[int, int] = {}
    for index, label, place_id, code, geometry in keyed:
        place = by_code.get(code) if code else by_id.get(place_id or 0)
        if code and place_id is not None and place is not None and place.pk != place_id:
            report.errors.append(
                FeatureProblem(index, label, _("properties.code and properties.id disagree"))
            )
            continue
        if place is None or not _may_manage(actor, place):
            # Missing and out of reach read the same, so a file cannot probe for places.
            report.errors.append(FeatureProblem(index, label, _("no place with this code that you may edit")))
            continue
        if place.pk in seen:
            report.errors.append(
                FeatureProblem(
                    index,
                    label,
                    _("the place is already set by feature %(first)d") % {"first": seen[place.pk]},
                )
            )
            continue
        seen[place.pk] = index
        if geometry is None:
            report.errors.append(FeatureProblem(index, label, _("the feature has no geometry")))
            continue
        try:
            boundary = validate_geometry(geometry)
        except ValidationError as exc:
            report.errors.append(FeatureProblem(index, label, exc.message))
            continue
        planned.append(_Planned(index, place, boundary, to_shape(boundary)))
    report.matched = len(planned)

    _warn_outside_parents(planned, report)

    changed = [p for p in planned if p.place.boundary != p.boundary]
    report.unchanged = len(planned) - len(changed)
    report.errors.sort(key=lambda e: e.index)
    if report.errors and not skip_invalid:
        return report
    report.skipped = len(report.errors)
    if dry_run:
        report.updated_codes = [p.place.code for p in changed]
        return report
    _apply(actor, changed, report)
    return report


def _warn_outside_parents(planned: list[_Planned], report: ImportReport) -> None:
    """Warn where a new boundary sticks out of its parent's (new or stored) boundary."""
    new_shapes = {p.place.pk: p.shape for p in planned}
    parent_ids = {p.place.parent_id for p in planned if p.place.parent_id is not None}
    stored = dict(
        Place.objects.filter(pk__in=parent_ids - new_shapes.keys(), boundary__isnull=False).values_list(
            "pk", "boundary"
        )
    )
    parent_shapes: dict[int, BaseGeometry] = {}
    for pk in parent_ids:
        if pk in new_shapes:
            parent_shapes[pk] = new_shapes[pk]
        elif pk in stored:
            try:
                parent_shapes[pk] = to_shape(stored[pk])
            except Exception:  # noqa: S112 - a broken stored parent is simply not compared
                continue
    for item in planned:
        parent = parent_shapes.get(item.place.parent_id or 0)
        if parent is not None and not parent.buffer(PARENT_TOLERANCE).covers(item.shape):
            report.warnings.append(
                FeatureProblem(item.index, item.place.code, _("the boundary extends outside its parent's"))
            )


@transaction.atomic
def _apply(actor: User | None, changed: list[_Planned], report: ImportReport) -> None:
    now = clock.now()
    locked = {p.pk: p for p in Place.objects.select_for_update().filter(pk__in=[c.place.pk for c in changed])}
    rows: list[Place] = []
    for item in changed:
        place = locked[item.place.pk]
        had_boundary = place.boundary is not None
        place.boundary = item.boundary
        place.updated_at = now
        if place.lat is None or place.lng is None:
            place.lat, place.lng = representative_point(item.boundary)
        rows.append(place)
        audit.record(
            actor=actor,
            action="place.boundary_imported",
            obj=place,
            changes={"boundary": "redrawn" if had_boundary else "added", "feature": item.index},
        )
    if rows:
        Place.objects.bulk_update(rows, ["boundary", "updated_at", "lat", "lng"], batch_size=500)
        bump_locator()
    report.updated = len(rows)
    report.updated_codes = [p.code for p in rows]
    report.applied = True
    audit.record(
        actor=actor,
        action="places.boundaries_imported",
        object_type="places.place",
        object_label=_("%(n)d boundaries") % {"n": len(rows)},
        changes={
            "total": report.total,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "skipped": report.skipped,
        },
    )

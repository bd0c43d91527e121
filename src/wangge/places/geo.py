"""GeoJSON checks and shapes. Everything is WGS-84 longitude/latitude.

Boundaries are stored as GeoJSON ``Polygon`` or ``MultiPolygon`` geometries (边界). They are
checked once on the way in (``validate_geometry``) and stored normalised: closed rings,
two dimensions, plain lists, so every reader can trust them.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from wangge.core.errors import ValidationError

POLYGON_TYPES = {"Polygon", "MultiPolygon"}
# A boundary drawn by hand or traced from a survey has tens to a few thousand vertices; a
# million is a mistake (or an attack) that would slow every lookup in every process.
MAX_VERTICES = 100_000


def to_shape(geometry: Any) -> BaseGeometry:
    """The shapely geometry of a stored GeoJSON boundary."""
    if not isinstance(geometry, dict):
        raise TypeError("a GeoJSON geometry must be an object")
    return shape(geometry)


def _as_lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_as_lists(v) for v in value]
    return value


def validate_geometry(geometry: Any) -> dict[str, Any]:
    """Accept a GeoJSON Polygon or MultiPolygon in WGS-84 range, or raise a clear error.

    Returns the normalised geometry to store: closed rings, 2D coordinates, lists only.
    """
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGON_TYPES:
        raise ValidationError(_("A boundary must be a GeoJSON Polygon or MultiPolygon"))
    if not isinstance(geometry.get("coordinates"), list):
        raise ValidationError(_("The boundary has no coordinates"))
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises several kinds for malformed coordinates
        raise ValidationError(_("The boundary is not valid GeoJSON: %(error)s") % {"error": exc}) from exc
    if geom.is_empty:
        raise ValidationError(_("The boundary is empty"))
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise ValidationError(
            _("The boundary has more than %(max)d vertices; simplify it first") % {"max": MAX_VERTICES}
        )
    min_x, min_y, max_x, max_y = geom.bounds
    if not all(math.isfinite(v) for v in (min_x, min_y, max_x, max_y)):
        raise ValidationError(_("Boundary coordinates must be finite numbers"))
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise ValidationError(_("Boundary coordinates must be WGS-84 longitude and latitude"))
    if not geom.is_valid:
        raise ValidationError(
            _("The boundary crosses itself or is otherwise invalid: %(reason)s")
            % {"reason": shapely.is_valid_reason(geom)}
        )
    if geom.area <= 0:
        raise ValidationError(_("The boundary encloses no area"))
    normalised = mapping(shapely.force_2d(geom))
    return {"type": normalised["type"], "coordinates": _as_lists(normalised["coordinates"])}


def representative_point(geometry: dict[str, Any]) -> tuple[float, float]:
    """A point guaranteed to lie inside the boundary, as ``(lat, lng)``."""
    point = to_shape(geometry).representative_point()
    return round(point.y, 7), round(point.x, 7)


def check_point(lat: float, lng: float) -> None:
    """Refuse a point that is not a finite WGS-84 latitude/longitude."""
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise ValidationError(_("Latitude and longitude must be finite numbers"))
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError(_("Latitude must be within ±90 and longitude within ±180"))


def rectangle(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> dict[str, Any]:
    ring = [
        [round(min_lng, 7), round(min_lat, 7)],
        [round(max_lng, 7), round(min_lat, 7)],
        [round(max_lng, 7), round(max_lat, 7)],
        [round(min_lng, 7), round(max_lat, 7)],
        [round(min_lng, 7), round(min_lat, 7)],
    ]
    return {"type": "Polygon", "coordinates": [ring]}

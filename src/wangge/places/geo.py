"""GeoJSON checks and shapes. Everything is WGS-84 longitude/latitude."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from wangge.core.errors import ValidationError

POLYGON_TYPES = {"Polygon", "MultiPolygon"}


def to_shape(geometry: dict[str, Any]) -> BaseGeometry:
    return shape(geometry)


def validate_geometry(geometry: Any) -> dict[str, Any]:
    """Accept a GeoJSON Polygon or MultiPolygon in WGS-84 range, or raise a clear error."""
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGON_TYPES:
        raise ValidationError(_("A boundary must be a GeoJSON Polygon or MultiPolygon"))
    try:
        geom = shape(geometry)
    except Exception as exc:
        raise ValidationError(_("The boundary is not valid GeoJSON: %(error)s") % {"error": exc}) from exc
    if geom.is_empty:
        raise ValidationError(_("The boundary is empty"))
    min_x, min_y, max_x, max_y = geom.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise ValidationError(_("Boundary coordinates must be WGS-84 longitude and latitude"))
    if not geom.is_valid:
        raise ValidationError(_("The boundary crosses itself or is otherwise invalid"))
    return {"type": geometry["type"], "coordinates": geometry["coordinates"]}


def rectangle(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> dict[str, Any]:
    ring = [
        [round(min_lng, 7), round(min_lat, 7)],
        [round(max_lng, 7), round(min_lat, 7)],
        [round(max_lng, 7), round(max_lat, 7)],
        [round(min_lng, 7), round(max_lat, 7)],
        [round(min_lng, 7), round(min_lat, 7)],
    ]
    return {"type": "Polygon", "coordinates": [ring]}

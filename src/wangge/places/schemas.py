"""Typed shapes of the places API (地点接口). Every response is described exactly."""

from __future__ import annotations

from typing import Any, Literal, get_args

from ninja import Field, Schema
from ninja.schema import DjangoGetter
from pydantic import ConfigDict, model_validator

from wangge.places.models import GridType, PlaceKind

MAX_ID = 2**63 - 1
MAX_BATCH = 10_000
MAX_SUBTREE = 20_000

PlaceKindLiteral = Literal["county", "street", "community", "grid", "micro_grid", "building", "unit", "house"]
GridTypeLiteral = Literal["", "general", "school", "enterprise", "other"]
if set(get_args(PlaceKindLiteral)) != set(PlaceKind.values) or set(get_args(GridTypeLiteral)) != {
    "",
    *GridType.values,
}:
    raise ImportError("places.schemas: the kind or grid type literals differ from the model's choices")


class PlaceOut(Schema):
    id: int
    kind: str
    name: str
    code: str
    path: str
    parent_id: int | None
    depth: int
    grid_type: str
    lat: float | None
    lng: float | None
    has_boundary: bool
    child_count: int | None = None

    @staticmethod
    def resolve_has_boundary(obj: Any) -> bool:
        flag = getattr(obj, "has_boundary_flag", None)
        if flag is not None:  # list queries annotate it and leave the boundary unread
            return bool(flag)
        return getattr(obj, "boundary", None) is not None

    @staticmethod
    def resolve_child_count(obj: Any) -> int | None:
        return getattr(obj, "child_count", None)


class PlaceDetailOut(PlaceOut):
    stat_code: str
    boundary: dict[str, Any] | None
    ancestors: list[PlaceOut] = []


# JSON bodies are taken strictly: false is not 0 and "40" is not a number. (Query strings
# are text by nature, so PointIn, used for ?lat=&lng=, stays lax.)
STRICT = ConfigDict(strict=True)


class BodyIn(Schema):
    """A JSON request body: an object with these fields, taken strictly."""

    model_config = STRICT

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        # Schemas also read attributes of objects; a body of `true` or `[]` must not pass as {}.
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(raw, dict):
            raise ValueError("the request body must be a JSON object")
        return data


class PlaceCreateIn(BodyIn):
    parent_id: int = Field(..., ge=1, le=MAX_ID)
    kind: PlaceKindLiteral
    name: str = Field(..., min_length=1, max_length=100)
    segment: str | None = Field(None, min_length=1, max_length=8, pattern=r"^[0-9]+$")
    grid_type: GridTypeLiteral = ""
    boundary: dict[str, Any] | None = None
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    sort_order: int = Field(0, ge=0, le=2_000_000_000)


class PlaceUpdateIn(BodyIn):
    name: str | None = Field(None, min_length=1, max_length=100)
    boundary: dict[str, Any] | None = None
    clear_boundary: bool = False
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)


class PointIn(Schema):
    lat: float = Field(..., ge=-90, le=90, allow_inf_nan=False, description="WGS-84 latitude")
    lng: float = Field(..., ge=-180, le=180, allow_inf_nan=False, description="WGS-84 longitude")


class LocateOut(Schema):
    place: PlaceOut
    ancestors: list[PlaceOut]


class BatchPointIn(PointIn, BodyIn):
    pass


class LocateBatchIn(BodyIn):
    points: list[BatchPointIn] = Field(..., max_length=MAX_BATCH)


class LocateBatchOut(Schema):
    place_ids: list[int | None] = Field(..., description="One entry per point, in order; null where none")
    found: int


_KIND = "(?:" + "|".join(get_args(PlaceKindLiteral)) + ")"
# Comma-separated kinds, so a client (and a fuzzer) knows from the schema what is accepted.
KINDS_PATTERN = f"^(?:{_KIND}(?:,{_KIND})*)?$"


class SubtreeQuery(Schema):
    kinds: str | None = Field(
        None, max_length=200, pattern=KINDS_PATTERN, description="Comma-separated kinds, e.g. grid,micro_grid"
    )
    max_depth: int | None = Field(None, ge=0, le=16, description="Tree levels below the place; 0 is itself")
    limit: int = Field(5000, ge=1, le=MAX_SUBTREE)
    offset: int = Field(0, ge=0, le=10_000_000)


class GeoJSONQuery(Schema):
    kinds: str | None = Field(
        None,
        max_length=200,
        pattern=KINDS_PATTERN,
        description="Comma-separated kinds; default: the place and its children",
    )
    max_depth: int | None = Field(None, ge=0, le=16)


class GeometryOut(Schema):
    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]


class FeaturePropertiesOut(Schema):
    id: int
    kind: str
    name: str
    code: str
    path: str
    parent_id: int | None
    grid_type: str
    lat: float | None
    lng: float | None


class FeatureOut(Schema):
    type: Literal["Feature"]
    id: int
    geometry: GeometryOut
    properties: FeaturePropertiesOut


class FeatureCollectionOut(Schema):
    type: Literal["FeatureCollection"]
    features: list[FeatureOut]


class ResponsibleOut(Schema):
    user_id: int
    name: str
    role: str
    role_label: str
    title: str
    place_id: int
    place_name: str
    place_kind: str
    phone: str
    phone_masked: bool

from __future__ import annotations

from typing import Any

from ninja import Field, Schema


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
        return getattr(obj, "boundary", None) is not None

    @staticmethod
    def resolve_child_count(obj: Any) -> int | None:
        return getattr(obj, "child_count", None)


class PlaceDetailOut(PlaceOut):
    stat_code: str
    boundary: dict[str, Any] | None
    ancestors: list[PlaceOut] = []


class PlaceCreateIn(Schema):
    parent_id: int
    kind: str = Field(..., max_length=16)
    name: str = Field(..., min_length=1, max_length=100)
    segment: str | None = Field(None, max_length=8)
    grid_type: str = Field("", max_length=16)
    boundary: dict[str, Any] | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


class PlaceUpdateIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    boundary: dict[str, Any] | None = None
    clear_boundary: bool = False
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)


class LocateOut(Schema):
    place: PlaceOut
    ancestors: list[PlaceOut]


class PointIn(Schema):
    lat: float = Field(..., ge=-90, le=90)
    lng: float = Field(..., ge=-180, le=180)


class LocateBatchIn(Schema):
    points: list[PointIn] = Field(..., max_length=10000)


class LocateBatchOut(Schema):
    place_ids: list[int | None]


class FeatureCollectionOut(Schema):
    type: str
    features: list[dict[str, Any]]


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

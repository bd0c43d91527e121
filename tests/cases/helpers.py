"""Small factories for the cases tests: places in the demo grids, categories, cases filed
through the intake service, and tiny JPEGs."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.people.helpers import grid_of
from wangge.cases import services
from wangge.cases.models import Case, Category, Channel
from wangge.core.models import User
from wangge.places.models import Place, PlaceKind

__all__ = ["building_in", "category", "file_case", "grid_of", "jpeg"]


def building_in(grid: Place, index: int = 0) -> Place:
    return list(Place.objects.filter(path__under=grid.path, kind=PlaceKind.BUILDING).order_by("path"))[index]


def category(code: str) -> Category:
    return Category.objects.get(code=code)


def jpeg(width: int = 64, height: int = 48, *, exif_gps: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 80, 40))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (36.0, 39.0, 40.0), 3: "E", 4: (117.0, 0.0, 25.0)}  # GPS IFD
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def file_case(
    *,
    actor: User | None,
    code: str = "1999",
    place: Place | None = None,
    channel: str = Channel.WEB,
    description: str = "楼道灯坏了，晚上看不见",
    **kwargs: Any,
) -> Case:
    if place is None:
        place = building_in(grid_of("grid1"))
    if actor is None and channel == Channel.WEB:
        kwargs.setdefault("reporter_phone", "13800138000")
    result = services.case_intake(
        actor=actor, channel=channel, category=category(code), place=place, description=description, **kwargs
    )
    return result.case

"""Places of the demo territory, by code."""

from __future__ import annotations

from wangge.demo import names
from wangge.places.models import Place

LESHAN = names.LESHAN_CODE
DONGHU = names.DONGHU_CODE


def place(code: str) -> Place:
    return Place.objects.get(code=code)


def under(code: str, kind: str) -> list[Place]:
    return list(Place.objects.filter(path__under=place(code).path, kind=kind).order_by("path"))

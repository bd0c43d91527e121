"""Boundaries for generated territories that tile exactly.

Places are laid out as axis-aligned rectangles in a local frame of whole metres (``x``
east, ``y`` north), by cutting each parent into its children. The frame then maps every
vertex to WGS-84 through a small rotation and a gentle warp, so the map looks like a city
rather than a chessboard.

A warp bends straight lines, so a child corner that lies in the middle of a neighbour's
edge (a T-junction) would open a gap or an overlap. ``Tiling`` therefore writes every
vertex of the layout that lies on a polygon's edge into that polygon's ring as well.
Neighbours then share exactly the same coordinates along their common edge, and the
children of a place cover it with no gap and no overlap, even after rounding to 7 decimals
(about 1 cm).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Rect:
    """A rectangle in whole metres of the local frame."""

    x0: int
    y0: int
    x1: int
    y1: int

    def __post_init__(self) -> None:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ValueError(f"empty rectangle {self}")

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def inset(self, margin: int) -> Rect:
        return Rect(self.x0 + margin, self.y0 + margin, self.x1 - margin, self.y1 - margin)


@dataclass(frozen=True)
class Frame:
    """Maps local metres to WGS-84 longitude/latitude around a centre point.

    ``angle`` (degrees, anticlockwise) turns the layout; ``warp`` (metres) and
    ``wavelength`` (metres) bend it with a low sine wave. ``2π·warp/wavelength`` must stay
    well below 1 so the mapping never folds.
    """

    lat: float
    lng: float
    angle: float = 0.0
    warp: float = 0.0
    wavelength: float = 1000.0
    phase: float = 0.0

    def __post_init__(self) -> None:
        if self.warp and 2 * math.pi * self.warp / self.wavelength >= 0.5:
            raise ValueError("the warp is too strong for its wavelength")

    def to_lnglat(self, x: float, y: float) -> tuple[float, float]:
        k = 2 * math.pi / self.wavelength
        wx = x + self.warp * math.sin(k * y + self.phase)
        wy = y + self.warp * math.sin(k * x + 2 * self.phase)
        a = math.radians(self.angle)
        rx = wx * math.cos(a) - wy * math.sin(a)
        ry = wx * math.sin(a) + wy * math.cos(a)
        lat = self.lat + ry / METRES_PER_DEGREE
        lng = self.lng + rx / (METRES_PER_DEGREE * math.cos(math.radians(self.lat)))
        return round(lng, 7), round(lat, 7)

    def point(self, x: float, y: float) -> tuple[float, float]:
        """``(lat, lng)`` of a local point."""
        lng, lat = self.to_lnglat(x, y)
        return lat, lng

    def quad(self, rect: Rect) -> dict[str, Any]:
        """A GeoJSON Polygon of the rectangle's four corners (for small shapes such as buildings)."""
        corners = [(rect.x0, rect.y0), (rect.x1, rect.y0), (rect.x1, rect.y1), (rect.x0, rect.y1)]
        ring = [list(self.to_lnglat(x, y)) for x, y in corners]
        ring.append(ring[0])
        return {"type": "Polygon", "coordinates": [ring]}


class Tiling:
    """Rectangles that become polygons sharing every vertex along common edges."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.rects: dict[str, Rect] = {}

    def add(self, key: str, rect: Rect) -> Rect:
        if key in self.rects:
            raise ValueError(f"duplicate key {key!r}")
        self.rects[key] = rect
        return rect

    def polygons(self) -> dict[str, dict[str, Any]]:
        """GeoJSON Polygons (anticlockwise exterior rings) for every rectangle, by key."""
        xs_on_row: dict[int, set[int]] = {}
        ys_on_column: dict[int, set[int]] = {}
        for r in self.rects.values():
            for x, y in ((r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1)):
                xs_on_row.setdefault(y, set()).add(x)
                ys_on_column.setdefault(x, set()).add(y)
        rows = {y: sorted(xs) for y, xs in xs_on_row.items()}
        columns = {x: sorted(ys) for x, ys in ys_on_column.items()}
        cache: dict[tuple[int, int], list[float]] = {}

        def lnglat(x: int, y: int) -> list[float]:
            found = cache.get((x, y))
            if found is None:
                found = cache[(x, y)] = list(self.frame.to_lnglat(x, y))
            return found

        def between(values: list[int], low: int, high: int) -> list[int]:
            return values[bisect.bisect_left(values, low) : bisect.bisect_right(values, high)]

        result: dict[str, dict[str, Any]] = {}
        for key, r in self.rects.items():
            ring: list[tuple[int, int]] = []
            ring += [(x, r.y0) for x in between(rows[r.y0], r.x0, r.x1)[:-1]]  # south, going east
            ring += [(r.x1, y) for y in between(columns[r.x1], r.y0, r.y1)[:-1]]  # east, going north
            ring += [(x, r.y1) for x in reversed(between(rows[r.y1], r.x0, r.x1)[1:])]  # north, west
            ring += [(r.x0, y) for y in reversed(between(columns[r.x0], r.y0, r.y1)[1:])]  # west, south
            coordinates = [lnglat(x, y) for x, y in ring]
            coordinates.append(coordinates[0])
            result[key] = {"type": "Polygon", "coordinates": [coordinates]}
        return result


def cut(start: int, end: int, weights: Sequence[float], *, minimum: int = 1) -> list[tuple[int, int]]:
    """Cut ``[start, end]`` into consecutive whole-metre spans proportional to ``weights``."""
    total = float(sum(weights))
    length = end - start
    if length < minimum * len(weights):
        raise ValueError("not enough room for every piece")
    edges = [start]
    running = 0.0
    for w in weights[:-1]:
        running += w
        edges.append(start + round(length * running / total))
    edges.append(end)
    # Keep every piece at least ``minimum`` long; the sum is fixed, so this only nudges cuts.
    for i in range(1, len(edges) - 1):
        edges[i] = max(edges[i], edges[i - 1] + minimum)
    for i in range(len(edges) - 2, 0, -1):
        edges[i] = min(edges[i], edges[i + 1] - minimum)
    return list(itertools.pairwise(edges))


def split(
    rect: Rect, weights: Sequence[float], rng: random.Random, *, jitter: float = 0.15, minimum: int = 10
) -> list[Rect]:
    """Cut ``rect`` into ``len(weights)`` rectangles with areas roughly proportional to ``weights``.

    Children are laid out in columns from west to east, each column filled from north to
    south, so numbering them in order reads like a page.
    """
    n = len(weights)
    if n == 0:
        return []
    columns = max(1, min(n, round(math.sqrt(n * rect.width / rect.height))))
    per_column = [n // columns + (1 if i < n % columns else 0) for i in range(columns)]
    jittered = [w * rng.uniform(1 - jitter, 1 + jitter) for w in weights]
    groups: list[list[float]] = []
    index = 0
    for count in per_column:
        groups.append(jittered[index : index + count])
        index += count
    result: list[Rect] = []
    spans = cut(rect.x0, rect.x1, [sum(g) for g in groups], minimum=minimum)
    for (x0, x1), group in zip(spans, groups, strict=True):
        # North first: cut from the top down.
        for y_top, y_bottom in cut(-rect.y1, -rect.y0, group, minimum=minimum):
            result.append(Rect(x0, -y_bottom, x1, -y_top))
    return result


def apportion(total: int, count: int, rng: random.Random, *, spread: float = 0.3, low: int = 1) -> list[int]:
    """``count`` whole numbers, each at least ``low``, varying by about ``spread``, summing to ``total``."""
    if count <= 0 or total < low * count:
        raise ValueError("cannot apportion")
    weights = [rng.uniform(1 - spread, 1 + spread) for _ in range(count)]
    spare = total - low * count
    scale = spare / sum(weights)
    exact = [w * scale for w in weights]
    shares = [low + math.floor(e) for e in exact]
    # Largest remainders first; ties by position, so the result never depends on anything else.
    order = sorted(range(count), key=lambda i: (math.floor(exact[i]) - exact[i], i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares

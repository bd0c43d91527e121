"""Point → place: the deepest place whose boundary contains a point.

Each process keeps a shapely STRtree of every boundary. A version counter in the database
(``LocatorState``), bumped by every boundary write, tells the process when to rebuild; it is
read at most once per ``CHECK_INTERVAL`` seconds, so lookups stay in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import STRtree

from wangge.places.geo import to_shape
from wangge.places.models import LocatorState, Place

CHECK_INTERVAL = 1.0


@dataclass(frozen=True)
class Match:
    place_id: int
    path: str
    depth: int


class Locator:
    def __init__(self, ids: Sequence[int], paths: Sequence[str], depths: Sequence[int], geoms: Sequence[object]):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.paths = list(paths)
        self.depths = np.asarray(depths, dtype=np.int32)
        self.geoms = np.asarray(geoms, dtype=object)
        self.tree = STRtree(self.geoms) if len(self.geoms) else None
        # Rank of each entry: deeper first, then by path, so ties resolve the same way each time.
        order = sorted(range(len(self.paths)), key=lambda i: (-int(self.depths[i]), self.paths[i]))
        self.rank = np.empty(len(order), dtype=np.int64)
        self.rank[order] = np.arange(len(order))

    def __len__(self) -> int:
        return len(self.paths)

    def matches(self, lat: float, lng: float) -> list[Match]:
        """Every place containing the point, deepest first."""
        if self.tree is None:
            return []
        hits = self.tree.query(shapely.Point(lng, lat), predicate="intersects")
        hits = sorted(hits.tolist(), key=lambda i: self.rank[i])
        return [Match(int(self.ids[i]), self.paths[i], int(self.depths[i])) for i in hits]

    def locate(self, lat: float, lng: float) -> int | None:
        found = self.matches(lat, lng)
        return found[0].place_id if found else None

    def locate_many(self, lats: Sequence[float], lngs: Sequence[float]) -> list[int | None]:
        """The deepest place for each point, in one vectorised query."""
        n = len(lats)
        result: list[int | None] = [None] * n
        if self.tree is None or n == 0:
            return result
        points = shapely.points(np.asarray(lngs, dtype=float), np.asarray(lats, dtype=float))
        point_idx, geom_idx = self.tree.query(points, predicate="intersects")
        if len(point_idx) == 0:
            return result
        # Sort by point, then by rank; the first row of each point is its deepest place.
        order = np.lexsort((self.rank[geom_idx], point_idx))
        point_idx, geom_idx = point_idx[order], geom_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        for p, g in zip(point_idx[first].tolist(), geom_idx[first].tolist(), strict=True):
            result[p] = int(self.ids[g])
        return result


def build() -> Locator:
    rows = Place.objects.filter(boundary__isnull=False).values_list("id", "path", "depth", "boundary")
    ids, paths, depths, geoms = [], [], [], []
    for pk, path, depth, boundary in rows.iterator(chunk_size=2000):
        try:
            geom = to_shape(boundary)
        except Exception:  # a broken boundary must not take the locator down
            continue
        ids.append(pk)
        paths.append(path)
        depths.append(depth)
        geoms.append(geom)
    shapely.prepare(np.asarray(geoms, dtype=object)) if geoms else None
    return Locator(ids, paths, depths, geoms)


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.locator: Locator | None = None
        self.version: int | None = None
        self.checked_at = 0.0

    def current_version(self) -> int:
        state = LocatorState.objects.filter(pk=1).values_list("version", flat=True).first()
        return int(state or 0)

    def get(self) -> Locator:
        now = time.monotonic()
        if self.locator is not None and now - self.checked_at < CHECK_INTERVAL:
            return self.locator
        with self.lock:
            if self.locator is not None and now - self.checked_at < CHECK_INTERVAL:
                return self.locator
            version = self.current_version()
            if self.locator is None or version != self.version:
                self.locator = build()
                self.version = version
            self.checked_at = time.monotonic()
            return self.locator

    def reset(self) -> None:
        with self.lock:
            self.locator = None
            self.version = None
            self.checked_at = 0.0


_cache = _Cache()


def get_locator() -> Locator:
    return _cache.get()


def reset_locator() -> None:
    _cache.reset()

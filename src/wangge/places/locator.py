"""Point → place (定位): the deepest place whose boundary contains a point.

Each process keeps a shapely STRtree of every boundary. A version counter in the database
(``LocatorState``), bumped by every boundary write, tells the process when to rebuild; it is
read at most once per ``CHECK_INTERVAL`` seconds, so lookups stay in memory. A write in this
process also expires the check at once (and again on commit), so the writer reads its own
change; other processes see it within ``CHECK_INTERVAL``.

Ties are resolved the same way everywhere: a point on the boundary of a place belongs to
it (boundaries are closed), the deepest kind wins, and between places of the same kind (a
point on the edge two grids share) the one with the smaller path, i.e. the smaller code,
wins. So every process and every batch gives the same answer for the same point.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from django.db import connection, transaction
from shapely import STRtree

from wangge.places.geo import to_shape
from wangge.places.models import LocatorState, Place

log = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0
# Scope masks kept per index: one per distinct set of scope paths that asked recently.
_MASK_CACHE_SIZE = 64


def _now() -> float:
    """Monotonic seconds; a function so tests can move it."""
    return time.monotonic()


@dataclass(frozen=True)
class Match:
    place_id: int
    path: str
    depth: int


class Locator:
    """An immutable index of boundaries; rebuilt, never changed, when boundaries change."""

    def __init__(
        self, ids: Sequence[int], paths: Sequence[str], depths: Sequence[int], geoms: Sequence[object]
    ) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.paths = list(paths)
        self.depths = np.asarray(depths, dtype=np.int32)
        self.geoms = np.empty(len(geoms), dtype=object)
        self.geoms[:] = list(geoms)
        if len(self.geoms):
            # Prepared polygons answer point-in-polygon in logarithmic time per edge set.
            shapely.prepare(self.geoms)
        self.tree = STRtree(self.geoms) if len(self.geoms) else None
        # Rank of each entry: deeper first, then by path, so ties resolve the same way each time.
        order = sorted(range(len(self.paths)), key=lambda i: (-int(self.depths[i]), self.paths[i]))
        self.rank = np.empty(len(order), dtype=np.int64)
        self.rank[order] = np.arange(len(order), dtype=np.int64)
        self.by_rank = np.asarray(order, dtype=np.int64)  # entry index of each rank
        self._masks: dict[tuple[str, ...], npt.NDArray[np.bool_]] = {}
        self._masks_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.paths)

    def scope_mask(self, prefixes: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        """Which entries lie under one of ``prefixes`` (computed once per prefix set)."""
        mask = self._masks.get(prefixes)
        if mask is None:
            mask = np.fromiter(
                (p.startswith(prefixes) for p in self.paths), dtype=bool, count=len(self.paths)
            )
            with self._masks_lock:
                if len(self._masks) >= _MASK_CACHE_SIZE:
                    self._masks.clear()
                self._masks[prefixes] = mask
        return mask

    def _pairs(
        self, lats: npt.NDArray[np.float64], lngs: npt.NDArray[np.float64], prefixes: tuple[str, ...] | None
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """(point index, entry index) for every entry containing a point (within ``prefixes``)."""
        empty = np.empty(0, dtype=np.intp)
        if self.tree is None or len(lats) == 0:
            return empty, empty
        # NaN and infinite coordinates match nothing; keep them out of GEOS altogether.
        finite = np.isfinite(lats) & np.isfinite(lngs)
        points = shapely.points(np.where(finite, lngs, 0.0), np.where(finite, lats, 0.0))
        points[~finite] = None
        point_idx, geom_idx = self.tree.query(points)
        if len(point_idx):
            # The tree gives bounding-box candidates; the prepared polygons decide. Covered
            # (not strictly inside) so that a point on a boundary line belongs somewhere.
            inside = shapely.intersects_xy(self.geoms[geom_idx], lngs[point_idx], lats[point_idx])
            point_idx, geom_idx = point_idx[inside], geom_idx[inside]
        if prefixes is not None and len(point_idx):
            visible = self.scope_mask(prefixes)[geom_idx]
            point_idx, geom_idx = point_idx[visible], geom_idx[visible]
        return point_idx, geom_idx

    def _ranked(self, lat: float, lng: float, prefixes: tuple[str, ...] | None) -> npt.NDArray[np.intp]:
        """Entries containing one point, best first: the scalar path, without array set-up."""
        if self.tree is None or not (math.isfinite(lat) and math.isfinite(lng)):
            return np.empty(0, dtype=np.intp)
        found = self.tree.query(shapely.Point(lng, lat))
        if len(found):
            found = found[shapely.intersects_xy(self.geoms[found], lng, lat)]
        if prefixes is not None and len(found):
            found = found[self.scope_mask(prefixes)[found]]
        result: npt.NDArray[np.intp] = found[np.argsort(self.rank[found], kind="stable")]
        return result

    def matches(self, lat: float, lng: float, *, prefixes: tuple[str, ...] | None = None) -> list[Match]:
        """Every place containing the point (within ``prefixes`` if given), deepest first."""
        return [
            Match(int(self.ids[g]), self.paths[g], int(self.depths[g]))
            for g in self._ranked(float(lat), float(lng), prefixes).tolist()
        ]

    def locate(self, lat: float, lng: float, *, prefixes: tuple[str, ...] | None = None) -> int | None:
        """The deepest place containing the point (within ``prefixes`` if given), or None."""
        found = self._ranked(float(lat), float(lng), prefixes)
        return int(self.ids[found[0]]) if len(found) else None

    def locate_many(
        self,
        lats: Sequence[float] | npt.NDArray[np.float64],
        lngs: Sequence[float] | npt.NDArray[np.float64],
        *,
        prefixes: tuple[str, ...] | None = None,
    ) -> list[int | None]:
        """The deepest place for each point, in one vectorised query.

        With ``prefixes``, only places under one of them count: the answer is the deepest
        place the caller may see, exactly as ``matches`` would give it.
        """
        lat_arr = np.asarray(lats, dtype=float)
        lng_arr = np.asarray(lngs, dtype=float)
        if lat_arr.shape != lng_arr.shape or lat_arr.ndim != 1:
            raise ValueError("lats and lngs must be two sequences of the same length")
        found = self.locate_array(lat_arr, lng_arr, prefixes=prefixes)
        return [None if v < 0 else int(v) for v in found.tolist()]

    def locate_array(
        self,
        lats: npt.NDArray[np.float64],
        lngs: npt.NDArray[np.float64],
        *,
        prefixes: tuple[str, ...] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Like ``locate_many`` but as an array of place ids, -1 where nothing contains the point."""
        result = np.full(len(lats), -1, dtype=np.int64)
        point_idx, geom_idx = self._pairs(lats, lngs, prefixes)
        if len(point_idx):
            # The best (lowest) rank per point, without sorting the pairs.
            none = len(self)
            best = np.full(len(lats), none, dtype=np.int64)
            np.minimum.at(best, point_idx, self.rank[geom_idx])
            hit = best < none
            result[hit] = self.ids[self.by_rank[best[hit]]]
        return result


def build() -> Locator:
    """Read every boundary and index it. Broken rows are logged and left out, never fatal."""
    rows = Place.objects.filter(boundary__isnull=False).values_list("id", "path", "depth", "boundary")
    ids: list[int] = []
    paths: list[str] = []
    depths: list[int] = []
    geoms: list[object] = []
    for pk, path, depth, boundary in rows.iterator(chunk_size=2000):
        try:
            geom = to_shape(boundary)
            if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
                raise ValueError(f"not an area: {geom.geom_type}")
        except Exception as exc:  # a broken boundary must not take the locator down
            log.warning("place %s has an unusable boundary, left out of the locator: %s", pk, exc)
            continue
        ids.append(pk)
        paths.append(path)
        depths.append(depth)
        geoms.append(geom)
    return Locator(ids, paths, depths, geoms)


def current_version() -> int:
    state = LocatorState.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(state or 0)


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.locator: Locator | None = None
        self.version: int | None = None
        self.checked_at = -math.inf
        # Set by a write in this process: the next lookup waits for a fresh check.
        self.stale = False

    def _fresh(self) -> bool:
        return not self.stale and _now() - self.checked_at < CHECK_INTERVAL

    def get(self) -> Locator:
        locator = self.locator
        if locator is not None and self._fresh():
            return locator
        # While another thread checks or rebuilds, keep answering from the index we have,
        # unless there is none yet or this process has just changed a boundary.
        if not self.lock.acquire(blocking=locator is None or self.stale):
            assert locator is not None
            return locator
        try:
            if self.locator is not None and self._fresh():
                return self.locator
            self.stale = False
            # Version first, rows second: a change committed in between makes the next
            # check rebuild again, never leaves an old index behind a new version.
            version = current_version()
            if self.locator is None or version != self.version:
                self.locator = build()
                # Built from this thread's own uncommitted boundary write: that version
                # may yet roll back, so do not trust it; the next check rebuilds.
                self.version = None if _uncommitted_write_here() else version
            self.checked_at = _now()
            return self.locator
        finally:
            self.lock.release()

    def expire(self) -> None:
        self.stale = True

    def reset(self) -> None:
        with self.lock:
            self.locator = None
            self.version = None
            self.checked_at = -math.inf
            self.stale = False


_cache = _Cache()


def get_locator() -> Locator:
    return _cache.get()


def expire_locator() -> None:
    """Make the next lookup in this process check the version."""
    _cache.expire()


_writes = threading.local()


def _uncommitted_write_here() -> bool:
    pending = bool(getattr(_writes, "pending", False))
    if pending and not connection.in_atomic_block:
        _writes.pending = pending = False  # committed or rolled back since
    return pending


def _committed() -> None:
    _writes.pending = False
    _cache.expire()


def boundaries_changed() -> None:
    """Called by every boundary write, inside its transaction, after bumping the version.

    This process's next lookup checks the version at once (the writer sees its own
    change), and again right after commit (so do the process's other threads).
    """
    _writes.pending = True
    _cache.expire()
    transaction.on_commit(_committed)


def reset_locator() -> None:
    """Drop this process's index (tests, and after loading a new territory)."""
    _cache.reset()

"""Point → place locator throughput on a county-scale territory.

Builds the county territory (``wangge.demo.loader.seed_county``: 21 communities, 405 grids,
2,971 micro-grids, all with tiling boundaries; or, where that loader is missing or with
``--synthetic``, an equivalent grid of rectangles made here) in a new temporary
``WANGGE_HOME``, then measures:

- the index build time (read every boundary, make shapes, prepare them, build the STRtree);
- single lookups per second (``Locator.locate``), with and without a scope filter;
- batched points per second (``Locator.locate_many``) for 10,000 and 100,000 random points
  inside the county's bounding box;

and prints Markdown tables with the machine, the Python version and the command.

    python benchmarks/locator.py
    python benchmarks/locator.py --synthetic --single 50000 --batches 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20240601
COMMUNITIES = 21
GRIDS = 405
MICRO_GRIDS = 2971


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def spread(total: int, count: int, rng: random.Random) -> list[int]:
    """``count`` whole numbers near ``total / count`` that add up to ``total``."""
    base = [total // count] * count
    for i in rng.sample(range(count), total - sum(base)):
        base[i] += 1
    return base


def synthetic_county(seed: int) -> dict[str, int]:
    """21 communities × ~19 grids × ~7 micro-grids as tiling rectangles, through the services."""
    from django.db import transaction

    from wangge.places.geo import rectangle
    from wangge.places.models import PlaceKind
    from wangge.places.services import place_create

    rng = random.Random(seed)
    west, south, east, north = 117.70, 34.60, 118.20, 35.00  # about 45 × 44 km
    grids_per_community = spread(GRIDS, COMMUNITIES, rng)
    micros_per_grid = spread(MICRO_GRIDS, GRIDS, rng)
    counts = {"communities": 0, "grids": 0, "micro_grids": 0}
    with transaction.atomic():
        county = place_create(
            actor=None,
            kind=PlaceKind.COUNTY,
            name="合成县",
            segment="990301",
            boundary=rectangle(west, south, east, north),
        )
        street = place_create(
            actor=None, kind=PlaceKind.STREET, name="合成街道", parent=county, boundary=county.boundary
        )
        columns = 7
        rows = COMMUNITIES // columns
        width, height = (east - west) / columns, (north - south) / rows
        for c in range(COMMUNITIES):
            cw, cs = west + (c % columns) * width, south + (c // columns) * height
            community = place_create(
                actor=None,
                kind=PlaceKind.COMMUNITY,
                name=f"合成社区{c + 1}",
                parent=street,
                boundary=rectangle(cw, cs, cw + width, cs + height),
            )
            counts["communities"] += 1
            n_grids = grids_per_community[c]
            grid_width = width / n_grids
            for g in range(n_grids):
                gw = cw + g * grid_width
                grid = place_create(
                    actor=None,
                    kind=PlaceKind.GRID,
                    name=f"第{g + 1}网格",
                    parent=community,
                    boundary=rectangle(gw, cs, gw + grid_width, cs + height),
                )
                counts["grids"] += 1
                n_micro = micros_per_grid[counts["grids"] - 1]
                micro_height = height / n_micro
                for m in range(n_micro):
                    ms = cs + m * micro_height
                    place_create(
                        actor=None,
                        kind=PlaceKind.MICRO_GRID,
                        name=f"微网格{m + 1}",
                        parent=grid,
                        boundary=rectangle(gw, ms, gw + grid_width, ms + micro_height),
                    )
                    counts["micro_grids"] += 1
    return counts


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median seconds of ``repeat`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    import django

    django.setup()
    import numpy as np
    import shapely
    from django.core.management import call_command

    from wangge.places import locator
    from wangge.places.models import Place, PlaceKind

    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    source = "synthetic"
    if not args.synthetic:
        try:
            from wangge.demo.loader import seed_county
        except ImportError:
            seed_county = None
        if seed_county is not None:
            seed_county(seed=args.seed)
            source = "wangge.demo.loader.seed_county"
    if source == "synthetic":
        synthetic_county(args.seed)
    seeded = time.perf_counter() - started

    county = Place.objects.filter(kind=PlaceKind.COUNTY, boundary__isnull=False).order_by("-pk").first()
    assert county is not None
    assert county.boundary is not None
    min_lng, min_lat, max_lng, max_lat = shapely.bounds(shapely.geometry.shape(county.boundary)).tolist()
    micro_ids = np.fromiter(
        Place.objects.filter(kind=PlaceKind.MICRO_GRID, boundary__isnull=False).values_list("pk", flat=True),
        dtype=np.int64,
    )
    kinds = dict.fromkeys(PlaceKind.values, 0)
    for kind in Place.objects.filter(boundary__isnull=False).values_list("kind", flat=True):
        kinds[kind] += 1

    build_s, index = timed(locator.build, args.builds)
    rng = np.random.default_rng(args.seed)

    # A street office's staff: the street with the most grids, so the filter has work to do.
    streets = list(
        Place.objects.filter(path__under=county.path, kind=PlaceKind.STREET, boundary__isnull=False)
    )
    street = max(streets, key=lambda s: Place.objects.filter(path__under=s.path, kind=PlaceKind.GRID).count())
    scope = (street.path,)
    index.scope_mask(scope)  # computed once per index and prefix set, as in a running server
    # The county's bounding box (most of a rural county lies outside every community), and
    # the built-up area its streets cover, where points go five levels deep.
    urban = shapely.total_bounds([shapely.geometry.shape(s.boundary) for s in streets]).tolist()
    areas = {"county box": (min_lng, min_lat, max_lng, max_lat), "urban box": tuple(urban)}

    rows: list[tuple[str, str]] = [
        ("territory", source),
        ("places with a boundary", ", ".join(f"{k} {v:,}" for k, v in kinds.items() if v)),
        ("index entries", f"{len(index):,}"),
        ("territory load (s)", f"{seeded:.2f}"),
        (f"index build (s, median of {args.builds})", f"{build_s:.3f}"),
    ]
    for area, (west, south, east, north) in areas.items():

        def points(
            n: int, west: float = west, south: float = south, east: float = east, north: float = north
        ) -> Any:
            return rng.uniform(south, north, n), rng.uniform(west, east, n)

        single_lats, single_lngs = points(args.single)
        pairs = list(zip(single_lats.tolist(), single_lngs.tolist(), strict=True))

        def singles(prefixes: tuple[str, ...] | None = None, pairs: list[tuple[float, float]] = pairs) -> int:
            return sum(1 for lat, lng in pairs if index.locate(lat, lng, prefixes=prefixes) is not None)

        def deep(answers: Any) -> str:
            """Share of points that found a place, and of those that reached a micro-grid."""
            found = answers[answers >= 0]
            micro = np.isin(found, micro_ids).mean() if len(found) else 0.0
            return f"{len(found) / len(answers):.0%} found, {micro:.0%} of them micro-grids"

        single_s, hits = timed(singles, args.repeat)
        rows.append(
            (
                f"{area}: single locate, {args.single:,} points",
                f"{args.single / single_s:,.0f} lookups/s ({hits / args.single:.0%} found)",
            )
        )
        scoped_s, scoped_hits = timed(lambda singles=singles: singles(scope), args.repeat)
        rows.append(
            (
                f"{area}: single locate within one street's scope",
                f"{args.single / scoped_s:,.0f} lookups/s ({scoped_hits / args.single:.0%} found)",
            )
        )
        for n in args.batches:
            lats, lngs = points(n)
            batch_s, answers = timed(lambda lats=lats, lngs=lngs: index.locate_array(lats, lngs), args.repeat)
            rows.append(
                (
                    f"{area}: locate_many, {n:,} points",
                    f"{n / batch_s:,.0f} points/s ({batch_s * 1000:.1f} ms; {deep(answers)})",
                )
            )
            if n == max(args.batches):
                scoped_s, _ = timed(
                    lambda lats=lats, lngs=lngs: index.locate_array(lats, lngs, prefixes=scope), args.repeat
                )
                rows.append(
                    (f"{area}: locate_many within one street, {n:,} points", f"{n / scoped_s:,.0f} points/s")
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--synthetic", action="store_true", help="use the generated rectangles, not seed_county"
    )
    parser.add_argument("--single", type=int, default=20_000, help="points for the single-lookup loop")
    parser.add_argument(
        "--batches",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10_000, 100_000],
        help="comma-separated batch sizes",
    )
    parser.add_argument("--builds", type=int, default=5, help="index builds to time")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each lookup measurement (median)")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="wangge-bench-locator-")
    for name in [k for k in os.environ if k.startswith("WANGGE_") or k in ("DATABASE_URL", "REDIS_URL")]:
        del os.environ[name]
    os.environ.update({"WANGGE_HOME": home, "WANGGE_DEV": "1", "DJANGO_SETTINGS_MODULE": "wangge.settings"})
    os.environ.setdefault("WANGGE_LOG_LEVEL", "WARNING")
    try:
        rows = run(args)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    import numpy
    import shapely

    command = "python " + " ".join(["benchmarks/locator.py", *sys.argv[1:]])
    print("## Locator benchmark\n")
    print("| | |\n|---|---|")
    print(f"| machine | {cpu_model()}, {os.cpu_count()} cores |")
    print(f"| Python | {platform.python_version()} ({platform.python_implementation()}) |")
    versions = f"{shapely.__version__} / {shapely.geos_version_string} / {numpy.__version__}"
    print(f"| shapely / GEOS / numpy | {versions} |")
    print("| database | SQLite (embedded) |")
    print(f"| command | `{command}` |\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

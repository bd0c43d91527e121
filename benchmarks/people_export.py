"""Does the residents export keep memory flat? 100,000 residents exported to .xlsx.

For each size (default 10,000, 50,000 and 100,000 residents) a subprocess with a new
temporary ``WANGGE_HOME`` migrates, loads the demo and bulk-creates that many extra residents
(encrypted ID and phone numbers, a phone each, a care group for one in ten) in a new
community of their own. A second, fresh subprocess then exports that community as the demo
``admin`` through the same code as the export button, recording its peak RSS
(``getrusage``) before and after the export, the RSS when 10,000 / 50,000 / 100,000 rows
have been written, and, in a second pass, the peak of Python allocations (``tracemalloc``).
Flat memory means none of these grows with the number of rows.

    python benchmarks/people_export.py
    python benchmarks/people_export.py --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from typing import Any

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def populate(size: int) -> int:
    """``size`` residents in a new community of 20 buildings; returns its place id."""
    from wangge.core import clock
    from wangge.core.pii import blind_index
    from wangge.people.identity import id_check_digit, name_keys
    from wangge.people.models import CareGroup, CareGroupMembership, Household, Resident, ResidentPhone
    from wangge.places.bulk import PlaceSpec, places_bulk_create
    from wangge.places.models import Place, PlaceKind

    street = Place.objects.filter(kind=PlaceKind.STREET).order_by("path").first()
    assert street is not None
    specs = [PlaceSpec(key="c", kind=PlaceKind.COMMUNITY, name="导出测试社区", parent=street)]
    specs.append(PlaceSpec(key="g", kind=PlaceKind.GRID, name="导出网格", parent="c"))
    houses_per_building = max(1, size // 20 // 3)
    for b in range(20):
        specs.append(PlaceSpec(key=f"b{b}", kind=PlaceKind.BUILDING, name=f"{b + 1}号楼", parent="g"))
        specs += [
            PlaceSpec(key=f"b{b}h{h}", kind=PlaceKind.HOUSE, name=f"1-{h:04d}", parent=f"b{b}")
            for h in range(houses_per_building)
        ]
    created = places_bulk_create(actor=None, specs=specs)
    houses = [p for k, p in created.items() if "h" in k]
    now = clock.now()
    households = Household.objects.bulk_create(
        [Household(place=h, number="", created_at=now, updated_at=now) for h in houses], batch_size=2000
    )
    group = CareGroup.objects.get(code="elderly_alone")
    keys: dict[str, tuple[str, str]] = {}
    for start in range(0, size, 10_000):
        batch: list[Resident] = []
        for i in range(start, min(size, start + 10_000)):
            born = date(1930, 1, 1) + timedelta(days=(i * 7919) % 30011)
            first17 = f"469027{born:%Y%m%d}{(i // 30011) * 2 + 1:03d}"
            id_number = first17 + id_check_digit(first17)
            name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 13) % len(GIVEN)]
            if name not in keys:
                keys[name] = name_keys(name)
            household = households[(i // 3) % len(households)]
            batch.append(
                Resident(
                    place_id=household.place_id,
                    household=household,
                    name=name,
                    name_pinyin=keys[name][0],
                    name_initials=keys[name][1],
                    gender="male" if i % 2 else "female",
                    birth_date=born,
                    id_number=id_number,
                    id_hash=blind_index("id_number", id_number),
                    created_at=now,
                    updated_at=now,
                )
            )
        Resident.objects.bulk_create(batch, batch_size=2000)
        ResidentPhone.objects.bulk_create(
            [
                ResidentPhone(
                    resident=r,
                    phone=f"139{start + j:08d}",
                    phone_hash=blind_index("phone", f"139{start + j:08d}"),
                )
                for j, r in enumerate(batch)
            ],
            batch_size=2000,
        )
        CareGroupMembership.objects.bulk_create(
            [CareGroupMembership(resident=r, group=group, start_on=date(2020, 1, 1)) for r in batch[::10]],
            batch_size=2000,
        )
    return created["c"].pk


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    import django

    django.setup()


def child_populate(size: int) -> None:
    """First subprocess: migrate, load the demo, add the residents; prints the community's id."""
    _setup()
    from django.core.management import call_command

    from wangge.demo.loader import load_demo

    call_command("migrate", interactive=False, verbosity=0)
    load_demo(demo_accounts=True)
    started = time.perf_counter()
    community = populate(size)
    print(json.dumps({"community": community, "populate": time.perf_counter() - started}))


def child_export(community: int) -> None:
    """Second subprocess, fresh: only the export runs here, so its peak RSS is the export's."""
    _setup()
    from django.conf import settings

    from wangge.core.models import User
    from wangge.people.export import ExportFilters, residents_export_file

    admin = User.objects.get(username="admin")
    filters = ExportFilters(place_id=community)
    marks: dict[int, float] = {}

    def on_row(count: int) -> None:
        for mark in (10_000, 50_000, 100_000):
            if count >= mark and mark not in marks:
                marks[mark] = rss_mib()

    peak_before = peak_mib()
    started = time.perf_counter()
    path, rows = residents_export_file(actor=admin, filters=filters, on_row=on_row)
    seconds = time.perf_counter() - started
    peak_after = peak_mib()
    size_bytes = path.stat().st_size
    path.unlink()

    tracemalloc.start()
    path, _rows = residents_export_file(actor=admin, filters=filters)
    _current, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    path.unlink()
    print(
        json.dumps(
            {
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "rows": rows,
                "seconds": seconds,
                "file_mib": size_bytes / 2**20,
                "peak_before": peak_before,
                "peak_after": peak_after,
                "rss_at": marks,
                "traced_peak_mib": traced_peak / 2**20,
            }
        )
    )


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the benchmark failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(size: int) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="wangge-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"WANGGE_HOME": home, "WANGGE_DEMO": "1", "DJANGO_SETTINGS_MODULE": "wangge.settings"})
    try:
        populated = _child(["--child-populate", "--size", str(size)], env)
        result = _child(["--child-export", "--community", str(populated["community"])], env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {**result, "size": size, "populate": populated["populate"]}


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        "| residents exported | seconds | rows/s | file (MiB) | process peak RSS before export (MiB) | "
        "peak RSS after export (MiB) | growth (MiB) | RSS at 10k / 50k / 100k rows (MiB) | "
        "Python allocations, peak during export (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        marks = " / ".join(f"{v:.0f}" for _k, v in sorted(r["rss_at"].items(), key=lambda kv: int(kv[0])))
        lines.append(
            f"| {r['rows']:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | {r['file_mib']:.1f} | "
            f"{r['peak_before']:.0f} | {r['peak_after']:.0f} | {r['peak_after'] - r['peak_before']:.0f} | "
            f"{marks or '—'} | {r['traced_peak_mib']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--community", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child-populate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-export", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_populate:
        child_populate(args.size)
        return 0
    if args.child_export:
        child_export(args.community)
        return 0
    print(report([run(int(s)) for s in args.sizes.split(",")]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

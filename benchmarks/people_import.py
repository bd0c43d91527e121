"""How fast the Excel ledger import is: a 10,000-row workbook for the demo's houses.

Runs in a subprocess with a new temporary ``WANGGE_HOME`` and ``WANGGE_DEMO=1``: migrates,
loads the demo, writes a workbook of ``--rows`` residents spread over Leshan's houses (a
few per house, with household numbers, phones, emergency contacts, care groups and a bad
row every ``--bad-every`` rows when asked), then times, as the demo's ``community`` user:

1. a dry run (full validation, nothing written);
2. the real import (all or nothing; with bad rows, ``--skip-invalid`` imports the others);
3. a re-import of the same file (everything unchanged, nothing written).

    python benchmarks/people_import.py
    python benchmarks/people_import.py --rows 20000 --bad-every 500 --skip-invalid
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
from datetime import date, timedelta
from typing import Any

CARE = ["", "", "", "", "", "", "", "独居老人", "退役军人", "党员"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def make_workbook(rows: int, bad_every: int) -> tuple[bytes, int]:
    """A ledger workbook for the demo's Leshan houses; returns it and its number of bad rows."""
    import io

    from openpyxl import Workbook

    from wangge.people.identity import id_check_digit
    from wangge.people.ledger import COLUMNS
    from wangge.places.models import Place, PlaceKind

    community = Place.objects.get(kind=PlaceKind.COMMUNITY, name__startswith="乐山")
    in_leshan = Place.objects.filter(kind=PlaceKind.HOUSE, path__under=community.path)
    houses = list(in_leshan.order_by("path").values_list("code", flat=True))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("台账")
    headers = [c.header for c in COLUMNS]
    ws.append(headers)
    ws.append([c.english for c in COLUMNS])
    bad = 0
    for i in range(rows):
        house = houses[(i // 3) % len(houses)]
        born = date(1935, 1, 1) + timedelta(days=(i * 7919) % 30011)  # 30,011 is prime: no repeats
        first17 = f"469027{born:%Y%m%d}{(i // 30011) * 2 + 1:03d}"
        id_number = first17 + id_check_digit(first17)
        if bad_every and i % bad_every == bad_every - 1:
            id_number = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")  # a wrong check digit
            bad += 1
        member = i % 3
        values = {
            "房屋编码": house,
            "户号": f"B{house[-8:]}-{i // (3 * len(houses))}",
            "与户主关系": ["户主", "配偶", "子女"][member],
            "姓名": SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 13) % len(GIVEN)],
            "民族": "汉族",
            "身份证号": id_number,
            "手机号": f"139{i:08d}",
            "户籍类型": ["户籍", "常住", "流动"][i % 3],
            "迁入日期": min(born + timedelta(days=365 * 20), max(born, date(2024, 1, 1))).isoformat(),
            "迁入原因": "购房" if member == 0 else "随迁",
            "重点人群": CARE[i % len(CARE)] if born.year < 1960 or CARE[i % len(CARE)] != "独居老人" else "",
            "紧急联系人": "联系人" if member == 0 else None,
            "紧急联系人关系": "子女" if member == 0 else None,
            "紧急联系人电话": f"137{i:08d}" if member == 0 else None,
            "房屋用途": "自住" if member == 0 else None,
            "面积": 60 + (i % 60) if member == 0 else None,
        }
        ws.append([values.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), bad


def child(rows: int, bad_every: int, skip_invalid: bool) -> None:
    """Inside the subprocess: migrate, load the demo, build the workbook, time the imports."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from wangge.core.models import AuditEvent, User
    from wangge.demo.loader import load_demo
    from wangge.people.ledger import ledger_import
    from wangge.people.models import Resident

    call_command("migrate", interactive=False, verbosity=0)
    load_demo(demo_accounts=True)
    actor = User.objects.get(username="community")
    started = time.perf_counter()
    data, bad = make_workbook(rows, bad_every)
    generate = time.perf_counter() - started
    result: dict[str, Any] = {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "rows": rows,
        "bad": bad,
        "bytes": len(data),
        "generate": generate,
        "residents_before": Resident.objects.count(),
    }
    for step, dry_run in (("dry_run", True), ("import", False), ("reimport", False)):
        audits = AuditEvent.objects.count()
        started = time.perf_counter()
        report = ledger_import(actor=actor, file=data, dry_run=dry_run, skip_invalid=skip_invalid)
        seconds = time.perf_counter() - started
        result[step] = {
            "seconds": seconds,
            "new": report.new,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "bad": report.bad,
            "status": report.status,
            "reasons": sorted({e.reason for e in report.errors})[:5],
            "households_created": report.households_created,
            "audit_rows": AuditEvent.objects.count() - audits,
        }
    result["residents_after"] = Resident.objects.count()
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run(rows: int, bad_every: int, skip_invalid: bool) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="wangge-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"WANGGE_HOME": home, "WANGGE_DEMO": "1", "DJANGO_SETTINGS_MODULE": "wangge.settings"})
    args = [sys.executable, __file__, "--child", "--rows", str(rows), "--bad-every", str(bad_every)]
    if skip_invalid:
        args.append("--skip-invalid")
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the benchmark failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['rows']:,} rows ({result['bad']:,} bad), {result['bytes'] / 1024:,.0f} KiB workbook, "
        f"on {result['database']}; {result['residents_before']:,} residents before, "
        f"{result['residents_after']:,} after; peak RSS {result['peak_rss_mib']:,.0f} MiB.",
        "",
        "| step | seconds | rows/s | new | updated | unchanged | bad | households created | audit rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step, label in (("dry_run", "dry run"), ("import", "import"), ("reimport", "re-import (same file)")):
        r = result[step]
        lines.append(
            f"| {label} | {r['seconds']:.2f} | {result['rows'] / r['seconds']:,.0f} | {r['new']:,} | "
            f"{r['updated']:,} | {r['unchanged']:,} | {r['bad']:,} | {r['households_created']:,} | "
            f"{r['audit_rows']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bad-every", type=int, default=0, help="make every Nth row invalid (0: none)")
    parser.add_argument("--skip-invalid", action="store_true", help="import the valid rows only")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.rows, args.bad_every, args.skip_invalid)
        return 0
    print(report(run(args.rows, args.bad_every, args.skip_invalid)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Request metrics for a street office over a million requests: the selector and the page.

A subprocess with a new temporary ``WANGGE_HOME`` migrates and loads the demo, then writes
``--cases`` requests (default 1,000,000) received over the last 365 days in the buildings of
the Gangshiqiao street office (the demo's Leshan community), straight into the table in
batches (``COPY`` on PostgreSQL, ``executemany`` on SQLite: seed data, written once). Their
milestones look like a year of work: most archived, rated or answered, a few per cent late,
reopened, extended or not accepted, the last weeks still partly open.

It then times, as the demo's ``street`` account and as ``admin`` (no scope condition):

- ``cases.metrics.case_metrics`` for the street over the last year and over the last full
  month (median of ``--repeat`` runs after one warm-up);
- the metrics page, ``GET /cases/metrics/`` through Django's test client, for both periods.

Finally it adds a candidate index (``--index``, default an index on ``resolved_at``, for the
"resolved per day" series) and times the same again, so the gain can be judged.

    python benchmarks/case_metrics.py
    python benchmarks/case_metrics.py --cases 1000000 --repeat 3
    python benchmarks/case_metrics.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --create-database
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SEED = 20240601
BATCH = 20_000
CATEGORIES = (
    ("1101", 9),
    ("1102", 12),
    ("1103", 5),
    ("1201", 8),
    ("1202", 4),
    ("1301", 4),
    ("1304", 5),
    ("1401", 3),
    ("1601", 6),
    ("1701", 6),
    ("1901", 4),
    ("1999", 4),
    ("0101", 6),
    ("0201", 4),
    ("0401", 4),
    ("0402", 5),
    ("0403", 5),
    ("0301", 3),
)
CHANNELS = (("web", 35), ("patrol", 30), ("hotline", 20), ("walk_in", 10), ("co_building", 5))
INDEXES = {
    "resolved_at": 'CREATE INDEX "case_resolved" ON "cases_case" ("resolved_at")',
    "none": "",
}


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    pick = rng.random() * sum(w for _k, w in table)
    for key, weight in table:
        pick -= weight
        if pick < 0:
            return key
    return table[-1][0]


class Writer:
    """Rows straight into cases_case: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self) -> None:
        from django.db import connection

        from wangge.cases.models import Case

        self.connection = connection
        self.fields = [f for f in Case._meta.concrete_fields if f.column != "id"]
        self.columns = [f.column for f in self.fields]
        self.index = {c: i for i, c in enumerate(self.columns)}
        template: list[Any] = []
        for f in self.fields:
            default = f.get_default() if f.has_default() else None
            template.append("" if default is None and not f.null else default)
        self.template = template
        self.sqlite = connection.vendor == "sqlite"

    def when(self, moment: datetime | None) -> Any:
        """A UTC timestamp as the database takes it (SQLite: Django's text form)."""
        if moment is None:
            return None
        return str(moment.replace(tzinfo=None)) if self.sqlite else moment

    def row(self, **values: Any) -> list[Any]:
        row = list(self.template)
        for column, value in values.items():
            row[self.index[column]] = value
        return row

    def write(self, rows: list[list[Any]]) -> None:
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with self.connection.cursor() as cursor:
            if self.sqlite:
                marks = ", ".join(["%s"] * len(self.columns))
                sql = f"INSERT INTO cases_case ({columns}) VALUES ({marks})"  # noqa: S608 - model columns
                cursor.executemany(sql, rows)
            else:
                with cursor.cursor.copy(f"COPY cases_case ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)


def generate(total: int, seed: int, now: datetime) -> dict[str, Any]:
    """``total`` requests over the last 365 days under the Gangshiqiao street office."""
    from django.db import connection, transaction

    from wangge.cases.models import Category, SlaPolicy
    from wangge.demo import names
    from wangge.places.models import Place, PlaceKind

    rng = random.Random(seed)
    community = Place.objects.get(code=names.LESHAN_CODE)
    grids = list(Place.objects.filter(parent=community, kind=PlaceKind.GRID).order_by("path"))
    buildings = [
        (b_id, b_path, g)
        for g in grids
        for b_id, b_path in Place.objects.filter(
            path__startswith=g.path, kind=PlaceKind.BUILDING
        ).values_list("pk", "path")
    ]
    categories = {c.code: c.pk for c in Category.objects.filter(code__in=[code for code, _w in CATEGORIES])}
    policy = SlaPolicy.objects.get(code="general").pk
    writer = Writer()
    year = 365 * 86400
    # Received in time order, as a live system writes them (a month's rows lie together).
    ages = sorted((rng.randint(60, year) for _ in range(total)), reverse=True)
    began = time.perf_counter()
    with transaction.atomic():
        batch: list[list[Any]] = []
        for i, age in enumerate(ages):
            building_id, building_path, grid = buildings[rng.randrange(len(buildings))]
            created = now - timedelta(seconds=age)
            age_days = (now - created).total_seconds() / 86400
            due = created + timedelta(days=9)
            responded = created + timedelta(minutes=rng.randint(5, 300))
            responded_on_time: bool | None = rng.random() < 0.95
            roll = rng.random()
            if age_days > 30:
                state = "closed" if roll < 0.975 else "cancelled" if roll < 0.99 else "merged"
            elif age_days > 10:
                state = (
                    "closed"
                    if roll < 0.80
                    else "rated"
                    if roll < 0.88
                    else "resolved"
                    if roll < 0.95
                    else "in_progress"
                )
            else:
                state = ("received", "dispatched", "accepted", "in_progress", "resolved", "rated")[i % 6]
            done = state in ("resolved", "rated", "closed")
            if state == "received":
                responded, responded_on_time = None, None
            resolved = responded + timedelta(hours=rng.expovariate(1 / 90)) if done else None
            late = resolved is not None and resolved > due
            overdue = late or (not done and due < now)
            rated = state == "rated" or (state == "closed" and rng.random() < 0.65)
            rating = ""
            if rated:
                r = rng.random()
                rating = "satisfied" if r < 0.88 else "basic" if r < 0.95 else "unsatisfied"
            reopened = done and rng.random() < 0.05
            batch.append(
                writer.row(
                    number=f"M{i:010d}",
                    title="楼道灯坏了",
                    description="楼道灯坏了，晚上看不见",
                    category_id=categories[weighted(rng, CATEGORIES)],
                    channel=weighted(rng, CHANNELS),
                    priority="normal",
                    state=state,
                    place_id=building_id,
                    place_path=building_path,
                    owner_place_id=grid.pk,
                    owner_place_path=grid.path,
                    first_owner_label=grid.name,
                    handler_place_id=grid.pk if state != "received" else None,
                    sla_policy_id=policy,
                    respond_due_at=writer.when(created + timedelta(hours=4)),
                    due_at=writer.when(due),
                    warn_at=writer.when(due - timedelta(days=2)),
                    next_sweep_at=None if state in ("closed", "cancelled", "merged") else writer.when(due),
                    warned=overdue,
                    overdue=overdue,
                    overdue_at=writer.when(due) if overdue else None,
                    supervised=False,
                    whistle_missed=False,
                    extension_count=1 if rng.random() < 0.04 else 0,
                    reopen_count=1 if reopened else 0,
                    created_at=writer.when(created),
                    updated_at=writer.when(resolved or responded or created),
                    dispatched_at=writer.when(created + timedelta(minutes=3))
                    if state != "received"
                    else None,
                    responded_at=writer.when(responded),
                    responded_on_time=responded_on_time,
                    resolved_at=writer.when(resolved),
                    first_resolved_at=writer.when(resolved - timedelta(hours=20) if reopened else resolved)
                    if resolved
                    else None,
                    closed_at=writer.when(resolved + timedelta(days=3))
                    if state == "closed" and resolved
                    else None,
                    reply="已处理" if done else "",
                    rating=rating,
                    rated_at=writer.when(resolved + timedelta(hours=6)) if rated and resolved else None,
                    resolved_on_time=(not late) if done else None,
                )
            )
            if len(batch) >= BATCH:
                writer.write(batch)
                batch = []
        if batch:
            writer.write(batch)
    written = time.perf_counter() - began
    analysed = 0.0
    if connection.vendor == "postgresql":
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE cases_case")
        analysed = time.perf_counter() - began
    return {"write_seconds": written, "analyse_seconds": analysed}


def timed(repeat: int, call: Callable[[], Any]) -> dict[str, float]:
    call()  # warm-up: caches, the query plan, the page's templates
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def measure(repeat: int, street_id: int, periods: dict[str, tuple[date, date]]) -> list[dict[str, Any]]:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from wangge.cases.metrics import case_metrics, metrics_filter
    from wangge.core.models import User

    rows = []
    for username in ("street", "admin"):
        user = User.objects.get(username=username)
        client = Client()
        client.force_login(user)
        for label, (start, end) in periods.items():
            f = metrics_filter(user, place_id=street_id, date_from=start, date_to=end)
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                figures = case_metrics(user, f)
            count = len(queries.captured_queries)  # now: a request clears the log
            selector = timed(repeat, lambda f=f, user=user: case_metrics(user, f))
            url = f"/cases/metrics/?place_id={street_id}&date_from={start}&date_to={end}"
            status = client.get(url).status_code
            page = timed(repeat, lambda url=url, client=client: client.get(url))
            rows.append(
                {
                    "who": username,
                    "period": label,
                    "received": figures.received,
                    "queries": count,
                    "selector": selector,
                    "page": page,
                    "status": status,
                }
            )
    return rows


def child(total: int, seed: int, repeat: int, index: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from wangge.cases.models import Case
    from wangge.core import clock
    from wangge.demo.loader import load_demo
    from wangge.places.models import Place, PlaceKind

    call_command("migrate", interactive=False, verbosity=0)
    load_demo(seed=seed, demo_accounts=True)
    data = generate(total, seed, clock.now())
    data["peak_rss_generation_mib"] = peak_mib()
    street = Place.objects.filter(kind=PlaceKind.STREET, name="杆石桥街道").get()
    today = clock.local_now().date()
    last_month_end = today.replace(day=1)
    last_month_start = (last_month_end - timedelta(days=1)).replace(day=1)
    periods = {
        "year": (today - timedelta(days=365), today + timedelta(days=1)),
        "month": (last_month_start, last_month_end),
    }
    data["before"] = measure(repeat, street.pk, periods)
    sql = INDEXES[index]
    if sql:
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            # PostgreSQL's autovacuum keeps statistics; nothing runs ANALYZE on SQLite.
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE cases_case")
        data["index_seconds"] = time.perf_counter() - began
        data["after"] = measure(repeat, street.pk, periods)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            version = "SQLite " + cursor.fetchone()[0]
        else:
            cursor.execute("show server_version")
            version = "PostgreSQL " + cursor.fetchone()[0]
    data.update(
        {
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "version": version,
            "cases": Case.objects.count(),
            "index": sql,
            "periods": {k: [v[0].isoformat(), v[1].isoformat()] for k, v in periods.items()},
            "peak_rss_mib": peak_mib(),
        }
    )
    print(json.dumps(data))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def run(total: int, seed: int, repeat: int, index: str, database_url: str) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="wangge-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"WANGGE_HOME": home, "WANGGE_DEMO": "1", "DJANGO_SETTINGS_MODULE": "wangge.settings"})
    if database_url:
        env["DATABASE_URL"] = database_url
    args = ["--child", "--cases", str(total), "--seed", str(seed), "--repeat", str(repeat), "--index", index]
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"the benchmark failed with exit code {done.returncode}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["total_seconds"] = time.perf_counter() - started
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| account | period | received | queries | selector median (s) | page median (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['who']} | {r['period']} | {r['received']:,} | {r['queries']} "
            f"| {r['selector']['median']:.2f} | {r['page']['median']:.2f} |"
        )
    return lines


def report(result: dict[str, Any], command: str) -> str:
    periods = result["periods"]
    lines = [
        f"### Metrics on {result['version']}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        f"Command: `{command}`",
        "",
        f"{result['cases']:,} requests under one street office; year = {periods['year'][0]} to "
        f"{periods['year'][1]}, month = {periods['month'][0]} to {periods['month'][1]} (end not included). "
        f"Writing them took {result['write_seconds']:.0f} s "
        f"(peak RSS {result['peak_rss_generation_mib']:.0f} MiB)"
        + (f", ANALYZE {result['analyse_seconds']:.1f} s" if result.get("analyse_seconds") else "")
        + f"; the whole run {result['total_seconds']:.0f} s.",
        "",
        *_table(result["before"]),
    ]
    if result.get("after"):
        lines += [
            "",
            f"With `{result['index']}` (built in {result['index_seconds']:.1f} s):",
            "",
            *_table(result["after"]),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after one warm-up (default 3)")
    parser.add_argument("--index", choices=sorted(INDEXES), default="resolved_at", help="candidate index")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--create-database", action="store_true", help="use a fresh database, dropped after")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.cases, args.seed, args.repeat, args.index)
        return 0
    if args.create_database and not args.database_url:
        parser.error("--create-database needs --database-url")
    command = (
        "python benchmarks/case_metrics.py " + " ".join(argv if argv is not None else sys.argv[1:])
    ).strip()
    if not args.create_database:
        print(report(run(args.cases, args.seed, args.repeat, args.index, args.database_url), command))
        return 0

    import psycopg

    name = f"wangge_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        result = run(args.cases, args.seed, args.repeat, args.index, with_database(args.database_url, name))
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(report(result, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

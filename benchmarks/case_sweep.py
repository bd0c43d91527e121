"""The SLA sweep over a million open requests: one run, and the next ones that find nothing to do.

A subprocess with a new temporary ``WANGGE_HOME`` migrates and loads the demo, then writes
``--cases`` open requests (default 1,000,000) in the grids of the demo's Leshan community,
straight into the table in batches (``COPY`` on PostgreSQL, ``executemany`` on SQLite: seed
data, written once). About ``--due`` of them (default 1 %) are due at the sweep's moment:

- a third reach their warning point (80 % of the time used) just now;
- a third pass their deadline just now (the sweep marks them overdue and escalates them from
  the grid to the community, a new timeline row, audit row and notices each);
- a third have not been accepted within the response time.

The rest are due later (their ``next_sweep_at`` is hours to days ahead). Then
``cases.services.sla_sweep`` runs once with a limit above the number due, then twice more:
those runs must find nothing (each case is swept only for what ``next_sweep_at`` says is due).

    python benchmarks/case_sweep.py
    python benchmarks/case_sweep.py --cases 1000000 --due 0.01
    python benchmarks/case_sweep.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --create-database

The periodic task (``cases.tasks.cases_sla_sweep``) runs the sweep every minute with its
default limit of 5,000 cases; a backlog larger than that is worked off minute by minute.
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
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SEED = 20240601
BATCH = 20_000
CATEGORIES = ("0101", "1201", "1601", "1701")  # grid-level, 7 working days


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def generate(total: int, due_share: float, seed: int, now: datetime) -> dict[str, Any]:
    """``total`` open cases in Leshan's grids; ``due_share`` of them due at ``now``."""
    from django.db import connection, transaction

    from wangge.cases.models import Category, SlaPolicy
    from wangge.core.models import User
    from wangge.demo import names
    from wangge.org.models import Assignment
    from wangge.places.models import Place, PlaceKind

    rng = random.Random(seed)
    community = Place.objects.get(code=names.LESHAN_CODE)
    grids = list(Place.objects.filter(parent=community, kind=PlaceKind.GRID).order_by("path"))
    buildings = {
        g.pk: list(
            Place.objects.filter(path__startswith=g.path, kind=PlaceKind.BUILDING).values_list("pk", "path")
        )
        for g in grids
    }
    workers = {
        g.pk: Assignment.objects.filter(place=g, role="grid_worker").values_list("user_id", flat=True).first()
        for g in grids
    }
    categories = [Category.objects.get(code=c).pk for c in CATEGORIES]
    policy = SlaPolicy.objects.get(code="general").pk
    resident = User.objects.get(username="resident").pk
    writer = Writer()
    kinds = {"warn": 0, "overdue": 0, "late_response": 0, "later": 0}
    due_every = max(1, round(1 / due_share)) if due_share > 0 else 0
    began = time.perf_counter()
    with transaction.atomic():
        batch: list[list[Any]] = []
        # Received in time order, as a live system writes them.
        ages = sorted((rng.randint(3600, 6 * 86400) for _ in range(total)), reverse=True)
        for i, age in enumerate(ages):
            grid = grids[i % len(grids)]
            building_id, building_path = rng.choice(buildings[grid.pk])
            created = now - timedelta(seconds=age)
            respond_due = created + timedelta(hours=4)
            state = ("received", "dispatched", "accepted", "in_progress")[i % 4]
            handled = state != "received"
            responded = created + timedelta(minutes=30) if state in ("accepted", "in_progress") else None
            warn = now + timedelta(seconds=rng.randint(3600, 10 * 86400))
            due = warn + timedelta(days=2)
            warned = False
            kind = "later"
            if due_every and i % due_every == due_every // 2:
                kind = ("warn", "overdue", "late_response")[(i // due_every) % 3]
            if kind == "warn":
                warn = now - timedelta(seconds=rng.randint(60, 3000))
                due = now + timedelta(days=2)
            elif kind == "overdue":
                state, handled, responded = "in_progress", True, created + timedelta(minutes=30)
                warned = True
                due = now - timedelta(seconds=rng.randint(60, 3000))
                warn = due - timedelta(days=1)
            elif kind == "late_response":
                state, handled, responded = "dispatched", True, None
                respond_due = now - timedelta(seconds=rng.randint(60, 3000))
            if kind != "late_response" and responded is None:
                # Waiting at the desk or for the grid, but still within the response time.
                respond_due = now + timedelta(hours=rng.randint(1, 4))
            kinds[kind] += 1
            moments = [m for m in (warn if not warned else None, due) if m is not None]
            if responded is None:
                moments.append(respond_due)
            batch.append(
                writer.row(
                    number=f"B{i:010d}",
                    title="楼道堆放杂物，堵塞通道",
                    description="楼道堆放杂物，堵塞通道，请尽快处理",
                    category_id=categories[i % len(categories)],
                    channel="web",
                    priority="normal",
                    state=state,
                    place_id=building_id,
                    place_path=building_path,
                    reporter_id=resident,
                    owner_place_id=grid.pk,
                    owner_place_path=grid.path,
                    first_owner_label=grid.name,
                    handler_place_id=grid.pk if handled else None,
                    handler_id=workers[grid.pk] if responded is not None else None,
                    sla_policy_id=policy,
                    respond_due_at=writer.when(respond_due),
                    due_at=writer.when(due),
                    warn_at=writer.when(warn),
                    next_sweep_at=writer.when(min(moments)),
                    warned=warned,
                    overdue=False,
                    supervised=False,
                    whistle_missed=False,
                    created_at=writer.when(created),
                    updated_at=writer.when(created),
                    dispatched_at=writer.when(created + timedelta(minutes=10)) if handled else None,
                    responded_at=writer.when(responded),
                    responded_on_time=True if responded is not None else None,
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
    return {"kinds": kinds, "write_seconds": written, "analyse_seconds": analysed}


def child(total: int, due_share: float, seed: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from wangge.cases.models import Case, CaseEvent
    from wangge.cases.services import sla_sweep
    from wangge.core import clock
    from wangge.demo.loader import load_demo

    call_command("migrate", interactive=False, verbosity=0)
    load_demo(seed=seed, demo_accounts=True)
    rss_before = peak_mib()
    generated_at = clock.now()
    data = generate(total, due_share, seed, generated_at)
    data["peak_rss_generation_mib"] = peak_mib()
    data["rss_before_generation_mib"] = rss_before
    due = data["kinds"]["warn"] + data["kinds"]["overdue"] + data["kinds"]["late_response"]
    runs = []
    for _attempt in range(3):
        now = clock.now()
        events_before = CaseEvent.objects.count()
        began = time.perf_counter()
        result = sla_sweep(now=now, limit=due + 1000)
        seconds = time.perf_counter() - began
        runs.append(
            {
                "seconds": seconds,
                "result": result.as_dict(),
                "events": CaseEvent.objects.count() - events_before,
            }
        )
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
            "due": due,
            "runs": runs,
            "peak_rss_mib": peak_mib(),
        }
    )
    print(json.dumps(data))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def run(total: int, due_share: float, seed: int, database_url: str) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="wangge-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"WANGGE_HOME": home, "WANGGE_DEMO": "1", "DJANGO_SETTINGS_MODULE": "wangge.settings"})
    if database_url:
        env["DATABASE_URL"] = database_url
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--cases",
                str(total),
                "--due",
                str(due_share),
                "--seed",
                str(seed),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"the benchmark failed with exit code {done.returncode}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["total_seconds"] = time.perf_counter() - started
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


def report(result: dict[str, Any], command: str) -> str:
    kinds = result["kinds"]
    runs = result["runs"]
    lines = [
        f"### Sweep on {result['version']}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        f"Command: `{command}`",
        "",
        f"{result['cases']:,} open cases; due at the sweep: {kinds['warn']:,} warnings, {kinds['overdue']:,} "
        f"deadlines, {kinds['late_response']:,} late responses ({result['due']:,} in all).",
        "",
        "| step | seconds | cases looked at | per case (ms) | timeline rows written | outcome |",
        "|---|---:|---:|---:|---:|---|",
        f"| write {result['cases']:,} cases | {result['write_seconds']:.1f} | | | | "
        f"peak RSS {result['peak_rss_generation_mib']:.0f} MiB "
        f"({result['rss_before_generation_mib']:.0f} MiB before) |",
    ]
    if result.get("analyse_seconds"):
        lines.append(f"| ANALYZE | {result['analyse_seconds']:.1f} | | | | |")
    for label, run_ in zip(("first sweep", "second sweep", "third sweep"), runs, strict=False):
        r = run_["result"]
        looked = r["looked_at"]
        per_case = run_["seconds"] / looked * 1000 if looked else 0.0
        outcome = (
            f"{r['warned']:,} warned, {r['overdue']:,} overdue, {r['escalated']:,} escalated, "
            f"{r['late_responses']:,} late responses"
        )
        seconds = run_["seconds"]
        lines.append(
            f"| {label} | {seconds:.2f} | {looked:,} | {per_case:.1f} | {run_['events']:,} | {outcome} |"
        )
    lines.append(
        f"| whole run (start-up, migrate, demo, write, sweeps) | {result['total_seconds']:.0f} | | | | |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=float, default=0.01, help="share due at the sweep (default 0.01)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--create-database", action="store_true", help="use a fresh database, dropped after")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.cases, args.due, args.seed)
        return 0
    if args.create_database and not args.database_url:
        parser.error("--create-database needs --database-url")
    command = (
        "python benchmarks/case_sweep.py " + " ".join(argv if argv is not None else sys.argv[1:])
    ).strip()
    if not args.create_database:
        print(report(run(args.cases, args.due, args.seed, args.database_url), command))
        return 0

    import psycopg

    name = f"wangge_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        result = run(args.cases, args.due, args.seed, with_database(args.database_url, name))
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(report(result, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How long a fresh install takes to migrate and load the demo (or the county seed).

Runs migrate and ``load_demo`` (``--scale demo``) or ``seed_county`` (``--scale county``)
in a subprocess with a new temporary ``WANGGE_HOME`` and ``WANGGE_DEMO=1``, and prints the
seconds and the counts as Markdown tables.

    python benchmarks/demo_load.py --scale demo
    python benchmarks/demo_load.py --scale county
    python benchmarks/demo_load.py --database-url postgresql://user@host:5432/postgres --create-database

With ``--database-url`` alone the database must exist and be empty. ``--create-database``
creates a fresh database next to the one in the URL and drops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SEED = 20240601


def child(scale: str, seed: int) -> None:
    """Inside the subprocess: set Django up, migrate, load; print the timings as JSON."""
    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from wangge.demo.loader import load_demo, seed_county

    setup_done = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    counts = seed_county(seed=seed) if scale == "county" else load_demo(seed=seed)
    loaded = time.perf_counter()
    result = {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "setup": setup_done - started,
        "migrate": migrated - setup_done,
        "load": loaded - migrated,
        "counts": counts,
    }
    print(json.dumps(result))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def run(scale: str, seed: int, database_url: str) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="wangge-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"WANGGE_HOME": home, "WANGGE_DEMO": "1", "DJANGO_SETTINGS_MODULE": "wangge.settings"})
    if database_url:
        env["DATABASE_URL"] = database_url
    try:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--scale", scale, "--seed", str(seed)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        total = time.perf_counter() - started
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the load failed with exit code {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["total"] = total
    return result


def report(scale: str, result: dict[str, Any]) -> str:
    lines = [
        f"### {scale} on {result['database']}",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| start-up (Python + Django) | {result['setup']:.2f} |",
        f"| migrate | {result['migrate']:.2f} |",
        f"| load | {result['load']:.2f} |",
        f"| total (wall, whole process) | {result['total']:.2f} |",
        "",
        "| count | rows |",
        "|---|---:|",
    ]
    lines += [f"| {key} | {value:,} |" for key, value in result["counts"].items() if value]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["demo", "county"], default="demo")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--create-database", action="store_true", help="use a fresh database, dropped after")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.scale, args.seed)
        return 0
    if args.create_database and not args.database_url:
        parser.error("--create-database needs --database-url")
    if not args.create_database:
        print(report(args.scale, run(args.scale, args.seed, args.database_url)))
        return 0

    import psycopg

    name = f"wangge_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        result = run(args.scale, args.seed, with_database(args.database_url, name))
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(report(args.scale, result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

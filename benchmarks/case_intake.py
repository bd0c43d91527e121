"""How fast requests are filed: requests per second and p50/p99 latency of an intake.

A subprocess with a new temporary ``WANGGE_HOME`` migrates and loads the demo, then files
``--requests`` web requests as the demo ``resident`` (each with its own idempotency key, at
a random building of the demo communities, in a random community category) three ways:

1. ``service``: ``cases.services.case_intake`` called in process;
2. ``api (in process)``: ``POST /api/v1/cases/`` through Django's test client (middleware,
   bearer-token authentication, Ninja parsing and the JSON answer, no network);
3. ``api (HTTP)``: the same ``POST`` to a real ``wangge demo`` server started on a free port
   (uvicorn, one process, its in-process worker delivering the notifications meanwhile),
   over keep-alive HTTP connections.

Each way runs once sequentially and once with ``--threads`` concurrent clients (threads with
their own database connections, or their own HTTP connections). Every intake is the real
one: the idempotency record, the case and its number, the reporter and tracking code, the
timeline row, the audit row, the live-push outbox event and the notices to the desk.

    python benchmarks/case_intake.py
    python benchmarks/case_intake.py --requests 2000 --threads 4
    python benchmarks/case_intake.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        --create-database

SQLite takes one writer at a time (``BEGIN IMMEDIATE`` with a busy timeout), so concurrent
clients there queue for the write lock; PostgreSQL lets them write side by side.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SEED = 20240601
CATEGORIES = ("1101", "1102", "1201", "1301", "1304", "1401", "1601", "1701", "1901", "1999")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def summary(name: str, threads: int, latencies: list[float], seconds: float, errors: int) -> dict[str, Any]:
    return {
        "way": name,
        "threads": threads,
        "requests": len(latencies),
        "seconds": seconds,
        "per_second": len(latencies) / seconds if seconds else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "errors": errors,
    }


def run_load(
    name: str,
    threads: int,
    count: int,
    one: Callable[[int], bool],
    setup: Callable[[], None],
    teardown: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``count`` calls of ``one(i)`` spread over ``threads`` threads; latency of each."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start_gate = threading.Barrier(threads)

    def worker(indexes: range) -> None:
        setup()
        mine: list[float] = []
        failed = 0
        start_gate.wait()
        for i in indexes:
            began = time.perf_counter()
            ok = one(i)
            mine.append(time.perf_counter() - began)
            failed += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += failed
        if teardown is not None and threads > 1:
            teardown()

    share = count // threads
    chunks = [range(t * share, count if t == threads - 1 else (t + 1) * share) for t in range(threads)]
    began = time.perf_counter()
    if threads == 1:
        worker(chunks[0])
    else:
        pool = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    return summary(name, threads, latencies, time.perf_counter() - began, errors[0])


# --- inside the subprocess ---------------------------------------------------------------------


def child(requests: int, threads: int, seed: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client

    from wangge.cases import services
    from wangge.cases.models import Case, Category
    from wangge.core.auth import token_issue
    from wangge.core.models import User
    from wangge.demo.loader import load_demo
    from wangge.places.models import Place, PlaceKind

    call_command("migrate", interactive=False, verbosity=0)
    load_demo(seed=seed, demo_accounts=True)
    resident = User.objects.get(username="resident")
    buildings = list(Place.objects.filter(kind=PlaceKind.BUILDING).values_list("pk", flat=True))
    categories = {c.code: c for c in Category.objects.filter(code__in=CATEGORIES)}
    places = {p.pk: p for p in Place.objects.filter(pk__in=buildings).defer("boundary")}
    rng = random.Random(seed)
    plan = [(rng.choice(buildings), rng.choice(CATEGORIES)) for _ in range(requests * 4)]
    token = token_issue(user=resident)

    def via_service(offset: int) -> Callable[[int], bool]:
        def one(i: int) -> bool:
            place_id, code = plan[offset + i]
            result = services.case_intake(
                actor=resident,
                channel="web",
                category=categories[code],
                place=places[place_id],
                description=f"楼道灯坏了，晚上看不见（压测 {offset + i}）",
                idempotency_key=uuid.uuid4().hex,
            )
            return result.created

        return one

    local = threading.local()

    def via_client(offset: int) -> Callable[[int], bool]:
        def one(i: int) -> bool:
            place_id, code = plan[offset + i]
            response = local.client.post(
                "/api/v1/cases/",
                data=json.dumps(
                    {
                        "channel": "web",
                        "category": code,
                        "place_id": place_id,
                        "description": f"压测 {offset + i}",
                    }
                ),
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
            )
            return response.status_code == 201

        return one

    def fresh_client() -> None:
        local.client = Client()

    def nothing() -> None:
        pass

    def close() -> None:
        connection.close()

    results = []
    before = Case.objects.count()
    results.append(run_load("service", 1, requests, via_service(0), nothing))
    results.append(run_load("service", threads, requests, via_service(requests), nothing, close))
    results.append(run_load("api (in process)", 1, requests, via_client(2 * requests), fresh_client))
    results.append(
        run_load("api (in process)", threads, requests, via_client(3 * requests), fresh_client, close)
    )
    filed = Case.objects.count() - before
    for alias in connections:
        connections[alias].close()
    version = ""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            version = "SQLite " + cursor.fetchone()[0]
        else:
            cursor.execute("show server_version")
            version = "PostgreSQL " + cursor.fetchone()[0]
    print(
        json.dumps(
            {
                "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
                "version": version,
                "filed": filed,
                "results": results,
                "places": buildings[:50],
            }
        )
    )


# --- the HTTP run, from the parent -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_load(env: dict[str, str], requests: int, threads: int, places: list[int]) -> list[dict[str, Any]]:
    port = free_port()
    log = open(os.path.join(env["WANGGE_HOME"], "server.log"), "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "wangge.cli", "demo", "--port", str(port)],
        env={**env, "WANGGE_SERVER_LOG_LEVEL": "warning"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the demo server did not start")
            time.sleep(0.5)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(
            "POST",
            "/api/v1/auth/token",
            body=json.dumps({"username": "resident", "password": "wangge-demo"}),
            headers={"Content-Type": "application/json"},
        )
        token = json.loads(conn.getresponse().read())["token"]
        rng = random.Random(7)
        plan = [(rng.choice(places), rng.choice(CATEGORIES)) for _ in range(requests * 2)]
        local = threading.local()
        failures: dict[int, int] = {}
        samples: dict[int, str] = {}
        failures_lock = threading.Lock()

        def setup() -> None:
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def make(offset: int) -> Callable[[int], bool]:
            def one(i: int) -> bool:
                place_id, code = plan[offset + i]
                body = json.dumps(
                    {"channel": "web", "category": code, "place_id": place_id, "description": f"HTTP {i}"}
                )
                local.conn.request(
                    "POST",
                    "/api/v1/cases/",
                    body=body,
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
                response = local.conn.getresponse()
                body = response.read()
                if response.status != 201:
                    with failures_lock:
                        failures[response.status] = failures.get(response.status, 0) + 1
                        samples.setdefault(response.status, body[:300].decode("utf-8", "replace"))
                return response.status == 201

            return one

        results = [
            run_load("api (HTTP)", 1, requests, make(0), setup),
            run_load("api (HTTP)", threads, requests, make(requests), setup),
        ]
        if failures:
            results[-1]["failures"] = {str(k): v for k, v in failures.items()}
            results[-1]["failure_samples"] = {str(k): v for k, v in samples.items()}
        return results
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def run(requests: int, threads: int, seed: int, database_url: str, http: bool) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="wangge-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANGGE_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"WANGGE_HOME": home, "WANGGE_DEMO": "1", "DJANGO_SETTINGS_MODULE": "wangge.settings"})
    if database_url:
        env["DATABASE_URL"] = database_url
    try:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--requests",
                str(requests),
                "--threads",
                str(threads),
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
        if http:
            result["results"] += http_load(env, requests, threads, result["places"])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


def report(result: dict[str, Any], command: str) -> str:
    lines = [
        f"### Intake on {result['version']}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        f"Command: `{command}`",
        "",
        "| way | clients | requests | seconds | requests/s | p50 (ms) | p99 (ms) | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        errors = str(r["errors"])
        if r.get("failures"):
            errors += " (" + ", ".join(f"{n}× {code}" for code, n in r["failures"].items()) + ")"
        lines.append(
            f"| {r['way']} | {r['threads']} | {r['requests']:,} | {r['seconds']:.1f} | {r['per_second']:.0f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {errors} |"
        )
    for r in result["results"]:
        for code, sample in r.get("failure_samples", {}).items():
            lines.append(f"\nA {code} answer: `{sample}`")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per run (default 2000)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--no-http", action="store_true", help="skip the run against a real server")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--create-database", action="store_true", help="use a fresh database, dropped after")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.requests, args.threads, args.seed)
        return 0
    if args.create_database and not args.database_url:
        parser.error("--create-database needs --database-url")
    command = "python benchmarks/case_intake.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if not args.create_database:
        print(
            report(
                run(args.requests, args.threads, args.seed, args.database_url, not args.no_http),
                command.strip(),
            )
        )
        return 0

    import psycopg

    name = f"wangge_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        result = run(
            args.requests, args.threads, args.seed, with_database(args.database_url, name), not args.no_http
        )
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(report(result, command.strip()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

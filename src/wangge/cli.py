"""The ``wangge`` command (contract): demo, serve, worker, seed, and Django's own commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _setup(*, demo: bool = False) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    if demo:
        os.environ["WANGGE_DEMO"] = "1"
    from django.core.exceptions import ImproperlyConfigured

    try:
        import django

        django.setup()
    except ImproperlyConfigured as exc:
        print(f"wangge: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _prepare_database() -> None:
    from django.core.management import call_command

    from wangge.core.i18n import compile_messages

    compile_messages()
    call_command("migrate", interactive=False, verbosity=0)


def _serve(host: str, port: int) -> None:
    import uvicorn
    from django.conf import settings

    from wangge.core.worker import start_inprocess_worker, stop_inprocess_worker

    consumer = start_inprocess_worker() if settings.INPROCESS_WORKER else None
    print(f"wangge: serving on http://{host}:{port}/", flush=True)
    try:
        uvicorn.run(
            "wangge.asgi:application",
            host=host,
            port=port,
            log_level=os.environ.get("WANGGE_SERVER_LOG_LEVEL", "warning"),
            lifespan="off",
            proxy_headers=settings.SECURE_PROXY_SSL_HEADER is not None
            if hasattr(settings, "SECURE_PROXY_SSL_HEADER")
            else False,
        )
    finally:
        if consumer is not None:
            stop_inprocess_worker(consumer)


def cmd_demo(args: argparse.Namespace) -> int:
    _setup(demo=True)
    _prepare_database()
    from wangge.demo.loader import demo_is_loaded, load_demo
    from wangge.open311.services import ensure_demo_client

    if not demo_is_loaded():
        print("wangge: loading the demo community (first run only)…", flush=True)
        load_demo(seed=args.seed, progress=True)
    ensure_demo_client()  # also for a demo database made before Open311 existed
    _serve(args.host, args.port)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _setup()
    if args.migrate:
        _prepare_database()
    else:
        from wangge.core.i18n import compile_messages

        compile_messages()
    _serve(args.host, args.port)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from huey.contrib.djhuey import HUEY

    from wangge.core.worker import discover_tasks

    discover_tasks()
    consumer = HUEY.create_consumer(workers=args.workers, worker_type="thread", periodic=not args.no_periodic)
    consumer.run()
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    _setup(demo=args.scale == "demo")
    _prepare_database()
    from wangge.demo.loader import load_demo, seed_county

    if args.scale == "demo":
        load_demo(seed=args.seed, progress=True)
    else:
        seed_county(seed=args.seed, progress=True)
    return 0


def cmd_manage(argv: Sequence[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["wangge", *argv])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wangge", description="Grid-based community governance (网格化社会治理)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="migrate, load the demo community once, and serve everything")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--seed", type=int, default=20240601)
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve pages, API and live push, configured from the environment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--migrate", action="store_true", help="apply database migrations first")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run background work (Huey consumer)")
    worker.add_argument("--workers", type=int, default=4)
    worker.add_argument("--no-periodic", action="store_true", help="leave periodic sweeps to another worker")
    worker.set_defaults(func=cmd_worker)

    seed = sub.add_parser("seed", help="generate a territory for larger tests")
    seed.add_argument("--scale", choices=["demo", "county"], default="county")
    seed.add_argument("--seed", type=int, default=20240601)
    seed.set_defaults(func=cmd_seed)

    sub.add_parser(
        "manage", help="run a Django management command (migrate, createsuperuser, …)", add_help=False
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "manage":
        return cmd_manage(argv[1:])
    if argv and argv[0] == "import-boundaries":
        return cmd_manage(["import_boundaries", *argv[1:]])
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

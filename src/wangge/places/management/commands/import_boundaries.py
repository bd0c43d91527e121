"""``wangge import-boundaries FILE``: set place boundaries from a GeoJSON FeatureCollection."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.core.errors import DomainError
from wangge.core.models import User
from wangge.places.importers import ImportReport, boundaries_import


class Command(BaseCommand):
    help = (
        "Set the boundaries of existing places from a GeoJSON FeatureCollection whose features "
        "name places by properties.code (or properties.id). The whole file or nothing, unless "
        "--skip-invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a GeoJSON FeatureCollection (UTF-8); '-' reads standard input")
        parser.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="write the good features even when some are bad"
        )
        parser.add_argument(
            "--user",
            default="",
            help="act as this user (their scope and rights apply, and the audit log names them)",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        data = self._read(options["file"])
        actor: User | None = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"no active user named {options['user']!r}")
        try:
            report = boundaries_import(
                actor=actor,
                feature_collection=data,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._print(report)
        if report.errors and not options["skip_invalid"]:
            raise CommandError(
                f"{len(report.errors)} bad feature(s); nothing was changed "
                "(--skip-invalid writes the good ones)"
            )

    def _read(self, name: str) -> Any:
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{name} is not UTF-8 text") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{name} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None

    def _print(self, report: ImportReport) -> None:
        mode = "dry run: " if report.dry_run else ""
        self.stdout.write(
            f"{mode}{report.total} feature(s), {report.matched} matched, "
            f"{len(report.updated_codes) if report.dry_run else report.updated} "
            f"{'would change' if report.dry_run else 'updated'}, {report.unchanged} unchanged, "
            f"{len(report.errors)} bad" + (f", {report.skipped} skipped" if report.skipped else "")
        )
        for problem in report.errors:
            self.stderr.write(f"  feature {problem.index} [{problem.code or '-'}]: {problem.reason}")
        for problem in report.warnings:
            self.stdout.write(f"  warning: feature {problem.index} [{problem.code}]: {problem.reason}")
        if report.applied:
            self.stdout.write(self.style.SUCCESS(f"{report.updated} boundaries written"))

"""Ledger imports run as background jobs: the upload is sealed on disk, a Huey task runs it.

Progress lives in the ``LedgerJob`` row (not the cache, which is per process in embedded
mode), so any web process can show it. The uploaded workbook holds ID and phone numbers in
plain text, so it is stored encrypted with the field key (AES-256-GCM) and deleted once the
import is committed, has failed, or is a day old.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from wangge.core import clock
from wangge.core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.pii import field_keys
from wangge.core.roles import Capability
from wangge.core.scope import access, has_capability, scope_for
from wangge.people.ledger import LedgerReport, ledger_import
from wangge.people.models import LedgerJob
from wangge.places.models import Place

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
KEEP_UPLOADS = timedelta(days=1)
_MAGIC = b"WGL1"
MAX_ID = 2**63 - 1


# --- the sealed upload ------------------------------------------------------------------------


def seal(data: bytes) -> bytes:
    keys = field_keys()
    key_id = keys.current_id.encode()
    nonce = os.urandom(12)
    return _MAGIC + bytes([len(key_id)]) + key_id + nonce + AESGCM(keys.current).encrypt(nonce, data, _MAGIC)


def unseal(blob: bytes) -> bytes:
    if not blob.startswith(_MAGIC):
        raise ValueError("not a sealed ledger upload")
    n = blob[len(_MAGIC)]
    start = len(_MAGIC) + 1
    key = field_keys().keys.get(blob[start : start + n].decode())
    if key is None:
        raise ValueError("the key that sealed this upload is gone")
    nonce = blob[start + n : start + n + 12]
    return AESGCM(key).decrypt(nonce, blob[start + n + 12 :], _MAGIC)


def _upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "ledger"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _delete_upload(name: str) -> None:
    """Delete a sealed upload and forget it on every job that pointed at it."""
    if name:
        (Path(settings.MEDIA_ROOT) / name).unlink(missing_ok=True)
        LedgerJob.objects.filter(file=name).update(file="")


# --- reads ------------------------------------------------------------------------------------


def job_get(user: Any, job_id: int) -> LedgerJob:
    """One job the user started (administrators: any), or NotFound."""
    if not 0 < job_id <= MAX_ID:
        raise NotFound(_("Not found"))
    return access(LedgerJob.objects.select_related("source"), user, pk=job_id)


def jobs_recent(user: Any, limit: int = 10) -> QuerySet[LedgerJob]:
    return LedgerJob.objects.visible_to(user).filter(created_by_id=user.pk).order_by("-created_at")[:limit]


def job_report(job: LedgerJob) -> LedgerReport | None:
    return LedgerReport.from_dict(job.report) if job.report else None


# --- writes -----------------------------------------------------------------------------------


def check_can_import(actor: User) -> None:
    scope = scope_for(actor)
    if not (scope.is_admin or (scope.territorial_paths and has_capability(actor, Capability.REVEAL_PII))):
        raise PermissionDenied(_("Your role may not register residents"))


def job_create(*, actor: User, data: bytes, filename: str, dry_run: bool, skip_invalid: bool) -> LedgerJob:
    """Store a sealed upload and queue its import; the task starts after this commits."""
    check_can_import(actor)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)d MB; split it into smaller files")
            % {"mb": MAX_UPLOAD_BYTES >> 20},
            code="too_large",
        )
    if not data.startswith(b"PK\x03\x04"):
        raise ValidationError(_("This file is not an Excel workbook (.xlsx)"), code="not_xlsx")
    name = f"ledger/{uuid.uuid4().hex}.bin"
    (_upload_dir() / Path(name).name).write_bytes(seal(data))
    with transaction.atomic():
        job = LedgerJob.objects.create(
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            filename=Path(filename or "ledger.xlsx").name[:200],
            file=name,
            created_by=actor,
            created_at=clock.now(),
        )
        _queue(job)
    return job


def job_commit(*, actor: User, job: LedgerJob) -> LedgerJob:
    """Import for real what a dry run checked; asking twice returns the same job."""
    check_can_import(actor)
    if job.created_by_id != actor.pk:
        raise NotFound(_("Not found"))
    if not job.dry_run or job.status != LedgerJob.Status.DONE:
        raise ValidationError(_("Only a finished dry run can be imported"), code="not_a_dry_run")
    with transaction.atomic():
        source = LedgerJob.objects.select_for_update().get(pk=job.pk)
        existing = LedgerJob.objects.filter(source=source).order_by("pk").first()
        if existing is not None:
            return existing
        if not source.file:
            raise ValidationError(_("The uploaded file has expired; please upload it again"), code="expired")
        commit = LedgerJob.objects.create(
            dry_run=False,
            # The dry run listed the bad rows; committing it imports the others.
            skip_invalid=source.skip_invalid or bool(source.report and source.report.get("bad")),
            filename=source.filename,
            file=source.file,
            source=source,
            created_by=actor,
            created_at=clock.now(),
        )
        _queue(commit)
    return commit


def _queue(job: LedgerJob) -> None:
    def run() -> None:
        from wangge.people.tasks import ledger_job_run

        ledger_job_run(job.pk)

    transaction.on_commit(run)


def job_run(job_id: int) -> None:
    """Run a queued job once (a second delivery of the task finds it already taken)."""
    taken = LedgerJob.objects.filter(pk=job_id, status=LedgerJob.Status.QUEUED).update(
        status=LedgerJob.Status.RUNNING, started_at=clock.now()
    )
    if not taken:
        return
    job = LedgerJob.objects.select_related("created_by").get(pk=job_id)
    last = [-1]

    def progress(done: int, total: int) -> None:
        # Inside the import's transaction nobody else could see the row change: skip it there.
        if connection.in_atomic_block or done == last[0]:
            return
        last[0] = done
        LedgerJob.objects.filter(pk=job_id).update(done=done, total=total)

    status, error, report = LedgerJob.Status.FAILED, "", None
    try:
        data = unseal((Path(settings.MEDIA_ROOT) / job.file).read_bytes()) if job.file else b""
        report = ledger_import(
            actor=job.created_by,
            file=data,
            dry_run=job.dry_run,
            skip_invalid=job.skip_invalid,
            progress=progress,
        )
        status = LedgerJob.Status.REJECTED if report.status == "rejected" else LedgerJob.Status.DONE
    except DomainError as exc:
        error = exc.message
    except (OSError, ValueError, InvalidTag):
        error = _("The uploaded file could not be read; please upload it again")
    except DatabaseError:
        log.exception("ledger import %s failed", job_id)
        error = _("The import failed and nothing was imported; please try again")
    place = None
    if report is not None and report.place_path:
        place = Place.objects.filter(path=report.place_path).first()
    LedgerJob.objects.filter(pk=job_id).update(
        status=status,
        error=error[:500],
        report=report.to_dict() if report is not None else None,
        done=job.total if report is None else 2 * max(report.rows, 1),
        total=2 * max(report.rows, 1) if report is not None else job.total,
        place=place,
        finished_at=clock.now(),
    )
    # A checked dry run keeps its upload for the commit; everything else is done with it.
    keep = job.dry_run and status == LedgerJob.Status.DONE
    if not keep and not LedgerJob.objects.filter(file=job.file, status=LedgerJob.Status.QUEUED).exists():
        _delete_upload(job.file)


def jobs_sweep() -> int:
    """Delete uploads no longer needed; returns how many were deleted."""
    cutoff = clock.now() - KEEP_UPLOADS
    done = 0
    stale = (
        LedgerJob.objects.exclude(file="")
        .filter(created_at__lt=cutoff)
        .exclude(status__in=[LedgerJob.Status.QUEUED, LedgerJob.Status.RUNNING])
    )
    for name in set(stale.values_list("file", flat=True)):
        if not LedgerJob.objects.filter(file=name, status=LedgerJob.Status.QUEUED).exists():
            _delete_upload(name)
            done += 1
    return done

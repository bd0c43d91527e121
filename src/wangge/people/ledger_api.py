"""Excel ledgers API (台账): the import template, background imports, exports.

Mounted at ``/api/v1/people/ledger/``. An import is a job: upload the workbook (a dry run by
default), poll the job for progress and its report, download the error report, then commit
the dry run. Exports stream a filtered list of residents as .xlsx, identifiers masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from wangge.core.api import READ_ERRORS, WRITE_ERRORS, ErrorOut, api_user
from wangge.people import ledger_jobs
from wangge.people.export import XLSX, ExportFilters, export_residents
from wangge.people.ledger import LedgerReport, error_report_xlsx, ledger_template
from wangge.people.models import LedgerJob

router = Router(tags=["ledger"])
MAX_ID = 2**63 - 1
FILE_RESPONSE = {
    "responses": {
        200: {
            "description": "An Excel workbook",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


class ExportQuery(Schema):
    q: str = Field(
        "", max_length=64, description="Name, pinyin, initials (zs), or an exact ID or phone number"
    )
    place_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only residents under this place")
    care_group: str | None = Field(
        None, max_length=32, pattern=r"^[A-Za-z0-9_-]*$", description="A care group code"
    )
    age_min: int | None = Field(None, ge=0, le=150)
    age_max: int | None = Field(None, ge=0, le=150)
    registration: Literal["registered", "resident", "floating"] | None = None
    gender: Literal["male", "female", "unknown"] | None = None
    status: Literal["active", "moved_out", "deceased", "all"] = "active"


class RowErrorOut(Schema):
    row: int
    column: str
    value: str = Field(description="The cell, ID and phone numbers masked")
    reason: str


class PreviewRowOut(Schema):
    row: int
    action: Literal["new", "updated", "unchanged"]
    house: str
    name: str
    id_number: str = Field(description="Masked")
    changes: list[str]


class ReportOut(Schema):
    dry_run: bool
    skip_invalid: bool
    status: Literal["done", "rejected"]
    committed: bool
    rows: int
    new: int
    updated: int
    unchanged: int
    bad: int
    households_created: int
    houses_created: int
    houses_updated: int
    errors: list[RowErrorOut]
    errors_truncated: bool
    preview: list[PreviewRowOut]


class JobOut(Schema):
    id: int
    status: Literal["queued", "running", "done", "rejected", "failed"]
    dry_run: bool
    skip_invalid: bool
    filename: str
    done: int = Field(description="Steps done: reading and checking is the first half, writing the second")
    total: int
    percent: int
    error: str
    source_id: int | None = Field(None, description="The dry run this import commits")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    report: ReportOut | None


def job_out(job: LedgerJob) -> dict[str, Any]:
    percent = 100 if job.is_finished else (min(99, job.done * 100 // job.total) if job.total else 0)
    report = LedgerReport.from_dict(job.report).to_dict() if job.report else None
    if report is not None:
        report.pop("place_path", None)
    return {
        "id": job.pk,
        "status": job.status,
        "dry_run": job.dry_run,
        "skip_invalid": job.skip_invalid,
        "filename": job.filename,
        "done": job.done,
        "total": job.total,
        "percent": percent,
        "error": job.error,
        "source_id": job.source_id,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "report": report,
    }


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@router.get("/template.xlsx", response={200: None, 401: ErrorOut}, openapi_extra=FILE_RESPONSE)
def ledger_template_download(request: HttpRequest) -> HttpResponse:
    """The import template: column headers in Chinese and English, choice lists, instructions."""
    return _xlsx(ledger_template(), "resident-ledger-template.xlsx")


@router.get("/export", response={200: None, **READ_ERRORS}, openapi_extra=FILE_RESPONSE)
def ledger_export(request: HttpRequest, filters: Query[ExportQuery]) -> Any:
    """The residents matching the filters, in the caller's scope, as .xlsx (identifiers masked;
    health notes and sensitive care groups only where the caller may see them)."""
    return export_residents(
        api_user(request),
        ExportFilters(
            q=filters.q,
            place_id=filters.place_id,
            care_group=filters.care_group or "",
            age_min=filters.age_min,
            age_max=filters.age_max,
            registration=filters.registration or "",
            gender=filters.gender or "",
            status=filters.status,
        ),
    )


@router.post("/imports", response={202: JobOut, **WRITE_ERRORS})
def ledger_import_create(
    request: HttpRequest,
    file: File[UploadedFile],
    dry_run: Form[bool] = True,
    skip_invalid: Form[bool] = False,
) -> Status[dict[str, Any]]:
    """Upload a ledger workbook (multipart ``file``) and queue its import.

    ``dry_run`` (default true) checks everything and writes nothing; commit it afterwards.
    ``skip_invalid`` imports the valid rows and skips the bad ones; otherwise any bad row
    stops the whole file. Poll ``GET imports/{job_id}`` for progress and the report.
    """
    data = file.read(ledger_jobs.MAX_UPLOAD_BYTES + 1)
    job = ledger_jobs.job_create(
        actor=api_user(request),
        data=data,
        filename=file.name or "",
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )
    job.refresh_from_db()
    return Status(202, job_out(job))


@router.get("/imports/{job_id}", response={200: JobOut, **READ_ERRORS})
def ledger_import_detail(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """A ledger import: status, progress and (when finished) its report. Only its starter sees it."""
    return job_out(ledger_jobs.job_get(request.user, job_id))


@router.get("/imports/{job_id}/errors.xlsx", response={200: None, **READ_ERRORS}, openapi_extra=FILE_RESPONSE)
def ledger_import_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    """The error report: row, column, value (ID and phone masked), reason."""
    job = ledger_jobs.job_get(request.user, job_id)
    report = ledger_jobs.job_report(job) or LedgerReport(dry_run=job.dry_run, skip_invalid=job.skip_invalid)
    return _xlsx(error_report_xlsx(report), f"ledger-errors-{job.pk}.xlsx")


@router.post("/imports/{job_id}/commit", response={202: JobOut, **WRITE_ERRORS})
def ledger_import_commit(request: HttpRequest, job_id: int) -> Status[dict[str, Any]]:
    """Import for real what a finished dry run checked (asking again returns the same job)."""
    job = ledger_jobs.job_get(request.user, job_id)
    commit = ledger_jobs.job_commit(actor=api_user(request), job=job)
    commit.refresh_from_db()
    return Status(202, job_out(commit))

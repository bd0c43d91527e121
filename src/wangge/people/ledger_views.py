"""Ledger pages (台账): download the template, upload a workbook, follow its progress, export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wangge.core.errors import DomainError, NotFound, PermissionDenied
from wangge.core.models import User
from wangge.core.scope import scope_for
from wangge.people import ledger_jobs, selectors
from wangge.people.export import XLSX, ExportFilters, check_can_export, export_residents
from wangge.people.ledger import LedgerReport, error_report_xlsx, ledger_template
from wangge.people.models import Gender, LedgerJob, Registration, ResidentStatus
from wangge.places.models import PlaceKind
from wangge.places.selectors import places_visible

PICKER_KINDS = (PlaceKind.STREET, PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.MICRO_GRID)
PICKER_LIMIT = 300


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise DjangoPermissionDenied
    return user


def _job(request: HttpRequest, job_id: int) -> LedgerJob:
    try:
        return ledger_jobs.job_get(request.user, job_id)
    except NotFound:
        raise Http404 from None


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


class ExportForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name, pinyin, ID or phone"), max_length=64, required=False)
    place_id = forms.IntegerField(
        label=gettext_lazy("Place"), min_value=1, max_value=2**63 - 1, required=False, widget=forms.Select
    )
    care_group = forms.ChoiceField(label=gettext_lazy("Care group"), required=False)
    age = forms.RegexField(
        label=gettext_lazy("Age band"), regex=r"^\d{1,3}(-\d{1,3}|\+)$", max_length=8, required=False
    )
    age_min = forms.IntegerField(label=gettext_lazy("Age from"), min_value=0, max_value=150, required=False)
    age_max = forms.IntegerField(label=gettext_lazy("Age to"), min_value=0, max_value=150, required=False)
    registration = forms.ChoiceField(
        label=gettext_lazy("Registration"),
        required=False,
        choices=[("", gettext_lazy("All")), *Registration.choices],
    )
    gender = forms.ChoiceField(
        label=gettext_lazy("Gender"), required=False, choices=[("", gettext_lazy("All")), *Gender.choices]
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[*ResidentStatus.choices, ("all", gettext_lazy("All"))],
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        places = places_visible(user).filter(kind__in=PICKER_KINDS).order_by("path")[:PICKER_LIMIT]
        place_widget = self.fields["place_id"].widget
        assert isinstance(place_widget, forms.Select)
        place_widget.choices = [("", _("Everywhere I may see"))] + [
            (p.pk, f"{'· ' * max(0, p.depth - 2)}{p.name}") for p in places
        ]
        care_field = self.fields["care_group"]
        assert isinstance(care_field, forms.ChoiceField)
        care_field.choices = [("", _("All"))] + [
            (g.code, g.name) for g in selectors.care_groups_visible(user)
        ]

    def filters(self) -> ExportFilters:
        data = self.cleaned_data
        age_min, age_max = data.get("age_min"), data.get("age_max")
        if data.get("age"):  # the resident list's bands: "60-79", "80+"
            low, _sep, high = data["age"].rstrip("+").partition("-")
            age_min, age_max = int(low), (int(high) if high else None)
        return ExportFilters(
            q=data.get("q") or "",
            place_id=data.get("place_id"),
            care_group=data.get("care_group") or "",
            age_min=age_min,
            age_max=age_max,
            registration=data.get("registration") or "",
            gender=data.get("gender") or "",
            status=data.get("status") or ResidentStatus.ACTIVE,
        )


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Ledger workbook (.xlsx)"))
    dry_run = forms.BooleanField(label=gettext_lazy("Check only (dry run)"), required=False, initial=True)
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Import the valid rows and skip the bad ones"), required=False
    )


def _can_import(user: User) -> bool:
    try:
        ledger_jobs.check_can_import(user)
    except PermissionDenied:
        return False
    return True


def _index(
    request: HttpRequest, *, export_form: ExportForm, import_form: ImportForm, status: int = 200
) -> HttpResponse:
    user = _actor(request)
    context = {
        "export_form": export_form,
        "import_form": import_form,
        "can_import": _can_import(user),
        "can_export": scope_for(user).is_admin or bool(scope_for(user).territorial_paths),
        "jobs": list(ledger_jobs.jobs_recent(user)),
        "section": "ledger",
    }
    return render(request, "people/ledger/index.html", context, status=status)


@require_GET
@login_required
def ledger_index(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    form = ExportForm(user, request.GET) if request.GET else ExportForm(user, initial={"status": "active"})
    return _index(request, export_form=form, import_form=ImportForm())


@require_GET
@login_required
def ledger_template_download(request: HttpRequest) -> HttpResponse:
    return _xlsx(ledger_template(), "resident-ledger-template.xlsx")


@require_GET
@login_required
def ledger_export(request: HttpRequest) -> HttpResponseBase:
    user = _actor(request)
    try:
        check_can_export(user)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    form = ExportForm(user, request.GET)
    if not form.is_valid():
        return _index(request, export_form=form, import_form=ImportForm(), status=400)
    try:
        return export_residents(user, form.filters())
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return _index(request, export_form=form, import_form=ImportForm(), status=400)


@require_POST
@login_required
def import_create(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _index(request, export_form=ExportForm(user), import_form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        job = ledger_jobs.job_create(
            actor=user,
            data=upload.read(ledger_jobs.MAX_UPLOAD_BYTES + 1),
            filename=upload.name or "",
            dry_run=form.cleaned_data["dry_run"],
            skip_invalid=form.cleaned_data["skip_invalid"],
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        form.add_error("file", exc.message)
        return _index(request, export_form=ExportForm(user), import_form=form, status=400)
    return redirect("ledger:job", job_id=job.pk)


def _job_context(job: LedgerJob) -> dict[str, Any]:
    report = ledger_jobs.job_report(job)
    percent = 100 if job.is_finished else (min(99, job.done * 100 // job.total) if job.total else 0)
    return {
        "job": job,
        "report": report,
        "percent": percent,
        "saving": job.status == LedgerJob.Status.RUNNING and job.total and job.done * 2 >= job.total,
        "first_errors": report.errors[:50] if report else [],
        "can_commit": job.dry_run and job.status == LedgerJob.Status.DONE and bool(job.file),
        "committed_by": job.commits.order_by("pk").first(),
    }


@require_GET
@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    return render(request, "people/ledger/job.html", {**_job_context(job), "section": "ledger"})


@require_GET
@login_required
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The htmx fragment the job page polls every second until the job is finished."""
    job = _job(request, job_id)
    return render(request, "people/ledger/_progress.html", _job_context(job))


@require_GET
@login_required
def job_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    report = ledger_jobs.job_report(job) or LedgerReport(dry_run=job.dry_run, skip_invalid=job.skip_invalid)
    return _xlsx(error_report_xlsx(report), f"ledger-errors-{job.pk}.xlsx")


@require_http_methods(["GET", "POST"])
@login_required
def job_commit(request: HttpRequest, job_id: int) -> HttpResponse:
    """GET: confirm importing a checked dry run; POST: queue the import."""
    job = _job(request, job_id)
    if request.method == "GET":
        return render(request, "people/ledger/commit.html", {**_job_context(job), "section": "ledger"})
    try:
        commit = ledger_jobs.job_commit(actor=_actor(request), job=job)
    except NotFound:
        raise Http404 from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("ledger:job", job_id=job.pk)
    return redirect("ledger:job", job_id=commit.pk)

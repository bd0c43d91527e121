"""The metrics page (诉求考评) and its Excel export. Thin: parse the filters, resolve them in
the actor's scope (``cases.metrics``), count, render. A place, department or handler outside
the scope answers 404; an actor without the metrics capability, 403; a bad period, 400 with
the reason on the form.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.styles import Font

from wangge.cases import metrics
from wangge.cases.metrics import RATE_INFO, Metrics, MetricsFilter
from wangge.core import clock
from wangge.core.errors import NotFound, PermissionDenied, ValidationError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BadFilter(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _id(raw: str | None) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise Http404 from None
    if not 0 < value <= metrics.MAX_ID:
        raise Http404
    return value


def _date(raw: str | None) -> tuple[date | None, bool]:
    """The date, and whether the text was a date (or empty)."""
    text = (raw or "").strip()
    if not text:
        return None, True
    try:
        return date.fromisoformat(text[:10]), True
    except ValueError:
        return None, False


def _resolve(request: HttpRequest, params: QueryDict) -> MetricsFilter:
    """The filter of the query string inside the actor's scope (404, 403 or BadFilter).

    Scope is checked first, so an out-of-scope place is a 404 even when a date is wrong."""
    date_from, from_ok = _date(params.get("date_from"))
    date_to, to_ok = _date(params.get("date_to"))
    try:
        f = metrics.metrics_filter(
            request.user,
            place_id=_id(params.get("place_id")),
            department_id=_id(params.get("department_id")),
            handler_id=_id(params.get("handler_id")),
            date_from=date_from if from_ok and to_ok else None,
            date_to=date_to if from_ok and to_ok else None,
        )
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    except ValidationError as exc:
        raise BadFilter(exc.message) from None
    if not (from_ok and to_ok):
        label = _("From") if not from_ok else _("Until")
        raise BadFilter(_("%(field)s is not a date (YYYY-MM-DD)") % {"field": label})
    return f


def chart_data(m: Metrics) -> dict[str, Any]:
    """What metrics.js draws: counts by category and channel, the daily series."""
    return {
        "by_category": [{"key": t.key, "label": t.label, "count": t.count} for t in m.by_category],
        "by_channel": [{"key": t.key, "label": t.label, "count": t.count} for t in m.by_channel if t.count],
        "daily": [
            {"day": d.day.isoformat(), "received": d.received, "resolved": d.resolved} for d in m.daily
        ],
    }


def _labels() -> dict[str, str]:
    return {"received": _("Received"), "resolved": _("Resolved"), "cases": _("Cases")}


@require_GET
@login_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    error = ""
    status = 200
    figures: Metrics | None = None
    try:
        f: MetricsFilter | None = _resolve(request, request.GET)
    except BadFilter as exc:
        f, error, status = None, exc.message, 400
    if f is not None:
        figures = metrics.case_metrics(user, f)
    place = f.place if f is not None else metrics.default_place(user)
    department = f.department if f is not None else None
    query = urlencode(f.query()) if f is not None else ""
    context: dict[str, Any] = {
        "f": f,
        "m": figures,
        "error": error,
        "places": metrics.metrics_places(user),
        "departments": metrics.departments_for(user, place),
        "handlers": metrics.handlers_for(user, place, department),
        "form": request.GET,
        "query": query,
        "export_url": f"{reverse('cases:metrics_export')}?{query}" if f is not None else "",
        "api_url": f"/api/v1/cases/metrics/?{query}" if f is not None else "",
        "rate_info": RATE_INFO,
        "charts": chart_data(figures) if figures is not None else None,
        "labels": _labels(),
    }
    template = "cases/metrics_body.html" if request.headers.get("HX-Request") else "cases/metrics.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def metrics_export(request: HttpRequest) -> HttpResponse:
    user = request.user
    try:
        f = _resolve(request, request.GET)
    except BadFilter as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    figures = metrics.case_metrics(user, f)
    response = HttpResponse(workbook(figures), content_type=XLSX)
    name = f"metrics-{f.date_from:%Y%m%d}-{f.date_to:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f"attachment; filename={name}"
    return response


def _scope_rows(m: Metrics) -> list[tuple[str, str]]:
    f = m.filter
    return [
        (_("Place"), f.place.name if f.place is not None else _("Everything in your scope")),
        (_("Department"), f.department.name if f.department is not None else _("All")),
        (_("Handler"), f.handler.label if f.handler is not None else _("All")),
        (_("From"), f.date_from.isoformat()),
        (_("Until (not included)"), f.date_to.isoformat()),
        (_("Computed at"), m.computed_at.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")),
    ]


def workbook(m: Metrics) -> bytes:
    """The figures as .xlsx: the rates with their formulas, then by category, channel, state
    and day. Small (tens of rows), so an ordinary workbook in memory."""
    book = Workbook()
    bold = Font(bold=True)
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Rates")[:31]
    for label, value in _scope_rows(m):
        sheet.append([label, value])
    sheet.append([])
    header = [_("Metric"), _("Formula"), _("Numerator"), _("Denominator"), _("Value")]
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for rate in m.rate_list():
        info = RATE_INFO[rate.name]
        formula = f"{info.label} = {info.numerator} ÷ {info.denominator}"
        sheet.append([str(info.label), formula, rate.numerator, rate.denominator, rate.value])
        sheet.cell(row=sheet.max_row, column=5).number_format = "0.0%"
    sheet.append(
        [
            _("Average handling time (hours)"),
            _("mean of (resolved at − received at) over cases resolved"),
            None,
            m.handled,
            m.avg_handling_hours,
        ]
    )
    sheet.append(
        [
            _("Received"),
            _("cases received in the period (merged and not accepted left out)"),
            None,
            None,
            m.received,
        ]
    )
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 70
    for title, rows in (
        (_("By category"), m.by_category),
        (_("By channel"), m.by_channel),
        (_("By state"), m.by_state),
    ):
        ws = book.create_sheet(title[:31])
        ws.append([_("Code"), _("Name"), _("Cases")])
        for cell in ws[1]:
            cell.font = bold
        for t in rows:
            ws.append([t.key, t.label, t.count])
        ws.column_dimensions["B"].width = 28
    days = book.create_sheet(_("By day")[:31])
    days.append([_("Day"), _("Received"), _("Resolved")])
    for cell in days[1]:
        cell.font = bold
    for d in m.daily:
        days.append([d.day, d.received, d.resolved])
        days.cell(row=days.max_row, column=1).number_format = "yyyy-mm-dd"
    days.column_dimensions["A"].width = 12
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

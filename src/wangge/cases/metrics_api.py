"""Request metrics over the API: GET /api/v1/cases/metrics/ with the page's filters.

The formulas are in docs/cases/metrics.md. A place, department or handler outside the
caller's scope answers 404; a caller without the metrics capability, 403; a bad period, 400.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from wangge.cases import metrics
from wangge.cases.metrics import RATE_INFO, Metrics, Rate
from wangge.core.api import ErrorOut, ValidationErrorOut

router = Router(tags=["cases"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


class MetricsQuery(Schema):
    place_id: int | None = Field(
        None, ge=1, le=metrics.MAX_ID, description="A place subtree (default: the top place of your scope)"
    )
    department_id: int | None = Field(
        None, ge=1, le=metrics.MAX_ID, description="Cases owned or handled by this department"
    )
    handler_id: int | None = Field(
        None, ge=1, le=metrics.MAX_ID, description="Cases whose lead handler is this user"
    )
    date_from: date | None = Field(
        None, description="First local day of the period (default: this month's first)"
    )
    date_to: date | None = Field(
        None, description="Local day after the period, not included (default: next month's first)"
    )


class RateOut(Schema):
    name: str
    label: str
    numerator: int
    denominator: int
    value: float | None = Field(..., description="numerator / denominator; null when the denominator is 0")
    formula: str


class RatesOut(Schema):
    response_rate: RateOut
    resolution_rate: RateOut
    satisfaction_rate: RateOut
    on_time_rate: RateOut
    rework_rate: RateOut
    extension_rate: RateOut


class TallyOut(Schema):
    key: str
    label: str
    count: int


class DayOut(Schema):
    day: date
    received: int
    resolved: int


class MetricsUnitOut(Schema):
    id: int
    name: str


class MetricsOut(Schema):
    date_from: date
    date_to: date = Field(..., description="Not included")
    place: MetricsUnitOut | None
    department: MetricsUnitOut | None
    handler: MetricsUnitOut | None
    computed_at: datetime
    received: int = Field(..., description="Received in the period, without merged and not-accepted requests")
    received_all: int = Field(..., description="Every request received in the period")
    handled: int = Field(..., description="Of those, resolved, rated or archived")
    avg_handling_hours: float | None = Field(..., description="Mean of resolved_at - created_at, in hours")
    rates: RatesOut
    by_state: list[TallyOut]
    by_channel: list[TallyOut]
    by_category: list[TallyOut] = Field(..., description="By top-level category, largest first")
    daily: list[DayOut]


def _rate(rate: Rate) -> dict[str, Any]:
    info = RATE_INFO[rate.name]
    return {
        "name": rate.name,
        "label": str(info.label),
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "value": rate.value,
        "formula": f"{info.numerator} / {info.denominator}",
    }


def _unit(pk: int | None, name: str) -> dict[str, Any] | None:
    return None if pk is None else {"id": pk, "name": name}


def metrics_out(m: Metrics) -> dict[str, Any]:
    f = m.filter
    return {
        "date_from": f.date_from,
        "date_to": f.date_to,
        "place": _unit(f.place.pk, f.place.name) if f.place else None,
        "department": _unit(f.department.pk, f.department.name) if f.department else None,
        "handler": _unit(f.handler.pk, f.handler.label) if f.handler else None,
        "computed_at": m.computed_at,
        "received": m.received,
        "received_all": m.received_all,
        "handled": m.handled,
        "avg_handling_hours": m.avg_handling_hours,
        "rates": {name: _rate(rate) for name, rate in m.rates.items()},
        "by_state": [t.__dict__ for t in m.by_state],
        "by_channel": [t.__dict__ for t in m.by_channel],
        "by_category": [t.__dict__ for t in m.by_category],
        "daily": [d.__dict__ for d in m.daily],
    }


@router.get("/", response={200: MetricsOut, **ERRORS})
def case_metrics(request: HttpRequest, filters: Query[MetricsQuery]) -> dict[str, Any]:
    """Response, resolution, satisfaction, on-time, rework and extension rates (each with its
    numerator and denominator), the average handling time, and counts by state, channel,
    category and day, for requests received in [date_from, date_to) in local (Beijing) time."""
    return metrics_out(
        metrics.metrics_for(
            request.user,
            place_id=filters.place_id,
            department_id=filters.department_id,
            handler_id=filters.handler_id,
            date_from=filters.date_from,
            date_to=filters.date_to,
        )
    )

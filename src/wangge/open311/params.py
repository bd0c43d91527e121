"""Parsing the spec's parameters (query string or form) into typed values, with clear refusals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import QueryDict
from django.utils.translation import gettext as _

from wangge.core import clock
from wangge.core.clock import LOCAL_TZ
from wangge.core.errors import ValidationError
from wangge.open311.services import Submission

DEFAULT_DAYS = 90
MAX_SPAN = timedelta(days=DEFAULT_DAYS)
MAX_IDS = 1000
MAX_ID_LENGTH = 24
MAX_CODES = 100
STATUSES = ("open", "closed")


@dataclass(frozen=True)
class RequestFilter:
    """The filters of GET requests. ``ids``, when given, overrides all the others (as the spec says)."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def _list(value: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in value.split(","):
        if part.strip():
            seen[part.strip()] = None
    return tuple(seen)


def parse_datetime(value: str, *, name: str) -> datetime:
    """A W3C / ISO 8601 date or date-time; without an offset it is Asia/Shanghai time."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            _("%(name)s is not a date-time in ISO 8601 format (like 2026-11-22T10:05:00+08:00)")
            % {"name": name},
            code="bad_date",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed


def request_filter(params: QueryDict) -> RequestFilter:
    ids = _list(params.get("service_request_id", ""))
    if len(ids) > MAX_IDS:
        raise ValidationError(
            _("Ask for at most %(n)d service_request_id values at once") % {"n": MAX_IDS}, code="too_many_ids"
        )
    if ids:
        # The spec: service_request_id overrides every other filter.
        return RequestFilter(ids=tuple(i for i in ids if len(i) <= MAX_ID_LENGTH))
    codes = _list(params.get("service_code", ""))
    if len(codes) > MAX_CODES:
        raise ValidationError(
            _("Ask for at most %(n)d service_code values at once") % {"n": MAX_CODES}, code="too_many_codes"
        )
    statuses = tuple(s.lower() for s in _list(params.get("status", "")))
    for status in statuses:
        if status not in STATUSES:
            raise ValidationError(
                _("Unknown status: %(status)s (use open, closed or both)") % {"status": status},
                code="bad_status",
            )
    start_text, end_text = params.get("start_date", "").strip(), params.get("end_date", "").strip()
    start = parse_datetime(start_text, name="start_date") if start_text else None
    end = parse_datetime(end_text, name="end_date") if end_text else None
    # Without both ends the window is the spec's 90 days: the last 90, or 90 from the one given.
    if end is None:
        end = clock.now() if start is None else start + MAX_SPAN
    if start is None:
        start = end - MAX_SPAN
    if end < start:
        raise ValidationError(_("end_date is before start_date"), code="bad_date_range")
    if end - start > MAX_SPAN:
        raise ValidationError(
            _("start_date and end_date may not span more than %(n)d days") % {"n": DEFAULT_DAYS},
            code="bad_date_range",
        )
    return RequestFilter(service_codes=codes, statuses=statuses, start=start, end=end)


def _coordinate(value: str, name: str) -> float | None:
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValidationError(_("%(name)s is not a number") % {"name": name}, code="bad_point")
    return number


def submission(params: QueryDict) -> Submission:
    """The fields of POST requests. media_url, email, device_id and account_id are not kept."""
    code = params.get("service_code", "").strip()
    if not code:
        raise ValidationError(_("service_code is required"), code="required")
    lat = _coordinate(params.get("lat", ""), "lat")
    lng = _coordinate(params.get("long", ""), "long")
    if (lat is None) != (lng is None):
        raise ValidationError(_("Send both lat and long, or neither"), code="bad_point")
    if lat is not None and lng is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError(_("lat and long are not a valid point"), code="bad_point")
    return Submission(
        service_code=code,
        description=params.get("description", ""),
        lat=lat,
        lng=lng,
        address_string=params.get("address_string", "").strip(),
        address_id=params.get("address_id", "").strip(),
        first_name=params.get("first_name", ""),
        last_name=params.get("last_name", ""),
        phone=params.get("phone", ""),
    )

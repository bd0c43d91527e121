"""China's working calendar: public holidays, make-up workdays (调休) and office hours.

Deadlines are counted in working days or working hours. Holidays and make-up workdays come
from the ``chinese_calendar`` package, which follows the State Council's yearly notice; an
administrator can add or correct days (a local holiday, a year the package does not know
yet) as ``WorkdayOverride`` rows, which win. A year neither knows falls back to Monday to
Friday.

Counting rules, written down in ``docs/cases/sla.md``:

- *N working days* from a moment ends at the close of office hours on the N-th working day
  after the day it started on. The starting day is not counted (期间开始之日不计入).
- *N working hours* are counted inside office hours on working days only.
- *N hours* are wall-clock hours (emergencies do not wait for Monday).
"""

from __future__ import annotations

import functools
import threading
import time as _time
from datetime import date, datetime, time, timedelta

import chinese_calendar
from django.conf import settings

from wangge.core.clock import LOCAL_TZ

_OVERRIDES_TTL = 300.0
_lock = threading.Lock()
_overrides: dict[date, bool] | None = None
_loaded_at = 0.0


def office_hours() -> tuple[time, time]:
    start, end = getattr(settings, "WORK_HOURS", ("08:30", "17:30"))
    return time.fromisoformat(start), time.fromisoformat(end)


def forget_overrides() -> None:
    """Drop the cached overrides (called when an administrator edits them)."""
    global _overrides
    with _lock:
        _overrides = None


def _override_map() -> dict[date, bool]:
    global _overrides, _loaded_at
    with _lock:
        if _overrides is None or _time.monotonic() - _loaded_at > _OVERRIDES_TTL:
            from wangge.core.models import WorkdayOverride

            _overrides = dict(WorkdayOverride.objects.values_list("day", "is_workday"))
            _loaded_at = _time.monotonic()
        return _overrides


@functools.lru_cache(maxsize=8192)
def _package_workday(day: date) -> bool:
    # The package scans its whole table on each call; a day's answer never changes.
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the package does not cover yet
        return day.weekday() < 5


def is_workday(day: date) -> bool:
    override = _override_map().get(day)
    if override is not None:
        return override
    return _package_workday(day)


def holiday_name(day: date) -> str:
    """The holiday's name when ``day`` is a public holiday the package knows, else ''."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return ""
    return str(name) if on_holiday and name else ""


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("working-time arithmetic needs an aware datetime")
    return moment.astimezone(LOCAL_TZ)


def _at(day: date, clock_time: time) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=LOCAL_TZ)


def next_workday(day: date) -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    for _ in range(400):
        if is_workday(day):
            return day
        day += timedelta(days=1)
    raise RuntimeError("no working day within 400 days")  # pragma: no cover - a broken calendar


def add_working_days(start: datetime, days: int) -> datetime:
    """The close of office hours on the ``days``-th working day after ``start``'s day."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = _local(start).date()
    if days == 0:
        return _at(day, office_hours()[1])
    for _ in range(days):
        day = next_workday(day)
    return _at(day, office_hours()[1])


def _windows_from(moment: datetime) -> tuple[datetime, datetime]:
    """The office-hours window containing ``moment``, or the next one after it."""
    opens, closes = office_hours()
    local = _local(moment)
    day = local.date()
    if is_workday(day) and local < _at(day, closes):
        return max(local, _at(day, opens)), _at(day, closes)
    day = next_workday(day)
    return _at(day, opens), _at(day, closes)


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The moment when ``seconds`` of office time have passed after ``start``."""
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    remaining = timedelta(seconds=seconds)
    cursor = start
    while True:
        begin, end = _windows_from(cursor)
        if begin + remaining <= end:
            return begin + remaining
        remaining -= end - begin
        cursor = end


def add_working_hours(start: datetime, hours: float) -> datetime:
    return add_working_seconds(start, hours * 3600)


def working_seconds_between(start: datetime, end: datetime) -> float:
    """Office time between two moments (0 when ``end`` is not after ``start``)."""
    total = 0.0
    cursor = start
    while cursor < end:
        begin, close = _windows_from(cursor)
        if begin >= end:
            break
        total += (min(close, end) - begin).total_seconds()
        cursor = close
    return total

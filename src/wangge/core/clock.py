"""The one clock. Store UTC, show Asia/Shanghai; tests move it with time-machine."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return timezone.now()


def local_now() -> datetime:
    return timezone.now().astimezone(LOCAL_TZ)

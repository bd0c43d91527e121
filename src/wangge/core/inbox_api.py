"""The inbox API (消息中心接口), mounted at ``/api/v1/inbox/``: the caller's own notifications.

Everyone, administrators included, sees and marks only their own; anybody else's
notification answers 404 exactly like a missing one.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from wangge.core import notify
from wangge.core.api import READ_ERRORS, ErrorOut, api_user
from wangge.core.models import Notification

inbox_router = Router(tags=["inbox"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    urgent: bool
    object_type: str
    object_id: str
    created_at: datetime
    read_at: datetime | None


class InboxQuery(Schema):
    unread: bool = Field(False, description="Only unread notifications")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


class InboxPageOut(Schema):
    items: list[NotificationOut]
    total: int
    unread: int = Field(..., description="Unread notifications in the whole inbox")
    limit: int
    offset: int


class UnreadOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.pk,
        kind=n.kind,
        title=n.title,
        body=n.body,
        url=n.url,
        urgent=n.urgent,
        object_type=n.object_type,
        object_id=n.object_id,
        created_at=n.created_at,
        read_at=n.read_at,
    )


@inbox_router.get("/", response={200: InboxPageOut, **READ_ERRORS})
def inbox_list(request: HttpRequest, filters: Query[InboxQuery]) -> InboxPageOut:
    """The caller's notifications, unread first, then newest first."""
    user = api_user(request)
    qs = notify.inbox_list(user, unread_only=filters.unread)
    total = qs.count()
    rows = list(qs[filters.offset : filters.offset + filters.limit])
    return InboxPageOut(
        items=[_out(n) for n in rows],
        total=total,
        unread=total if filters.unread else notify.inbox_unread_count(user),
        limit=filters.limit,
        offset=filters.offset,
    )


@inbox_router.get("/unread-count", response={200: UnreadOut, 401: ErrorOut})
def inbox_unread_count(request: HttpRequest) -> UnreadOut:
    """How many of the caller's notifications are unread (the badge)."""
    return UnreadOut(unread=notify.inbox_unread_count(api_user(request)))


@inbox_router.post("/read-all", response={200: MarkedOut, 401: ErrorOut})
def inbox_mark_all_read(request: HttpRequest) -> MarkedOut:
    """Mark every unread notification of the caller read."""
    return MarkedOut(marked=notify.notifications_mark_all_read(actor=api_user(request)))


@inbox_router.get("/{notification_id}", response={200: NotificationOut, **READ_ERRORS})
def inbox_get(request: HttpRequest, notification_id: int) -> NotificationOut:
    """One of the caller's notifications (reading it here does not mark it read)."""
    return _out(notify.notification_get(api_user(request), notification_id))


@inbox_router.post("/{notification_id}/read", response={200: NotificationOut, **READ_ERRORS})
def inbox_mark_read(request: HttpRequest, notification_id: int) -> NotificationOut:
    """Mark one of the caller's notifications read (again is fine)."""
    return _out(notify.notification_mark_read(actor=api_user(request), notification_id=notification_id))

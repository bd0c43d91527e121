"""Notifications (通知): an in-app inbox for every user, and the same message sent on through
the outbox to WeCom and DingTalk group robots, SMS and e-mail.

``send`` writes the inbox rows and the outbox events in the caller's transaction, so a
rolled-back change notifies nobody and a committed one reaches everybody, retried with
backoff until it does (``core.outbox``). Messages are written in the site's default
language (Chinese), which is what the group robots and text messages carry too.

The ``notify.external`` event is split, once, into one event per target (each robot, phone
number and e-mail address, see ``core.senders``), and each of those is delivered and retried
on its own: a robot that is down does not make the others hear the message twice.

The inbox itself (``inbox_*``, ``notification_*``) is read and written here too. Everyone,
administrators included, sees only their own notifications.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import translation

from wangge.core import clock, outbox, pii, senders
from wangge.core.errors import NotFound
from wangge.core.models import Notification, NotificationChannel, OutboxEvent, User
from wangge.core.scope import access, visible_to

EXTERNAL_TOPIC = "notify.external"
MAX_ID = 2**63 - 1


def _user_ids(users: Iterable[User | int | None]) -> list[int]:
    ids: list[int] = []
    for u in users:
        if u is None:
            continue
        uid = u if isinstance(u, int) else u.pk
        if uid is not None and uid not in ids:
            ids.append(uid)
    return ids


def in_default_language() -> translation.override:
    """Render a message in the site's language, whoever's request triggered it."""
    return translation.override(settings.LANGUAGE_CODE)


def send(
    *,
    users: Iterable[User | int | None],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    place_path: str = "",
    urgent: bool = False,
    obj: models.Model | None = None,
    dedupe_key: str = "",
    sms_phones: Iterable[str] = (),
) -> list[Notification]:
    """Notify ``users`` (and, by text message, ``sms_phones`` of people without an account).

    With a ``dedupe_key`` that was used before, only users who have not had the message get it,
    and the group robots and the ``sms_phones`` (who had it the first time) are left out.
    """
    ids = _user_ids(users)
    phones = [p for p in dict.fromkeys(sms_phones) if p]
    if not ids and not phones:
        return []
    now = clock.now()
    object_type = obj._meta.label_lower if obj is not None else ""
    object_id = str(obj.pk) if obj is not None else ""
    rows = [
        Notification(
            user_id=uid,
            kind=kind[:48],
            title=str(title)[:200],
            body=str(body),
            url=url[:300],
            urgent=urgent,
            place_path=place_path,
            object_type=object_type,
            object_id=object_id,
            dedupe_key=dedupe_key[:128],
            created_at=now,
        )
        for uid in ids
    ]
    repeat = False
    if dedupe_key:
        already = set(
            Notification.objects.filter(dedupe_key=dedupe_key[:128]).values_list("user_id", flat=True)
        )
        repeat = bool(already)
        rows = [r for r in rows if r.user_id not in already]
        ids = [uid for uid in ids if uid not in already]
        if repeat:
            phones = []
        if not rows and not phones:
            return []
    created = Notification.objects.bulk_create(rows)
    message: dict[str, Any] = {
        "kind": kind,
        "title": str(title),
        "body": str(body),
        "url": url,
        "urgent": urgent,
        "place_path": place_path,
    }
    if ids:
        outbox.enqueue(
            topic="live",
            payload={"type": "notification", **message, "_user_ids": ids},
        )
    outbox.enqueue(
        topic=EXTERNAL_TOPIC,
        payload={
            **message,
            "user_ids": ids,
            "sms_phones": [pii.encrypt(p) for p in phones],
            "to_channels": not repeat,
        },
        place_path=place_path,
    )
    return created


# --- fan-out: one outbox event per external target ------------------------------------------


def channel_hears(channel: NotificationChannel, *, kind: str, place_path: str, urgent: bool) -> bool:
    """Whether a group robot takes this message: its place subtree, its kinds, urgent only.

    A kinds entry is a notification kind (``case.dispatched``) or a prefix ending in ``*``
    (``case.*``); no entries means every kind.
    """
    if not channel.is_active or (channel.urgent_only and not urgent):
        return False
    if channel.place_path and not place_path.startswith(channel.place_path):
        return False
    kinds = [str(k).strip() for k in channel.kinds or [] if str(k).strip()]
    if not kinds:
        return True
    return any(kind == k or (k.endswith("*") and kind.startswith(k[:-1])) for k in kinds)


def external_targets(payload: dict[str, Any], place_path: str) -> list[tuple[str, dict[str, Any], str]]:
    """The ``(topic, payload, place_path)`` of every target a ``notify.external`` event reaches."""
    message = senders.Message.from_payload(payload).fields()
    user_ids = [int(u) for u in payload.get("user_ids", [])]
    children: list[tuple[str, dict[str, Any], str]] = []
    if payload.get("to_channels", True):
        for channel in NotificationChannel.objects.filter(is_active=True).order_by("pk"):
            if channel_hears(channel, kind=message["kind"], place_path=place_path, urgent=message["urgent"]):
                topic = senders.ROBOT_TOPICS[NotificationChannel.Kind(channel.kind)]
                children.append((topic, {**message, "channel_id": channel.pk}, place_path))
    if senders.sms_gateway() is not None:
        # Users' own phones for urgent messages only; reporters without an account always.
        phones: dict[str, str] = {}
        if message["urgent"] and user_ids:
            for user in User.objects.filter(pk__in=user_ids, is_active=True).exclude(phone="").order_by("pk"):
                phones.setdefault(pii.normalise("phone", user.phone), pii.encrypt(user.phone))
        for token in payload.get("sms_phones", []):
            phones.setdefault(pii.normalise("phone", pii.decrypt(str(token))), str(token))
        for token in phones.values():
            children.append((senders.SMS_TOPIC, {**message, "phone": token}, place_path))
    if getattr(settings, "NOTIFY_EMAIL", False) and user_ids:
        emailed = (
            User.objects.filter(pk__in=user_ids, is_active=True)
            .exclude(email="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for uid in emailed:
            children.append((senders.EMAIL_TOPIC, {**message, "user_id": uid}, place_path))
    return children


@outbox.handler(EXTERNAL_TOPIC)
def _fan_out(event: OutboxEvent) -> None:
    outbox.fan_out(event, external_targets(event.payload, event.place_path))


# --- the inbox ------------------------------------------------------------------------------


def inbox_for(user: Any) -> QuerySet[Notification]:
    """The user's own notifications (an administrator's inbox is theirs alone too)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    return visible_to(Notification.objects.filter(user_id=user.pk), user)


def inbox_list(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """Unread first, then newest first."""
    qs = inbox_for(user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.annotate(
        is_read=Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("is_read", "-created_at", "-pk")


def inbox_unread_count(user: Any) -> int:
    return inbox_for(user).filter(read_at__isnull=True).count()


def notification_get(user: Any, notification_id: int) -> Notification:
    """One of the user's notifications; anybody else's is NotFound, like a missing one."""
    if not 0 < notification_id <= MAX_ID:
        raise NotFound("Not found")
    return access(inbox_for(user), user, pk=notification_id)


# Marking read changes only the reader's own view, so it writes no audit row.
@transaction.atomic
def notification_mark_read(*, actor: User, notification_id: int) -> Notification:
    notification = notification_get(actor, notification_id)
    if notification.read_at is None:
        now = clock.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many there were."""
    return inbox_for(actor).filter(read_at__isnull=True).update(read_at=clock.now())

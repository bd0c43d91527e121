"""The outbox: side effects written in the same transaction as the change they report.

A service calls ``enqueue``; the row commits with the change or not at all. After commit a
task delivers it; a periodic sweep retries what failed, with backoff. A crash loses
nothing, and a rolled-back change sends nothing.

Delivery takes a lease instead of holding a row lock while a handler talks to the outside
world (a webhook may take seconds): ``deliver`` claims the event in a short transaction,
runs the handler outside any transaction, and records the outcome in another. While the
lease lasts no other worker takes the event; when a worker dies mid-delivery the lease runs
out and the sweep tries again. Delivery is therefore at least once, never twice at the same
time, and a handler must tolerate being run again after a crash.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import PermissionDenied
from wangge.core.models import OutboxEvent, User
from wangge.core.scope import scope_for

log = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
HANDLERS: dict[str, Handler] = {}
MAX_ATTEMPTS = 8
# Modules whose handlers every process needs, whichever module it imported first.
HANDLER_MODULES = ("wangge.core.notify", "wangge.core.senders")
LOST_LEASE_ERROR = "the worker stopped during the last attempt (its lease ran out)"
_handlers_loaded = False


def handler(topic: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[topic] = fn
        return fn

    return register


def _load_handlers() -> None:
    global _handlers_loaded
    if not _handlers_loaded:
        for name in HANDLER_MODULES:
            importlib.import_module(name)
        _handlers_loaded = True


def lease() -> timedelta:
    return timedelta(seconds=getattr(settings, "OUTBOX_LEASE_SECONDS", 120))


def enqueue(*, topic: str, payload: dict[str, Any], place_path: str = "") -> OutboxEvent:
    now = clock.now()
    event = OutboxEvent.objects.create(
        topic=topic, payload=payload, place_path=place_path, created_at=now, next_attempt_at=now
    )

    def _kick() -> None:
        from wangge.core.tasks import outbox_deliver

        outbox_deliver(event.pk)

    transaction.on_commit(_kick)
    return event


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


def _claimable(now: Any) -> Q:
    return (
        Q(status=OutboxEvent.Status.PENDING, attempts__lt=MAX_ATTEMPTS)
        & (Q(next_attempt_at__lte=now) | Q(attempts=0))
        & (Q(leased_until__isnull=True) | Q(leased_until__lte=now))
    )


def claim(event_id: int) -> OutboxEvent | None:
    """Take the event for one attempt, or None when it is not due or another worker holds it.

    One conditional UPDATE decides: on PostgreSQL a second worker waits for the first one's
    row lock and then finds the lease taken; on SQLite writers queue on the write lock.
    The attempt is counted here, so a worker that dies mid-delivery still uses one up.
    """
    now = clock.now()
    with transaction.atomic():
        taken = (
            OutboxEvent.objects.filter(_claimable(now), pk=event_id)
            .order_by()
            .update(leased_until=now + lease(), attempts=F("attempts") + 1)
        )
        if not taken:
            return None
        return OutboxEvent.objects.get(pk=event_id)


def deliver(event_id: int) -> bool:
    """Deliver one event, once. Returns True when it is done (now or before)."""
    _load_handlers()
    event = claim(event_id)
    if event is None:
        return OutboxEvent.objects.filter(pk=event_id, status=OutboxEvent.Status.DONE).exists()
    fn = HANDLERS.get(event.topic)
    try:
        if fn is None:
            raise LookupError(f"no outbox handler for topic {event.topic!r}")
        fn(event)
    except Exception as exc:  # a failed delivery is recorded and retried, never lost
        log.warning("outbox event %s (%s) failed: %s", event.pk, event.topic, exc)
        _record_failure(event, f"{type(exc).__name__}: {exc}")
        return False
    _record_success(event)
    return True


def _record_success(event: OutboxEvent) -> None:
    with transaction.atomic():
        # A handler that finished with ``fan_out`` has already marked the event done. A worker
        # whose lease ran out and was taken over records nothing: the new holder will.
        OutboxEvent.objects.filter(
            pk=event.pk, status=OutboxEvent.Status.PENDING, leased_until=event.leased_until
        ).update(status=OutboxEvent.Status.DONE, delivered_at=clock.now(), leased_until=None)


def _record_failure(event: OutboxEvent, error: str) -> None:
    now = clock.now()
    failed = event.attempts >= MAX_ATTEMPTS
    with transaction.atomic():
        # Only while this worker still holds the event: past the lease another may have it.
        OutboxEvent.objects.filter(
            pk=event.pk, status=OutboxEvent.Status.PENDING, leased_until=event.leased_until
        ).update(
            status=OutboxEvent.Status.FAILED if failed else OutboxEvent.Status.PENDING,
            last_error=error[:2000],
            next_attempt_at=now + backoff(event.attempts),
            leased_until=None,
        )


def fan_out(event: OutboxEvent, children: Iterable[tuple[str, dict[str, Any], str]]) -> bool:
    """Finish ``event`` by enqueuing ``(topic, payload, place_path)`` children, all in one step.

    For handlers that split one message into one event per recipient: the children and the
    parent's "done" commit together, so a crash or a second run never sends a child twice, and
    each child is then delivered and retried on its own. False when this worker no longer holds
    the event (its lease ran out and another took it); nothing is enqueued then.
    """
    with transaction.atomic():
        finished = OutboxEvent.objects.filter(
            pk=event.pk, status=OutboxEvent.Status.PENDING, leased_until=event.leased_until
        ).update(status=OutboxEvent.Status.DONE, delivered_at=clock.now(), leased_until=None)
        if not finished:
            return False
        for topic, payload, place_path in children:
            enqueue(topic=topic, payload=payload, place_path=place_path)
    return True


def due_ids(limit: int = 500) -> list[int]:
    now = clock.now()
    return list(
        OutboxEvent.objects.filter(_claimable(now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def reap_lost() -> int:
    """Mark failed the events whose last allowed attempt died with its worker."""
    with transaction.atomic():
        return OutboxEvent.objects.filter(
            status=OutboxEvent.Status.PENDING, attempts__gte=MAX_ATTEMPTS, leased_until__lte=clock.now()
        ).update(status=OutboxEvent.Status.FAILED, leased_until=None, last_error=LOST_LEASE_ERROR)


def sweep() -> int:
    """Deliver every event that is due (the periodic task); returns how many were delivered."""
    reap_lost()
    return sum(1 for event_id in due_ids() if deliver(event_id))


@transaction.atomic
def outbox_retry(*, actor: User, event_ids: Iterable[int]) -> int:
    """Send failed (or waiting) events again now, with a fresh round of attempts.

    For platform administrators, from the admin's failed-deliveries list. Delivered events are
    left alone. Each retried event writes an audit row; delivery starts after commit.
    """
    if not scope_for(actor).is_admin:
        raise PermissionDenied(_("Only platform administrators may retry deliveries"))
    now = clock.now()
    events = list(
        OutboxEvent.objects.select_for_update()
        .filter(pk__in=list(event_ids))
        .exclude(status=OutboxEvent.Status.DONE)
        .order_by("pk")
    )
    for event in events:
        previous = {"status": event.status, "attempts": event.attempts}
        OutboxEvent.objects.filter(pk=event.pk).update(
            status=OutboxEvent.Status.PENDING, attempts=0, next_attempt_at=now, leased_until=None
        )
        audit.record(actor=actor, action="outbox.retried", obj=event, changes={"before": previous})
    ids = [e.pk for e in events]

    def _kick() -> None:
        from wangge.core.tasks import outbox_deliver

        for event_id in ids:
            outbox_deliver(event_id)

    transaction.on_commit(_kick)
    return len(ids)


@handler("live")
def _deliver_live(event: OutboxEvent) -> None:
    from wangge.core.live import groups_for_event, push

    payload = dict(event.payload)
    groups = groups_for_event(
        place_path=event.place_path,
        department_ids=payload.pop("_department_ids", None),
        user_ids=payload.pop("_user_ids", None),
    )
    push(payload, groups)

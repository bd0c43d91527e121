"""The outbox: side effects written in the same transaction as the change they report.

A service calls ``enqueue``; the row commits with the change or not at all. After commit a
task delivers it; a periodic sweep retries what failed, with backoff. A crash loses
nothing, and a rolled-back change sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction

from wangge.core import clock
from wangge.core.models import OutboxEvent

log = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
HANDLERS: dict[str, Handler] = {}
MAX_ATTEMPTS = 8


def handler(topic: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[topic] = fn
        return fn

    return register


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


def deliver(event_id: int) -> bool:
    """Deliver one event, once. Returns True when it is done."""
    with transaction.atomic():
        event = OutboxEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.status != OutboxEvent.Status.PENDING:
            return event is not None
        fn = HANDLERS.get(event.topic)
        now = clock.now()
        try:
            if fn is None:
                raise LookupError(f"no outbox handler for topic {event.topic!r}")
            fn(event)
        except Exception as exc:  # a failed delivery is recorded and retried, never lost
            log.warning("outbox event %s (%s) failed: %s", event.pk, event.topic, exc)
            event.attempts += 1
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if event.attempts >= MAX_ATTEMPTS:
                event.status = OutboxEvent.Status.FAILED
            event.next_attempt_at = now + backoff(event.attempts)
            event.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return False
        event.status = OutboxEvent.Status.DONE
        event.attempts += 1
        event.delivered_at = now
        event.save(update_fields=["status", "attempts", "delivered_at"])
        return True


def due_ids(limit: int = 500) -> list[int]:
    return list(
        OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


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

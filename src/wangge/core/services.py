"""Writes of core itself."""

from __future__ import annotations

from django.db import transaction

from wangge.core import audit, clock, outbox
from wangge.core.models import OutboxEvent, User


@transaction.atomic
def live_test_send(*, actor: User) -> OutboxEvent:
    """Queue a test message for the actor's own live connections."""
    event = outbox.enqueue(
        topic="live",
        payload={
            "type": "test",
            "sent_at": clock.now().isoformat(),
            "by": actor.get_username(),
            "_user_ids": [actor.pk],
        },
    )
    audit.record(actor=actor, action="live.test_sent", obj=event)
    return event

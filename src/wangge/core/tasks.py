"""Background work of core: outbox delivery and its retry sweep."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from wangge.core import outbox


@db_task(retries=0)
def outbox_deliver(event_id: int) -> None:
    # Retries are the outbox's own (backoff, lease, a failed status), not Huey's.
    outbox.deliver(event_id)


@db_periodic_task(crontab(minute="*"))
def outbox_sweep() -> None:
    outbox.sweep()

"""Background work of core: outbox delivery and its retry sweep."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from wangge.core import outbox


@db_task(retries=0)
def outbox_deliver(event_id: int) -> None:
    outbox.deliver(event_id)


@db_periodic_task(crontab(minute="*"))
def outbox_sweep() -> None:
    for event_id in outbox.due_ids():
        outbox.deliver(event_id)

"""Background work of the cases app: the SLA sweep, every minute."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from wangge.cases.services import sla_sweep

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("cases-sla-sweep")
def cases_sla_sweep() -> None:
    """Warn, mark overdue and escalate, flag unanswered whistles, archive rated cases.

    One sweep at a time across workers (the lock); each case is handled under its own row
    lock and only for what is due, so an overlapping or repeated run does nothing twice.
    """
    result = sla_sweep()
    if result.looked_at:
        log.info("SLA sweep: %s", result.as_dict())

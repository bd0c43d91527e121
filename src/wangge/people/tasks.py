"""Background work of the people registry: ledger imports and the clean-up of their uploads."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from wangge.people.ledger_jobs import job_run, jobs_sweep


@db_task(retries=0)
def ledger_job_run(job_id: int) -> None:
    """Run one queued ledger import; its progress and report go to its ``LedgerJob`` row."""
    job_run(job_id)


@db_periodic_task(crontab(minute="17"))
def ledger_jobs_sweep() -> None:
    """Hourly: delete sealed uploads of jobs that are committed, failed or older than a day."""
    jobs_sweep()

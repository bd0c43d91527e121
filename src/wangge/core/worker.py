"""Background work inside the web process, for the embedded single-process setup."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def discover_tasks() -> None:
    """Import every app's tasks module so the consumer knows every task by name."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")


def start_inprocess_worker(workers: int = 2) -> Any:
    """Start a Huey consumer's worker and scheduler threads beside the server."""
    from huey.contrib.djhuey import HUEY

    discover_tasks()

    consumer = HUEY.create_consumer(
        workers=workers, worker_type="thread", periodic=True, check_worker_health=False
    )
    # start() launches the threads without taking over signals (run() would need the main thread).
    consumer.start()
    log.info("in-process worker started with %d threads", workers)
    return consumer


def stop_inprocess_worker(consumer: Any) -> None:
    consumer.stop(graceful=False)

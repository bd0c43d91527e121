"""The outbox: delivered after commit, never for a rolled-back change, retried with backoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from wangge.core import outbox
from wangge.core.models import OutboxEvent
from wangge.core.tasks import outbox_sweep

pytestmark = pytest.mark.django_db

TOPIC = "test.outbox"


class Boom(Exception):
    pass


@pytest.fixture
def delivered(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Payloads the test topic's handler received."""
    received: list[dict[str, Any]] = []

    def handle(event: OutboxEvent) -> None:
        received.append(event.payload)

    monkeypatch.setitem(outbox.HANDLERS, TOPIC, handle)
    return received


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A handler that always fails; the list counts its calls."""
    calls: list[int] = []

    def handle(event: OutboxEvent) -> None:
        calls.append(event.pk)
        raise Boom("the webhook answered 502")

    monkeypatch.setitem(outbox.HANDLERS, TOPIC, handle)
    return calls


def test_an_event_is_delivered_after_commit(
    delivered: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        event = outbox.enqueue(topic=TOPIC, payload={"n": 1}, place_path="1.")
        assert delivered == []  # nothing leaves before the commit

    assert len(callbacks) == 1
    assert delivered == [{"n": 1}]
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DONE
    assert event.attempts == 1
    assert event.delivered_at is not None


def _change_that_fails() -> None:
    with transaction.atomic():
        outbox.enqueue(topic=TOPIC, payload={"n": 2})
        raise Boom("the change failed after the event was written")


def test_a_rolled_back_change_sends_nothing(
    delivered: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        _change_that_fails()

    assert callbacks == []
    assert delivered == []
    assert not OutboxEvent.objects.filter(topic=TOPIC).exists()


def test_an_event_is_delivered_once(delivered: list[dict[str, Any]]) -> None:
    event = outbox.enqueue(topic=TOPIC, payload={"n": 3})

    assert outbox.deliver(event.pk) is True
    assert outbox.deliver(event.pk) is True

    assert delivered == [{"n": 3}]


def test_a_failing_handler_is_retried_with_growing_backoff(failing: list[int]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        event = outbox.enqueue(topic=TOPIC, payload={})
        assert outbox.deliver(event.pk) is False

    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.PENDING
    assert event.attempts == 1
    assert "502" in event.last_error
    assert event.next_attempt_at == start + outbox.backoff(1)
    with time_machine.travel(start + outbox.backoff(1) - timedelta(seconds=1), tick=False):
        assert event.pk not in outbox.due_ids()
    with time_machine.travel(event.next_attempt_at, tick=False):
        assert event.pk in outbox.due_ids()

    assert [outbox.backoff(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (5, 10, 20)]
    assert outbox.backoff(50) == timedelta(hours=1)


def test_a_handler_that_keeps_failing_is_marked_failed_after_max_attempts(failing: list[int]) -> None:
    now = timezone.now()
    event = outbox.enqueue(topic=TOPIC, payload={})
    for _ in range(outbox.MAX_ATTEMPTS):
        event.refresh_from_db()
        now = max(now, event.next_attempt_at)
        with time_machine.travel(now, tick=False):
            outbox_sweep.call_local()

    event.refresh_from_db()
    assert len(failing) == outbox.MAX_ATTEMPTS
    assert event.status == OutboxEvent.Status.FAILED
    assert event.attempts == outbox.MAX_ATTEMPTS
    with time_machine.travel(now + timedelta(days=1), tick=False):
        assert event.pk not in outbox.due_ids()
        outbox_sweep.call_local()
    assert len(failing) == outbox.MAX_ATTEMPTS


def test_the_sweep_delivers_what_failed_before(
    monkeypatch: pytest.MonkeyPatch, delivered: list[dict[str, Any]]
) -> None:
    healthy = outbox.HANDLERS[TOPIC]
    outage: list[int] = []

    def down(event: OutboxEvent) -> None:
        outage.append(event.pk)
        raise Boom("down")

    start = timezone.now()
    monkeypatch.setitem(outbox.HANDLERS, TOPIC, down)
    with time_machine.travel(start, tick=False):
        event = outbox.enqueue(topic=TOPIC, payload={"n": 4})
        outbox.deliver(event.pk)
    monkeypatch.setitem(outbox.HANDLERS, TOPIC, healthy)

    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        outbox_sweep.call_local()

    event.refresh_from_db()
    assert outage == [event.pk]
    assert delivered == [{"n": 4}]
    assert event.status == OutboxEvent.Status.DONE
    assert event.attempts == 2


def test_an_unknown_topic_is_kept_and_retried_not_dropped() -> None:
    event = outbox.enqueue(topic="test.nobody-listens", payload={})

    assert outbox.deliver(event.pk) is False

    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.PENDING
    assert "no outbox handler" in event.last_error

"""Outbox leasing: a worker claims an event for a while, runs the handler outside any
transaction, and records the outcome; nobody else delivers it meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from wangge.core import outbox
from wangge.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

TOPIC = "test.lease"
CHILD = "test.lease.child"


class Boom(Exception):
    pass


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Event ids the test topic's handler was called with."""
    seen: list[int] = []
    monkeypatch.setitem(outbox.HANDLERS, TOPIC, lambda event: seen.append(event.pk))
    return seen


def _handle_with(monkeypatch: pytest.MonkeyPatch, fn: Callable[[OutboxEvent], None]) -> None:
    monkeypatch.setitem(outbox.HANDLERS, TOPIC, fn)


def test_a_leased_event_is_not_delivered_again_until_the_lease_runs_out(calls: list[int]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        event = outbox.enqueue(topic=TOPIC, payload={})
        held = outbox.claim(event.pk)  # worker A took it and has not finished (or has died)
        assert held is not None

        assert outbox.deliver(event.pk) is False  # worker B
        assert event.pk not in outbox.due_ids()
    with time_machine.travel(start + outbox.lease() - timedelta(seconds=1), tick=False):
        assert outbox.deliver(event.pk) is False
        assert event.pk not in outbox.due_ids()

    assert calls == []
    with time_machine.travel(start + outbox.lease(), tick=False):
        assert event.pk in outbox.due_ids()
        assert outbox.deliver(event.pk) is True

    event.refresh_from_db()
    assert calls == [event.pk]
    assert event.status == OutboxEvent.Status.DONE
    assert event.attempts == 2  # the lost attempt counts
    assert event.leased_until is None


def test_a_second_worker_during_delivery_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def handle(event: OutboxEvent) -> None:
        row = OutboxEvent.objects.get(pk=event.pk)
        seen.append({"leased": row.leased_until is not None, "second": outbox.deliver(event.pk)})

    _handle_with(monkeypatch, handle)
    event = outbox.enqueue(topic=TOPIC, payload={})

    assert outbox.deliver(event.pk) is True

    event.refresh_from_db()
    assert seen == [{"leased": True, "second": False}]
    assert event.status == OutboxEvent.Status.DONE
    assert event.attempts == 1
    assert event.leased_until is None


def test_a_failure_clears_the_lease_and_waits_for_the_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    def handle(event: OutboxEvent) -> None:
        raise Boom("the robot answered errcode 93000")

    _handle_with(monkeypatch, handle)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        event = outbox.enqueue(topic=TOPIC, payload={})
        assert outbox.deliver(event.pk) is False
        assert outbox.deliver(event.pk) is False  # not due yet: nothing is tried

    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.PENDING
    assert event.attempts == 1
    assert event.leased_until is None
    assert event.next_attempt_at == start + outbox.backoff(1)
    assert "93000" in event.last_error


def test_a_worker_that_lost_its_lease_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    taken_over = timezone.now() + timedelta(hours=1)

    def slow_then_fails(event: OutboxEvent) -> None:
        # Meanwhile the lease ran out and another worker claimed the event.
        OutboxEvent.objects.filter(pk=event.pk).update(leased_until=taken_over)
        raise Boom("late")

    _handle_with(monkeypatch, slow_then_fails)
    event = outbox.enqueue(topic=TOPIC, payload={})

    assert outbox.deliver(event.pk) is False

    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.PENDING
    assert event.leased_until == taken_over
    assert event.last_error == ""


def test_a_late_success_does_not_finish_an_event_another_worker_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken_over = timezone.now() + timedelta(hours=1)

    def slow(event: OutboxEvent) -> None:
        OutboxEvent.objects.filter(pk=event.pk).update(leased_until=taken_over)

    _handle_with(monkeypatch, slow)
    event = outbox.enqueue(topic=TOPIC, payload={})

    outbox.deliver(event.pk)

    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.PENDING  # the new holder records the outcome
    assert event.leased_until == taken_over


def test_an_event_whose_last_attempt_died_with_its_worker_is_marked_failed(calls: list[int]) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        event = outbox.enqueue(topic=TOPIC, payload={})
        OutboxEvent.objects.filter(pk=event.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)
        assert outbox.claim(event.pk) is not None  # the last attempt; its worker dies

    with time_machine.travel(start + outbox.lease() + timedelta(seconds=1), tick=False):
        outbox.sweep()

    event.refresh_from_db()
    assert calls == []
    assert event.status == OutboxEvent.Status.FAILED
    assert event.attempts == outbox.MAX_ATTEMPTS
    assert event.last_error == outbox.LOST_LEASE_ERROR


def test_fan_out_finishes_the_event_and_enqueues_each_child_once(monkeypatch: pytest.MonkeyPatch) -> None:
    children: list[dict[str, Any]] = []
    monkeypatch.setitem(outbox.HANDLERS, CHILD, lambda event: children.append(event.payload))

    def split(event: OutboxEvent) -> None:
        outbox.fan_out(event, [(CHILD, {"to": n}, "1.") for n in ("a", "b")])

    _handle_with(monkeypatch, split)
    event = outbox.enqueue(topic=TOPIC, payload={})

    assert outbox.deliver(event.pk) is True
    assert outbox.deliver(event.pk) is True

    event.refresh_from_db()
    made = OutboxEvent.objects.filter(topic=CHILD).order_by("pk")
    assert event.status == OutboxEvent.Status.DONE
    assert [c.payload for c in made] == [{"to": "a"}, {"to": "b"}]
    assert all(c.place_path == "1." for c in made)


def test_fan_out_without_the_lease_enqueues_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    results: list[bool] = []

    def split_late(event: OutboxEvent) -> None:
        OutboxEvent.objects.filter(pk=event.pk).update(leased_until=timezone.now() + timedelta(hours=1))
        results.append(outbox.fan_out(event, [(CHILD, {"to": "a"}, "")]))

    _handle_with(monkeypatch, split_late)
    event = outbox.enqueue(topic=TOPIC, payload={})

    outbox.deliver(event.pk)

    assert results == [False]
    assert not OutboxEvent.objects.filter(topic=CHILD).exists()
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.PENDING


# --- PostgreSQL: real concurrent workers on their own connections ---------------------------


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a thread of its own, so on its own database connection (autocommit)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed back to the test
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the worker thread hung"
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture
def committed_event() -> Iterator[Callable[[], int]]:
    """Events committed for real (outside the test's transaction), removed afterwards."""
    made: list[int] = []

    def make() -> int:
        def create() -> int:
            now = timezone.now()
            return OutboxEvent.objects.create(topic=TOPIC, payload={}, created_at=now, next_attempt_at=now).pk

        event_id = _in_thread(create)
        made.append(event_id)
        return int(event_id)

    yield make
    _in_thread(lambda: OutboxEvent.objects.filter(pk__in=made).delete())


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two real connections need PostgreSQL; this runs in the suite's PostgreSQL stage")


@pytest.mark.usefixtures("postgres")
def test_postgres_a_second_worker_skips_an_event_being_delivered(
    monkeypatch: pytest.MonkeyPatch, committed_event: Callable[[], int]
) -> None:
    entered, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def handle(event: OutboxEvent) -> None:
        seen.append(connection.in_atomic_block)
        entered.set()
        assert release.wait(20)

    _handle_with(monkeypatch, handle)
    event_id = committed_event()
    first: dict[str, Any] = {}

    def deliver_a() -> None:
        try:
            first["done"] = outbox.deliver(event_id)
        finally:
            connections.close_all()

    worker_a = threading.Thread(target=deliver_a)
    worker_a.start()
    try:
        assert entered.wait(20)
        # The claim is committed before the handler runs: this connection sees the lease.
        assert OutboxEvent.objects.get(pk=event_id).leased_until is not None

        second = _in_thread(lambda: outbox.deliver(event_id))
    finally:
        release.set()
        worker_a.join(30)

    row = OutboxEvent.objects.get(pk=event_id)
    assert second is False
    assert first == {"done": True}
    assert seen == [False]  # the handler ran outside any transaction
    assert row.status == OutboxEvent.Status.DONE
    assert row.attempts == 1
    assert row.leased_until is None


@pytest.mark.usefixtures("postgres")
def test_postgres_racing_workers_deliver_an_event_once(
    monkeypatch: pytest.MonkeyPatch, committed_event: Callable[[], int]
) -> None:
    workers = 6
    calls: list[int] = []
    lock = threading.Lock()

    def handle(event: OutboxEvent) -> None:
        with lock:
            calls.append(event.pk)
        threading.Event().wait(0.3)  # long enough for every other worker to try meanwhile

    _handle_with(monkeypatch, handle)
    event_id = committed_event()
    start = threading.Barrier(workers)
    results: list[bool] = []

    def worker() -> None:
        try:
            start.wait(10)
            results.append(outbox.deliver(event_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    row = OutboxEvent.objects.get(pk=event_id)
    assert calls == [event_id]
    assert len(results) == workers
    assert row.status == OutboxEvent.Status.DONE
    assert row.attempts == 1

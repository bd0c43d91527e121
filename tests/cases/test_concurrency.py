"""Two dispatchers act on the same case at the same moment, on PostgreSQL: one wins, the
other gets a clear 409, and the timeline shows one transition.

The threads use their own database connections (committed data, real row locks), so the
case and the tokens are committed by a setup thread and removed again afterwards.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from tests.cases.helpers import file_case, grid_of
from wangge.cases.models import Case, CaseEvent
from wangge.core.models import ApiToken, Notification, OutboxEvent, User

pytestmark = pytest.mark.django_db


def in_thread(fn: Callable[[], Any]) -> Any:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture
def committed_case() -> Iterator[dict[str, Any]]:
    if connection.vendor != "postgresql":
        pytest.skip("row-lock concurrency is tested on PostgreSQL (the suite's PostgreSQL run)")
    from wangge.core.auth import token_issue

    def setup() -> dict[str, Any]:
        resident = User.objects.get(username="resident")
        case = file_case(actor=resident, description="并发派单测试")
        return {
            "number": case.number,
            "pk": case.pk,
            "tokens": {
                name: token_issue(user=User.objects.get(username=name)) for name in ("community", "street")
            },
        }

    made = in_thread(setup)
    yield made

    def teardown() -> None:
        Case.objects.filter(pk=made["pk"]).delete()
        ApiToken.objects.filter(user__username__in=["community", "street"]).delete()
        Notification.objects.filter(object_type="cases.case", object_id=str(made["pk"])).delete()
        OutboxEvent.objects.filter(payload__number=made["number"]).delete()

    in_thread(teardown)


def test_two_dispatchers_at_once_one_wins_and_one_gets_a_conflict(committed_case: dict[str, Any]) -> None:
    number = committed_case["number"]
    grid1, grid2 = grid_of("grid1").pk, grid_of("grid2").pk
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def dispatcher(name: str, grid_id: int) -> None:
        try:
            client = Client(headers={"Authorization": f"Bearer {committed_case['tokens'][name]}"})
            barrier.wait(10)
            response = client.post(
                f"/api/v1/cases/{number}/dispatch",
                data=json.dumps({"to": {"place_id": grid_id}, "version": 1}),
                content_type="application/json",
            )
            results[name] = (response.status_code, response.json())
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=dispatcher, args=("community", grid1)),
        threading.Thread(target=dispatcher, args=("street", grid2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    statuses = sorted(status for status, _body in results.values())
    assert statuses == [200, 409], results
    loser = next(body for status, body in results.values() if status == 409)
    assert loser["code"] in {"stale_version", "wrong_state"}
    assert loser["detail"]

    def timeline() -> list[str]:
        return list(CaseEvent.objects.filter(case_id=committed_case["pk"]).values_list("action", flat=True))

    assert in_thread(timeline) == ["receive", "dispatch"]

"""Notifications through the outbox: the inbox, WeCom and DingTalk group robots over real HTTP,
text messages and e-mail; retries with backoff; failures for administrators to see and retry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from wangge.core import notify, outbox, senders, workcal
from wangge.core.errors import PermissionDenied
from wangge.core.models import (
    AuditEvent,
    Notification,
    NotificationChannel,
    OutboxEvent,
    User,
    WorkdayOverride,
)
from wangge.core.roles import Role
from wangge.org.models import Assignment
from wangge.places.models import Place

pytestmark = pytest.mark.usefixtures("demo_db")

OK = {"errcode": 0, "errmsg": "ok"}
TOKEN = "robot-token-0123456789"  # the part of a webhook URL that must never be shown
SECRET = "SEC0123456789abcdef"
KIND = "case.dispatched"
Capture = Callable[..., Any]


class Boom(Exception):
    pass


# --- helpers --------------------------------------------------------------------------------


def zh(msgid: str) -> str:
    """A message as the robots get it: in the site's language (Chinese)."""
    with translation.override("zh-hans"):
        return gettext(msgid)


def grid_path(username: str) -> str:
    return Assignment.objects.get(user__username=username, role=Role.GRID_WORKER, is_active=True).place.path


def channel(
    kind: str,
    url: str,
    *,
    secret: str = "",
    place_path: str = "",
    kinds: list[str] | None = None,
    **extra: Any,
) -> NotificationChannel:
    return NotificationChannel.objects.create(
        name=f"{kind} group",
        kind=kind,
        webhook_url=url,
        secret=secret,
        place_path=place_path,
        kinds=kinds or [],
        **extra,
    )


def robot_events(topic: str | None = None) -> list[OutboxEvent]:
    topics = [topic] if topic else list(senders.ROBOT_TOPICS.values())
    return list(OutboxEvent.objects.filter(topic__in=topics).order_by("pk"))


@pytest.fixture
def deliver_now(django_capture_on_commit_callbacks: Capture) -> Callable[..., list[Notification]]:
    """``notify.send`` in a transaction that commits, then every delivery it queued runs."""

    def run(**kwargs: Any) -> list[Notification]:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return notify.send(**kwargs)

    return run


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    with time_machine.travel(at, tick=False):
        yield


def sweep_until_settled(event: OutboxEvent, start: datetime) -> int:
    """Run the sweep at each retry time until the event is no longer pending; returns rounds."""
    rounds = 0
    now = start
    while True:
        event.refresh_from_db()
        if event.status != OutboxEvent.Status.PENDING or rounds > outbox.MAX_ATTEMPTS + 1:
            return rounds
        now = max(now, event.next_attempt_at)
        with frozen(now):
            outbox.sweep()
        rounds += 1


def requests_to(server: HTTPServer, path: str) -> list[Request]:
    return [request for request, _response in server.log if request.path == path]


# --- the inbox and the robots after commit --------------------------------------------------


def test_a_committed_send_reaches_the_inbox_and_the_wecom_robot(
    httpserver: HTTPServer, users: dict[str, User], deliver_now: Callable[..., list[Notification]]
) -> None:
    httpserver.expect_request("/wecom", method="POST", query_string={"key": TOKEN}).respond_with_json(OK)
    channel(NotificationChannel.Kind.WECOM, httpserver.url_for(f"/wecom?key={TOKEN}"))

    created = deliver_now(
        users=[users["grid1"]],
        kind=KIND,
        title="派单：路灯不亮",
        body="请于今日处理",
        url="/cases/C2024-1/",
        place_path=grid_path("grid1"),
    )

    httpserver.check_assertions()
    assert [n.user_id for n in created] == [users["grid1"].pk]
    assert Notification.objects.filter(user=users["grid1"], title="派单：路灯不亮").count() == 1
    [request] = requests_to(httpserver, "/wecom")
    body = request.get_json()
    assert body["msgtype"] == "text"
    assert "mentioned_list" not in body["text"]
    assert body["text"]["content"].splitlines() == [
        "【网格】派单：路灯不亮",
        "请于今日处理",
        zh("Details: %(link)s") % {"link": "http://127.0.0.1:8000/cases/C2024-1/"},
    ]
    [event] = robot_events()
    assert event.status == OutboxEvent.Status.DONE
    assert event.attempts == 1


def test_dingtalk_messages_are_signed_and_the_signature_verifies(
    httpserver: HTTPServer, users: dict[str, User], deliver_now: Callable[..., list[Notification]]
) -> None:
    checked: list[dict[str, Any]] = []

    def verify(request: Request) -> Response:
        assert request.args["access_token"] == TOKEN
        timestamp = request.args["timestamp"]
        digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
        good = request.args["sign"] == base64.b64encode(digest).decode()
        checked.append({"good": good, "timestamp": int(timestamp), "body": request.get_json()})
        reply = OK if good else {"errcode": 310000, "errmsg": "sign not match"}
        return Response(json.dumps(reply), content_type="application/json")

    httpserver.expect_request("/robot/send", method="POST").respond_with_handler(verify)
    channel(
        NotificationChannel.Kind.DINGTALK,
        httpserver.url_for(f"/robot/send?access_token={TOKEN}"),
        secret=SECRET,
    )
    now = timezone.now()

    with frozen(now):
        deliver_now(users=[users["grid1"]], kind=KIND, title="紧急：燃气泄漏", urgent=True, url="/cases/C1/")

    [seen] = checked
    assert seen["good"] is True
    assert seen["timestamp"] == int(now.timestamp() * 1000)
    assert seen["body"]["msgtype"] == "text"
    assert seen["body"]["at"] == {"isAtAll": True}
    assert seen["body"]["text"]["content"].startswith(f"【网格】{zh('[Urgent]')} 紧急：燃气泄漏")
    assert robot_events()[0].status == OutboxEvent.Status.DONE


def test_the_dingtalk_signature_is_url_encoded_base64_of_the_hmac() -> None:
    sign = senders.dingtalk_sign(SECRET, 1700000000000)
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"1700000000000\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()

    assert sign == quote_plus(expected)
    assert senders.dingtalk_url("https://x/robot/send?access_token=t", SECRET, 1700000000000) == (
        f"https://x/robot/send?access_token=t&timestamp=1700000000000&sign={sign}"
    )
    assert (
        senders.dingtalk_url("https://x/robot/send?access_token=t", "", 1)
        == "https://x/robot/send?access_token=t"
    )


def test_a_robot_answering_500_is_retried_with_backoff_then_failed(
    httpserver: HTTPServer, users: dict[str, User], deliver_now: Callable[..., list[Notification]]
) -> None:
    httpserver.expect_request("/wecom").respond_with_data("upstream down", status=500)
    channel(NotificationChannel.Kind.WECOM, httpserver.url_for(f"/wecom?key={TOKEN}"))
    start = timezone.now()

    with frozen(start):
        deliver_now(users=[users["grid1"]], kind=KIND, title="派单")
    [event] = robot_events()
    assert event.status == OutboxEvent.Status.PENDING
    assert event.attempts == 1
    assert event.next_attempt_at == start + outbox.backoff(1)
    with frozen(start + outbox.backoff(1) - timedelta(seconds=1)):
        outbox.sweep()
    assert len(requests_to(httpserver, "/wecom")) == 1  # not before the backoff

    sweep_until_settled(event, start)

    event.refresh_from_db()
    assert len(requests_to(httpserver, "/wecom")) == outbox.MAX_ATTEMPTS
    assert event.status == OutboxEvent.Status.FAILED
    assert event.attempts == outbox.MAX_ATTEMPTS
    assert "HTTP 500" in event.last_error
    assert TOKEN not in event.last_error
    # The inbox row was written at once, whatever the robot did.
    assert Notification.objects.filter(user=users["grid1"], title="派单").exists()


def test_an_errcode_other_than_zero_is_a_failure_and_is_retried(
    httpserver: HTTPServer, users: dict[str, User], deliver_now: Callable[..., list[Notification]]
) -> None:
    httpserver.expect_oneshot_request("/wecom").respond_with_json(
        {"errcode": 93000, "errmsg": "invalid webhook url"}
    )
    httpserver.expect_request("/wecom").respond_with_json(OK)
    channel(NotificationChannel.Kind.WECOM, httpserver.url_for(f"/wecom?key={TOKEN}"))
    start = timezone.now()

    with frozen(start):
        deliver_now(users=[users["grid1"]], kind=KIND, title="派单")
    [event] = robot_events()
    assert event.status == OutboxEvent.Status.PENDING
    assert "errcode 93000: invalid webhook url" in event.last_error

    sweep_until_settled(event, start)

    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.DONE
    assert event.attempts == 2
    assert len(requests_to(httpserver, "/wecom")) == 2


def test_one_failing_robot_does_not_make_another_hear_twice(
    httpserver: HTTPServer, users: dict[str, User], deliver_now: Callable[..., list[Notification]]
) -> None:
    httpserver.expect_request("/good").respond_with_json(OK)
    httpserver.expect_request("/bad").respond_with_data("", status=502)
    channel(NotificationChannel.Kind.WECOM, httpserver.url_for("/good?key=a"))
    channel(NotificationChannel.Kind.DINGTALK, httpserver.url_for("/bad?access_token=b"))
    start = timezone.now()

    with frozen(start):
        deliver_now(users=[users["grid1"]], kind=KIND, title="派单")
    with frozen(start + outbox.backoff(1)):
        outbox.sweep()
    with frozen(start + outbox.backoff(1) + outbox.backoff(2)):
        outbox.sweep()

    assert len(requests_to(httpserver, "/good")) == 1
    assert len(requests_to(httpserver, "/bad")) == 3
    good, bad = robot_events()
    assert good.status == OutboxEvent.Status.DONE
    assert bad.status == OutboxEvent.Status.PENDING
    assert bad.attempts == 3


def _change_that_fails(users: dict[str, User]) -> None:
    with transaction.atomic():
        notify.send(users=[users["grid1"]], kind=KIND, title="不该发出", sms_phones=["13900139000"])
        raise Boom("the change failed after the notification was written")


def test_a_rolled_back_send_sends_nothing(
    httpserver: HTTPServer, users: dict[str, User], django_capture_on_commit_callbacks: Capture
) -> None:
    httpserver.expect_request("/wecom").respond_with_json(OK)
    channel(NotificationChannel.Kind.WECOM, httpserver.url_for("/wecom?key=a"))
    before = OutboxEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        _change_that_fails(users)

    assert callbacks == []
    assert httpserver.log == []
    assert not Notification.objects.filter(title="不该发出").exists()
    assert OutboxEvent.objects.count() == before


# --- who hears what --------------------------------------------------------------------------


def test_robots_hear_their_place_subtree_their_kinds_and_urgent_only_when_asked(
    users: dict[str, User],
) -> None:
    grid1, grid2 = grid_path("grid1"), grid_path("grid2")
    community = Place.objects.get(path=grid1).parent
    assert community is not None
    wecom, ding = NotificationChannel.Kind.WECOM, NotificationChannel.Kind.DINGTALK
    everywhere = channel(wecom, "https://robot.invalid/a")
    in_grid1 = channel(ding, "https://robot.invalid/b", place_path=grid1)
    in_grid2 = channel(ding, "https://robot.invalid/c", place_path=grid2)
    community_cases = channel(wecom, "https://robot.invalid/d", place_path=community.path, kinds=["case.*"])
    alarms_only = channel(wecom, "https://robot.invalid/e", kinds=["alarm.sos"])
    urgent_only = channel(wecom, "https://robot.invalid/f", urgent_only=True)
    channel(wecom, "https://robot.invalid/g", is_active=False)

    def heard(kind: str, place_path: str, urgent: bool = False) -> set[int]:
        payload = {"kind": kind, "title": "t", "urgent": urgent, "user_ids": [], "sms_phones": []}
        return {
            p["channel_id"]
            for topic, p, _path in notify.external_targets(payload, place_path)
            if topic in senders.ROBOT_TOPICS.values()
        }

    assert heard(KIND, grid1 + "001.") == {everywhere.pk, in_grid1.pk, community_cases.pk}
    assert heard(KIND, grid2) == {everywhere.pk, in_grid2.pk, community_cases.pk}
    assert heard("alarm.sos", grid1, urgent=True) == {
        everywhere.pk,
        in_grid1.pk,
        alarms_only.pk,
        urgent_only.pk,
    }
    assert heard(KIND, "") == {everywhere.pk}


def test_an_urgent_message_texts_the_users_phones_and_always_the_reporters_masked_in_the_log(
    users: dict[str, User], deliver_now: Callable[..., list[Notification]], caplog: pytest.LogCaptureFixture
) -> None:
    User.objects.filter(pk=users["grid1"].pk).update(phone="13800138000")
    caplog.set_level(logging.INFO, logger="wangge.sms")

    deliver_now(users=[users["grid1"]], kind=KIND, title="普通消息", sms_phones=["13900139000"])
    deliver_now(
        users=[users["grid1"]], kind=KIND, title="紧急消息", urgent=True, sms_phones=["139 0013 9000"]
    )

    texts = [r.getMessage() for r in caplog.records if r.name == "wangge.sms"]
    assert len(texts) == 3
    assert texts[0].startswith("SMS to 139****9000: 【网格】普通消息")
    assert sorted(t.split(":")[0] for t in texts[1:]) == ["SMS to 138****8000", "SMS to 139****9000"]
    assert all(f"{zh('[Urgent]')} 紧急消息" in t for t in texts[1:])
    assert not any("13800138000" in t or "13900139000" in t for t in caplog.text.splitlines())
    sms = OutboxEvent.objects.filter(topic=senders.SMS_TOPIC)
    assert sms.count() == 3
    assert all(e.status == OutboxEvent.Status.DONE for e in sms)
    assert not any("1380013" in json.dumps(e.payload) for e in sms)  # phones wait encrypted


def test_the_http_sms_gateway_posts_json_with_its_key(
    httpserver: HTTPServer,
    settings: Any,
    users: dict[str, User],
    deliver_now: Callable[..., list[Notification]],
) -> None:
    settings.SMS_GATEWAY = "http"
    settings.SMS_URL = httpserver.url_for("/sms")
    settings.SMS_KEY = "gateway-key"
    httpserver.expect_request("/sms", method="POST", headers={"X-Api-Key": "gateway-key"}).respond_with_json(
        {"ok": True}
    )

    deliver_now(users=[], kind="case.resolved", title="您的诉求已办结", sms_phones=["13900139000"])

    httpserver.check_assertions()
    [request] = requests_to(httpserver, "/sms")
    assert request.get_json()["phone"] == "13900139000"
    assert request.get_json()["text"].startswith("【网格】您的诉求已办结")
    assert OutboxEvent.objects.get(topic=senders.SMS_TOPIC).status == OutboxEvent.Status.DONE


def test_with_text_messages_off_none_are_queued(
    settings: Any, users: dict[str, User], deliver_now: Callable[..., list[Notification]]
) -> None:
    settings.SMS_GATEWAY = "off"

    deliver_now(users=[users["grid1"]], kind=KIND, title="紧急", urgent=True, sms_phones=["13900139000"])

    assert not OutboxEvent.objects.filter(topic=senders.SMS_TOPIC).exists()


def test_email_goes_to_users_with_an_address(
    users: dict[str, User], deliver_now: Callable[..., list[Notification]], mailoutbox: list[Any]
) -> None:
    User.objects.filter(pk=users["grid1"].pk).update(email="grid1@example.org")
    User.objects.filter(pk=users["grid2"].pk).update(email="")

    deliver_now(users=[users["grid1"], users["grid2"]], kind=KIND, title="派单：占道经营", url="/cases/C9/")

    assert mailoutbox is mail.outbox
    [message] = mailoutbox
    assert message.to == ["grid1@example.org"]
    assert message.subject == "【网格】派单：占道经营"
    assert "http://127.0.0.1:8000/cases/C9/" in message.body
    assert OutboxEvent.objects.get(topic=senders.EMAIL_TOPIC).status == OutboxEvent.Status.DONE


def test_links_use_the_configured_base_url(settings: Any) -> None:
    settings.WANGGE_BASE_URL = "https://wangge.example.gov.cn"

    message = senders.Message(title="t", url="/cases/C1/")

    assert message.link == "https://wangge.example.gov.cn/cases/C1/"
    assert senders.Message(title="t", url="https://elsewhere/x").link == "https://elsewhere/x"


def test_a_repeated_dedupe_key_reaches_only_new_users_and_no_robot_or_phone(
    httpserver: HTTPServer, users: dict[str, User], deliver_now: Callable[..., list[Notification]]
) -> None:
    httpserver.expect_request("/wecom").respond_with_json(OK)
    channel(NotificationChannel.Kind.WECOM, httpserver.url_for("/wecom?key=a"))
    first = {"kind": KIND, "title": "超期提醒", "dedupe_key": "case:1:overdue", "sms_phones": ["13900139000"]}

    deliver_now(users=[users["grid1"]], **first)
    again = deliver_now(users=[users["grid1"]], **first)
    widened = deliver_now(users=[users["grid1"], users["grid2"]], **first)

    assert again == []
    assert [n.user_id for n in widened] == [users["grid2"].pk]
    assert len(requests_to(httpserver, "/wecom")) == 1
    assert OutboxEvent.objects.filter(topic=senders.SMS_TOPIC).count() == 1


def test_a_removed_robot_is_skipped_not_failed(
    httpserver: HTTPServer, users: dict[str, User], django_capture_on_commit_callbacks: Capture
) -> None:
    robot = channel(NotificationChannel.Kind.WECOM, httpserver.url_for("/wecom?key=a"))
    with transaction.atomic():
        notify.send(users=[users["grid1"]], kind=KIND, title="派单")
    external = OutboxEvent.objects.filter(topic=notify.EXTERNAL_TOPIC).latest("pk")
    outbox.deliver(external.pk)
    robot.delete()

    [event] = robot_events()
    assert outbox.deliver(event.pk) is True
    assert httpserver.log == []


# --- administrators: failed deliveries, retry, robots, the calendar --------------------------


@pytest.fixture
def admin_client(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["admin"])
    return client


def _failed_event(error: str = "HTTP 500") -> OutboxEvent:
    now = timezone.now()
    return OutboxEvent.objects.create(
        topic="test.notify",
        payload={},
        created_at=now,
        next_attempt_at=now,
        status=OutboxEvent.Status.FAILED,
        attempts=outbox.MAX_ATTEMPTS,
        last_error=error,
    )


def test_administrators_see_failed_deliveries_with_their_error(admin_client: Client) -> None:
    event = _failed_event("DeliveryError: errcode 93000: invalid webhook url")

    response = admin_client.get("/admin/core/outboxevent/?delivery=failed")

    assert response.status_code == 200
    text = response.content.decode()
    assert "errcode 93000: invalid webhook url" in text
    assert f">{event.pk}<" in text


def test_the_retry_action_queues_a_failed_delivery_again(
    admin_client: Client,
    users: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    delivered: list[int] = []
    monkeypatch.setitem(outbox.HANDLERS, "test.notify", lambda event: delivered.append(event.pk))
    event = _failed_event()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/core/outboxevent/",
            {"action": "retry_now", "_selected_action": [str(event.pk)]},
        )

    assert response.status_code == 302
    event.refresh_from_db()
    assert delivered == [event.pk]
    assert event.status == OutboxEvent.Status.DONE
    assert event.attempts == 1
    audit_row = AuditEvent.objects.get(action="outbox.retried", object_id=str(event.pk))
    assert audit_row.actor == users["admin"]


@pytest.mark.parametrize("username", ["grid1", "community", "dept", "resident"])
def test_only_platform_administrators_may_retry(users: dict[str, User], username: str) -> None:
    event = _failed_event()
    audits = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        outbox.outbox_retry(actor=users[username], event_ids=[event.pk])

    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.FAILED
    assert AuditEvent.objects.count() == audits


def test_grid_workers_cannot_open_the_outbox_admin(page_client: Callable[[str], Client]) -> None:
    event = _failed_event("secret-ish error text")

    listing = page_client("grid1").get("/admin/core/outboxevent/")
    retry = page_client("grid1").post(
        "/admin/core/outboxevent/", {"action": "retry_now", "_selected_action": [str(event.pk)]}
    )

    assert listing.status_code == 302
    assert listing["Location"].startswith("/admin/login/")
    assert retry.status_code == 302
    event.refresh_from_db()
    assert event.status == OutboxEvent.Status.FAILED


def test_a_robot_added_in_the_admin_keeps_its_webhook_encrypted_and_shows_it_masked(
    admin_client: Client,
) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}"
    path = grid_path("grid1")

    response = admin_client.post(
        "/admin/core/notificationchannel/add/",
        {
            "name": "第一网格工作群",
            "kind": "wecom",
            "is_active": "on",
            "new_webhook_url": url,
            "place_path": path,
            "kinds_text": "case.*， alarm.sos",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    robot = NotificationChannel.objects.get(name="第一网格工作群")
    assert robot.webhook_url == url
    assert robot.kinds == ["case.*", "alarm.sos"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_url FROM core_notificationchannel WHERE id = %s", [robot.pk])
        raw = cursor.fetchone()[0]
    assert TOKEN not in raw
    listing = admin_client.get("/admin/core/notificationchannel/").content.decode()
    change = admin_client.get(f"/admin/core/notificationchannel/{robot.pk}/change/").content.decode()
    assert "qyapi.weixin.qq.com/…" in listing
    assert TOKEN not in listing
    assert TOKEN not in change
    assert AuditEvent.objects.filter(action="admin.core_notificationchannel.added").exists()


def test_a_robot_with_an_unknown_place_is_refused(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/core/notificationchannel/add/",
        {
            "name": "x",
            "kind": "wecom",
            "new_webhook_url": "https://robot.invalid/x",
            "place_path": "999.999.",
        },
    )

    assert response.status_code == 200
    assert not NotificationChannel.objects.filter(name="x").exists()


def test_a_calendar_correction_in_the_admin_counts_at_once(admin_client: Client) -> None:
    day = date(2031, 5, 6)  # a Tuesday
    assert workcal.is_workday(day) is True

    response = admin_client.post(
        "/admin/core/workdayoverride/add/", {"day": day.isoformat(), "note": "本地假日"}
    )

    assert response.status_code == 302
    assert WorkdayOverride.objects.get(day=day).is_workday is False
    assert workcal.is_workday(day) is False
    override = WorkdayOverride.objects.get(day=day)
    admin_client.post(f"/admin/core/workdayoverride/{override.pk}/delete/", {"post": "yes"})
    assert workcal.is_workday(day) is True


def test_the_admin_sends_a_test_message_to_a_robot(
    admin_client: Client, httpserver: HTTPServer, django_capture_on_commit_callbacks: Capture
) -> None:
    httpserver.expect_request("/wecom").respond_with_json(OK)
    robot = channel(NotificationChannel.Kind.WECOM, httpserver.url_for(f"/wecom?key={TOKEN}"))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/core/notificationchannel/", {"action": "send_test", "_selected_action": [str(robot.pk)]}
        )

    assert response.status_code == 302
    [request] = requests_to(httpserver, "/wecom")
    assert request.get_json()["text"]["content"].startswith("【网格】")
    assert AuditEvent.objects.filter(
        action="admin.core_notificationchannel.tested", object_id=str(robot.pk)
    ).exists()
    assert admin_client.get("/admin/core/notification/").status_code == 200

"""Senders (外发渠道): WeCom and DingTalk group robots, text messages and e-mail.

Each outbox topic ``notify.<channel>`` carries one message for one target (a robot, a phone
number, a user's e-mail address) and is delivered and retried on its own, so a robot that
is down never makes another target receive the message twice. A sender raises
``DeliveryError`` (or lets an HTTP error through) when the target did not take the
message; the outbox then retries with backoff and finally marks the event failed.

Robot messages are plain text, not markdown: titles and bodies may quote what a resident
wrote, and plain text cannot carry a forged link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote_plus

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from wangge.core import clock, outbox, pii
from wangge.core.models import NotificationChannel, OutboxEvent, User

log = logging.getLogger(__name__)
sms_log = logging.getLogger("wangge.sms")
# httpx logs every request's full URL at INFO, and a robot's URL carries its access token.
logging.getLogger("httpx").setLevel(logging.WARNING)

ROBOT_BODY_CHARS = 1500  # WeCom takes 2048 bytes of text; leave room for title and link
SMS_BODY_CHARS = 120  # long texts are split and billed per part


class DeliveryError(Exception):
    """The target answered, and did not take the message."""


def absolute_url(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return settings.WANGGE_BASE_URL + (url if url.startswith("/") else "/" + url)


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Message:
    """What every channel says: a title, a body and a link back to the site."""

    title: str
    body: str = ""
    url: str = ""
    urgent: bool = False
    kind: str = ""

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Message:
        return cls(
            title=str(payload.get("title", "")),
            body=str(payload.get("body", "")),
            url=str(payload.get("url", "")),
            urgent=bool(payload.get("urgent", False)),
            kind=str(payload.get("kind", "")),
        )

    def fields(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "urgent": self.urgent,
            "kind": self.kind,
        }

    @property
    def link(self) -> str:
        return absolute_url(self.url)

    def headline(self) -> str:
        with translation.override(settings.LANGUAGE_CODE):
            mark = _("[Urgent]") + " " if self.urgent else ""
        return f"【{settings.NOTIFY_SIGNATURE}】{mark}{self.title}"

    def text(self, body_chars: int = ROBOT_BODY_CHARS) -> str:
        lines = [self.headline()]
        if self.body.strip():
            lines.append(_clip(self.body, body_chars))
        if self.link:
            with translation.override(settings.LANGUAGE_CODE):
                lines.append(_("Details: %(link)s") % {"link": self.link})
        return "\n".join(lines)

    def sms_text(self) -> str:
        return self.text(body_chars=SMS_BODY_CHARS)


# --- HTTP -----------------------------------------------------------------------------------


def _redacted(text: str, url: str) -> str:
    """Webhook URLs hold the robot's access token: keep them out of errors and logs."""
    base, _sep, query = url.partition("?")
    for secret in (url, query):
        if secret:
            text = text.replace(secret, "…")
    return text.replace(base, base.split("//", 1)[-1].split("/", 1)[0] + "/…")


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    try:
        return httpx.post(
            url,
            json=payload,
            headers=headers,
            timeout=settings.NOTIFY_HTTP_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(_redacted(f"{type(exc).__name__}: {exc}", url)) from None


def _robot_reply(response: httpx.Response) -> None:
    """Both robots answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` on success."""
    if response.status_code >= 400:
        raise DeliveryError(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise DeliveryError(f"HTTP {response.status_code}, the reply is not JSON") from None
    errcode = data.get("errcode") if isinstance(data, dict) else None
    if errcode != 0:
        errmsg = data.get("errmsg", "") if isinstance(data, dict) else ""
        raise DeliveryError(f"errcode {errcode}: {str(errmsg)[:300]}")


# --- group robots ---------------------------------------------------------------------------


def wecom_payload(message: Message) -> dict[str, Any]:
    text: dict[str, Any] = {"content": message.text()}
    if message.urgent:
        text["mentioned_list"] = ["@all"]
    return {"msgtype": "text", "text": text}


def wecom_send(webhook_url: str, message: Message) -> None:
    """A WeCom group robot (企业微信群机器人): POST to its webhook URL (``…/send?key=…``)."""
    _robot_reply(_post_json(webhook_url, wecom_payload(message)))


def dingtalk_payload(message: Message) -> dict[str, Any]:
    return {
        "msgtype": "text",
        "text": {"content": message.text()},
        "at": {"isAtAll": message.urgent},
    }


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature (加签): HMAC-SHA256 of ``"<timestamp>\\n<secret>"`` keyed with the
    secret, base64, then URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def dingtalk_url(webhook_url: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return webhook_url
    ts = timestamp_ms if timestamp_ms is not None else int(clock.now().timestamp() * 1000)
    joiner = "&" if "?" in webhook_url else "?"
    return f"{webhook_url}{joiner}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


def dingtalk_send(webhook_url: str, secret: str, message: Message) -> None:
    """A DingTalk group robot (钉钉群机器人), signed when the robot has a secret."""
    _robot_reply(_post_json(dingtalk_url(webhook_url, secret), dingtalk_payload(message)))


# --- text messages --------------------------------------------------------------------------


class SmsGateway(Protocol):
    """Sends one text message; raises when the gateway did not take it."""

    def send(self, phone: str, text: str) -> None: ...


class ConsoleSmsGateway:
    """Demo and development: the text goes to the log, the number masked."""

    def send(self, phone: str, text: str) -> None:
        sms_log.info("SMS to %s: %s", pii.mask_phone(phone), text)


class HttpSmsGateway:
    """An HTTP SMS gateway: ``POST <url>`` with ``{"phone", "text"}`` and the key in a header.

    The gateway answers 2xx when it has accepted the message; anything else is a failure.
    """

    def __init__(self, url: str, key: str = "", key_header: str = "X-Api-Key") -> None:
        self.url = url
        self.key = key
        self.key_header = key_header

    def send(self, phone: str, text: str) -> None:
        headers = {self.key_header: self.key} if self.key else {}
        response = _post_json(self.url, {"phone": phone, "text": text}, headers=headers)
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"SMS gateway answered HTTP {response.status_code}")


def sms_gateway() -> SmsGateway | None:
    """The configured gateway (``SMS_GATEWAY``), or None when text messages are off."""
    choice = getattr(settings, "SMS_GATEWAY", "off")
    if choice == "console":
        return ConsoleSmsGateway()
    if choice == "http":
        return HttpSmsGateway(settings.SMS_URL, settings.SMS_KEY, settings.SMS_KEY_HEADER)
    return None


# --- e-mail ---------------------------------------------------------------------------------


def email_send(address: str, message: Message) -> None:
    subject = _clip(message.headline(), 200).replace("\n", " ")
    send_mail(subject, message.text(), None, [address], fail_silently=False)


# --- outbox handlers: one target each -------------------------------------------------------

ROBOT_TOPICS = {
    NotificationChannel.Kind.WECOM: "notify.wecom",
    NotificationChannel.Kind.DINGTALK: "notify.dingtalk",
}
SMS_TOPIC = "notify.sms"
EMAIL_TOPIC = "notify.email"


def _channel(event: OutboxEvent, kind: str) -> NotificationChannel | None:
    channel = NotificationChannel.objects.filter(
        pk=event.payload.get("channel_id"), kind=kind, is_active=True
    ).first()
    if channel is None:
        # Removed or switched off since: nobody is waiting for this message any more.
        log.info("outbox event %s: channel %s is gone or inactive", event.pk, event.payload.get("channel_id"))
    return channel


@outbox.handler(ROBOT_TOPICS[NotificationChannel.Kind.WECOM])
def _deliver_wecom(event: OutboxEvent) -> None:
    channel = _channel(event, NotificationChannel.Kind.WECOM)
    if channel is not None:
        wecom_send(channel.webhook_url, Message.from_payload(event.payload))


@outbox.handler(ROBOT_TOPICS[NotificationChannel.Kind.DINGTALK])
def _deliver_dingtalk(event: OutboxEvent) -> None:
    channel = _channel(event, NotificationChannel.Kind.DINGTALK)
    if channel is not None:
        dingtalk_send(channel.webhook_url, channel.secret, Message.from_payload(event.payload))


@outbox.handler(SMS_TOPIC)
def _deliver_sms(event: OutboxEvent) -> None:
    gateway = sms_gateway()
    if gateway is None:
        log.info("outbox event %s: text messages are switched off", event.pk)
        return
    phone = pii.decrypt(str(event.payload["phone"]))
    gateway.send(phone, Message.from_payload(event.payload).sms_text())


@outbox.handler(EMAIL_TOPIC)
def _deliver_email(event: OutboxEvent) -> None:
    address = (
        User.objects.filter(pk=event.payload.get("user_id"), is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .first()
    )
    if not address:
        log.info("outbox event %s: the user has no e-mail address any more", event.pk)
        return
    email_send(address, Message.from_payload(event.payload))

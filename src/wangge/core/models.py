"""Cross-cutting tables: users, API tokens, the audit log, the outbox, idempotency keys,
notifications and the working calendar's local corrections."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.core.pii import EncryptedTextField
from wangge.core.scope import ScopeSpec


class User(AbstractUser):
    """A person who signs in: staff, department officer or resident (用户)."""

    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    # Demo accounts can sign in only while the process runs in demo mode.
    is_demo = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def label(self) -> str:
        return self.display_name or self.username


class ApiToken(models.Model):
    """A bearer token for the API (接口令牌). Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id}"


class AuditEvent(models.Model):
    """An append-only audit record (审计日志): who did what, to what, when, from where."""

    class Result(models.TextChoices):
        OK = "ok", _("succeeded")
        DENIED = "denied", _("denied")
        FAILED = "failed", _("failed")

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_label = models.CharField(max_length=200, blank=True, default="")
    place_path = models.CharField(max_length=255, blank=True, default="", db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.OK)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True, default="")
    request_id = models.CharField(max_length=36, blank=True, default="")

    class Meta:
        verbose_name = _("audit event")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("audit events are append-only")


class OutboxEvent(models.Model):
    """A message to deliver after commit (发件箱): notifications, live pushes, webhooks."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("delivered")
        FAILED = "failed", _("failed")

    created_at = models.DateTimeField()
    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    place_path = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A worker that took the event holds it until then; past it, another may retry.
    leased_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("outbox event")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk} ({self.status})"


class IdempotencyRecord(models.Model):
    """The first result of a create that a phone or a device may retry (幂等键)."""

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    response = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class WorkdayOverride(models.Model):
    """A local correction to China's working calendar (调休/本地假日): this day is or is not worked."""

    day = models.DateField(_("day"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("working-calendar correction")
        verbose_name_plural = _("working-calendar corrections")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'workday' if self.is_workday else 'rest day'}"


class Notification(models.Model):
    """A message in a user's in-app inbox (站内消息). Other channels are sent through the outbox."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=48)
    title = models.CharField(pgettext_lazy("message", "title"), max_length=200)
    body = models.TextField(_("body"), blank=True, default="")
    url = models.CharField(max_length=300, blank=True, default="")
    urgent = models.BooleanField(default=False)
    place_path = models.CharField(max_length=255, blank=True, default="")
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    # Retried senders (a sweep run twice) name the message so the user gets it once.
    dedupe_key = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    scope_spec = ScopeSpec(place_path=None, owner="user")

    class Meta:
        verbose_name = _("notification")
        indexes = [models.Index(fields=["user", "read_at", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_user_dedupe_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class NotificationChannel(models.Model):
    """A group robot (企业微信/钉钉群机器人) that hears the notifications of a place subtree."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("WeCom group robot")
        DINGTALK = "dingtalk", _("DingTalk group robot")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Notifications about places under this one go to the group; empty means everywhere.
    place_path = models.CharField(_("place path"), max_length=255, blank=True, default="")
    webhook_url = EncryptedTextField(_("webhook URL"))
    # DingTalk's signing secret (加签), when the robot is set to require it.
    secret = EncryptedTextField(_("signing secret"), blank=True, default="")
    # Notification kinds to send; empty means all.
    kinds = models.JSONField(_("kinds"), default=list, blank=True)
    urgent_only = models.BooleanField(_("urgent only"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("notification channel")

    def __str__(self) -> str:
        return self.name

"""Configuration screens for platform administrators (平台管理员): users, audit log, outbox,
notifications and their group robots, the working calendar's corrections.

The Django admin is for superusers only. Everyday work happens in the pages and the API,
where scope applies; the admin sees everything, so every write made here is audited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UsernameField
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from wangge.core import audit, clock, outbox, workcal
from wangge.core.errors import DomainError
from wangge.core.models import (
    AuditEvent,
    Notification,
    NotificationChannel,
    OutboxEvent,
    User,
    WorkdayOverride,
)
from wangge.core.pii import blind_index, mask_phone, normalise
from wangge.places.models import Place

admin.site.site_header = _("wangge administration")
admin.site.site_title = _("wangge administration")
admin.site.index_title = _("Platform configuration")


def _superuser(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


class SuperuserOnlyMixin:
    """The admin is for platform administrators: superusers see it, nobody else does."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return _superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)


def _label(obj: models.Model) -> str:
    return obj._meta.label_lower.replace(".", "_")


class AuditedAdminMixin(SuperuserOnlyMixin):
    """For records that have no service of their own: the admin's writes go to the audit log."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        obj.save()
        changed = [f for f in form.changed_data if f not in self.sensitive_fields()]
        audit.record(
            actor=request.user if isinstance(request.user, User) else None,
            action=f"admin.{_label(obj)}.{'changed' if change else 'added'}",
            obj=obj,
            changes={"fields": changed},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        label, pk, text = _label(obj), str(obj.pk), str(obj)[:200]
        object_type = obj._meta.label_lower
        obj.delete()
        audit.record(
            actor=request.user if isinstance(request.user, User) else None,
            action=f"admin.{label}.deleted",
            object_type=object_type,
            object_id=pk,
            object_label=text,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def sensitive_fields(self) -> set[str]:
        """Fields whose names may be logged but whose values never are."""
        return set()


class ReadOnlyAdminMixin(SuperuserOnlyMixin):
    """A log to read, never to write: no add, change or delete, not even for superusers."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


PHONE_MIN_DIGITS = 5
PHONE_MAX_DIGITS = 20


class UserAdminChangeForm(UserChangeForm):
    """The change form: the phone is never shown raw; a new one can be typed in."""

    new_phone = forms.CharField(
        label=_("new phone"),
        required=False,
        max_length=32,
        help_text=_("Type a new number to replace the stored one; leave empty to keep it."),
    )
    clear_phone = forms.BooleanField(label=_("remove the phone number"), required=False)

    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"username": UsernameField}

    def clean_new_phone(self) -> str:
        value = str(self.cleaned_data.get("new_phone") or "").strip()
        if not value:
            return ""
        digits = normalise("phone", value)
        if not digits.isdigit() or not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
            raise forms.ValidationError(_("Enter a phone number of 5 to 20 digits."))
        return digits

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_phone") and data.get("clear_phone"):
            raise forms.ValidationError(_("Either type a new phone number or remove it, not both."))
        return data


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    """Users (用户). Phone numbers are stored encrypted; here they show masked only."""

    form = UserAdminChangeForm
    list_display = (
        "username",
        "display_name",
        "masked_phone",
        "is_active",
        "is_superuser",
        "is_demo",
        "last_login",
    )
    list_filter = ("is_active", "is_superuser", "is_demo")
    search_fields = ("username", "display_name", "first_name", "last_name", "email")
    ordering = ("username",)
    readonly_fields = ("masked_phone", "last_login", "date_joined", "is_demo")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        (_("Phone"), {"fields": ("masked_phone", "new_phone", "clear_phone")}),
        (_("Permissions"), {"fields": ("is_active", "is_superuser", "is_staff", "groups", "is_demo")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone) if obj.phone else "—"

    def sensitive_fields(self) -> set[str]:
        return {"password", "new_phone"}

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        digits = normalise("phone", search_term or "")
        if digits.isdigit() and PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
            # Exact phone lookup through the keyed hash; the ciphertext is never searched.
            results = results | queryset.filter(phone_hash=blind_index("phone", digits))
        return results, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm[Any], change: bool) -> None:
        new_phone = form.cleaned_data.get("new_phone") if change else ""
        if new_phone:
            obj.phone = new_phone
            obj.phone_hash = blind_index("phone", new_phone)
        elif change and form.cleaned_data.get("clear_phone"):
            obj.phone = ""
            obj.phone_hash = ""
        super().save_model(request, obj, form, change)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit log (审计日志): append-only, so it can be read here and nothing more."""

    list_display = ("at", "actor_label", "action", "object_type", "object_id", "object_label", "result", "ip")
    list_filter = ("result", "action", "object_type")
    search_fields = ("actor_label", "action", "object_label", "object_id", "place_path", "request_id")
    date_hierarchy = "at"
    ordering = ("-at", "-id")
    list_per_page = 100
    show_full_result_count = False


class DeliveryFilter(admin.SimpleListFilter):
    """Where deliveries stand: the ones that need an administrator first."""

    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("failed", _("failed (gave up)")),
            ("retrying", _("retrying (failed before, will try again)")),
            ("in_flight", _("being delivered now")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "failed":
            return queryset.filter(status=OutboxEvent.Status.FAILED)
        if value == "retrying":
            return queryset.filter(status=OutboxEvent.Status.PENDING, attempts__gt=0).exclude(last_error="")
        if value == "in_flight":
            return queryset.filter(status=OutboxEvent.Status.PENDING, leased_until__gt=clock.now())
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox (发件箱): filter by delivery to see what failed and why, and send it again."""

    list_display = (
        "id",
        "created_at",
        "topic",
        "status",
        "attempts",
        "next_attempt_at",
        "leased_until",
        "delivered_at",
        "error",
    )
    list_filter = (DeliveryFilter, "status", "topic")
    search_fields = ("topic", "last_error", "place_path")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 100
    show_full_result_count = False
    actions = ("retry_now",)

    @admin.display(description=_("last error"))
    def error(self, obj: OutboxEvent) -> str:
        return obj.last_error[:120]

    @admin.action(description=_("Retry now"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        actor = request.user
        if not isinstance(actor, User):
            return
        try:
            count = outbox.outbox_retry(actor=actor, event_ids=queryset.values_list("pk", flat=True))
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Notifications (站内消息) as the users received them: to check who was told what."""

    list_display = ("created_at", "user", "kind", "title", "urgent", "read_at")
    list_filter = ("urgent", "kind")
    search_fields = ("title", "kind", "user__username", "object_id", "dedupe_key")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 100
    show_full_result_count = False


def _masked_url(url: str) -> str:
    """A webhook URL holds the robot's token: show where it goes, never the token."""
    base = url.partition("?")[0]
    host = base.split("//", 1)[-1].split("/", 1)[0]
    return f"{host}/…{url[-4:]}" if url else "—"


class NotificationChannelForm(ModelForm):
    """The webhook URL and the secret are write-only: typed in, never shown again."""

    new_webhook_url = forms.URLField(
        label=_("webhook URL"),
        required=False,
        max_length=1000,
        assume_scheme="https",
        help_text=_(
            "The robot's address from the group's settings, with its key or access token. "
            "Leave empty to keep the stored one."
        ),
    )
    new_secret = forms.CharField(
        label=_("signing secret"),
        required=False,
        max_length=200,
        help_text=_("DingTalk only, when the robot signs its messages (加签, SEC…). Leave empty to keep it."),
    )
    clear_secret = forms.BooleanField(label=_("remove the signing secret"), required=False)
    kinds_text = forms.CharField(
        label=_("kinds"),
        required=False,
        max_length=1000,
        help_text=_(
            "Notification kinds the group hears, separated by commas, e.g. case.dispatched, case.overdue; "
            "case.* means every case notification. Empty: all kinds."
        ),
    )

    class Meta:
        model = NotificationChannel
        fields = ("name", "kind", "place_path", "urgent_only", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kinds_text"].initial = ", ".join(self.instance.kinds or [])
        else:
            self.fields["new_webhook_url"].required = True
        self.fields["place_path"].help_text = _(
            "The path of the place whose notifications the group hears, everything under it included "
            "(e.g. 370103.004.001.). Empty: everywhere."
        )

    def clean_place_path(self) -> str:
        path = str(self.cleaned_data.get("place_path") or "").strip()
        if path and not path.endswith("."):
            path += "."
        if path and not Place.objects.filter(path=path).exists():
            raise forms.ValidationError(_("No place has this path."))
        return path

    def clean_new_webhook_url(self) -> str:
        url = str(self.cleaned_data.get("new_webhook_url") or "").strip()
        if url and not url.startswith(("https://", "http://")):
            raise forms.ValidationError(_("Enter an http or https address."))
        return url

    def clean_kinds_text(self) -> list[str]:
        raw = str(self.cleaned_data.get("kinds_text") or "")
        return list(dict.fromkeys(k.strip() for k in raw.replace("，", ",").split(",") if k.strip()))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_secret") and data.get("clear_secret"):
            raise forms.ValidationError(_("Either type a new secret or remove it, not both."))
        return data


@admin.register(NotificationChannel)
class NotificationChannelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Group robots (群机器人) that hear the notifications of a place subtree."""

    form = NotificationChannelForm
    list_display = (
        "name",
        "kind",
        "place_label",
        "masked_webhook",
        "kinds_label",
        "urgent_only",
        "is_active",
    )
    list_filter = ("kind", "is_active", "urgent_only")
    search_fields = ("name", "place_path")
    ordering = ("name", "id")
    readonly_fields = ("masked_webhook", "has_secret")
    fieldsets = (
        (None, {"fields": ("name", "kind", "is_active")}),
        (
            _("Robot"),
            {"fields": ("masked_webhook", "new_webhook_url", "has_secret", "new_secret", "clear_secret")},
        ),
        (_("What it hears"), {"fields": ("place_path", "kinds_text", "urgent_only")}),
    )
    actions = ("send_test",)

    @admin.display(description=_("webhook URL"))
    def masked_webhook(self, obj: NotificationChannel) -> str:
        return _masked_url(obj.webhook_url) if obj.pk else "—"

    @admin.display(description=_("signing secret"), boolean=True)
    def has_secret(self, obj: NotificationChannel) -> bool:
        return bool(obj.pk and obj.secret)

    @admin.display(description=_("place"))
    def place_label(self, obj: NotificationChannel) -> str:
        if not obj.place_path:
            return str(_("everywhere"))
        place = Place.objects.filter(path=obj.place_path).only("name").first()
        return place.name if place else obj.place_path

    @admin.display(description=_("kinds"))
    def kinds_label(self, obj: NotificationChannel) -> str:
        return ", ".join(obj.kinds or []) or str(_("all"))

    def sensitive_fields(self) -> set[str]:
        return {"new_webhook_url", "new_secret"}

    def save_model(
        self, request: HttpRequest, obj: NotificationChannel, form: ModelForm[Any], change: bool
    ) -> None:
        data = form.cleaned_data
        if data.get("new_webhook_url"):
            obj.webhook_url = data["new_webhook_url"]
        if data.get("new_secret"):
            obj.secret = data["new_secret"].strip()
        elif data.get("clear_secret"):
            obj.secret = ""
        obj.kinds = data.get("kinds_text") or []
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Send a test message"))
    def send_test(self, request: HttpRequest, queryset: QuerySet[NotificationChannel]) -> None:
        from wangge.core import senders
        from wangge.core.notify import in_default_language

        with in_default_language():
            message = senders.Message(
                title=str(_("Test message from wangge")),
                body=str(_("If this group can read this, its robot is set up correctly.")),
                kind="test",
            )
        with transaction.atomic():
            channels = list(queryset.order_by("pk"))
            for channel in channels:
                outbox.enqueue(
                    topic=senders.ROBOT_TOPICS[NotificationChannel.Kind(channel.kind)],
                    payload={**message.fields(), "channel_id": channel.pk},
                    place_path=channel.place_path,
                )
                audit.record(
                    actor=request.user if isinstance(request.user, User) else None,
                    action="admin.core_notificationchannel.tested",
                    obj=channel,
                )
        self.message_user(
            request,
            ngettext(
                "A test message is on its way to %(count)d group; a failure shows in the outbox.",
                "A test message is on its way to %(count)d groups; failures show in the outbox.",
                len(channels),
            )
            % {"count": len(channels)},
            messages.SUCCESS,
        )


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Local corrections to China's working calendar (调休/本地假日); deadlines use them at once."""

    list_display = ("day", "is_workday", "note")
    list_filter = ("is_workday",)
    search_fields = ("note",)
    date_hierarchy = "day"
    ordering = ("-day",)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        super().save_model(request, obj, form, change)
        _forget_calendar()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        _forget_calendar()


def _forget_calendar() -> None:
    # Now, and again after commit, so a deadline computed meanwhile cannot keep the old day.
    # Other processes pick the change up within the calendar's cache lifetime.
    workcal.forget_overrides()
    transaction.on_commit(workcal.forget_overrides)

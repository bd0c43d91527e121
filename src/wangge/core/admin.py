"""Configuration screens for platform administrators (平台管理员): users, audit log, outbox.

The Django admin is for superusers only. Everyday work happens in the pages and the API,
where scope applies; the admin sees everything, so every write made here is audited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UsernameField
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from wangge.core import audit
from wangge.core.models import AuditEvent, OutboxEvent, User
from wangge.core.pii import blind_index, mask_phone, normalise

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


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox (发件箱): filter by status to see deliveries that failed and why."""

    list_display = (
        "id",
        "created_at",
        "topic",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "error",
    )
    list_filter = ("status", "topic")
    search_fields = ("topic", "last_error", "place_path")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_per_page = 100
    show_full_result_count = False

    @admin.display(description=_("last error"))
    def error(self, obj: OutboxEvent) -> str:
        return obj.last_error[:120]

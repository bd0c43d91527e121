"""Open311 clients (接口客户端) for platform administrators: register one, see its key once, rotate it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wangge.core.admin import AuditedAdminMixin
from wangge.core.models import User
from wangge.open311 import services
from wangge.open311.models import Open311Client, Open311Request


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _show_key_once(request: HttpRequest, client: Open311Client, key: str) -> None:
    messages.warning(
        request,
        _(
            "The API key of %(name)s is %(key)s. Copy it now: "
            "it is stored only as a hash and is not shown again."
        )
        % {"name": client.name, "key": key},
    )


@admin.register(Open311Client)
class Open311ClientAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A new client gets a fresh key, shown once after saving; only its hash is kept."""

    list_display = ("name", "key_prefix", "is_active", "place", "created_at", "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "key_prefix")
    fields = ("name", "is_active", "place", "key_prefix", "created_at", "last_used_at")
    readonly_fields = ("key_prefix", "created_at", "last_used_at")
    autocomplete_fields = ("place",)
    actions = ("rotate_keys",)

    def save_model(
        self, request: HttpRequest, obj: Open311Client, form: ModelForm[Any], change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key = services.client_register(actor=_actor(request), client=obj)
        _show_key_once(request, obj, key)

    @admin.action(description=gettext_lazy("Give the selected clients new API keys"))
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[Open311Client]) -> None:
        for client in queryset:
            key = services.client_rotate_key(actor=_actor(request), client=client)
            _show_key_once(request, client, key)


@admin.register(Open311Request)
class Open311RequestAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Which client filed which request, read-only: tokens are looked up, never edited."""

    list_display = ("case", "client", "created_at")
    list_filter = ("client",)
    search_fields = ("case__number",)
    list_select_related = ("case", "client")
    fields = ("client", "case", "created_at")
    readonly_fields = ("client", "case", "created_at")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

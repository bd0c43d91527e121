"""Configuration screens for the people registry: the care-group list (重点人群) is edited
here by platform administrators; residents are shown read-only with masked identifiers.

Writes go through ``people.services`` so that they are checked and audited like any other.
Residents are edited in the pages and the API, where scope applies; the admin never shows
an ID or phone number unmasked, nor health notes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from wangge.core.admin import SuperuserOnlyMixin
from wangge.core.models import User
from wangge.core.pii import mask_id_number, mask_phone
from wangge.people import services
from wangge.people.models import CareGroup, Resident
from wangge.people.selectors import query_condition


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@admin.register(CareGroup)
class CareGroupAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """The configurable list of care groups. Retire a group (not active) rather than delete it."""

    list_display = ("name", "code", "name_en", "is_sensitive", "has_grade", "visit_every_days", "is_active")
    list_filter = ("is_sensitive", "is_active")
    search_fields = ("code", "name", "name_en")
    ordering = ("sort_order", "code")
    fields = (
        "code",
        "name",
        "name_en",
        "is_sensitive",
        "has_grade",
        "visit_every_days",
        "is_active",
        "sort_order",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: CareGroup | None = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CareGroup, form: ModelForm[Any], change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.care_group_update(
                actor=_actor(request),
                group=obj,
                name=data["name"],
                name_en=data.get("name_en", ""),
                is_sensitive=data["is_sensitive"],
                has_grade=data["has_grade"],
                visit_every_days=data.get("visit_every_days"),
                is_active=data["is_active"],
                sort_order=data.get("sort_order") or 0,
            )
        else:
            saved = services.care_group_create(
                actor=_actor(request),
                code=data["code"],
                name=data["name"],
                name_en=data.get("name_en", ""),
                is_sensitive=data["is_sensitive"],
                has_grade=data["has_grade"],
                visit_every_days=data.get("visit_every_days"),
                sort_order=data.get("sort_order") or 0,
            )
            if not data["is_active"]:
                saved = services.care_group_update(actor=_actor(request), group=saved, is_active=False)
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(Resident)
class ResidentAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """Residents, read-only: identifiers masked, health notes left out."""

    list_display = ("name", "id_number_masked", "gender", "birth_date", "registration", "status", "place")
    list_filter = ("status", "registration", "gender")
    search_fields = ("name",)
    search_help_text = _("Name, pinyin, initials, or an exact ID or phone number")
    list_select_related = ("place",)
    list_per_page = 100
    show_full_result_count = False
    ordering = ("name_pinyin", "pk")
    fields = (
        "name",
        "id_number_masked",
        "phones_masked",
        "gender",
        "birth_date",
        "ethnicity",
        "registration",
        "status",
        "place",
        "household",
        "relation_to_head",
        "moved_in_on",
        "moved_out_on",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj: Resident) -> str:
        return mask_id_number(obj.id_number) if obj.id_number else ""

    @admin.display(description=_("phone"))
    def phones_masked(self, obj: Resident) -> str:
        return ", ".join(mask_phone(p.phone) for p in obj.phones.order_by("-is_primary", "pk"))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Resident], search_term: str
    ) -> tuple[QuerySet[Resident], bool]:
        # Identifiers are encrypted: search through the keyed hash and the pinyin keys, as the API does.
        condition = query_condition(search_term)
        if condition is None:
            return queryset, False
        return queryset.filter(condition), False

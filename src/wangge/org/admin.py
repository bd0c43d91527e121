"""Configuration screens for the organisations around the grid and for staff assignments.

Assignments are made and ended through ``org.services`` (they change what people may see);
the other records have no workflow and are saved here directly, with an audit row.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from wangge.core import audit
from wangge.core.admin import AuditedAdminMixin, SuperuserOnlyMixin
from wangge.core.errors import DomainError
from wangge.core.models import User
from wangge.core.pii import EncryptedTextField, mask_phone
from wangge.org import services
from wangge.org.models import Assignment, CoBuildingUnit, Department, PartyOrganization, PropertyCompany

# Encrypted phone columns are one-line values, not essays.
# Who, what and where make an assignment; to change them, end it and make a new one.
ASSIGNMENT_IDENTITY = (
    "user",
    "role",
    "place",
    "department",
    "property_company",
    "is_active",
    "start_date",
    "end_date",
)
PHONE_WIDGET: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    EncryptedTextField: {"widget": forms.TextInput(attrs={"size": 20, "autocomplete": "off"})}
}


def _masked(value: str) -> str:
    return mask_phone(value) if value else "—"


@admin.register(Department)
class DepartmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """County and district departments (县直部门)."""

    list_display = ("name", "short_name", "place", "duty_phone_masked", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "short_name")
    autocomplete_fields = ("place",)
    list_select_related = ("place",)
    formfield_overrides = PHONE_WIDGET
    ordering = ("name",)

    @admin.display(description=_("duty phone"))
    def duty_phone_masked(self, obj: Department) -> str:
        return _masked(obj.duty_phone)


@admin.register(PropertyCompany)
class PropertyCompanyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Property-management companies (物业公司)."""

    list_display = ("name", "credit_code", "place", "service_phone_masked")
    search_fields = ("name", "credit_code")
    autocomplete_fields = ("place", "managed_places")
    list_select_related = ("place",)
    formfield_overrides = PHONE_WIDGET
    ordering = ("name",)

    @admin.display(description=_("service phone"))
    def service_phone_masked(self, obj: PropertyCompany) -> str:
        return _masked(obj.service_phone)


@admin.register(CoBuildingUnit)
class CoBuildingUnitAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Co-building units and partner merchants (共建单位、红色合伙人)."""

    list_display = ("name", "kind", "place", "contact_name", "contact_phone_masked")
    list_filter = ("kind",)
    search_fields = ("name", "contact_name")
    autocomplete_fields = ("place",)
    list_select_related = ("place",)
    formfield_overrides = PHONE_WIDGET
    ordering = ("name",)

    @admin.display(description=_("contact phone"))
    def contact_phone_masked(self, obj: CoBuildingUnit) -> str:
        return _masked(obj.contact_phone)


@admin.register(PartyOrganization)
class PartyOrganizationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Party organisations (党组织), one level for each territorial level."""

    list_display = ("name", "level", "place", "parent", "secretary", "member_count")
    list_filter = ("level",)
    search_fields = ("name", "place__name", "place__code")
    autocomplete_fields = ("place", "parent", "secretary")
    list_select_related = ("place", "parent", "secretary")
    ordering = ("place__path", "level")


class AssignmentAddForm(ModelForm):
    class Meta:
        model = Assignment
        fields = ("user", "role", "place", "department", "property_company", "title", "start_date")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, role, place = data.get("user"), data.get("role"), data.get("place")
        # The uniqueness of active assignments has a condition the form cannot check itself.
        if (
            user
            and role
            and place
            and Assignment.objects.filter(user=user, role=role, place=place, is_active=True).exists()
        ):
            raise forms.ValidationError(_("This person already holds this role here."))
        return data


@admin.register(Assignment)
class AssignmentAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """Staff assignments (岗位): who holds which role where. Ending one keeps its history."""

    list_display = (
        "user",
        "role",
        "place",
        "title",
        "department",
        "property_company",
        "is_active",
        "end_date",
    )
    list_filter = ("is_active", "role")
    search_fields = ("user__username", "user__display_name", "place__name", "place__code", "title")
    autocomplete_fields = ("user", "place", "department", "property_company")
    list_select_related = ("user", "place", "department", "property_company")
    ordering = ("place__path", "role")
    actions = ("end_assignments",)

    def get_form(
        self, request: HttpRequest, obj: Assignment | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = AssignmentAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Assignment | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # Who, what and where are the assignment; to change them, end it and make a new one.
        return (
            "user",
            "role",
            "place",
            "department",
            "property_company",
            "is_active",
            "start_date",
            "end_date",
        )

    def has_delete_permission(self, request: HttpRequest, obj: Assignment | None = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Assignment, form: ModelForm[Assignment], change: bool
    ) -> None:
        actor = request.user if isinstance(request.user, User) else None
        if change:
            # Only the title is editable on an existing assignment.
            obj.save(update_fields=["title"])
            audit.record(actor=actor, action="assignment.retitled", obj=obj, changes={"title": obj.title})
            return
        created = services.assignment_create(
            actor=actor,
            user=obj.user,
            role=obj.role,
            place=obj.place,
            department=obj.department,
            property_company=obj.property_company,
            title=obj.title,
            start_date=obj.start_date,
        )
        obj.pk = created.pk
        obj.is_active = created.is_active
        obj._state.adding = False
        obj._state.db = created._state.db

    @admin.action(description=_("End the selected assignments"))
    def end_assignments(self, request: HttpRequest, queryset: QuerySet[Assignment]) -> None:
        actor = request.user if isinstance(request.user, User) else None
        ended = 0
        for assignment in queryset.filter(is_active=True).select_related("place", "user"):
            try:
                services.assignment_end(actor=actor, assignment=assignment)
            except DomainError as exc:
                self.message_user(request, f"{assignment}: {exc.message}", messages.ERROR)
                continue
            ended += 1
        self.message_user(
            request,
            ngettext("%(n)d assignment ended.", "%(n)d assignments ended.", ended) % {"n": ended},
            messages.SUCCESS,
        )

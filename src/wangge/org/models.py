"""Staff assignments and the organisations around the grid.

Departments, property companies and co-building units are records; party organisations
run parallel to places, one level for each territorial level.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wangge.core.pii import EncryptedTextField
from wangge.core.roles import Role
from wangge.core.scope import ScopedQuerySet, ScopeSpec
from wangge.places.models import Place


class Department(models.Model):
    """A county or district department (县直部门) that answers escalated matters."""

    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=32, blank=True, default="")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="departments")
    duty_phone = EncryptedTextField(_("duty phone"), blank=True, default="")
    # What it answers for, as category codes (the requests workflow routes by these).
    responsibilities = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    objects: ClassVar[ScopedQuerySet[Department]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=False)

    class Meta:
        verbose_name = _("department")
        constraints = [models.UniqueConstraint(fields=["place", "name"], name="department_place_name_unique")]

    def __str__(self) -> str:
        return self.name


class PropertyCompany(models.Model):
    """A property-management company (物业公司), rated monthly on the red/black list."""

    name = models.CharField(_("name"), max_length=100)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True, default="")
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="property_companies")
    managed_places = models.ManyToManyField(Place, blank=True, related_name="managed_by")
    service_phone = EncryptedTextField(_("service phone"), blank=True, default="")

    objects: ClassVar[ScopedQuerySet[PropertyCompany]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=False, property_company="pk")

    class Meta:
        verbose_name = _("property company")
        verbose_name_plural = _("property companies")

    def __str__(self) -> str:
        return self.name


class CoBuildingUnit(models.Model):
    """A co-building unit (共建单位 / 双报到单位) or partner merchant (红色合伙人)."""

    class Kind(models.TextChoices):
        AGENCY = "agency", _("Government agency")
        ENTERPRISE = "enterprise", _("Enterprise")
        SCHOOL = "school", _("School")
        HOSPITAL = "hospital", _("Hospital")
        SOCIAL_ORG = "social_org", _("Social organisation")
        MERCHANT = "merchant", _("Partner merchant")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="co_building_units")
    contact_name = models.CharField(_("contact"), max_length=64, blank=True, default="")
    contact_phone = EncryptedTextField(_("contact phone"), blank=True, default="")

    objects: ClassVar[ScopedQuerySet[CoBuildingUnit]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=False)

    class Meta:
        verbose_name = _("co-building unit")

    def __str__(self) -> str:
        return self.name


class PartyOrganization(models.Model):
    """A party organisation (党组织): community committee → grid branch → group → household."""

    class Level(models.TextChoices):
        COMMITTEE = "committee", _("Community party committee")
        BRANCH = "branch", _("Grid party branch")
        GROUP = "group", _("Courtyard/building party group")
        HOUSEHOLD = "household", _("Party-member household")

    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="party_organizations")
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    member_count = models.PositiveIntegerField(default=0)

    objects: ClassVar[ScopedQuerySet[PartyOrganization]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=False)

    class Meta:
        verbose_name = _("party organisation")

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """A user's role at a place (岗位): 定人、定岗、定责."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="assignments")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    property_company = models.ForeignKey(
        PropertyCompany, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    title = models.CharField(_("title"), max_length=64, blank=True, default="")
    is_active = models.BooleanField(default=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    objects: ClassVar[ScopedQuerySet[Assignment]] = ScopedQuerySet.as_manager()  # type: ignore[assignment]
    scope_spec = ScopeSpec(place_path="place__path", personal=False)

    class Meta:
        verbose_name = _("assignment")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "place"],
                condition=models.Q(is_active=True),
                name="assignment_active_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(role=Role.DEPARTMENT_STAFF) | models.Q(department__isnull=False),
                name="assignment_department_staff_has_department",
            ),
            models.CheckConstraint(
                condition=~models.Q(role=Role.PROPERTY_STAFF) | models.Q(property_company__isnull=False),
                name="assignment_property_staff_has_company",
            ),
        ]
        indexes = [models.Index(fields=["user", "is_active"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.place}"

"""Writes about staff and organisations. Each checks scope and capability, and audits."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.roles import Capability, Role
from wangge.core.scope import can_see_path, forget_scope, has_capability
from wangge.org.models import Assignment, Department, PropertyCompany
from wangge.places.models import Place


def check_can_manage_staff(actor: User | None, place: Place) -> None:
    if actor is None:
        return
    if not can_see_path(actor, place.path):
        raise NotFound(_("Place not found"))
    if not has_capability(actor, Capability.MANAGE_STAFF, place.path):
        raise PermissionDenied(_("You may not assign staff here"))


@transaction.atomic
def assignment_create(
    *,
    actor: User | None,
    user: User,
    role: str,
    place: Place,
    department: Department | None = None,
    property_company: PropertyCompany | None = None,
    title: str = "",
    start_date: date | None = None,
) -> Assignment:
    if role not in Role.values:
        raise ValidationError(_("Unknown role"))
    if role == Role.PLATFORM_ADMIN and actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser can make platform administrators"))
    if role == Role.DEPARTMENT_STAFF and department is None:
        raise ValidationError(_("Department staff need a department"))
    if role == Role.PROPERTY_STAFF and property_company is None:
        raise ValidationError(_("Property-company staff need a company"))
    check_can_manage_staff(actor, place)
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                user=user,
                role=role,
                place=place,
                department=department,
                property_company=property_company,
                title=title[:64],
                start_date=start_date,
            )
    except IntegrityError as exc:
        raise Conflict(_("This person already holds this role here")) from exc
    forget_scope(user)
    audit.record(
        actor=actor,
        action="assignment.created",
        obj=assignment,
        changes={"role": role, "user": user.username},
    )
    return assignment


@transaction.atomic
def assignment_end(*, actor: User | None, assignment: Assignment) -> Assignment:
    check_can_manage_staff(actor, assignment.place)
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if not assignment.is_active:
        raise Conflict(_("This assignment has already ended"))
    assignment.is_active = False
    assignment.end_date = clock.local_now().date()
    assignment.save(update_fields=["is_active", "end_date"])
    forget_scope(assignment.user)
    audit.record(actor=actor, action="assignment.ended", obj=assignment)
    return assignment

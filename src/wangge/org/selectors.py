"""Reads about who works where, narrowed to the actor's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from wangge.core.pii import mask_phone
from wangge.core.roles import RESPONSIBLE_ROLES, Capability, Role
from wangge.core.scope import has_capability, scope_for
from wangge.org.models import Assignment, CoBuildingUnit, Department, PartyOrganization, PropertyCompany
from wangge.places.models import Place

_ROLE_ORDER: dict[str, int] = {str(role): index for index, role in enumerate(RESPONSIBLE_ROLES)}


def may_see_staff_phones(user: Any, place: Place) -> bool:
    if has_capability(user, Capability.VIEW_STAFF_PHONES, place.path):
        return True
    # A resident may call the people responsible for their own home (the care card).
    scope = scope_for(user)
    return any(g.role == Role.RESIDENT and g.path.startswith(place.path) for g in scope.grants)


def responsible_for(user: Any, place: Place) -> list[dict[str, Any]]:
    """The people in charge of ``place`` and of every place above it, top first.

    The caller must already have been allowed to see ``place``.
    """
    rows = (
        Assignment.objects.filter(
            place__path__in=place.ancestor_paths(), role__in=RESPONSIBLE_ROLES, is_active=True
        )
        .select_related("user", "place")
        .order_by("place__depth", "place__path")
    )
    unmasked = may_see_staff_phones(user, place)
    result = []
    for a in sorted(rows, key=lambda a: (a.place.depth, _ROLE_ORDER.get(a.role, 99), a.user.username)):
        phone = a.user.phone or ""
        result.append(
            {
                "user_id": a.user_id,
                "name": a.user.label,
                "role": a.role,
                "role_label": str(Role(a.role).label),
                "title": a.title,
                "place_id": a.place_id,
                "place_name": a.place.name,
                "place_kind": a.place.kind,
                "phone": phone if unmasked else mask_phone(phone) if phone else "",
                "phone_masked": bool(phone) and not unmasked,
            }
        )
    return result


def assignments_visible(user: Any) -> QuerySet[Assignment]:
    return Assignment.objects.visible_to(user).select_related(
        "user", "place", "department", "property_company"
    )


def departments_visible(user: Any) -> QuerySet[Department]:
    return Department.objects.visible_to(user).select_related("place")


def property_companies_visible(user: Any) -> QuerySet[PropertyCompany]:
    return PropertyCompany.objects.visible_to(user).select_related("place")


def units_visible(user: Any) -> QuerySet[CoBuildingUnit]:
    return CoBuildingUnit.objects.visible_to(user).select_related("place")


def party_organizations_visible(user: Any) -> QuerySet[PartyOrganization]:
    return PartyOrganization.objects.visible_to(user).select_related("place")

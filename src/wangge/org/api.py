"""Organisations and staff assignments, read through scope."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from wangge.core.api import ErrorOut
from wangge.core.roles import Role
from wangge.org import selectors
from wangge.org.models import Assignment, CoBuildingUnit, Department, PartyOrganization, PropertyCompany
from wangge.places.selectors import place_get

router = Router(tags=["org"])


class OrgOut(Schema):
    id: int
    name: str
    place_id: int


class DepartmentOut(OrgOut):
    short_name: str
    responsibilities: list[str]


class UnitOut(OrgOut):
    kind: str


class PartyOrganizationOut(OrgOut):
    level: str
    parent_id: int | None
    member_count: int


class AssignmentOut(Schema):
    id: int
    user_id: int
    user_name: str
    role: str
    role_label: str
    place_id: int
    place_name: str
    title: str
    department_id: int | None
    property_company_id: int | None


@router.get("/departments", response=list[DepartmentOut])
def department_list(request: HttpRequest) -> list[Department]:
    return list(selectors.departments_visible(request.user).order_by("name")[:1000])


@router.get("/property-companies", response=list[OrgOut])
def property_company_list(request: HttpRequest) -> list[PropertyCompany]:
    return list(selectors.property_companies_visible(request.user).order_by("name")[:1000])


@router.get("/units", response=list[UnitOut])
def unit_list(request: HttpRequest) -> list[CoBuildingUnit]:
    return list(selectors.units_visible(request.user).order_by("name")[:1000])


@router.get("/party-organizations", response=list[PartyOrganizationOut])
def party_organization_list(request: HttpRequest) -> list[PartyOrganization]:
    return list(selectors.party_organizations_visible(request.user).order_by("place__path", "level")[:5000])


@router.get("/assignments", response={200: list[AssignmentOut], 404: ErrorOut})
def assignment_list(request: HttpRequest, place_id: int | None = None) -> list[AssignmentOut]:
    """Staff assignments in scope, optionally only those at or under one place."""
    qs = selectors.assignments_visible(request.user).filter(is_active=True).exclude(role=Role.RESIDENT)
    if place_id is not None:
        qs = qs.filter(place__path__under=place_get(request.user, place_id).path)
    rows: list[Assignment] = list(qs.order_by("place__path", "role")[:5000])
    return [
        AssignmentOut(
            id=a.pk,
            user_id=a.user_id,
            user_name=a.user.label,
            role=a.role,
            role_label=str(Role(a.role).label),
            place_id=a.place_id,
            place_name=a.place.name,
            title=a.title,
            department_id=a.department_id,
            property_company_id=a.property_company_id,
        )
        for a in rows
    ]

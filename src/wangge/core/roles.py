"""Roles and what each may do.

A user acts through assignments ``(user, role, place)``; the role says what kind of
person they are there, and ``CAPABILITIES`` says what that lets them do. Scope (which
records) is ``core.scope``; capability (which actions) is here.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")
    COUNTY_STAFF = "county_staff", _("County/district staff")
    DEPARTMENT_STAFF = "department_staff", _("Department staff")
    STREET_STAFF = "street_staff", _("Street office staff")
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    PARTY_SECRETARY = "party_secretary", _("Party secretary")
    GRID_LEADER = "grid_leader", _("Grid leader")
    GRID_WORKER = "grid_worker", _("Full-time grid worker")
    GRID_WORKER_PART_TIME = "grid_worker_part_time", _("Part-time grid worker")
    MICRO_GRID_WORKER = "micro_grid_worker", _("Micro-grid worker")
    BUILDING_LEADER = "building_leader", _("Building leader")
    UNIT_LEADER = "unit_leader", _("Unit leader")
    COURTYARD_LEADER = "courtyard_leader", _("Courtyard leader")
    PROPERTY_STAFF = "property_staff", _("Property-company staff")
    # Couriers and delivery riders enlisted as supervisors (快递小哥、外卖骑手当监督员).
    TRAFFIC_SUPERVISOR = "traffic_supervisor", _("Traffic-safety supervisor")
    FACILITIES_SUPERVISOR = "facilities_supervisor", _("Municipal-facilities supervisor")
    APPEARANCE_SUPERVISOR = "appearance_supervisor", _("Street-appearance supervisor")
    COMMUNITY_VOLUNTEER = "community_volunteer", _("Community volunteer (rider)")
    RESIDENT = "resident", _("Resident")


# Roles whose assignment place opens the whole subtree, personal data included.
TERRITORIAL_ROLES = frozenset(
    {
        Role.COUNTY_STAFF,
        Role.STREET_STAFF,
        Role.COMMUNITY_STAFF,
        Role.PARTY_SECRETARY,
        Role.GRID_LEADER,
        Role.GRID_WORKER,
        Role.GRID_WORKER_PART_TIME,
        Role.MICRO_GRID_WORKER,
        Role.BUILDING_LEADER,
        Role.UNIT_LEADER,
        Role.COURTYARD_LEADER,
    }
)
# Roles that see the territory (places, who is responsible) but personal records only
# when assigned to them (departments, property companies) or their own (residents).
CO_BUILDING_SUPERVISOR_ROLES = frozenset(
    {
        Role.TRAFFIC_SUPERVISOR,
        Role.FACILITIES_SUPERVISOR,
        Role.APPEARANCE_SUPERVISOR,
        Role.COMMUNITY_VOLUNTEER,
    }
)
NON_TERRITORIAL_ROLES = frozenset(
    {Role.DEPARTMENT_STAFF, Role.PROPERTY_STAFF, Role.RESIDENT, *CO_BUILDING_SUPERVISOR_ROLES}
)

# The roles that carry responsibility for a place, most senior first; "who is
# responsible here" lists these.
RESPONSIBLE_ROLES = (
    Role.STREET_STAFF,
    Role.PARTY_SECRETARY,
    Role.COMMUNITY_STAFF,
    Role.GRID_LEADER,
    Role.GRID_WORKER,
    Role.GRID_WORKER_PART_TIME,
    Role.MICRO_GRID_WORKER,
    Role.COURTYARD_LEADER,
    Role.BUILDING_LEADER,
    Role.UNIT_LEADER,
    Role.PROPERTY_STAFF,
)


class Capability(models.TextChoices):
    """Actions a role may take inside its scope."""

    MANAGE_PLACES = "places.manage", _("Edit places and boundaries")
    MANAGE_STAFF = "org.manage", _("Assign staff and roles")
    VIEW_STAFF_PHONES = "org.view_phones", _("See staff phone numbers unmasked")
    REVEAL_PII = "pii.reveal", _("Reveal ID and phone numbers")
    VIEW_SENSITIVE = "pii.view_sensitive", _("See health, disability and whereabouts")
    VIEW_AUDIT = "audit.view", _("Read the audit log")
    # Requests and work orders.
    CASE_INTAKE = "cases.intake", _("Register requests for others (hotline, walk-in)")
    CASE_REPORT = "cases.report", _("Report matters found in the field")
    CASE_DISPATCH = "cases.dispatch", _("Dispatch, hand on, escalate and close requests")
    CASE_HANDLE = "cases.handle", _("Accept and handle requests")
    CASE_SUPERVISE = "cases.supervise", _("Supervise requests and decide extensions")
    CASE_METRICS = "cases.metrics", _("See request metrics")


_STAFF_BASE = {Capability.VIEW_STAFF_PHONES}
_FIELD = {Capability.CASE_REPORT, Capability.CASE_HANDLE}
_DESK = {
    *_FIELD,
    Capability.CASE_INTAKE,
    Capability.CASE_DISPATCH,
    Capability.CASE_SUPERVISE,
    Capability.CASE_METRICS,
}
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.PLATFORM_ADMIN: frozenset(Capability.values),
    Role.COUNTY_STAFF: frozenset({*_STAFF_BASE, *_DESK, Capability.MANAGE_PLACES, Capability.MANAGE_STAFF}),
    # Departments reach grid staff through the case they were sent, not a phone list.
    Role.DEPARTMENT_STAFF: frozenset({Capability.CASE_HANDLE}),
    Role.STREET_STAFF: frozenset({*_STAFF_BASE, *_DESK, Capability.MANAGE_PLACES, Capability.MANAGE_STAFF}),
    Role.COMMUNITY_STAFF: frozenset(
        {
            *_STAFF_BASE,
            *_DESK,
            Capability.MANAGE_PLACES,
            Capability.MANAGE_STAFF,
            Capability.REVEAL_PII,
            Capability.VIEW_SENSITIVE,
        }
    ),
    Role.PARTY_SECRETARY: frozenset(
        {*_STAFF_BASE, *_DESK, Capability.MANAGE_STAFF, Capability.REVEAL_PII, Capability.VIEW_SENSITIVE}
    ),
    # A grid leader dispatches inside the grid; grid workers report and handle.
    Role.GRID_LEADER: frozenset(
        {
            *_STAFF_BASE,
            *_FIELD,
            Capability.CASE_DISPATCH,
            Capability.CASE_METRICS,
            Capability.REVEAL_PII,
            Capability.VIEW_SENSITIVE,
        }
    ),
    Role.GRID_WORKER: frozenset({*_STAFF_BASE, *_FIELD, Capability.REVEAL_PII, Capability.VIEW_SENSITIVE}),
    Role.GRID_WORKER_PART_TIME: frozenset({*_STAFF_BASE, *_FIELD}),
    Role.MICRO_GRID_WORKER: frozenset({*_STAFF_BASE, *_FIELD}),
    Role.BUILDING_LEADER: frozenset({*_STAFF_BASE, Capability.CASE_REPORT}),
    Role.UNIT_LEADER: frozenset({*_STAFF_BASE, Capability.CASE_REPORT}),
    Role.COURTYARD_LEADER: frozenset({*_STAFF_BASE, Capability.CASE_REPORT}),
    Role.PROPERTY_STAFF: frozenset({Capability.CASE_HANDLE}),
    Role.TRAFFIC_SUPERVISOR: frozenset({Capability.CASE_REPORT}),
    Role.FACILITIES_SUPERVISOR: frozenset({Capability.CASE_REPORT}),
    Role.APPEARANCE_SUPERVISOR: frozenset({Capability.CASE_REPORT}),
    Role.COMMUNITY_VOLUNTEER: frozenset({Capability.CASE_REPORT}),
    Role.RESIDENT: frozenset(),
}

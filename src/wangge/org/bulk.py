"""Creating a whole organisation in one go: staff accounts, their assignments, departments,
property companies, co-building units and the party organisation tree.

``org_bulk_create`` applies the same rules as ``services.assignment_create`` (known roles,
department staff need a department, property staff a company, the actor may manage staff
at every place) with one INSERT per table and one summary audit row. Generated
territories, the demo and importers use it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wangge.core import audit, clock
from wangge.core.errors import Conflict, PermissionDenied, ValidationError
from wangge.core.models import User
from wangge.core.pii import blind_index
from wangge.core.roles import Role
from wangge.core.scope import forget_scope
from wangge.org.models import Assignment, CoBuildingUnit, Department, PartyOrganization, PropertyCompany
from wangge.org.services import check_can_manage_staff
from wangge.places.bulk import common_path
from wangge.places.models import Place


@dataclass(frozen=True)
class UserSpec:
    """A sign-in account. ``password_hash`` None gives an unusable password."""

    username: str
    display_name: str = ""
    phone: str = ""
    password_hash: str | None = None
    is_demo: bool = False
    is_staff: bool = False
    is_superuser: bool = False


@dataclass(frozen=True)
class DepartmentSpec:
    key: str
    name: str
    place: Place
    short_name: str = ""
    duty_phone: str = ""
    responsibilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class PropertyCompanySpec:
    key: str
    name: str
    place: Place
    credit_code: str = ""
    service_phone: str = ""
    managed_places: tuple[Place, ...] = ()


@dataclass(frozen=True)
class CoBuildingUnitSpec:
    name: str
    kind: str
    place: Place
    contact_name: str = ""
    contact_phone: str = ""


@dataclass(frozen=True)
class AssignmentSpec:
    """``user``, ``department`` and ``property_company``: a key (username) in the batch, or a saved row."""

    user: str | User
    role: str
    place: Place
    department: str | Department | None = None
    property_company: str | PropertyCompany | None = None
    title: str = ""


@dataclass(frozen=True)
class PartyOrganizationSpec:
    """``member_count`` counts the members organised directly in this organisation, not in its children."""

    key: str
    level: str
    name: str
    place: Place
    parent: str | PartyOrganization | None = None
    secretary: str | User | None = None
    member_count: int = 0


@dataclass
class OrgBulkResult:
    users: dict[str, User] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    property_companies: dict[str, PropertyCompany] = field(default_factory=dict)
    co_building_units: list[CoBuildingUnit] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    party_organizations: dict[str, PartyOrganization] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "users": len(self.users),
            "departments": len(self.departments),
            "property_companies": len(self.property_companies),
            "co_building_units": len(self.co_building_units),
            "assignments": len(self.assignments),
            "party_organizations": len(self.party_organizations),
        }


# Which party level may sit under which (社区党委 → 网格党支部 → 党小组 → 党员中心户).
PARTY_PARENTS: dict[str, tuple[str | None, ...]] = {
    PartyOrganization.Level.COMMITTEE: (None,),
    PartyOrganization.Level.BRANCH: (PartyOrganization.Level.COMMITTEE,),
    PartyOrganization.Level.GROUP: (PartyOrganization.Level.BRANCH,),
    PartyOrganization.Level.HOUSEHOLD: (PartyOrganization.Level.GROUP, PartyOrganization.Level.BRANCH),
}
_PARTY_ORDER = list(PARTY_PARENTS)


def _unique(keys: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValidationError(_("The same key appears twice in the batch") + f": {what} {key}")
        seen.add(key)


def _saved(place: Place, what: str) -> Place:
    if not isinstance(place, Place) or place.pk is None:
        raise ValidationError(_("A saved place is needed") + f": {what}")
    return place


def _validate(
    users: Sequence[UserSpec],
    departments: Sequence[DepartmentSpec],
    property_companies: Sequence[PropertyCompanySpec],
    units: Sequence[CoBuildingUnitSpec],
    assignments: Sequence[AssignmentSpec],
    party_organizations: Sequence[PartyOrganizationSpec],
) -> None:
    _unique([u.username for u in users], "user")
    _unique([d.key for d in departments], "department")
    _unique([c.key for c in property_companies], "property company")
    _unique([p.key for p in party_organizations], "party organisation")
    for u in users:
        if not u.username or len(u.username) > 150 or u.username != u.username.strip():
            raise ValidationError(_("A username must be 1 to 150 characters without spaces around it"))
    for d in departments:
        _saved(d.place, d.key)
        if not d.name.strip():
            raise ValidationError(_("A department needs a name") + f": {d.key}")
        if not all(isinstance(r, str) and r for r in d.responsibilities):
            raise ValidationError(_("Responsibilities are category codes") + f": {d.key}")
    for c in property_companies:
        _saved(c.place, c.key)
        for managed in c.managed_places:
            _saved(managed, c.key)
        if not c.name.strip():
            raise ValidationError(_("A property company needs a name") + f": {c.key}")
    for unit in units:
        _saved(unit.place, unit.name)
        if unit.kind not in CoBuildingUnit.Kind.values:
            raise ValidationError(_("Unknown kind of co-building unit") + f": {unit.name}")
        if not unit.name.strip():
            raise ValidationError(_("A co-building unit needs a name"))
    batch_users = {u.username for u in users}
    batch_departments = {d.key for d in departments}
    batch_companies = {c.key for c in property_companies}
    seen_assignments: set[tuple[str, str, int]] = set()
    for a in assignments:
        place = _saved(a.place, f"{a.user}")
        if a.role not in Role.values:
            raise ValidationError(_("Unknown role") + f": {a.role}")
        if isinstance(a.user, str) and a.user not in batch_users:
            raise ValidationError(_("Unknown user in the batch") + f": {a.user}")
        if isinstance(a.department, str) and a.department not in batch_departments:
            raise ValidationError(_("Unknown department in the batch") + f": {a.department}")
        if isinstance(a.property_company, str) and a.property_company not in batch_companies:
            raise ValidationError(_("Unknown property company in the batch") + f": {a.property_company}")
        if a.role == Role.DEPARTMENT_STAFF and a.department is None:
            raise ValidationError(_("Department staff need a department"))
        if a.role == Role.PROPERTY_STAFF and a.property_company is None:
            raise ValidationError(_("Property-company staff need a company"))
        user_key = a.user if isinstance(a.user, str) else f"db:{a.user.pk}"
        identity = (user_key, a.role, place.pk)
        if identity in seen_assignments:
            raise ValidationError(_("This person already holds this role here") + f": {a.user}")
        seen_assignments.add(identity)
    levels = {p.key: p.level for p in party_organizations}
    for p in party_organizations:
        _saved(p.place, p.key)
        if p.level not in PARTY_PARENTS:
            raise ValidationError(_("Unknown party organisation level") + f": {p.key}")
        if p.member_count < 0:
            raise ValidationError(_("A member count cannot be negative") + f": {p.key}")
        if not p.name.strip():
            raise ValidationError(_("A party organisation needs a name") + f": {p.key}")
        if isinstance(p.parent, str):
            if p.parent not in levels:
                raise ValidationError(_("Unknown parent organisation in the batch") + f": {p.key}")
            parent_level: str | None = levels[p.parent]
        else:
            parent_level = p.parent.level if p.parent is not None else None
        if parent_level not in PARTY_PARENTS[p.level]:
            raise ValidationError(_("This party organisation cannot sit under that one") + f": {p.key}")
        if isinstance(p.secretary, str) and p.secretary not in batch_users:
            raise ValidationError(_("Unknown user in the batch") + f": {p.secretary}")


def _check_actor(
    actor: User | None,
    users: Sequence[UserSpec],
    places: list[Place],
    assignments: Sequence[AssignmentSpec],
) -> None:
    if actor is None:
        return  # system actors: the demo loader, importers run by an operator
    if not actor.is_superuser:
        if any(u.is_staff or u.is_superuser for u in users):
            raise PermissionDenied(_("Only a superuser can make administrator accounts"))
        if any(a.role == Role.PLATFORM_ADMIN for a in assignments):
            raise PermissionDenied(_("Only a superuser can make platform administrators"))
    checked: set[int] = set()
    for place in places:
        if place.pk not in checked:
            check_can_manage_staff(actor, place)
            checked.add(place.pk)


def _ref(value: Any, batch: dict[str, Any]) -> Any:
    return batch[value] if isinstance(value, str) else value


@transaction.atomic
def org_bulk_create(
    *,
    actor: User | None,
    users: Sequence[UserSpec] = (),
    departments: Sequence[DepartmentSpec] = (),
    property_companies: Sequence[PropertyCompanySpec] = (),
    units: Sequence[CoBuildingUnitSpec] = (),
    assignments: Sequence[AssignmentSpec] = (),
    party_organizations: Sequence[PartyOrganizationSpec] = (),
    label: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> OrgBulkResult:
    """Create everything given, all or nothing, and return it by key.

    Usernames that already exist are refused (Conflict) rather than reused.
    """
    _validate(users, departments, property_companies, units, assignments, party_organizations)
    places = (
        [d.place for d in departments]
        + [c.place for c in property_companies]
        + [p for c in property_companies for p in c.managed_places]
        + [u.place for u in units]
        + [a.place for a in assignments]
        + [p.place for p in party_organizations]
    )
    _check_actor(actor, users, places, assignments)

    def progress(count: int) -> None:
        if on_progress is not None and count:
            on_progress(count)

    names = [u.username for u in users]
    for start in range(0, len(names), 500):
        taken = list(
            User.objects.filter(username__in=names[start : start + 500]).values_list("username", flat=True)
        )
        if taken:
            raise Conflict(_("These usernames are already taken") + ": " + ", ".join(sorted(taken)[:5]))

    now = clock.now()
    result = OrgBulkResult()
    try:
        with transaction.atomic():
            user_rows = [
                User(
                    username=u.username,
                    display_name=u.display_name[:64],
                    phone=u.phone,
                    phone_hash=blind_index("phone", u.phone) if u.phone else "",
                    password=u.password_hash if u.password_hash is not None else make_password(None),
                    is_demo=u.is_demo,
                    is_staff=u.is_staff,
                    is_superuser=u.is_superuser,
                    is_active=True,
                    date_joined=now,
                )
                for u in users
            ]
            User.objects.bulk_create(user_rows)
            result.users = {u.username: u for u in user_rows}
            progress(len(user_rows))

            dept_rows = [
                Department(
                    name=d.name.strip()[:100],
                    short_name=d.short_name[:32],
                    place=d.place,
                    duty_phone=d.duty_phone,
                    responsibilities=list(d.responsibilities),
                )
                for d in departments
            ]
            Department.objects.bulk_create(dept_rows)
            result.departments = {d.key: row for d, row in zip(departments, dept_rows, strict=True)}

            company_rows = [
                PropertyCompany(
                    name=c.name.strip()[:100],
                    credit_code=c.credit_code,
                    place=c.place,
                    service_phone=c.service_phone,
                )
                for c in property_companies
            ]
            PropertyCompany.objects.bulk_create(company_rows)
            result.property_companies = {
                c.key: row for c, row in zip(property_companies, company_rows, strict=True)
            }
            through = PropertyCompany.managed_places.through
            through.objects.bulk_create(
                [
                    through(propertycompany_id=row.pk, place_id=place.pk)
                    for c, row in zip(property_companies, company_rows, strict=True)
                    for place in dict.fromkeys(c.managed_places)
                ]
            )

            unit_rows = [
                CoBuildingUnit(
                    name=u.name.strip()[:100],
                    kind=u.kind,
                    place=u.place,
                    contact_name=u.contact_name[:64],
                    contact_phone=u.contact_phone,
                )
                for u in units
            ]
            CoBuildingUnit.objects.bulk_create(unit_rows)
            result.co_building_units = unit_rows
            progress(len(dept_rows) + len(company_rows) + len(unit_rows))

            assignment_rows = [
                Assignment(
                    user=_ref(a.user, result.users),
                    role=a.role,
                    place=a.place,
                    department=_ref(a.department, result.departments),
                    property_company=_ref(a.property_company, result.property_companies),
                    title=a.title[:64],
                )
                for a in assignments
            ]
            Assignment.objects.bulk_create(assignment_rows)
            result.assignments = assignment_rows
            progress(len(assignment_rows))

            # Parents before children: one INSERT per level.
            for level in _PARTY_ORDER:
                specs = [p for p in party_organizations if p.level == level]
                rows = [
                    PartyOrganization(
                        level=p.level,
                        name=p.name.strip()[:100],
                        parent=_ref(p.parent, result.party_organizations),
                        place=p.place,
                        secretary=_ref(p.secretary, result.users),
                        member_count=p.member_count,
                    )
                    for p in specs
                ]
                PartyOrganization.objects.bulk_create(rows)
                result.party_organizations.update({p.key: row for p, row in zip(specs, rows, strict=True)})
                progress(len(rows))
    except IntegrityError as exc:
        raise Conflict(_("Some of these records already exist") + f": {exc}") from exc

    for a in assignments:
        if isinstance(a.user, User):
            forget_scope(a.user)
    roles = Counter(a.role for a in assignments)
    audit.record(
        actor=actor,
        action="org.bulk_created",
        object_type="org.bulk",
        place_path=common_path(sorted({p.path for p in places})),
        object_label=(label or _("%(count)d staff accounts") % {"count": len(users)})[:200],
        changes={
            **result.counts(),
            "by_role": {role: roles[role] for role in Role.values if roles[role]},
            "party_members": sum(p.member_count for p in party_organizations),
        },
    )
    return result

"""Who hears about a case change, and what they are told.

Recipients come from the assignments at the units involved: the owner's desk (派单员), the
handling unit's staff or the person handling it, the supervisors above, the reporters.
Every message goes through ``core.notify`` and so through the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.translation import gettext as _

from wangge.cases.models import Case
from wangge.core import notify
from wangge.core.roles import CAPABILITIES, Capability, Role
from wangge.org.models import Assignment

DESK_ROLES = tuple(
    r for r, caps in CAPABILITIES.items() if Capability.CASE_DISPATCH in caps and r != Role.PLATFORM_ADMIN
)
HANDLER_ROLES = (Role.GRID_WORKER, Role.GRID_LEADER, Role.GRID_WORKER_PART_TIME, Role.MICRO_GRID_WORKER)
SUPERVISOR_ROLES = tuple(
    r for r, caps in CAPABILITIES.items() if Capability.CASE_SUPERVISE in caps and r != Role.PLATFORM_ADMIN
)


def _at_place(path: str, roles: Iterable[str]) -> list[int]:
    if not path:
        return []
    return list(
        Assignment.objects.filter(place__path=path, role__in=list(roles), is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )


def _above(path: str, roles: Iterable[str]) -> list[int]:
    """Users holding ``roles`` at the nearest place strictly above ``path`` that has any."""
    parts = path.split(".")[:-1]
    for i in range(len(parts) - 1, 0, -1):
        found = _at_place(".".join(parts[:i]) + ".", roles)
        if found:
            return found
    return []


def desk(case: Case) -> list[int]:
    """The owner's dispatchers."""
    if case.owner_place_id:
        return _at_place(case.owner_place_path, DESK_ROLES)
    if case.owner_department_id:
        return unit_staff(department_id=case.owner_department_id)
    return unit_staff(property_company_id=case.owner_property_company_id)


def unit_staff(*, department_id: int | None = None, property_company_id: int | None = None) -> list[int]:
    qs = Assignment.objects.filter(is_active=True)
    if department_id:
        qs = qs.filter(department_id=department_id, role=Role.DEPARTMENT_STAFF)
    elif property_company_id:
        qs = qs.filter(property_company_id=property_company_id, role=Role.PROPERTY_STAFF)
    else:
        return []
    return list(qs.values_list("user_id", flat=True).distinct())


def handlers(case: Case) -> list[int]:
    if case.handler_id:
        return [case.handler_id]
    if case.handler_department_id:
        return unit_staff(department_id=case.handler_department_id)
    if case.handler_property_company_id:
        return unit_staff(property_company_id=case.handler_property_company_id)
    if case.handler_place is not None:
        return _at_place(case.handler_place.path, HANDLER_ROLES) or _at_place(
            case.handler_place.path, DESK_ROLES
        )
    return []


def supervisors(case: Case) -> list[int]:
    return _above(case.owner_place_path or case.place_path, SUPERVISOR_ROLES)


def reporters(case: Case) -> tuple[list[int], list[str]]:
    """Reporters with an account, and the phones of those without one."""
    users: list[int] = []
    phones: list[str] = []
    for r in case.reporters.all():
        if r.user_id:
            users.append(r.user_id)
        elif r.phone:
            phones.append(r.phone)
    return users, phones


def case_url(case: Case) -> str:
    return reverse("cases:detail", args=[case.number])


def tell(
    case: Case,
    kind: str,
    recipients: Iterable[int],
    title: str,
    body: str = "",
    *,
    urgent: bool = False,
    dedupe: str = "",
    sms_phones: Iterable[str] = (),
) -> None:
    notify.send(
        users=recipients,
        kind=f"case.{kind}",
        title=title,
        body=body,
        url=case_url(case),
        place_path=case.place_path,
        urgent=urgent,
        obj=case,
        dedupe_key=f"case:{case.pk}:{dedupe}" if dedupe else "",
        sms_phones=sms_phones,
    )


def tell_reporters(case: Case, kind: str, title: str, body: str = "") -> None:
    users, phones = reporters(case)
    notify.send(
        users=users,
        kind=f"case.{kind}",
        title=title,
        body=body,
        url=reverse("public:track"),
        place_path=case.place_path,
        obj=case,
        sms_phones=phones,
    )


def headline(case: Case, what: str) -> str:
    return _("%(what)s: %(number)s %(title)s") % {"what": what, "number": case.number, "title": case.title}
